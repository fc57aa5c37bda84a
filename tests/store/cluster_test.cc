// Several nodes on one database (both engines; the cluster case is
// PostgreSQL's): deduplication and idempotency enforced by the database, the
// audit chain appended without forks under concurrent writers, the schema,
// and (PostgreSQL) reconnection, statement timeouts and the bounded pool.
#include <libpq-fe.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "backend_fixture.h"
#include "database.h"  // kAuditLockKey
#include "migrations.h"
#include "sql_store.h"  // audit_row_hash, to write a long chain at once

namespace edxgate::store {
namespace {

struct Cluster : testing::BackendTest {
  std::unique_ptr<Store> node_a, node_b;
  void SetUp() override {
    BackendTest::SetUp();
    if (HasFatalFailure()) return;
    node_a = testing::open_or_die(base_options());
    node_b = testing::open_or_die(base_options());
    ASSERT_TRUE(node_a && node_b);
  }
  Store& node(int i) { return i % 2 ? *node_b : *node_a; }
};

TEST_P(Cluster, BothEnginesCarryTheSameSchemaVersion) {
  EXPECT_EQ(node_a->schema_version(), latest_schema_version());
  EXPECT_EQ(raw_value("SELECT max(version) FROM schema_version"), std::to_string(latest_schema_version()));
}

TEST_P(Cluster, TheSameDeliveryPushedToTwoNodesAtOnceIsStoredOnce) {
  auto env = node_a->blobs().put("<edXML>pushed twice</edXML>");
  ASSERT_TRUE(env.ok());
  constexpr int kThreads = 8;
  std::vector<Result<Created>> got(kThreads, make_error(ErrorKind::internal, "unset", ""));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      got[static_cast<size_t>(i)] = node(i).create_document(testing::incoming_doc(*env, "H41,2026/11/20,12/QĐ"));
    });
  }
  for (auto& t : threads) t.join();
  std::set<DocumentId> ids;
  int fresh = 0;
  for (auto& r : got) {
    ASSERT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
    ids.insert(r->id);
    fresh += r->existing ? 0 : 1;
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(fresh, 1);
  EXPECT_EQ(raw_value("SELECT count(*) FROM documents"), "1");
  // The database itself refuses a second row with the same key.
  const std::string dup = raw_sql(
      "INSERT INTO documents(direction, state, envelope_id, sender, code_number, code_notation,"
      " promulgation_date, subject, document_type, priority, due_date, envelope_sha256, envelope_size,"
      " signer_summary, submitter, idempotency_key, created_ms, updated_ms) SELECT direction, state,"
      " envelope_id, sender, code_number, code_notation, promulgation_date, subject, document_type,"
      " priority, due_date, envelope_sha256, envelope_size, signer_summary, submitter, idempotency_key,"
      " created_ms, updated_ms FROM documents");
  EXPECT_NE(dup, "");
}

