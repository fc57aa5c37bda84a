// What only the SQLite engine has: its migrations from old files, WAL, the
// database file's mode. Documents, deduplication, queries, status messages,
// garbage collection and concurrency run on both engines in documents_test.cc.
#include "migrations.h"
#include "sqlite.h"
#include "store_test_util.h"

namespace edxgate::store {
namespace {

using testing::TempDir;

std::string db_of(const TempDir& d) { return d.path() + "/edxgate.db"; }

TEST(Migrations, AFreshDatabaseGetsTheLatestSchemaInWalMode) {
  TempDir dir;
  auto store = testing::open_or_die(testing::options_for(dir.path()));
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), latest_schema_version());
  store.reset();
  EXPECT_EQ(testing::raw_query(db_of(dir), "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(testing::raw_query(db_of(dir), "SELECT group_concat(version) FROM schema_version"), "1,2,3,4,5,6,7,8");
  // Reopening applies nothing twice.
  store = testing::open_or_die(testing::options_for(dir.path()));
  ASSERT_TRUE(store);
  EXPECT_EQ(testing::raw_query(db_of(dir), "SELECT count(*) FROM schema_version"),
            std::to_string(latest_schema_version()));
}

TEST(Migrations, UpgradesAVersion1DatabaseKeepingItsDocuments) {
  TempDir dir;
  {
    auto conn = sql::SqliteConn::open(db_of(dir), false, 1000);
    ASSERT_TRUE(conn.ok());
    auto v = migrate(**conn, 1);
    ASSERT_TRUE(v.ok());
    ASSERT_EQ(*v, 1);
    ASSERT_TRUE((*conn)
                    ->exec("INSERT INTO documents(direction, state, envelope_id, sender, code_number,"
                           " code_notation, promulgation_date, subject, document_type, priority,"
                           " due_date, signer_summary, submitter, idempotency_key, created_ms,"
                           " updated_ms) VALUES('incoming','registered','x','000.00.00.H41','1','QĐ',"
                           "'2026-01-02','QUYẾT ĐỊNH phê duyệt','', 0,'','','','',1,1)")
                    .ok());
  }
  auto store = testing::open_or_die(testing::options_for(dir.path()));
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), latest_schema_version());
  auto doc = store->get_document(1);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->state, State::registered);
  // Version 2 backfilled the folded subject of the old row.
  DocumentQuery q;
  q.subject_contains = "quyết định";
  auto page = store->list_documents(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->documents.size(), 1u);
  // Version 3: found by its envelope id.
  DocumentQuery by_id;
  by_id.envelope_id = "x";
  auto found = store->list_documents(by_id);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->documents.size(), 1u);
  by_id.envelope_id = "y";
  found = store->list_documents(by_id);
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->documents.empty());
  // And version 2's table works.
  EXPECT_TRUE(store->add_status_message(1, {Direction::outgoing, "03", "vào sổ", "", {}, 0, "", ""}).ok());
}

TEST(Migrations, RefusesADatabaseWrittenByANewerEdxgateAndLeavesItAlone) {
  TempDir dir;
  ASSERT_TRUE(testing::open_or_die(testing::options_for(dir.path())));
  ASSERT_EQ(testing::raw_exec(db_of(dir), "INSERT INTO schema_version VALUES(99, 0)"), SQLITE_OK);
  auto r = open_store(testing::options_for(dir.path()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store.schema_newer");
  EXPECT_EQ(r.error().kind, ErrorKind::conflict);
  EXPECT_NE(r.error().message.find("99"), std::string::npos);
  StoreOptions ro = testing::options_for(dir.path());
  ro.read_only = true;
  auto r2 = open_store(ro);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, "store.schema_newer");
  EXPECT_EQ(testing::raw_query(db_of(dir), "SELECT max(version) FROM schema_version"), "99");
}

TEST(Migrations, AReadOnlyOpenNeitherCreatesNorUpgrades) {
  TempDir dir;
  StoreOptions ro = testing::options_for(dir.path());
  ro.read_only = true;
  auto missing = open_store(ro);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "store.open");
  EXPECT_EQ(missing.error().kind, ErrorKind::io);
  EXPECT_FALSE(std::filesystem::exists(db_of(dir)));
  {
    auto conn = sql::SqliteConn::open(db_of(dir), false, 1000);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(migrate(**conn, 1).ok());
  }
  auto old = open_store(ro);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().code, "store.schema_older");
  EXPECT_EQ(testing::raw_query(db_of(dir), "SELECT max(version) FROM schema_version"), "1");
}

TEST(Store, TheDatabaseFileIsReadableOnlyByItsOwner) {
  TempDir dir;
  ASSERT_TRUE(testing::open_or_die(testing::options_for(dir.path())));
  auto perms = std::filesystem::status(db_of(dir)).permissions();
  EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
}

// A lookup by Idempotency-Key (each keyed submission) or by lifecycle uses
// its partial index: SQLite takes no full-scan steps over the documents, so
// the lookup does not grow with the table.
TEST(Store, KeyedLookupsUseTheirIndexNotAScanOfTheDocuments) {
  TempDir dir;
  auto store = testing::open_or_die(testing::options_for(dir.path()));
  ASSERT_TRUE(store);
  std::vector<NewDocument> docs;
  for (int i = 0; i < 300; ++i) {
    NewDocument d = testing::outgoing_doc();
    d.envelope_id = "doc-" + std::to_string(i);
    d.submitter = "system:qlvb";
    d.idempotency_key = "key-" + std::to_string(i);
    docs.push_back(std::move(d));
  }
  auto created = store->create_documents(docs);
  ASSERT_TRUE(created.ok()) << created.error().message;

  const uint64_t before = sql::full_scan_steps();
  auto again = store->create_document(docs[150]);  // the retried submission
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->existing);
  EXPECT_EQ(again->id, (*created)[150].id);
  DocumentQuery by_key;
  by_key.submitter = "system:qlvb";
  by_key.idempotency_key = "key-7";
  auto keyed = store->list_documents(by_key);
  ASSERT_TRUE(keyed.ok());
  ASSERT_EQ(keyed->documents.size(), 1u);
  EXPECT_EQ(keyed->documents[0].id, (*created)[7].id);
  DocumentQuery by_lifecycle;
  by_lifecycle.direction = Direction::outgoing;
  by_lifecycle.lifecycle = "recalled";
  auto recalled = store->list_documents(by_lifecycle);
  ASSERT_TRUE(recalled.ok());
  EXPECT_TRUE(recalled->documents.empty());
  EXPECT_EQ(sql::full_scan_steps() - before, 0u);

  // The counter does count a scan (the check above can fail).
  DocumentQuery by_subject;
  by_subject.subject_contains = "thử nghiệm";
  ASSERT_TRUE(store->list_documents(by_subject).ok());
  EXPECT_GT(sql::full_scan_steps() - before, 0u);
}

}  // namespace
}  // namespace edxgate::store
