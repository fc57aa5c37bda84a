// The hash-chained audit log.
#include "sql_store.h"  // audit_row_hash, to forge a row as an attacker would
#include "store_test_util.h"

namespace edxgate::store {
namespace {

using testing::TempDir;

struct AuditFixture : ::testing::Test {
  TempDir dir;
  std::unique_ptr<Store> store;
  std::string db() const { return dir.path() + "/edxgate.db"; }
  void SetUp() override {
    store = testing::open_or_die(testing::options_for(dir.path()));
    ASSERT_TRUE(store);
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(
          store->append({"officer:cli", "key.generate", "pkcs11:object=k" + std::to_string(i), "ok", "RSA 3072"}).ok());
    }
  }
};

TEST_F(AuditFixture, TheChainVerifiesAndLinksEveryRowToThePrevious) {
  auto check = store->verify_audit();
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok) << check->problem;
  EXPECT_EQ(check->rows, 20u);
  auto rows = store->audit_rows(0, 100);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 20u);
  EXPECT_EQ((*rows)[0].prev_sha256, std::string(64, '0'));
  for (size_t i = 1; i < rows->size(); ++i) {
    EXPECT_EQ((*rows)[i].prev_sha256, (*rows)[i - 1].sha256);
    EXPECT_EQ((*rows)[i].seq, (*rows)[i - 1].seq + 1);
  }
  EXPECT_EQ(check->head_sha256, rows->back().sha256);
}

TEST_F(AuditFixture, TheStoreServesAsTheAuditSinkOfOtherParts) {
  AuditSink& sink = *store;
  ASSERT_TRUE(sink.append({"officer:cli", "pin.failed", "token:agency", "failed", "CKR_PIN_INCORRECT"}).ok());
  auto rows = store->audit_rows(20, 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].event.action, "pin.failed");
  EXPECT_EQ((*rows)[0].event.outcome, "failed");
}

TEST_F(AuditFixture, SqlCannotUpdateOrDeleteAuditRows) {
  std::string err;
  EXPECT_NE(testing::raw_exec(db(), "UPDATE audit_log SET detail = 'x' WHERE seq = 3", &err), SQLITE_OK);
  EXPECT_NE(err.find("append-only"), std::string::npos);
  EXPECT_NE(testing::raw_exec(db(), "DELETE FROM audit_log WHERE seq = 3"), SQLITE_OK);
  EXPECT_TRUE(store->verify_audit()->ok);
}

TEST_F(AuditFixture, FindsARowAlteredBehindItsBack) {
  ASSERT_EQ(testing::raw_exec(db(),
                              "DROP TRIGGER audit_log_no_update;"
                              "UPDATE audit_log SET actor = 'officer:someone-else' WHERE seq = 7"),
            SQLITE_OK);
  auto check = store->verify_audit();
  ASSERT_TRUE(check.ok());
  EXPECT_FALSE(check->ok);
  EXPECT_EQ(check->first_bad_seq, 7);
  EXPECT_NE(check->problem.find("altered"), std::string::npos);
}

TEST_F(AuditFixture, FindsARowWhoseHashWasRecomputedButBreaksTheNextLink) {
  // The attacker alters row 7 and fixes its own sha256 (but cannot fix row 8's prev).
  auto rows = store->audit_rows(6, 1);
  ASSERT_TRUE(rows.ok() && rows->size() == 1);
  AuditRow r = (*rows)[0];
  r.event.detail = "forged";
  std::string forged = audit_row_hash(r.prev_sha256, r.seq, r.at_ms, r.event);
  ASSERT_EQ(testing::raw_exec(db(),
                              "DROP TRIGGER audit_log_no_update;"
                              "UPDATE audit_log SET detail = 'forged', sha256 = '" +
                                  forged + "' WHERE seq = 7"),
            SQLITE_OK);
  auto check = store->verify_audit();
  ASSERT_TRUE(check.ok());
  EXPECT_FALSE(check->ok);
  EXPECT_EQ(check->first_bad_seq, 8);
  EXPECT_NE(check->problem.find("chain"), std::string::npos);
}

TEST_F(AuditFixture, FindsADeletedRow) {
  ASSERT_EQ(testing::raw_exec(db(), "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 12"),
            SQLITE_OK);
  auto check = store->verify_audit();
  ASSERT_TRUE(check.ok());
  EXPECT_FALSE(check->ok);
  EXPECT_EQ(check->first_bad_seq, 12);
  EXPECT_NE(check->problem.find("missing"), std::string::npos);
}

TEST_F(AuditFixture, FieldsCannotBeShiftedBetweenColumns) {
  ASSERT_EQ(testing::raw_exec(db(),
                              "DROP TRIGGER audit_log_no_update;"
                              "UPDATE audit_log SET actor = 'officer:clikey', action = '.generate'"
                              " WHERE seq = 2"),
            SQLITE_OK);
  auto check = store->verify_audit();
  ASSERT_TRUE(check.ok());
  EXPECT_FALSE(check->ok);
  EXPECT_EQ(check->first_bad_seq, 2);
}

}  // namespace
}  // namespace edxgate::store