TEST_P(Cluster, AnIdempotencyKeyIsSharedByEveryNode) {
  constexpr int kThreads = 8;
  std::vector<DocumentId> ids(kThreads, -1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      NewDocument d = testing::outgoing_doc();
      d.submitter = "system:qlvb";
      d.idempotency_key = "cv-12-2026";
      auto r = node(i).create_document(d);
      ids[static_cast<size_t>(i)] = r.ok() ? r->id : -1;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GT(ids[0], 0);
  for (DocumentId id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_EQ(raw_value("SELECT count(*) FROM documents"), "1");
}

// Every write of every node appends to one chain: concurrent appends and
// transitions on two nodes leave one unbroken chain, seq 1..N, no fork.
TEST_P(Cluster, TheAuditChainNeverForksUnderConcurrentWritersOnTwoNodes) {
  constexpr int kThreads = 6, kEach = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Store& s = node(i);
      for (int k = 0; k < kEach; ++k) {
        if (!s.append({"node" + std::to_string(i % 2), "test.append", "thread:" + std::to_string(i), "ok",
                       std::to_string(k)})
                 .ok()) {
          ++failures;
        }
        if (k % 5 == 0) {
          auto d = s.create_document(testing::outgoing_doc());  // a document and its audit row
          if (!d.ok() || !s.transition(d->id, State::pending_signature, "t", "").ok()) ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (Store* s : {node_a.get(), node_b.get()}) {
    auto check = s->verify_audit();
    ASSERT_TRUE(check.ok());
    EXPECT_TRUE(check->ok) << check->problem;
    // appends + (create + transition) per 5th append
    EXPECT_EQ(check->rows, uint64_t{kThreads * kEach + kThreads * (kEach / 5) * 2});
  }
  // No two rows name the same predecessor.
  EXPECT_EQ(raw_value("SELECT count(*) FROM (SELECT prev_sha256 FROM audit_log GROUP BY prev_sha256"
                      " HAVING count(*) > 1) AS forks"),
            "0");
}

TEST_P(Cluster, SqlCannotUpdateOrDeleteAuditRows) {
  ASSERT_TRUE(node_a->append({"officer:cli", "key.generate", "k", "ok", ""}).ok());
  ASSERT_TRUE(node_a->append({"officer:cli", "key.delete", "k", "ok", ""}).ok());
  const std::string upd = raw_sql("UPDATE audit_log SET detail = 'x' WHERE seq = 1");
  EXPECT_NE(upd.find("append-only"), std::string::npos) << upd;
  EXPECT_NE(raw_sql("DELETE FROM audit_log WHERE seq = 1"), "");
  EXPECT_TRUE(node_b->verify_audit()->ok);
}

TEST_P(Cluster, AWriteOnOneNodeIsSeenAtOnceOnTheOther) {
  NewDocument d = testing::outgoing_doc("Công văn V/v Thử Nghiệm Liên Thông");
  auto id = node_a->create_document(d);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(node_a->transition(id->id, State::pending_signature, "t", "").ok());
  auto got = node_b->get_document(id->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state, State::pending_signature);
  EXPECT_EQ(got->subject, d.subject);
  EXPECT_EQ(got->recipients, d.recipients);
  DocumentQuery q;
  q.subject_contains = "THỬ NGHIỆM";  // case-insensitive over Vietnamese letters
  auto page = node_b->list_documents(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->documents.size(), 1u);
  EXPECT_EQ(node_b->history(id->id)->size(), 2u);
}

EDXGATE_BOTH_BACKENDS(Cluster);

// --- PostgreSQL only: connections, timeouts, the pool, concurrent migration ---
struct PgCluster : Cluster {};

TEST_P(PgCluster, AStoreReconnectsAfterTheServerDropsItsConnections) {
  ASSERT_TRUE(node_a->create_document(testing::outgoing_doc()).ok());
  ASSERT_TRUE(node_a->stats().ok());
  // An administrator (or a failover) kills every session of the database.
  const std::string killed = raw_value(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database()"
      " AND pid <> pg_backend_pid()");
  EXPECT_NE(killed, "0");
  auto d = node_a->create_document(testing::outgoing_doc());
  ASSERT_TRUE(d.ok()) << d.error().code << ": " << d.error().message;
  auto read = node_a->get_document(d->id);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_TRUE(node_a->verify_audit()->ok);
}

TEST_P(PgCluster, AStatementWaitingTooLongIsCutOffByTheTimeout) {
  StoreOptions o = base_options();
  o.statement_timeout_ms = 300;
  auto impatient = testing::open_or_die(o);
  ASSERT_TRUE(impatient);
  // Another session holds the audit chain's lock and does not let go.
  PGconn* holder = PQconnectdb(o.dsn.c_str());
  ASSERT_EQ(PQstatus(holder), CONNECTION_OK);
  PQclear(PQexec(holder, "BEGIN"));
  PQclear(PQexec(holder, ("SELECT pg_advisory_xact_lock(" + std::to_string(kAuditLockKey) + ")").c_str()));
  const auto t0 = std::chrono::steady_clock::now();
  Status s = impatient->append({"t", "t", "t", "ok", ""});
  const auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "store.busy");
  EXPECT_LT(waited, std::chrono::seconds(5));
  // Claiming outbox items does not need that lock.
  EXPECT_TRUE(impatient->claim_outbox("w", 1000, 1).ok());
  PQclear(PQexec(holder, "ROLLBACK"));
  PQfinish(holder);
  EXPECT_TRUE(impatient->append({"t", "t", "t", "ok", ""}).ok());
}

TEST_P(PgCluster, ThePoolNeverOpensMoreConnectionsThanConfigured) {
  StoreOptions o = base_options();
  o.pool_size = 2;
  o.application_name = "edxgate-pooltest";
  auto s = testing::open_or_die(o);
  ASSERT_TRUE(s);
  std::atomic<int> failures{0};
  std::atomic<int> peak{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 10; ++k) {
        if (!s->create_document(testing::outgoing_doc()).ok()) ++failures;
        if (!s->list_documents({}).ok()) ++failures;
      }
    });
  }
  std::thread watcher([&] {
    for (int k = 0; k < 20; ++k) {
      int n = std::atoi(raw_value("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                  "'edxgate-pooltest'")
                            .c_str());
      peak = std::max(peak.load(), n);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  for (auto& t : threads) t.join();
  watcher.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(peak.load(), 2);
  EXPECT_GE(peak.load(), 1);
  EXPECT_EQ(raw_value("SELECT count(*) FROM documents"), "80");
}

TEST_P(PgCluster, TwoNodesStartingAtOnceMigrateOnce) {
  const std::string fresh = testing::PgServer::get().create_database();
  ASSERT_FALSE(fresh.empty());
  StoreOptions o = base_options();
  o.dsn = testing::PgServer::get().dsn(fresh);
  std::vector<std::unique_ptr<Store>> nodes(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < nodes.size(); ++i) {
    threads.emplace_back([&, i] {
      auto s = open_store(o);
      if (s.ok()) nodes[i] = std::move(s.value());
    });
  }
  for (auto& t : threads) t.join();
  for (auto& n : nodes) {
    ASSERT_TRUE(n);
    EXPECT_EQ(n->schema_version(), latest_schema_version());
  }
  EXPECT_EQ(testing::PgServer::get().query(fresh, "SELECT count(*) FROM schema_version"),
            std::to_string(latest_schema_version()));
  nodes.clear();
  testing::PgServer::get().drop_database(fresh);
}

TEST_P(PgCluster, TheConnectionStringNeverAppearsInAnError) {
  StoreOptions o = base_options();
  o.dsn = "host=" + testing::PgServer::get().socket_dir() + " port=5432 user=nosuchuser password=s3cr3t-pw dbname=x";
  auto s = open_store(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "store.unavailable");
  EXPECT_EQ(s.error().message.find("s3cr3t-pw"), std::string::npos) << s.error().message;
  // A malformed string: libpq would quote the part it could not read.
  o.dsn = "host=/tmp user=e password s3cr3t-pw";
  s = open_store(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "store.open");
  EXPECT_EQ(s.error().message.find("s3cr3t-pw"), std::string::npos) << s.error().message;
}

// The chain is read in pages (PostgreSQL would hand the whole table over at
// once): a chain longer than a page verifies, and a break past the first
// page is found.
TEST_P(Cluster, AChainLongerThanAPageVerifiesAndABreakBeyondItIsFound) {
  // Rows chained exactly as the store chains them, written in one statement
  // (4500 appends one by one would cost 4500 fsyncs).
  std::string sql =
      "INSERT INTO audit_log(seq, at_ms, actor, action, object, outcome, detail, prev_sha256, sha256) VALUES";
  std::string prev(64, '0');
  for (int64_t seq = 1; seq <= 4500; ++seq) {
    const AuditEvent e{"officer:cli", "key.list", "token", "ok", std::to_string(seq)};
    const std::string hash = audit_row_hash(prev, seq, 1'700'000'000'000 + seq, e);
    sql += (seq > 1 ? ",(" : "(") + std::to_string(seq) + "," + std::to_string(1'700'000'000'000 + seq) +
           ",'officer:cli','key.list','token','ok','" + std::to_string(seq) + "','" + prev + "','" + hash + "')";
    prev = hash;
  }
  ASSERT_EQ(raw_sql(sql), "");
  auto check = node_b->verify_audit();
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok) << check->problem;
  EXPECT_EQ(check->rows, 4500u);
  EXPECT_EQ(check->head_sha256, (*node_a->audit_rows(4499, 1))[0].sha256);
  // An insider removes the trigger and rewrites a row on the third page.
  const std::string drop =
      postgresql() ? "DROP TRIGGER audit_log_no_update ON audit_log" : "DROP TRIGGER audit_log_no_update";
  ASSERT_EQ(raw_sql(drop), "");
  ASSERT_EQ(raw_sql("UPDATE audit_log SET detail = 'rewritten' WHERE seq = 4321"), "");
  check = node_b->verify_audit();
  ASSERT_TRUE(check.ok());
  EXPECT_FALSE(check->ok);
  EXPECT_EQ(check->first_bad_seq, 4321);
}

INSTANTIATE_TEST_SUITE_P(Engines, PgCluster, ::testing::Values(Backend::postgresql), testing::backend_test_name);

}  // namespace
}  // namespace edxgate::store
