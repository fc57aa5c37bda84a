// `edxgate store migrate`: a single gateway's SQLite state moved into an
// empty PostgreSQL database, run as an operator would, then checked through
// the PostgreSQL store and `edxgate audit verify`.

#include <cstdio>
#include <fstream>

#include "../support/run_cli.h"
#include "backend_fixture.h"
#include "edxgate/base/json.h"

namespace edxgate::store {
namespace {

using edxgate::test::CliRun;
CliRun edxgate(const std::string& args) { return edxgate::test::run_edxgate(args); }

// The PostgreSQL side is the parameter; the source is always SQLite.
struct StoreMigrate : testing::BackendTest {
  testing::TempDir source, cluster_blobs;
  DocumentId out_id = 0, in_id = 0, purged_id = 0;
  BlobRef attachment, envelope, zipped, unzipped;
  AuditCheck source_chain;

  void SetUp() override {
    BackendTest::SetUp();
    if (HasFatalFailure()) return;
    auto store = testing::open_or_die(testing::options_for(source.path()));
    ASSERT_TRUE(store);
    auto a = store->blobs().put("%PDF-1.7 quyết định số 12");
    auto env = store->blobs().put("<edXML>signed</edXML>");
    ASSERT_TRUE(a.ok() && env.ok());
    attachment = *a;
    envelope = *env;
    NewDocument d = testing::outgoing_doc("Công văn KHẨN về phòng chống bão");
    d.attachments = {{"quyet-dinh.pdf", "application/pdf", *a}};
    d.submitter = "system:qlvb";
    d.idempotency_key = "cv-12-2026";
    auto o = store->create_document(d);
    ASSERT_TRUE(o.ok());
    out_id = o->id;
    for (State s : {State::pending_signature, State::signed_}) {
      ASSERT_TRUE(store->transition(out_id, s, "leader:an", "approved").ok());
    }
    ASSERT_TRUE(store
                    ->transition(out_id, State::queued, "system", "", std::nullopt,
                                 OutboxRequest{"edoc", "000.00.00.H41", *env})
                    .ok());
    ASSERT_EQ(store->claim_outbox("engine@old", 600'000, 1)->size(), 1u);  // leased when stopped
    auto z = store->blobs().put(std::string("PK\x03\x04") + " a zipped report");
    auto u = store->blobs().put("the report inside the zip");
    ASSERT_TRUE(z.ok() && u.ok());
    zipped = *z;
    unzipped = *u;
    NewDocument in = testing::incoming_doc(*env, "H41,2026/11/20,7/QĐ");
    in.attachments = {{"bao-cao.txt", "text/plain", zipped, unzipped, ""}};
    auto i = store->create_document(in);
    ASSERT_TRUE(i.ok());
    in_id = i->id;
    ASSERT_TRUE(
        store->add_status_message(out_id, {Direction::incoming, "01", "đã đến", "Lê Văn An", *env, 0, "", ""}).ok());
    // The newest document was purged: its id must never be given again.
    auto gone = store->create_document(testing::outgoing_doc("bản nháp bỏ"));
    ASSERT_TRUE(gone.ok());
    purged_id = gone->id;
    ASSERT_TRUE(store->transition(purged_id, State::cancelled, "officer:b", "").ok());
    ASSERT_TRUE(store->purge_document(purged_id, "officer:b", "retention").ok());
    ASSERT_TRUE(
        store
            ->replace_agencies({{"000.00.00.H41", "Ủy ban nhân dân tỉnh Nghệ An", "41", "", "ubnd@nghean.gov.vn", ""},
                                {"000.01.00.H41", "Sở Nội vụ tỉnh Nghệ An", "4101", "41", "", "H41.01"}},
                               "system:directory")
            .ok());
    source_chain = *store->verify_audit();
    ASSERT_TRUE(source_chain.ok);
  }

  std::string target() const { return "'postgresql:" + base_options().dsn + "'"; }
};

TEST_P(StoreMigrate, MovesEveryRowKeepsTheAuditChainAndCopiesTheBlobs) {
  auto run = edxgate("store migrate --from sqlite:" + source.path() + " --to " + target() + " --blob-dir " +
                     cluster_blobs.path() + " --json");
  ASSERT_EQ(run.code, 0) << run.out;
  auto r = json::parse(run.out);
  ASSERT_TRUE(r.ok()) << run.out;
  EXPECT_EQ(r->at("documents").as_int64(), 2);
  EXPECT_EQ(r->at("idempotency_keys").as_int64(), 1);
  EXPECT_EQ(r->at("outbox_items").as_int64(), 1);
  EXPECT_EQ(r->at("status_messages").as_int64(), 1);
  EXPECT_EQ(r->at("blobs_copied").as_int64(), 4);
  EXPECT_EQ(r->at("agencies").as_int64(), 2);
  EXPECT_EQ(static_cast<uint64_t>(r->at("audit_rows").as_int64()), source_chain.rows);
  EXPECT_EQ(r->at("audit_head_sha256").as_string(), source_chain.head_sha256);

  StoreOptions o = base_options();
  o.blob_dir = cluster_blobs.path();
  auto pg = testing::open_or_die(o);
  ASSERT_TRUE(pg);
  auto doc = pg->get_document(out_id);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->state, State::queued);
  EXPECT_EQ(doc->subject, "Công văn KHẨN về phòng chống bão");
  ASSERT_EQ(doc->attachments.size(), 1u);
  EXPECT_EQ(doc->attachments[0].blob, attachment);
  EXPECT_TRUE(pg->blobs().verify(attachment).ok());
  EXPECT_TRUE(pg->blobs().verify(envelope).ok());
  auto in_doc = pg->get_document(in_id);
  ASSERT_TRUE(in_doc.ok());
  ASSERT_EQ(in_doc->attachments.size(), 1u);
  EXPECT_EQ(in_doc->attachments[0].blob, zipped);
  EXPECT_EQ(in_doc->attachments[0].unzipped, std::optional<BlobRef>(unzipped));
  EXPECT_TRUE(pg->blobs().verify(unzipped).ok());
  EXPECT_EQ(pg->history(out_id)->size(), 4u);
  auto statuses = pg->status_messages(out_id);
  ASSERT_EQ(statuses->size(), 1u);
  EXPECT_EQ((*statuses)[0].staff, "Lê Văn An");
  auto outbox = pg->list_outbox({});
  ASSERT_EQ(outbox->size(), 1u);
  EXPECT_EQ((*outbox)[0].lease_owner, "engine@old");
  auto chain = pg->verify_audit();
  ASSERT_TRUE(chain.ok() && chain->ok);
  EXPECT_EQ(chain->head_sha256, source_chain.head_sha256);
  EXPECT_EQ(*pg->release_leases("engine@old"), 1u);  // the restarted node takes its lease back
  // The idempotency key still answers with the first document.
  NewDocument retry = testing::outgoing_doc("a retry");
  retry.submitter = "system:qlvb";
  retry.idempotency_key = "cv-12-2026";
  auto again = pg->create_document(retry);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->existing);
  EXPECT_EQ(again->id, out_id);
  // And the same incoming envelope is still a duplicate.
  auto dup = pg->create_document(testing::incoming_doc(envelope, "H41,2026/11/20,7/QĐ"));
  ASSERT_TRUE(dup.ok());
  EXPECT_EQ(dup->id, in_id);
  // New ids go on after the purged one.
  auto next = pg->create_document(testing::outgoing_doc());
  ASSERT_TRUE(next.ok());
  EXPECT_GT(next->id, purged_id);
  // The agency directory came along: its entries and when it was synced.
  auto agency = pg->find_agency("000.01.00.H41");
  ASSERT_TRUE(agency.ok() && agency->has_value());
  EXPECT_EQ((*agency)->name, "Sở Nội vụ tỉnh Nghệ An");
  EXPECT_EQ((*agency)->pid, "41");
  EXPECT_EQ((*agency)->old_code, "H41.01");
  auto info = pg->agency_directory_info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->count, 2u);
  EXPECT_GT(info->synced_ms, 0);
  EXPECT_EQ(pg->search_agencies("noi vu", 10)->size(), 1u);  // the folded names came too
  // The operator's check on the new store.
  auto verify = edxgate("audit verify --db " + target());
  EXPECT_EQ(verify.code, 0) << verify.out;
}

TEST_P(StoreMigrate, RefusesATargetThatAlreadyHoldsRows) {
  auto first = edxgate("store migrate --from sqlite:" + source.path() + " --to " + target());
  ASSERT_EQ(first.code, 0) << first.out;
  EXPECT_NE(first.out.find("audit chain verified on the target"), std::string::npos) << first.out;
  auto second = edxgate("store migrate --from sqlite:" + source.path() + " --to " + target());
  EXPECT_EQ(second.code, 1) << second.out;
  EXPECT_NE(second.out.find("already holds rows"), std::string::npos) << second.out;
}

TEST_P(StoreMigrate, RefusesASourceTableItDoesNotKnowRatherThanLeaveItsRowsBehind) {
  auto added = edxgate::test::run_command("sqlite3 " + source.path() +
                                          "/edxgate.db 'CREATE TABLE signing_notes(id INTEGER PRIMARY KEY, note TEXT);"
                                          " INSERT INTO signing_notes(note) VALUES (1);'");
  ASSERT_EQ(added.code, 0) << added.out;
  auto run = edxgate("store migrate --from sqlite:" + source.path() + " --to " + target());
  EXPECT_NE(run.code, 0) << run.out;
  EXPECT_NE(run.out.find("signing_notes"), std::string::npos) << run.out;
  StoreOptions o = base_options();
  auto pg = testing::open_or_die(o);
  ASSERT_TRUE(pg);
  EXPECT_FALSE(pg->get_document(out_id).ok());  // nothing was moved
}

TEST_P(StoreMigrate, TakesThePasswordFromAFileAndNeverPrintsIt) {
  const std::string file = source.path() + "/dsn";
  { std::ofstream(file) << base_options().dsn << "_missing password=Mật-khẩu-9f2\n"; }
  auto run = edxgate("store migrate --from sqlite:" + source.path() + " --to postgresql --to-dsn-file " + file);
  EXPECT_EQ(run.code, 2) << run.out;
  EXPECT_NE(run.out.find("cannot connect to PostgreSQL"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("Mật-khẩu-9f2"), std::string::npos) << run.out;
  { std::ofstream(file) << base_options().dsn << " password=Mật-khẩu-9f2\n"; }
  run = edxgate("store migrate --from sqlite:" + source.path() + " --to postgresql --to-dsn-file " + file);
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_EQ(run.out.find("Mật-khẩu-9f2"), std::string::npos) << run.out;
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreMigrate, ::testing::Values(Backend::postgresql), testing::backend_test_name);

}  // namespace
}  // namespace edxgate::store
