// TokenSigner: signatures that independent tools verify, threads, and a token
// that goes away and comes back (through the fault-injecting module).
#include <gtest/gtest.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <atomic>
#include <thread>

#include "edxgate/hsm/hsm.h"
#include "test_util.h"

namespace edxgate::hsm {
namespace {

using crypto::SignatureAlgorithm;
using test::slurp;
using test::spit;

const std::string kData = "<ds:SignedInfo>bytes to sign: Bộ Công Thương</ds:SignedInfo>";

std::span<const uint8_t> bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// r||s -> DER ECDSA-Sig-Value, as openssl dgst -verify wants it.
std::vector<uint8_t> ecdsa_der(const std::vector<uint8_t>& rs) {
  size_t half = rs.size() / 2;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(rs.data(), static_cast<int>(half), nullptr),
                 BN_bin2bn(rs.data() + half, static_cast<int>(half), nullptr));
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig, &der);
  std::vector<uint8_t> out(der, der + len);
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

// In-process verification with OpenSSL (for the many signatures of the thread test).
bool verifies(const std::vector<uint8_t>& spki, const std::vector<uint8_t>& sig, const std::string& data, bool ec) {
  const unsigned char* p = spki.data();
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size()));
  std::vector<uint8_t> s = ec ? ecdsa_der(sig) : sig;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = pub && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pub) == 1 &&
            EVP_DigestVerify(ctx, s.data(), s.size(), reinterpret_cast<const uint8_t*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pub);
  return ok;
}

class SignerTest : public ::testing::Test {
 protected:
  // Generates a key with `type` through `module_path`, and opens a signer on it.
  std::unique_ptr<TokenSigner> make_signer(const std::string& type, const std::string& label,
                                           const std::string& module_path = testing::SoftHsmToken::module()) {
    module_ = Module::load(module_path).value();
    auto s = TokenSession::open(module_, Pkcs11Uri{});
    EXPECT_TRUE(s.ok());
    EXPECT_TRUE(s->login(test::pin_of(token_)).ok());
    EXPECT_TRUE(s->generate_key(KeySpec::parse(type).value(), label).ok());
    auto signer = TokenSigner::open(module_, Pkcs11Uri::parse("pkcs11:object=" + label).value(), test::pin_of(token_),
                                    Actor{"gateway", &audit_});
    EXPECT_TRUE(signer.ok()) << signer.error().message;
    return std::move(signer.value());
  }
  void verify_with_openssl_cli(const TokenSigner& signer, std::vector<uint8_t> sig, const std::string& digest,
                               bool ec) {
    spit(token_.dir() + "/pub.der", signer.public_key_der());
    spit(token_.dir() + "/data", kData);
    spit(token_.dir() + "/sig", ec ? ecdsa_der(sig) : sig);
    std::string out;
    ASSERT_EQ(token_.run("openssl pkey -pubin -inform DER -in " + token_.dir() + "/pub.der -out " + token_.dir() +
                         "/pub.pem"),
              0);
    int rc = token_.run("openssl dgst -" + digest + " -verify " + token_.dir() + "/pub.pem -signature " + token_.dir() +
                            "/sig " + token_.dir() + "/data",
                        &out);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("Verified OK"), std::string::npos) << out;
  }

  testing::SoftHsmToken token_;
  FileAuditSink audit_{token_.dir() + "/audit.log"};
  std::shared_ptr<Module> module_;
};

TEST_F(SignerTest, RsaSignatureVerifiesWithOpensslDgst) {
  auto signer = make_signer("rsa:2048", "rsa");
  auto sig = signer->sign(bytes(kData), SignatureAlgorithm::rsa_sha256);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_EQ(sig->size(), 256u);
  verify_with_openssl_cli(*signer, *sig, "sha256", false);
  auto sig512 = signer->sign(bytes(kData), SignatureAlgorithm::rsa_sha512);
  ASSERT_TRUE(sig512.ok());
  verify_with_openssl_cli(*signer, *sig512, "sha512", false);
}

