// The gateway's PKCS#11 key provider (workflow/src/keys.cc) on a real
// SoftHSM2 token: the organization's session is kept between uses, and a
// person's PIN is still checked by the token (issue 15's session reuse must
// not reopen issue 13's hole: C_Login while logged in accepts any PIN).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "../hsm/softhsm_fixture.h"
#include "edxgate/base/secret.h"
#include "edxgate/hsm/hsm.h"
#include "edxgate/workflow/keys.h"

namespace edxgate::workflow {
namespace {

const std::vector<uint8_t> kData = {'e', 'd', 'x', 'm', 'l'};

class HsmKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto module = hsm::Module::load(testing::SoftHsmToken::module());
    ASSERT_TRUE(module.ok()) << module.error().message;
    {
      auto s = hsm::TokenSession::open(*module, hsm::Pkcs11Uri{});
      ASSERT_TRUE(s.ok()) << s.error().message;
      ASSERT_TRUE(s->login(SecretString(token_.pin())).ok());
      ASSERT_TRUE(s->generate_key(hsm::KeySpec{}, "org").ok());
    }  // the last session closes: logged out
    // Any certificate does: the provider takes [hsm] cert as the key's.
    ASSERT_EQ(token_.run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=org -keyout " + token_.dir() +
                         "/c.key -out " + token_.dir() + "/c.pem 2>/dev/null"),
              0);
    config::Hsm cfg;
    cfg.module = testing::SoftHsmToken::module();
    cfg.key_uri = token_.token_uri() + ";object=org";
    cfg.cert = token_.dir() + "/c.pem";
    cfg.pin_file = token_.pin_file();
    auto p = make_hsm_key_provider(cfg, nullptr);
    ASSERT_TRUE(p.ok()) << p.error().message;
    keys_ = std::move(p.value());
  }

  // Opens the configured key (pin null: the configured PIN) and signs once.
  Status sign_with(const SecretString* pin) {
    auto k = keys_->open("", pin);
    if (!k.ok()) return k.error();
    auto sig = k->signer->sign(kData, crypto::SignatureAlgorithm::rsa_sha256);
    if (!sig.ok()) return sig.error();
    if (sig->empty()) return make_error(ErrorKind::internal, "test.empty", "empty signature");
    return {};
  }

  testing::SoftHsmToken token_;
  std::unique_ptr<KeyProvider> keys_;
};

TEST_F(HsmKeysTest, TheOrganizationsKeptSessionNeverLetsAWrongPersonalPinThrough) {
  ASSERT_TRUE(sign_with(nullptr).ok());
  ASSERT_TRUE(sign_with(nullptr).ok());  // the kept session
  const SecretString wrong("0000"), right(token_.pin());
  Status bad = sign_with(&wrong);
  ASSERT_FALSE(bad.ok()) << "a wrong PIN signed while the organization's session was open";
  EXPECT_EQ(bad.error().code, "pin.incorrect");
  EXPECT_TRUE(sign_with(&right).ok());
  EXPECT_TRUE(sign_with(nullptr).ok());  // the organization's session is made again
  EXPECT_FALSE(sign_with(&wrong).ok());
}

TEST_F(HsmKeysTest, ConcurrentOrganizationAndPersonalUsesKeepCheckingThePin) {
  std::atomic<int> org_ok{0}, wrong_refused{0}, failures{0};
  const SecretString wrong("0000");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 6; ++i) {
        if ((t + i) % 3 == 0) {
          if (!sign_with(&wrong).ok()) ++wrong_refused;
        } else if (sign_with(nullptr).ok()) {
          ++org_ok;
        } else {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(wrong_refused.load() + org_ok.load(), 24);
  EXPECT_EQ(wrong_refused.load(), 8);  // (t + i) % 3 == 0 for 8 of the 24 uses
}

// The organization's key, once opened, takes the token only for each of its
// signatures: the engine builds, verifies and stores the envelope around the
// signature while other signatures run. A person's PIN used in between closes
// the kept session (and is checked); the open key then signs on a new one.
TEST_F(HsmKeysTest, AnOpenOrganizationKeyHoldsTheTokenOnlyWhileItSigns) {
  auto org = keys_->open("", nullptr);
  ASSERT_TRUE(org.ok()) << org.error().message;
  ASSERT_TRUE(org->signer->sign(kData, crypto::SignatureAlgorithm::rsa_sha256).ok());
  const SecretString wrong("0000"), right(token_.pin());
  // Another thread's uses while `org` is open: they must not wait for it.
  auto others = std::async(std::launch::async, [&] {
    Status org_again = sign_with(nullptr);
    Status bad = sign_with(&wrong);
    return std::make_pair(org_again, bad);
  });
  const bool blocked = others.wait_for(std::chrono::seconds(30)) != std::future_status::ready;
  if (blocked) org->signer.reset();  // lets the other thread finish
  ASSERT_FALSE(blocked) << "an open organization key held the token lock";
  auto [org_again, bad] = others.get();
  EXPECT_TRUE(org_again.ok()) << org_again.error().message;
  ASSERT_FALSE(bad.ok()) << "a wrong PIN signed while the organization's key was open";
  EXPECT_EQ(bad.error().code, "pin.incorrect");
  // The kept session was closed for that PIN: the open key signs on a new one.
  auto sig = org->signer->sign(kData, crypto::SignatureAlgorithm::rsa_sha256);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_FALSE(sig->empty());
  EXPECT_FALSE(sign_with(&wrong).ok());
  EXPECT_TRUE(sign_with(&right).ok());
}

}  // namespace
}  // namespace edxgate::workflow
