// The crash test: a child writes to the store in a loop and is killed with
// SIGKILL at random moments, many times. After each kill the database must be
// intact, every write the child saw succeed must be there with attachments
// readable and hash-correct, nothing may refer to a temp file, and the audit
// chain must verify.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>

#include "store_test_util.h"

namespace edxgate::store {
namespace {

using testing::TempDir;

struct Reported {
  BlobRef envelope;
  std::vector<BlobRef> attachments;
  State state = State::draft;
};

BlobRef parse_ref(const std::string& text) {
  auto colon = text.find(':');
  return {text.substr(0, colon), std::stoull(text.substr(colon + 1))};
}

// Runs the writer for `run_ms`, SIGKILLs it, returns everything it printed.
std::string run_and_kill(const std::string& writer, const std::string& dir, uint64_t seed, int run_ms) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    std::string s = std::to_string(seed);
    ::execl(writer.c_str(), writer.c_str(), dir.c_str(), s.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[65536];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(run_ms);
  bool killed = false;
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (!killed && left <= 0) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    pollfd p{fds[0], POLLIN, 0};
    ::poll(&p, 1, killed ? 1000 : static_cast<int>(left));
    if (p.revents & (POLLIN | POLLHUP)) {
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
      } else if (n == 0) {
        break;  // the child is gone and the pipe drained
      }
    }
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the writer ended by itself (status " << status << "): it failed, see stderr";
  return out;
}

void absorb(const std::string& out, std::map<DocumentId, Reported>& reported) {
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline: cannot happen with single writes, ignore
    std::istringstream f(line);
    std::string kind;
    DocumentId id = 0;
    f >> kind >> id;
    if (kind == "C") {
      Reported r;
      std::string ref;
      f >> ref;
      r.envelope = parse_ref(ref);
      while (f >> ref) r.attachments.push_back(parse_ref(ref));
      reported[id] = r;
    } else if (kind == "T") {
      std::string state;
      f >> state;
      ASSERT_TRUE(reported.count(id)) << line;
      reported[id].state = *parse_state(state);
    } else {
      ADD_FAILURE() << "unexpected line: " << line;
    }
  }
}

size_t count_temps(const std::string& dir) {
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().rfind(".tmp-", 0) == 0) ++n;
  }
  return n;
}

TEST(CrashRecovery, EveryAcknowledgedWriteSurvivesSigkillAtRandomMoments) {
  TempDir dir;
  const std::string writer = std::string(EDXGATE_BINARY_DIR) + "/bin/store_crash_writer";
  ASSERT_TRUE(std::filesystem::exists(writer)) << writer;
  const std::string db = dir.path() + "/edxgate.db";
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::map<DocumentId, Reported> reported;
  std::map<DocumentId, bool> checked_blobs;
  constexpr int kKills = 40;
  for (int round = 0; round < kKills; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const int run_ms = 60 + static_cast<int>(rng() % 340);
    std::string out = run_and_kill(writer, dir.path(), rng(), run_ms);
    absorb(out, reported);
    if (::testing::Test::HasFatalFailure()) return;

    ASSERT_EQ(testing::raw_query(db, "PRAGMA integrity_check"), "ok");
    ASSERT_EQ(testing::raw_query(db, "PRAGMA foreign_key_check"), "");
    auto store = testing::open_or_die(testing::options_for(dir.path()));
    ASSERT_TRUE(store);
    for (auto& [id, r] : reported) {
      auto doc = store->get_document(id);
      ASSERT_TRUE(doc.ok()) << "document " << id << " was acknowledged but is gone";
      ASSERT_TRUE(doc->envelope.has_value());
      EXPECT_EQ(*doc->envelope, r.envelope);
      ASSERT_EQ(doc->attachments.size(), r.attachments.size()) << id;
      for (size_t i = 0; i < r.attachments.size(); ++i) EXPECT_EQ(doc->attachments[i].blob, r.attachments[i]);
      // The state is the last one reported, or one step on (committed, then killed before printing).
      EXPECT_TRUE(doc->state == r.state || is_legal(Direction::outgoing, r.state, doc->state))
          << id << ": reported " << state_name(r.state) << ", stored " << state_name(doc->state);
      if (!checked_blobs[id]) {  // hash every blob once
        EXPECT_TRUE(store->blobs().verify(r.envelope).ok()) << id;
        for (const BlobRef& b : r.attachments) {
          Status v = store->blobs().verify(b);
          EXPECT_TRUE(v.ok()) << id << ": " << (v.ok() ? "" : v.error().message);
        }
        checked_blobs[id] = true;
      }
    }
    // Every document in the store (reported or not) names only durable blobs.
    DocumentQuery q;
    q.limit = 1000;
    for (;;) {
      auto page = store->list_documents(q);
      ASSERT_TRUE(page.ok());
      for (const Document& d : page->documents) {
        auto full = store->get_document(d.id);
        ASSERT_TRUE(full.ok());
        for (const Attachment& a : full->attachments) {
          ASSERT_TRUE(is_blob_name(a.blob.sha256)) << "refers to " << a.blob.sha256;
          EXPECT_TRUE(store->blobs().claim(a.blob).ok()) << d.id << " refers to a missing blob";
        }
      }
      if (!page->next_before_id) break;
      q.before_id = page->next_before_id;
    }
    auto audit = store->verify_audit();
    ASSERT_TRUE(audit.ok());
    ASSERT_TRUE(audit->ok) << audit->problem;
  }
  EXPECT_GT(reported.size(), static_cast<size_t>(kKills));  // the writer got real work done

  // Collecting garbage (no grace) removes the temp files kills left behind
  // and never a blob that a document uses.
  StoreOptions o = testing::options_for(dir.path());
  o.gc_grace_ms = 0;
  auto store = testing::open_or_die(o);
  ASSERT_TRUE(store);
  const size_t temps_left = count_temps(dir.path() + "/blobs");
  auto gc = store->collect_garbage();
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->temps_removed, temps_left);
  EXPECT_EQ(count_temps(dir.path() + "/blobs"), 0u);
  ::testing::Test::RecordProperty("acknowledged_documents", static_cast<int>(reported.size()));
  ::testing::Test::RecordProperty("temp_files_left_by_kills", static_cast<int>(temps_left));
  ::testing::Test::RecordProperty("unreferenced_blobs_collected", static_cast<int>(gc->blobs_removed));
  for (auto& [id, r] : reported) {
    EXPECT_TRUE(store->blobs().verify(r.envelope).ok());
    for (const BlobRef& b : r.attachments) EXPECT_TRUE(store->blobs().verify(b).ok());
  }
}

}  // namespace
}  // namespace edxgate::store
