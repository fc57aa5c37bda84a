// The receive path's durability at the verifier's pace (issue 15): a delivery
// keeps the delivered file itself (linked into the blob store, not copied),
// links the reader's decoded attachments the same way, and syncs every name
// once, in one directory sync shared with concurrent deliveries, before the
// document's row names them. Two ministries in process (tests/support).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "../support/ministry.h"
#include "../support/temp_dir.h"
#include "edxgate/base/digest.h"
#include "edxgate/store/store.h"
#include "edxgate/workflow/engine.h"

namespace edxgate::workflow {
namespace {

using store::State;
using test::TempDir;
using test::write_file;

constexpr const char* kA = "000.00.00.G01";
constexpr const char* kB = "000.00.00.G02";

struct IncomingTest : ::testing::Test {
  TempDir dir{"edxgate-incoming"};
  test::Ministry a{kA, "good", dir};
  test::Ministry b{kB, "good2", dir};

  // A signs and sends a document with `files` to B; returns the bytes B gets.
  std::string sent_by_a(const std::map<std::string, std::string>& files) {
    auto sub = a.submit({kB}, files);
    EXPECT_TRUE(sub.ok()) << sub.error().message;
    if (!sub.ok()) return "";
    SecretString pin("1234");
    auto st = a.engine->sign(sub->id, "", &pin, "leader");
    EXPECT_TRUE(st.ok()) << st.error().message;
    EXPECT_TRUE(a.engine->run_outbox_once().ok());
    auto sent = a.axis.take();
    EXPECT_EQ(sent.size(), 1u);
    return sent.empty() ? "" : sent[0].bytes;
  }

