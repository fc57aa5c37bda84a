// store_crash_writer STATE_DIR SEED: the child of the crash test. It writes
// documents with attachments, transitions, outbox items, status messages and
// audit rows in an endless loop, and after each call that returned ok prints
// one line to stdout (one write(2), so a kill never tears a line):
//   C <id> <envelope sha:size> <attachment sha:size>...   a document committed
//   T <id> <state>                                         a transition committed
// The parent kills it with SIGKILL at random moments and checks that every
// printed line is in the store. Three threads write at once, each its own
// documents, so that SQLite's group commit batches their transactions and
// the kills land in the middle of batches.
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "edxgate/store/store.h"

using namespace edxgate::store;

namespace {

void say(const std::string& line) {
  std::string l = line + "\n";
  if (::write(1, l.data(), l.size()) != static_cast<ssize_t>(l.size())) _exit(4);
}

[[noreturn]] void die(const edxgate::Error& e) {
  std::fprintf(stderr, "crash_writer: %s: %s\n", e.code.c_str(), e.message.c_str());
  _exit(3);
}

std::string ref_text(const BlobRef& r) { return r.sha256 + ":" + std::to_string(r.size); }

// Streams a blob in chunks, so that a kill often lands in the middle of one.
BlobRef put_random(const BlobStore& blobs, std::mt19937_64& rng) {
  std::string content;
  if (rng() % 3 == 0) {
    content = "shared attachment #" + std::to_string(rng() % 5);  // dedup across documents
  } else {
    size_t size = rng() % 20 == 0 ? 256 * 1024 : rng() % 16384;
    content.resize(size);
    for (char& c : content) c = static_cast<char>(rng());
  }
  auto w = blobs.begin();
  if (!w.ok()) die(w.error());
  for (size_t off = 0; off < content.size(); off += 4096) {
    auto s = w->write(std::string_view(content).substr(off, 4096));
    if (!s.ok()) die(s.error());
  }
  auto ref = w->commit();
  if (!ref.ok()) die(ref.error());
  return *ref;
}

NewDocument make_doc(const BlobStore& blobs, std::mt19937_64& rng, int n) {
  NewDocument d;
  d.direction = Direction::outgoing;
  d.state = State::draft;
  d.sender = "000.00.00.G06";
  d.recipients = {"000.00.00.H41"};
  d.subject = "Công văn thử số " + std::to_string(n);
  d.actor = "crash-writer";
  d.envelope = put_random(blobs, rng);
  int attachments = 1 + static_cast<int>(rng() % 3);
  for (int i = 0; i < attachments; ++i) {
    d.attachments.push_back({"file" + std::to_string(i) + ".pdf", "application/pdf", put_random(blobs, rng)});
  }
  return d;
}

void report_created(const NewDocument& d, DocumentId id) {
  std::string line = "C " + std::to_string(id) + " " + ref_text(*d.envelope);
  for (const Attachment& a : d.attachments) line += " " + ref_text(a.blob);
  say(line);
}

[[noreturn]] void write_forever(Store& store, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (int n = 0;; ++n) {
    std::vector<NewDocument> docs;
    const int batch = rng() % 4 == 0 ? 3 : 1;  // sometimes several documents in one call
    for (int i = 0; i < batch; ++i) docs.push_back(make_doc(store.blobs(), rng, n));
    auto created = store.create_documents(docs);
    if (!created.ok()) die(created.error());
    for (size_t i = 0; i < docs.size(); ++i) report_created(docs[i], (*created)[i].id);
    for (const Created& c : *created) {
      const std::string id = std::to_string(c.id);
      for (State s : {State::pending_signature, State::signed_}) {
        auto t = store.transition(c.id, s, "crash-writer", "loop");
        if (!t.ok()) die(t.error());
        say("T " + id + " " + std::string(state_name(s)));
      }
      if (rng() % 2) {
        auto t = store.transition(c.id, State::queued, "crash-writer", "", State::signed_,
                                  OutboxRequest{"edoc", "000.00.00.H41", std::nullopt});
        if (!t.ok()) die(t.error());
        say("T " + id + " queued");
      }
      if (rng() % 4 == 0) {
        auto s = store.add_status_message(c.id, {Direction::outgoing, "01", "test", "", std::nullopt, 0, "", ""});
        if (!s.ok()) die(s.error());
      }
    }
    auto a = store.append({"crash-writer", "loop", "round:" + std::to_string(n), "ok", ""});
    if (!a.ok()) die(a.error());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: store_crash_writer STATE_DIR SEED\n");
    return 2;
  }
  StoreOptions o;
  o.state_dir = argv[1];
  auto opened = open_store(o);
  if (!opened.ok()) die(opened.error());
  Store& store = **opened;
  const uint64_t seed = std::stoull(argv[2]);
  constexpr int kWriters = 3;
  std::vector<std::thread> writers;
  for (int k = 0; k < kWriters; ++k) writers.emplace_back([&store, seed, k] { write_forever(store, seed + k); });
  for (auto& t : writers) t.join();  // never: killed by the parent
}