TEST_F(SignerTest, EcdsaP256SignatureIsFixedWidthRsAndVerifies) {
  auto signer = make_signer("ec:P-256", "ec");
  for (int i = 0; i < 20; ++i) {  // r or s with a leading zero byte keeps its width
    auto sig = signer->sign(bytes(kData), SignatureAlgorithm::ecdsa_sha256);
    ASSERT_TRUE(sig.ok()) << sig.error().message;
    ASSERT_EQ(sig->size(), 64u);
    ASSERT_TRUE(verifies(signer->public_key_der(), *sig, kData, true));
  }
  auto sig = signer->sign(bytes(kData), SignatureAlgorithm::ecdsa_sha256);
  verify_with_openssl_cli(*signer, *sig, "sha256", true);
}

TEST_F(SignerTest, EcdsaP384SignatureVerifies) {
  auto signer = make_signer("ec:P-384", "ec384");
  auto sig = signer->sign(bytes(kData), SignatureAlgorithm::ecdsa_sha384);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_EQ(sig->size(), 96u);
  verify_with_openssl_cli(*signer, *sig, "sha384", true);
}

TEST_F(SignerTest, RefusesAnAlgorithmThatDoesNotFitTheKey) {
  auto signer = make_signer("ec:P-256", "ec");
  auto sig = signer->sign(bytes(kData), SignatureAlgorithm::rsa_sha256);
  ASSERT_FALSE(sig.ok());
  EXPECT_EQ(sig.error().code, "sign.algorithm");
}

TEST_F(SignerTest, WrongPinFailsToOpenAndIsAudited) {
  module_ = Module::load(testing::SoftHsmToken::module()).value();
  {
    auto s = TokenSession::open(module_, Pkcs11Uri{});
    ASSERT_TRUE(s->login(test::pin_of(token_)).ok());
    ASSERT_TRUE(s->generate_key(KeySpec{}, "k").ok());
  }  // the last session closes: the application is logged out again
  auto signer = TokenSigner::open(module_, Pkcs11Uri::parse("pkcs11:object=k").value(), SecretString("0000"),
                                  Actor{"gateway", &audit_});
  ASSERT_FALSE(signer.ok());
  EXPECT_EQ(signer.error().code, "pin.incorrect");
  EXPECT_NE(slurp(token_.dir() + "/audit.log").find("pin.failed"), std::string::npos);
}

TEST_F(SignerTest, ManyThreadsShareOneSigner) {
  auto signer = make_signer("ec:P-256", "threads");
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto sig = signer->sign(bytes(kData), SignatureAlgorithm::ecdsa_sha256);
        if (sig.ok() && verifies(signer->public_key_der(), *sig, kData, true)) ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 200);
}