  // Delivers `bytes` to B from a file this test keeps (B may link, not consume it).
  Result<Accepted> deliver_to_b(const std::string& bytes, const std::string& file, const std::string& sha256 = "") {
    write_file(file, bytes);
    IncomingDelivery d;
    d.file = file;
    d.size = bytes.size();
    d.sha256 = sha256;
    d.from = kA;
    d.message_type = "edoc";
    return b.engine->accept(d);
  }
};

TEST_F(IncomingTest, ADeliveryKeepsTheDeliveredFileAndSyncsItsNamesBeforeTheRow) {
  const std::string bytes = sent_by_a({{"cv.txt", "nội dung công văn"}, {"phuluc.txt", "phụ lục"}});
  ASSERT_FALSE(bytes.empty());
  const std::string file = b.root + "/delivered.edxml";
  const store::BlobSyncStats before = b.db->blobs().sync_stats();
  auto got = deliver_to_b(bytes, file);
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_EQ(b.doc(got->document).state, State::verified);
  const store::BlobSyncStats after = b.db->blobs().sync_stats();
  const store::Document doc = b.doc(got->document);
  ASSERT_TRUE(doc.envelope);
  ASSERT_EQ(doc.attachments.size(), 2u);
  // The envelope and each file of the attachments (the ZIP as received, and
  // the file inside when it was zipped): each synced once, their names by a
  // directory sync asked for before the row was written. The engine is not
  // started, so the 01 answer was signed and stored inline too: one more
  // blob, synced and named at once (a second directory sync asked for).
  uint64_t files = 1;
  for (const auto& att : doc.attachments) files += att.unzipped ? 2 : 1;
  EXPECT_EQ(after.content_syncs - before.content_syncs, files + 1);
  EXPECT_EQ(after.name_syncs_asked - before.name_syncs_asked, 2u);
  EXPECT_EQ(after.name_syncs_done - before.name_syncs_done, 2u);
  // The kept envelope is the delivered file itself (a link, no copy), intact.
  struct stat delivered {
  }, kept{};
  ASSERT_EQ(::stat(file.c_str(), &delivered), 0);
  ASSERT_EQ(::stat(b.db->blobs().path_of(doc.envelope->sha256).c_str(), &kept), 0);
  EXPECT_EQ(delivered.st_ino, kept.st_ino);
  EXPECT_EQ(doc.envelope->sha256, sha256_hex(bytes));
  EXPECT_TRUE(b.db->blobs().verify(*doc.envelope).ok());
  for (const auto& att : doc.attachments) {
    EXPECT_TRUE(b.db->blobs().verify(att.blob).ok()) << att.name;
    if (att.unzipped) {
      EXPECT_TRUE(b.db->blobs().verify(*att.unzipped).ok()) << att.name;
    }
  }
}

TEST_F(IncomingTest, TheReceiversHashNamesTheKeptEnvelope) {
  const std::string bytes = sent_by_a({{"cv.txt", "nội dung"}});
  ASSERT_FALSE(bytes.empty());
  auto got = deliver_to_b(bytes, b.root + "/pushed.edxml", sha256_hex(bytes));
  ASSERT_TRUE(got.ok()) << got.error().message;
  const store::Document doc = b.doc(got->document);
  EXPECT_EQ(doc.envelope->sha256, sha256_hex(bytes));
  EXPECT_TRUE(b.db->blobs().verify(*doc.envelope).ok());
  // Not a hash: ignored, the engine hashes the file itself.
  auto again = deliver_to_b(bytes, b.root + "/pushed-again.edxml", "not-a-hash");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->duplicate);
}

TEST_F(IncomingTest, AQuarantinedDeliveryIsKeptWithItsNameSynced) {
  const store::BlobSyncStats before = b.db->blobs().sync_stats();
  auto got = deliver_to_b("<not an envelope", b.root + "/garbage.xml");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(b.doc(got->document).state, State::quarantined);
  const store::BlobSyncStats after = b.db->blobs().sync_stats();
  EXPECT_EQ(after.content_syncs - before.content_syncs, 1u);
  EXPECT_GE(after.name_syncs_done - before.name_syncs_done, 1u);
  EXPECT_TRUE(b.db->blobs().verify(*b.doc(got->document).envelope).ok());
}

// The attachments are decoded into the shared files directory under temp
// names (no directory per delivery): whatever becomes of a delivery, nothing
// of it is left in the work dir (EngineTest.AZippedAttachment... checks the
// same with an unzip directory).
TEST_F(IncomingTest, ADeliveryLeavesNothingInTheWorkDirWhateverBecomesOfIt) {
  const std::filesystem::path work = std::filesystem::path(b.root) / "work";
  auto left_in_work = [&](const std::string& root = "") {
    std::vector<std::string> left;
    const std::filesystem::path dir = root.empty() ? work : std::filesystem::path(root) / "work";
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (e.path().filename() != "files") left.push_back(e.path().string());
    }
    return left;
  };
  ASSERT_TRUE(std::filesystem::is_directory(work / "files"));
  const std::string bytes = sent_by_a({{"cv.txt", "nội dung công văn"}, {"phuluc.txt", "phụ lục"}});
  ASSERT_FALSE(bytes.empty());
  auto verified = deliver_to_b(bytes, b.root + "/ok.edxml");
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(b.doc(verified->document).state, State::verified);
  EXPECT_EQ(b.doc(verified->document).attachments.size(), 2u);
  EXPECT_EQ(left_in_work(), std::vector<std::string>{});
  // Read whole, attachments decoded, then refused by the signature.
  std::string tampered = bytes;
  const size_t at = tampered.find("DocumentId>");
  ASSERT_NE(at, std::string::npos);
  tampered.insert(at + 11, "9");
  auto quarantined = deliver_to_b(tampered, b.root + "/tampered.edxml");
  ASSERT_TRUE(quarantined.ok()) << quarantined.error().message;
  EXPECT_EQ(b.doc(quarantined->document).state, State::quarantined);
  EXPECT_EQ(left_in_work(), std::vector<std::string>{});
  // Cut short in the attachments: not well-formed.
  auto cut = deliver_to_b(bytes.substr(0, bytes.size() - 40), b.root + "/cut.edxml");
  ASSERT_TRUE(cut.ok()) << cut.error().message;
  EXPECT_EQ(b.doc(cut->document).state, State::quarantined);
  EXPECT_EQ(left_in_work(), std::vector<std::string>{});
  // The files directory gone (an operator's cleanup): that delivery fails
  // as our own trouble, nothing is quarantined, and the next one works.
  std::filesystem::remove_all(work / "files");
  const std::string second = sent_by_a({{"cv2.txt", "văn bản thứ hai"}});
  auto failed = deliver_to_b(second, b.root + "/second.edxml");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind, ErrorKind::io);
  auto retried = deliver_to_b(second, b.root + "/second-again.edxml");
  ASSERT_TRUE(retried.ok()) << retried.error().message;
  EXPECT_EQ(b.doc(retried->document).state, State::verified);
  EXPECT_EQ(left_in_work(), std::vector<std::string>{});
  // The sender's side (submit, sign, send) leaves nothing either.
  EXPECT_EQ(left_in_work(a.root), std::vector<std::string>{});
}

// Concurrent deliveries each end stored and intact (the shared directory
// sync fails no one and forgets no one).
TEST_F(IncomingTest, ConcurrentDeliveriesAreAllStoredIntact) {
  std::vector<std::string> envelopes;
  for (int i = 0; i < 8; ++i) {
    envelopes.push_back(sent_by_a({{"cv" + std::to_string(i) + ".txt", "văn bản số " + std::to_string(i)}}));
    ASSERT_FALSE(envelopes.back().empty());
  }
  std::atomic<int> next{0};
  std::vector<Result<Accepted>> results(envelopes.size(), make_error(ErrorKind::internal, "test.unset", "unset"));
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = next++; i < static_cast<int>(envelopes.size()); i = next++)
        results[i] = deliver_to_b(envelopes[i], b.root + "/concurrent-" + std::to_string(i));
    });
  }
  for (auto& t : ts) t.join();
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].error().message;
    const store::Document doc = b.doc(results[i]->document);
    EXPECT_EQ(doc.state, State::verified);
    EXPECT_TRUE(b.db->blobs().verify(*doc.envelope).ok());
    for (const auto& att : doc.attachments) EXPECT_TRUE(b.db->blobs().verify(att.blob).ok());
  }
}

}  // namespace
}  // namespace edxgate::workflow
