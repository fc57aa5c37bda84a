// Issue 13: a DocumentId is unique per sending organ among live outgoing
// documents, decided by the database (migration 8), on both engines.
#include <latch>
#include <thread>

#include "backend_fixture.h"
#include "migrations.h"
#include "pg.h"
#include "sqlite.h"

namespace edxgate::store {
namespace {

struct LiveDocumentId : testing::BackendTest {};

constexpr const char* kId = "000.00.00.G06,2026/11/20,251/TMĐT-TTTH";

NewDocument with_id(const std::string& envelope_id, const std::string& submitter) {
  NewDocument d = testing::outgoing_doc();
  d.envelope_id = envelope_id;
  d.submitter = submitter;
  d.idempotency_key = submitter + "|" + envelope_id;
  return d;
}

TEST_P(LiveDocumentId, TwoSubmissionsAtOnceOneWinsTheOtherIsAConflict) {
  // Two nodes (two Store instances), one database: no check in code can
  // order them, only the database's index.
  auto a = testing::open_or_die(base_options());
  auto b = testing::open_or_die(base_options());
  ASSERT_TRUE(a && b);
  for (int round = 0; round < 8; ++round) {
    const std::string id = std::string(kId) + "-" + std::to_string(round);
    std::latch start(2);
    Result<Created> ra = make_error(ErrorKind::internal, "test.unset", "");
    Result<Created> rb = make_error(ErrorKind::internal, "test.unset", "");
    std::thread ta([&] {
      start.arrive_and_wait();
      ra = a->create_document(with_id(id, "system:qlvb-a"));
    });
    std::thread tb([&] {
      start.arrive_and_wait();
      rb = b->create_document(with_id(id, "system:qlvb-b"));
    });
    ta.join();
    tb.join();
    ASSERT_NE(ra.ok(), rb.ok()) << "round " << round << ": exactly one may win";
    const Error& lost = ra.ok() ? rb.error() : ra.error();
    EXPECT_EQ(lost.code, "document.duplicate_id") << lost.message;
    EXPECT_EQ(lost.kind, ErrorKind::conflict);
    EXPECT_NE(lost.message.find(id), std::string::npos);
  }
  EXPECT_EQ(raw_value("SELECT count(*) FROM documents"), "8");
}

TEST_P(LiveDocumentId, TheIdIsFreeAgainOnceTheDocumentIsCancelledOrRefused) {
  auto store = testing::open_or_die(base_options());
  ASSERT_TRUE(store);
  auto first = store->create_document(with_id(kId, "system:a"));
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto again = store->create_document(with_id(kId, "system:b"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "document.duplicate_id");
  ASSERT_TRUE(store->transition(first->id, State::cancelled, "officer", "wrong date").ok());
  auto second = store->create_document(with_id(kId, "system:b"));
  ASSERT_TRUE(second.ok()) << second.error().message;
  // Another organ may use the same DocumentId text.
  NewDocument other = with_id(kId, "system:c");
  other.sender = "000.00.00.H41";
  EXPECT_TRUE(store->create_document(other).ok());
}

TEST_P(LiveDocumentId, RecallAndUpdateEnvelopesCarryTheirDocumentsId) {
  auto store = testing::open_or_die(base_options());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->create_document(with_id(kId, "system:a")).ok());
  for (int type : {1, 2}) {
    NewDocument d = with_id(kId, "system:lifecycle-" + std::to_string(type));
    d.business_doc_type = type;
    auto r = store->create_document(d);
    EXPECT_TRUE(r.ok()) << "BussinessDocType " << type << ": " << r.error().message;
  }
  NewDocument replacement = with_id(kId, "system:replacement");
  replacement.business_doc_type = 3;  // a replacement is a new document: its own id
  auto r = store->create_document(replacement);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "document.duplicate_id");
}

TEST_P(LiveDocumentId, TheIdempotentRetryStillReturnsTheFirstDocument) {
  auto store = testing::open_or_die(base_options());
  ASSERT_TRUE(store);
  auto first = store->create_document(with_id(kId, "system:a"));
  auto retry = store->create_document(with_id(kId, "system:a"));
  ASSERT_TRUE(first.ok() && retry.ok());
  EXPECT_TRUE(retry->existing);
  EXPECT_EQ(retry->id, first->id);
}

// A database written before version 8 may hold live duplicates: the
// migration keeps every document, the newest live one holds the id.
TEST_P(LiveDocumentId, TheMigrationKeepsExistingDuplicatesAndMarksTheOlderOnes) {
  {
    std::unique_ptr<sql::Conn> conn;
    if (postgresql()) {
      sql::PgSettings s;
      s.dsn = base_options().dsn;
      auto c = sql::PgConn::open(s);
      ASSERT_TRUE(c.ok()) << c.error().message;
      conn = std::move(*c);
    } else {
      auto c = sql::SqliteConn::open(state_dir() + "/edxgate.db", false, 1000);
      ASSERT_TRUE(c.ok()) << c.error().message;
      conn = std::move(*c);
    }
    auto v = migrate(*conn, 7);
    ASSERT_TRUE(v.ok()) << v.error().message;
    // 1, 2, 4: live duplicates; 3: cancelled; 5: the recall of 4 (same id);
    // 6: a live document of another organ.
    const char* insert =
        "INSERT INTO documents(direction, state, envelope_id, sender, code_number, code_notation,"
        " promulgation_date, subject, document_type, priority, due_date, signer_summary, submitter,"
        " idempotency_key, created_ms, updated_ms, lifecycle) VALUES"
        " ('outgoing','sent','X','000.00.00.G06','1','CV','2026-11-02','a','',0,'','','s','',1,1,''),"
        " ('outgoing','delivered','X','000.00.00.G06','1','CV','2026-11-02','b','',0,'','','s','',2,2,''),"
        " ('outgoing','cancelled','X','000.00.00.G06','1','CV','2026-11-02','c','',0,'','','s','',3,3,''),"
        " ('outgoing','queued','X','000.00.00.G06','1','CV','2026-11-02','d','',0,'','','s','',4,4,'recall_requested'),"
        " ('outgoing','queued','X','000.00.00.G06','1','CV','2026-11-02','e','',0,'','','s','',5,5,'revocation'),"
        " ('outgoing','sent','X','000.00.00.H41','1','CV','2026-11-02','f','',0,'','','s','',6,6,'')";
    auto inserted = conn->exec(insert);
    ASSERT_TRUE(inserted.ok()) << inserted.error().message;
  }
  auto store = testing::open_or_die(base_options());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), latest_schema_version());
  EXPECT_EQ(raw_value("SELECT count(*) FROM documents"), "6");                            // none lost
  EXPECT_EQ(raw_value("SELECT count(*) FROM documents WHERE state = 'cancelled'"), "1");  // none moved
  EXPECT_EQ(raw_value("SELECT duplicate_id_of FROM documents WHERE id = 1"), "4");
  EXPECT_EQ(raw_value("SELECT duplicate_id_of FROM documents WHERE id = 2"), "4");
  EXPECT_EQ(raw_value("SELECT count(*) FROM documents WHERE duplicate_id_of IS NOT NULL"), "2");
  EXPECT_EQ(raw_value("SELECT business_doc_type FROM documents WHERE id = 5"), "1");
  // The rule holds from now on.
  NewDocument d = with_id("X", "system:new");
  auto r = store->create_document(d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "document.duplicate_id");
}

INSTANTIATE_TEST_SUITE_P(Engines, LiveDocumentId, ::testing::Values(Backend::sqlite, Backend::postgresql),
                         testing::backend_test_name);

}  // namespace
}  // namespace edxgate::store
