// Group commit (SQLite): concurrent write transactions share one commit, one
// fsync of the WAL, and each caller returns only once its own transaction is
// durable. Checked on the Database seam (a batch held open while others
// queue, a failing member rolled back alone) and through the Store (many
// threads deliver at once; all durable after reopening, fewer commits than
// writes).
#include <future>
#include <set>
#include <thread>

#include "database.h"
#include "edxgate/store/write_stats.h"
#include "sqlite.h"
#include "store_test_util.h"

namespace edxgate::store {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

std::unique_ptr<SqliteDatabase> open_database(const std::string& path) {
  auto writer = sql::SqliteConn::open(path, /*read_only=*/false, 5000);
  EXPECT_TRUE(writer.ok());
  if (!writer.ok()) return nullptr;
  EXPECT_TRUE((*writer)->exec("CREATE TABLE IF NOT EXISTS t(x INTEGER PRIMARY KEY)").ok());
  return std::make_unique<SqliteDatabase>(path, 5000, std::move(writer.value()), nullptr);
}

Status insert(sql::Conn& c, int64_t x) {
  auto st = c.prepare("INSERT INTO t(x) VALUES(?)");
  if (!st.ok()) return st.error();
  return st->bind(1, x).run();
}

TEST(GroupCommit, WritesQueuedBehindABatchCommitTogetherAndAFailingOneIsRolledBackAlone) {
  TempDir dir;
  const std::string path = dir.path() + "/t.db";
  auto db = open_database(path);
  ASSERT_TRUE(db);
  // The first write holds its transaction open until the others are queued.
  std::promise<void> started, go;
  std::shared_future<void> go_f = go.get_future().share();
  std::thread first([&] {
    Status s = db->write(
        [&](sql::Conn& c) -> Status {
          started.set_value();
          go_f.wait();
          return insert(c, 100);
        },
        true);
    EXPECT_TRUE(s.ok());
  });
  started.get_future().wait();
  constexpr int kOthers = 6;
  std::vector<Status> results(kOthers);
  std::vector<std::thread> others;
  for (int i = 0; i < kOthers; ++i) {
    others.emplace_back([&, i] {
      results[i] = db->write(
          [i](sql::Conn& c) -> Status {
            EDX_TRY(insert(c, i));
            // Member 3 fails after writing: its row must not survive.
            if (i == 3) return make_error(ErrorKind::invalid, "test.refused", "refused on purpose");
            return {};
          },
          true);
    });
  }
  std::this_thread::sleep_for(500ms);  // the others queue behind the open batch
  go.set_value();
  first.join();
  for (auto& t : others) t.join();
  for (int i = 0; i < kOthers; ++i) {
    if (i == 3) {
      ASSERT_FALSE(results[i].ok());
      EXPECT_EQ(results[i].error().code, "test.refused");
    } else {
      EXPECT_TRUE(results[i].ok()) << i << ": " << results[i].error().message;
    }
  }
  const WriteStats stats = db->write_stats();
  EXPECT_EQ(stats.writes, 1u + kOthers);
  EXPECT_EQ(stats.commits, 2u) << "the six queued writes should share one commit";
  db.reset();
  EXPECT_EQ(testing::raw_query(path, "SELECT group_concat(x) FROM (SELECT x FROM t ORDER BY x)"), "0,1,2,4,5,100");
}

TEST(GroupCommit, AWriteAloneCommitsAtOnce) {
  TempDir dir;
  const std::string path = dir.path() + "/t.db";
  auto db = open_database(path);
  ASSERT_TRUE(db);
  for (int i = 0; i < 3; ++i) {
    Status s = db->write([i](sql::Conn& c) { return insert(c, i); }, true);
    ASSERT_TRUE(s.ok());
    // Durable on return: another connection sees it at once.
    EXPECT_EQ(testing::raw_query(path, "SELECT count(*) FROM t"), std::to_string(i + 1));
  }
  EXPECT_EQ(db->write_stats().writes, 3u);
  EXPECT_EQ(db->write_stats().commits, 3u);
}

TEST(GroupCommit, ConcurrentDeliveriesAreAllDurableWithFewerCommitsThanWrites) {
  TempDir dir;
  constexpr int kThreads = 8;
  constexpr int kEach = 25;
  std::vector<std::vector<DocumentId>> ids(kThreads);
  WriteStats stats;
  {
    auto store = testing::open_or_die(testing::options_for(dir.path()));
    ASSERT_TRUE(store);
    const WriteStats before = write_stats(*store);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          const std::string name = "delivery " + std::to_string(t) + "-" + std::to_string(i);
          auto envelope = store->blobs().put("<edXMLEnvelope>" + name + "</edXMLEnvelope>");
          ASSERT_TRUE(envelope.ok());
          NewDocument d = testing::incoming_doc(*envelope, "DOC-" + std::to_string(t) + "-" + std::to_string(i));
          d.subject = name;
          auto created = store->create_document(d);
          ASSERT_TRUE(created.ok()) << created.error().message;
          EXPECT_FALSE(created->existing);
          ids[t].push_back(created->id);
        }
      });
    }
    for (auto& t : threads) t.join();
    const WriteStats after = write_stats(*store);
    stats = {after.writes - before.writes, after.commits - before.commits};
  }
  EXPECT_EQ(stats.writes, static_cast<uint64_t>(kThreads * kEach));
  EXPECT_LT(stats.commits, stats.writes) << "no two concurrent deliveries shared a commit";
  EXPECT_GT(stats.commits, 0u);
  ::testing::Test::RecordProperty("writes", static_cast<int>(stats.writes));
  ::testing::Test::RecordProperty("commits", static_cast<int>(stats.commits));
  // Reopened: every acknowledged delivery is there, each with its own row.
  auto store = testing::open_or_die(testing::options_for(dir.path()));
  ASSERT_TRUE(store);
  std::set<DocumentId> all;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(ids[t].size(), static_cast<size_t>(kEach));
    for (int i = 0; i < kEach; ++i) {
      auto doc = store->get_document(ids[t][i]);
      ASSERT_TRUE(doc.ok());
      EXPECT_EQ(doc->subject, "delivery " + std::to_string(t) + "-" + std::to_string(i));
      all.insert(ids[t][i]);
    }
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
  auto audit = store->verify_audit();
  ASSERT_TRUE(audit.ok());
  EXPECT_TRUE(audit->ok) << audit->problem;
  EXPECT_EQ(audit->rows, static_cast<uint64_t>(kThreads * kEach));
}

}  // namespace
}  // namespace edxgate::store
