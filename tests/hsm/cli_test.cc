// The officer's commands, run as the real edxgate binary against SoftHSM2.
#include <gtest/gtest.h>

#include "test_util.h"

namespace edxgate::hsm {
namespace {

using test::slurp;

class CliTest : public ::testing::Test {
 protected:
  // Runs edxgate detached from any terminal (setsid), from the token's dir.
  int edxgate(const std::string& args, std::string* out = nullptr) {
    std::string local;
    int rc = token_.run("cd " + token_.dir() + " && setsid -w " + std::string(EDXGATE_BINARY_DIR) + "/bin/edxgate " +
                            args + " </dev/null",
                        out ? out : &local);
    return rc;
  }
  std::string pin() { return " --pin-file " + token_.pin_file(); }
  testing::SoftHsmToken token_;
};

TEST_F(CliTest, EveryHsmCommandHasHelp) {
  for (const char* cmd : {"token list", "key list", "key generate", "key delete", "csr", "cert import", "cert list"}) {
    std::string out;
    ASSERT_EQ(edxgate(std::string(cmd) + " --help", &out), 0) << cmd;
    EXPECT_NE(out.find("usage: edxgate " + std::string(cmd)), std::string::npos) << out;
  }
}

TEST_F(CliTest, TokenListShowsTheTokenInJsonAndText) {
  std::string out;
  ASSERT_EQ(edxgate("token list --json", &out), 0) << out;
  EXPECT_NE(out.find("\"label\": \"" + token_.label() + "\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"login_required\": true"), std::string::npos) << out;
  out.clear();
  ASSERT_EQ(edxgate("token list", &out), 0);
  EXPECT_NE(out.find("'" + token_.label() + "'"), std::string::npos) << out;
}

TEST_F(CliTest, GenerateCsrImportListAndDelete) {
  test::make_test_ca(token_);
  std::string out;
  ASSERT_EQ(edxgate("key generate --type ec:P-256 --label leader --id 0a0b --json" + pin(), &out), 0) << out;
  EXPECT_NE(out.find("\"never_extractable\": true"), std::string::npos) << out;
  out.clear();
  ASSERT_EQ(edxgate("csr --label leader --subject 'CN=Trần Hữu Linh,O=Bộ Công Thương,C=VN' "
                    "--email linh@moit.gov.vn -o req.pem" +
                        pin(),
                    &out),
            0)
      << out;
  out.clear();
  ASSERT_EQ(token_.run("openssl req -in " + token_.dir() + "/req.pem -noout -verify", &out), 0) << out;
  test::issue(token_, token_.dir() + "/req.pem", token_.dir() + "/cert.pem", 30);
  out.clear();
  ASSERT_EQ(edxgate("cert import --key 'pkcs11:id=%0a%0b' --cert cert.pem" + pin(), &out), 0) << out;
  out.clear();
  ASSERT_EQ(edxgate("cert list --json", &out), 0) << out;
  EXPECT_NE(out.find("\"subject\": \"CN=Trần Hữu Linh,O=Bộ Công Thương,C=VN\""), std::string::npos) << out;
  EXPECT_TRUE(out.find("\"days_to_expiry\": 29,") != std::string::npos ||
              out.find("\"days_to_expiry\": 30,") != std::string::npos)
      << out;
  EXPECT_NE(out.find("\"digitalSignature\""), std::string::npos) << out;
  out.clear();
  ASSERT_EQ(edxgate("key list" + pin(), &out), 0);
  EXPECT_NE(out.find("leader  ec:P-256  id 0a0b  sensitive, not extractable, sign, certificate"), std::string::npos)
      << out;
  // No terminal to confirm on and no --yes: nothing is deleted.
  out.clear();
  EXPECT_EQ(edxgate("key delete --label leader" + pin(), &out), 2);
  EXPECT_NE(out.find("--yes"), std::string::npos) << out;
  ASSERT_EQ(edxgate("key delete --label leader --yes" + pin(), &out), 0) << out;
  out.clear();
  ASSERT_EQ(edxgate("cert list", &out), 0);
  EXPECT_NE(out.find("no certificates"), std::string::npos) << out;
  std::string audit = slurp(token_.dir() + "/edxgate-audit.log");
  for (const char* action : {"key.generate", "cert.import", "key.delete"}) {
    EXPECT_NE(audit.find(std::string("\"action\":\"") + action + "\""), std::string::npos) << audit;
  }
}

TEST_F(CliTest, WrongPinExitsOneAndNeverShowsThePin) {
  testing::SoftHsmToken::write(token_.dir() + "/bad", "97531\n");
  std::string out;
  EXPECT_EQ(edxgate("key list --pin-file " + token_.dir() + "/bad", &out), 1);
  EXPECT_NE(out.find("the PIN is incorrect"), std::string::npos) << out;
  EXPECT_EQ(out.find("97531"), std::string::npos);
  EXPECT_EQ(slurp(token_.dir() + "/edxgate-audit.log").find("97531"), std::string::npos);
}

TEST_F(CliTest, LockedPinAndAbsentTokenHaveTheirOwnMessages) {
  std::string fault = " --module " + testing::SoftHsmToken::fault_module();
  token_.set_fault("absent=0\npin_left=0\npin_max=3");
  std::string out;
  EXPECT_EQ(edxgate("key list" + fault + pin(), &out), 1);
  EXPECT_NE(out.find("the PIN is locked"), std::string::npos) << out;
  token_.set_fault("absent=1");
  out.clear();
  EXPECT_EQ(edxgate("key list" + fault + pin(), &out), 2);
  EXPECT_NE(out.find("token not present"), std::string::npos) << out;
}

TEST_F(CliTest, RefusesACertificateForAnotherKey) {
  test::make_test_ca(token_);
  std::string out;
  ASSERT_EQ(edxgate("key generate --type rsa:2048 --label a" + pin(), &out), 0) << out;
  ASSERT_EQ(edxgate("key generate --type rsa:2048 --label b" + pin(), &out), 0) << out;
  ASSERT_EQ(edxgate("csr --label b --subject CN=B -o b.pem" + pin(), &out), 0) << out;
  test::issue(token_, token_.dir() + "/b.pem", token_.dir() + "/b.crt");
  out.clear();
  EXPECT_EQ(edxgate("cert import --label a --cert b.crt" + pin(), &out), 1);
  EXPECT_NE(out.find("does not match"), std::string::npos) << out;
}

TEST_F(CliTest, ReadsThePinFromASystemdCredential) {
  std::string creds = token_.dir() + "/creds";
  ASSERT_EQ(token_.run("mkdir -m 700 " + creds), 0);
  testing::SoftHsmToken::write(creds + "/hsm-pin", token_.pin() + "\n", 0400);
  std::string out;
  EXPECT_EQ(edxgate("key list --pin-credential hsm-pin", &out), 2);  // no $CREDENTIALS_DIRECTORY
  out.clear();
  EXPECT_EQ(
      token_.run("cd " + token_.dir() + " && CREDENTIALS_DIRECTORY=" + creds + " setsid -w " +
                     std::string(EDXGATE_BINARY_DIR) + "/bin/edxgate key list --pin-credential hsm-pin </dev/null",
                 &out),
      0)
      << out;
}

}  // namespace
}  // namespace edxgate::hsm
