// The tracking migration on a database written before it (SQLite): incoming
// documents with a DueDate get their deadline, and status messages of a
// single-recipient document get that recipient as their organ.
#include "migrations.h"
#include "sqlite.h"
#include "store_test_util.h"

namespace edxgate::store {
namespace {

using testing::TempDir;

TEST(TrackingMigration, BackfillsDeadlinesFromDueDatesAndTheOrganOfStatuses) {
  TempDir dir;
  const std::string db = dir.path() + "/edxgate.db";
  {
    auto conn = sql::SqliteConn::open(db, false, 1000);
    ASSERT_TRUE(conn.ok());
    auto v = migrate(**conn, 3);
    ASSERT_TRUE(v.ok());
    ASSERT_EQ(*v, 3);
    const char* insert =
        "INSERT INTO documents(direction, state, envelope_id, sender, code_number, code_notation,"
        " promulgation_date, subject, document_type, priority, due_date, signer_summary, submitter,"
        " idempotency_key, created_ms, updated_ms) VALUES"
        " ('incoming','registered','a','000.00.00.H41','1','QĐ','2026-11-02','một','',0,'2026-11-10','','','',1,1),"
        " ('incoming','registered','b','000.00.00.H41','2','QĐ','2026-11-02','hai','',0,'','','','',1,1),"
        " ('incoming','registered','c','000.00.00.H41','3','QĐ','2026-11-02','ba','',0,'10/11/2026','','','',1,1),"
        " ('outgoing','sent','d','000.00.00.G06','4','CV','2026-11-02','bốn','',0,'2026-11-10','','','',1,1),"
        " ('outgoing','sent','e','000.00.00.G06','5','CV','2026-11-02','năm','',0,'','','','',1,1)";
    ASSERT_TRUE((*conn)->exec(insert).ok());
    ASSERT_TRUE((*conn)
                    ->exec("INSERT INTO recipients VALUES(4, 0, '000.00.00.H41'), (5, 0, '000.00.00.H41'),"
                           " (5, 1, '000.00.00.H29')")
                    .ok());
    ASSERT_TRUE((*conn)
                    ->exec("INSERT INTO status_messages(document_id, direction, code, description, staff, at_ms)"
                           " VALUES(4, 'incoming', '03', '', '', 1), (5, 'incoming', '03', '', '', 1)")
                    .ok());
  }
  auto store = testing::open_or_die(testing::options_for(dir.path()));
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), latest_schema_version());
  auto a = store->tracking(1);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->deadline_ms, deadline_of_day("2026-11-10"));
  EXPECT_EQ(a->deadline_source, DeadlineSource::due_date);
  EXPECT_EQ(store->tracking(2)->deadline_ms, std::nullopt);  // no DueDate
  EXPECT_EQ(store->tracking(3)->deadline_ms, std::nullopt);  // not a date we read
  EXPECT_EQ(store->tracking(4)->deadline_ms, std::nullopt);  // outgoing: not tracked
  EXPECT_EQ((*store->status_messages(4))[0].organ_id, "000.00.00.H41");
  EXPECT_EQ((*store->status_messages(5))[0].organ_id, "");  // two recipients: unknown
}

}  // namespace
}  // namespace edxgate::store