TEST_F(SignerTest, ListingTokensDoesNotCloseTheSignersSession) {
  auto signer = make_signer("ec:P-256", "k");
  ASSERT_TRUE(signer->sign(bytes(kData), SignatureAlgorithm::ecdsa_sha256).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(list_tokens(*module_).ok());
  auto s = TokenSession::open(module_, Pkcs11Uri{});
  ASSERT_TRUE(s->certificates().ok());
  auto sig = signer->sign(bytes(kData), SignatureAlgorithm::ecdsa_sha256);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
}

TEST_F(SignerTest, FailsCleanlyWhileTheTokenIsAbsentAndRecoversWhenItReturns) {
  auto signer = make_signer("rsa:2048", "removable", testing::SoftHsmToken::fault_module());
  ASSERT_TRUE(signer->sign(bytes(kData), SignatureAlgorithm::rsa_sha256).ok());
  token_.set_fault("absent=1");
  for (int i = 0; i < 3; ++i) {
    auto sig = signer->sign(bytes(kData), SignatureAlgorithm::rsa_sha256);
    ASSERT_FALSE(sig.ok());
    EXPECT_EQ(sig.error().code, "token.absent");
    EXPECT_EQ(sig.error().message, "token not present");
    EXPECT_EQ(sig.error().kind, ErrorKind::unavailable);
  }
  token_.set_fault("absent=0");
  auto sig = signer->sign(bytes(kData), SignatureAlgorithm::rsa_sha256);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_TRUE(verifies(signer->public_key_der(), *sig, kData, false));
}

TEST_F(SignerTest, RecoversWithinOneCallWhenTheTokenWasPulledAndPutBackBetweenCalls) {
  auto signer = make_signer("ec:P-256", "blink", testing::SoftHsmToken::fault_module());
  ASSERT_TRUE(signer->sign(bytes(kData), SignatureAlgorithm::ecdsa_sha256).ok());
  // The removal closes every session; nothing signs while it is out.
  token_.set_fault("absent=1");
  ASSERT_FALSE(list_tokens(*module_)->slots.empty());
  token_.set_fault("absent=0");
  auto sig = signer->sign(bytes(kData), SignatureAlgorithm::ecdsa_sha256);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
}

TEST_F(SignerTest, OpeningWhileTheTokenIsAbsentSaysTokenNotPresent) {
  module_ = Module::load(testing::SoftHsmToken::fault_module()).value();
  token_.set_fault("absent=1");
  auto signer = TokenSigner::open(module_, Pkcs11Uri::parse("pkcs11:object=x").value(), test::pin_of(token_));
  ASSERT_FALSE(signer.ok());
  EXPECT_EQ(signer.error().code, "token.absent");
  EXPECT_EQ(signer.error().message, "token not present");
}

class PinCounterTest : public SignerTest {};

TEST_F(PinCounterTest, WrongPinsGiveIncorrectThenFinalTryThenLocked) {
  module_ = Module::load(testing::SoftHsmToken::fault_module()).value();
  token_.set_fault("absent=0\npin_left=3\npin_max=3");
  auto s = TokenSession::open(module_, Pkcs11Uri{}, Actor{"officer:test", &audit_});
  ASSERT_TRUE(s.ok());
  Status first = s->login(SecretString("bad"));
  EXPECT_EQ(first.error().code, "pin.incorrect");
  Status second = s->login(SecretString("bad"));
  EXPECT_EQ(second.error().code, "pin.final_try");
  auto listed = list_tokens(*module_);
  bool final_try_flag = false;
  for (const auto& t : listed->slots) final_try_flag |= t.present && t.pin_final_try;
  EXPECT_TRUE(final_try_flag);
  // An unattended signer does not risk the last try, even with the right PIN.
  auto signer = TokenSigner::open(module_, Pkcs11Uri::parse("pkcs11:object=x").value(), test::pin_of(token_));
  ASSERT_FALSE(signer.ok());
  EXPECT_EQ(signer.error().code, "pin.final_try");
  Status third = s->login(SecretString("bad"));
  EXPECT_EQ(third.error().code, "pin.locked");
  Status right = s->login(test::pin_of(token_));
  EXPECT_EQ(right.error().code, "pin.locked");
  std::string log = slurp(token_.dir() + "/audit.log");
  EXPECT_NE(log.find("pin.final_try"), std::string::npos);
  EXPECT_NE(log.find("pin.locked"), std::string::npos);
}

TEST_F(PinCounterTest, ARightPinResetsTheCounter) {
  module_ = Module::load(testing::SoftHsmToken::fault_module()).value();
  token_.set_fault("absent=0\npin_left=3\npin_max=3");
  auto s = TokenSession::open(module_, Pkcs11Uri{});
  EXPECT_EQ(s->login(SecretString("bad")).error().code, "pin.incorrect");
  EXPECT_TRUE(s->login(test::pin_of(token_)).ok());
  EXPECT_NE(slurp(token_.dir() + "/fault").find("pin_left=3"), std::string::npos);
}

}  // namespace
}  // namespace edxgate::hsm
