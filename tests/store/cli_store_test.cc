// The store's CLI commands, run as an operator would: audit verify, queue
// list, doc show, over a store the test fills through the API.

#include <cstdio>

#include "../support/run_cli.h"
#include "edxgate/base/json.h"
#include "store_test_util.h"

namespace edxgate::store {
namespace {

using testing::TempDir;

using edxgate::test::CliRun;
CliRun edxgate(const std::string& args) { return edxgate::test::run_edxgate(args); }

struct CliStore : ::testing::Test {
  TempDir dir;
  DocumentId out_id = 0, in_id = 0;
  BlobRef attachment;
  std::string db() const { return dir.path() + "/edxgate.db"; }

  void SetUp() override {
    auto store = testing::open_or_die(testing::options_for(dir.path()));
    ASSERT_TRUE(store);
    auto a = store->blobs().put("%PDF-1.7 quyết định");
    auto env = store->blobs().put("<edXML/>");
    ASSERT_TRUE(a.ok() && env.ok());
    attachment = *a;
    NewDocument d = testing::outgoing_doc("Công văn KHẨN về phòng chống bão");
    d.attachments = {{"quyet-dinh.pdf", "application/pdf", *a}};
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
    auto i = store->create_document(testing::incoming_doc(*env, "H41,2026/11/20,7/QĐ"));
    ASSERT_TRUE(i.ok());
    in_id = i->id;
    ASSERT_TRUE(store->add_status_message(out_id, {Direction::incoming, "01", "đã đến", "", {}, 0, "", ""}).ok());
  }  // the store closes: the CLI reads a database nobody holds open
};

TEST_F(CliStore, AuditVerifyReportsTheFirstBrokenLink) {
  CliRun ok = edxgate("audit verify --db " + dir.path());
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(ok.out.find("audit log ok"), std::string::npos) << ok.out;
  ASSERT_EQ(testing::raw_exec(db(),
                              "DROP TRIGGER audit_log_no_update;"
                              "UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 3"),
            SQLITE_OK);
  CliRun bad = edxgate("audit verify --db " + db());
  EXPECT_EQ(bad.code, 1) << bad.out;
  EXPECT_NE(bad.out.find("row 3"), std::string::npos) << bad.out;
  CliRun js = edxgate("audit verify --json --db " + db());
  EXPECT_EQ(js.code, 1);
  auto v = json::parse(js.out);
  ASSERT_TRUE(v.ok()) << js.out;
  EXPECT_EQ(v->at("first_bad_seq").as_int64(), 3);
  EXPECT_FALSE(v->at("ok").as_bool());
}

TEST_F(CliStore, QueueListFiltersAndPrintsJson) {
  CliRun all = edxgate("queue list --db " + dir.path() + " --json");
  ASSERT_EQ(all.code, 0) << all.out;
  auto v = json::parse(all.out);
  ASSERT_TRUE(v.ok()) << all.out;
  EXPECT_EQ(v->at("documents").as_array().size(), 2u);
  CliRun queued = edxgate("queue list --db " + db() + " --direction outgoing --state queued --subject khẩn --json");
  ASSERT_EQ(queued.code, 0) << queued.out;
  auto q = json::parse(queued.out);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->at("documents").as_array().size(), 1u);
  EXPECT_EQ(q->at("documents").as_array()[0].at("id").as_string(),
            std::to_string(out_id));  // the API's form (store/json.h)
  CliRun none = edxgate("queue list --db " + db() + " --since 2999-01-01");
  EXPECT_EQ(none.code, 0);
  EXPECT_EQ(none.out.find("Công văn"), std::string::npos) << none.out;
  CliRun outbox = edxgate("queue list --db " + db() + " --outbox --json");
  ASSERT_EQ(outbox.code, 0) << outbox.out;
  auto ob = json::parse(outbox.out);
  ASSERT_TRUE(ob.ok());
  ASSERT_EQ(ob->at("outbox").as_array().size(), 1u);
  EXPECT_EQ(ob->at("outbox").as_array()[0].at("state").as_string(), "pending");
  EXPECT_EQ(edxgate("queue list --db " + db() + " --state nonsense").code, 2);
  EXPECT_EQ(edxgate("queue list --db " + db() + " --since yesterday").code, 2);
  EXPECT_EQ(edxgate("queue list").code, 2);
}

TEST_F(CliStore, DocShowPrintsFieldsFilesHistoryAndStatus) {
  CliRun r = edxgate("doc show " + std::to_string(out_id) + " --db " + dir.path() + " --verify");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* want : {"state queued", "quyet-dinh.pdf", "pending_signature -> signed", "leader:an", "đã đến",
                           "files: all intact", "000.00.00.H41"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  }
  CliRun js = edxgate("doc show " + std::to_string(out_id) + " --db " + db() + " --json");
  ASSERT_EQ(js.code, 0);
  auto v = json::parse(js.out);
  ASSERT_TRUE(v.ok()) << js.out;
  EXPECT_EQ(v->at("history").as_array().size(), 4u);
  EXPECT_EQ(v->at("attachments").as_array()[0].at("sha256").as_string(), attachment.sha256);
  EXPECT_EQ(v->at("outbox").as_array().size(), 1u);
  EXPECT_EQ(edxgate("doc show 424242 --db " + db()).code, 1);
  EXPECT_EQ(edxgate("doc show abc --db " + db()).code, 2);
}

// Issue 13: a document the axis refused permanently is found and re-queued.
TEST_F(CliStore, AFailedDocumentIsListedShownAndReQueued) {
  {
    auto store = testing::open_or_die(testing::options_for(dir.path()));
    ASSERT_TRUE(store);
    auto items = store->claim_outbox("engine@test", 60'000, 10);
    ASSERT_TRUE(items.ok() && items->size() == 1u);
    auto failed = store->refuse_outbox((*items)[0].id, (*items)[0].lease_token,
                                       "axis.refused: the axis refused the call (status FAIL, ErrorCode 5)", 1);
    ASSERT_TRUE(failed.ok() && *failed);
  }
  CliRun list = edxgate("queue list --db " + db() + " --state failed --json");
  ASSERT_EQ(list.code, 0) << list.out;
  auto v = json::parse(list.out);
  ASSERT_TRUE(v.ok()) << list.out;
  ASSERT_EQ(v->at("documents").as_array().size(), 1u);
  CliRun outbox = edxgate("queue list --db " + db() + " --outbox --outbox-state failed");
  ASSERT_EQ(outbox.code, 0) << outbox.out;
  EXPECT_NE(outbox.out.find("ErrorCode 5"), std::string::npos) << outbox.out;
  CliRun show = edxgate("doc show " + std::to_string(out_id) + " --db " + db());
  ASSERT_EQ(show.code, 0) << show.out;
  EXPECT_NE(show.out.find("state failed"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("axis.refused"), std::string::npos) << show.out;
  CliRun retry = edxgate("queue retry " + std::to_string(out_id) + " --db " + db() + " --by an");
  ASSERT_EQ(retry.code, 0) << retry.out;
  CliRun again = edxgate("queue list --db " + db() + " --state queued --json");
  ASSERT_EQ(again.code, 0);
  EXPECT_EQ(json::parse(again.out)->at("documents").as_array().size(), 1u);
  EXPECT_NE(edxgate("queue retry " + std::to_string(out_id) + " --db " + db()).code, 0);  // no longer failed
  EXPECT_NE(edxgate("queue retry " + std::to_string(in_id) + " --db " + db()).code, 0);   // not outgoing
  auto store = testing::open_or_die(testing::options_for(dir.path()));
  ASSERT_TRUE(store);
  auto rows = store->audit_rows(0, 1000);
  ASSERT_TRUE(rows.ok());
  bool audited = false;
  for (const auto& r : *rows) audited |= r.event.action == "outbox.requeue" && r.event.actor == "cli:an";
  EXPECT_TRUE(audited);
}

TEST_F(CliStore, DocShowVerifyFindsACorruptAttachment) {
  {
    FILE* f = std::fopen((dir.path() + "/blobs/" + attachment.sha256).c_str(), "r+");
    ASSERT_TRUE(f);
    std::fputc('X', f);
    std::fclose(f);
  }
  CliRun r = edxgate("doc show " + std::to_string(out_id) + " --db " + db() + " --verify");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("corrupt"), std::string::npos) << r.out;
}

TEST_F(CliStore, RefusesADatabaseFromANewerEdxgate) {
  ASSERT_EQ(testing::raw_exec(db(), "INSERT INTO schema_version VALUES(999, 0)"), SQLITE_OK);
  CliRun r = edxgate("queue list --db " + db());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("999"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace edxgate::store
