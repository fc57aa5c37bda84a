// Modules, tokens, login errors, key generation, CSRs and certificates against
// real SoftHSM2 tokens, cross-checked with the openssl and pkcs11-tool CLIs.
#include <gtest/gtest.h>

#include "edxgate/hsm/hsm.h"
#include "test_util.h"

namespace edxgate::hsm {
namespace {

using test::slurp;
using test::spit;

class TokenTest : public ::testing::Test {
 protected:
  TokenSession open_logged_in() {
    auto s = TokenSession::open(module_, Pkcs11Uri{}, Actor{"officer:test", &audit_});
    EXPECT_TRUE(s.ok()) << s.error().message;
    Status st = s->login(test::pin_of(token_));
    EXPECT_TRUE(st.ok()) << st.error().message;
    return std::move(s.value());
  }
  Pkcs11Uri key_uri(const std::string& label) {
    Pkcs11Uri u;
    u.object = label;
    return u;
  }
  std::string audit_log() { return slurp(token_.dir() + "/audit.log"); }

  testing::SoftHsmToken token_;
  std::shared_ptr<Module> module_ = Module::load(testing::SoftHsmToken::module()).value();
  FileAuditSink audit_{token_.dir() + "/audit.log"};
};

TEST(ModuleLoad, RefusesAMissingModuleWithAClearError) {
  auto m = Module::load("/nonexistent/libnothing.so");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, "module.load");
  EXPECT_EQ(m.error().kind, ErrorKind::io);
  auto relative = Module::load("relative.so");
  ASSERT_FALSE(relative.ok());
  EXPECT_EQ(relative.error().kind, ErrorKind::usage);
}

TEST_F(TokenTest, ListsTheTokenWithItsFlags) {
  auto list = list_tokens(*module_);
  ASSERT_TRUE(list.ok()) << list.error().message;
  const TokenInfo* ours = nullptr;
  for (const auto& t : list->slots) {
    if (t.present && t.label == token_.label()) ours = &t;
  }
  ASSERT_NE(ours, nullptr);
  EXPECT_TRUE(ours->initialized);
  EXPECT_TRUE(ours->login_required);
  EXPECT_TRUE(ours->user_pin_initialized);
  EXPECT_FALSE(ours->pin_locked);
  EXPECT_EQ(ours->manufacturer, "SoftHSM project");
  EXPECT_FALSE(ours->serial.empty());
  EXPECT_NE(ours->uri().find("token=" + token_.label()), std::string::npos);
  EXPECT_EQ(list->module_manufacturer, "SoftHSM");
}

TEST_F(TokenTest, SelectsTheTokenByUriAndReportsAnAbsentOne) {
  auto uri = Pkcs11Uri::parse("pkcs11:token=" + token_.label());
  ASSERT_TRUE(uri.ok());
  auto s = TokenSession::open(module_, *uri);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->token().label, token_.label());
  auto missing = TokenSession::open(module_, Pkcs11Uri::parse("pkcs11:token=nope").value());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "token.absent");
  EXPECT_EQ(missing.error().message, "token not present");
  EXPECT_EQ(missing.error().kind, ErrorKind::unavailable);
}

TEST_F(TokenTest, WrongPinIsPinIncorrectAndIsAudited) {
  auto s = TokenSession::open(module_, Pkcs11Uri{}, Actor{"officer:test", &audit_});
  ASSERT_TRUE(s.ok());
  Status st = s->login(SecretString("999999"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "pin.incorrect");
  EXPECT_EQ(st.error().kind, ErrorKind::forbidden);
  EXPECT_EQ(st.error().message.find("999999"), std::string::npos);
  std::string log = audit_log();
  EXPECT_NE(log.find("\"action\":\"pin.failed\""), std::string::npos) << log;
  EXPECT_NE(log.find("pin.incorrect"), std::string::npos);
  EXPECT_EQ(log.find("999999"), std::string::npos);
}

TEST_F(TokenTest, GeneratesSensitiveNonExtractableKeysOfEverySupportedType) {
  TokenSession s = open_logged_in();
  for (const char* type : {"rsa:2048", "rsa:3072", "ec:P-256", "ec:P-384"}) {
    auto spec = KeySpec::parse(type);
    ASSERT_TRUE(spec.ok());
    auto k = s.generate_key(*spec, std::string("k-") + type);
    ASSERT_TRUE(k.ok()) << type << ": " << k.error().message;
    EXPECT_EQ(k->spec.to_string(), type);
    EXPECT_TRUE(k->sensitive);
    EXPECT_FALSE(k->extractable);
    EXPECT_TRUE(k->always_sensitive);
    EXPECT_TRUE(k->never_extractable);
    EXPECT_TRUE(k->can_sign);
    EXPECT_EQ(k->id.size(), 16u);
  }
  auto keys = s.keys();
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 4u);
  EXPECT_NE(audit_log().find("\"action\":\"key.generate\""), std::string::npos);
  EXPECT_FALSE(KeySpec::parse("rsa:1024").ok());
  EXPECT_FALSE(KeySpec::parse("ec:P-521").ok());
}

TEST_F(TokenTest, GeneratesRsa4096) {
  TokenSession s = open_logged_in();
  auto k = s.generate_key(KeySpec::parse("rsa:4096").value(), "big", {0x42});
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->spec.bits, 4096u);
  EXPECT_EQ(k->id, std::vector<uint8_t>{0x42});
}

TEST_F(TokenTest, PkcsToolSeesTheKeyAsSensitiveAndNotExtractable) {
  TokenSession s = open_logged_in();
  ASSERT_TRUE(s.generate_key(KeySpec::parse("ec:P-256").value(), "signing", {0xa1, 0xb2}).ok());
  std::string out;
  int rc = token_.run("pkcs11-tool --module " + testing::SoftHsmToken::module() + " --token-label " + token_.label() +
                          " --login --pin " + token_.pin() + " -O",
                      &out);
  ASSERT_EQ(rc, 0) << out;
  size_t priv = out.find("Private Key Object; EC");
  ASSERT_NE(priv, std::string::npos) << out;
  std::string block = out.substr(priv, out.find("Object;", priv + 30) - priv);
  EXPECT_NE(block.find("label:      signing"), std::string::npos) << block;
  EXPECT_NE(block.find("ID:         a1b2"), std::string::npos) << block;
  EXPECT_NE(block.find("sign"), std::string::npos) << block;
  EXPECT_NE(block.find("Access:     sensitive, always sensitive, never extractable, local"), std::string::npos)
      << block;
  EXPECT_EQ(block.find("decrypt"), std::string::npos) << block;
}

TEST_F(TokenTest, RefusesADuplicateLabelOrId) {
  TokenSession s = open_logged_in();
  ASSERT_TRUE(s.generate_key(KeySpec{}, "dup", {0x01}).ok());
  auto same_label = s.generate_key(KeySpec{}, "dup", {0x02});
  ASSERT_FALSE(same_label.ok());
  EXPECT_EQ(same_label.error().code, "key.exists");
  EXPECT_EQ(same_label.error().kind, ErrorKind::conflict);
  auto same_id = s.generate_key(KeySpec{}, "other", {0x01});
  ASSERT_FALSE(same_id.ok());
  EXPECT_EQ(same_id.error().code, "key.exists");
}

TEST_F(TokenTest, KeyGenerationNeedsALogin) {
  auto s = TokenSession::open(module_, Pkcs11Uri{});
  ASSERT_TRUE(s.ok());
  auto k = s->generate_key(KeySpec{}, "nologin");
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error().code, "pin.required");
  EXPECT_EQ(k.error().kind, ErrorKind::unauthorized);
}

TEST_F(TokenTest, CsrWithVietnameseSubjectVerifiesAndRoundTrips) {
  TokenSession s = open_logged_in();
  for (const char* type : {"rsa:2048", "ec:P-256", "ec:P-384"}) {
    std::string label = std::string("csr-") + type;
    ASSERT_TRUE(s.generate_key(KeySpec::parse(type).value(), label).ok());
    auto pem = s.make_csr(key_uri(label), "CN=Trần Hữu Linh,O=Bộ Công Thương,C=VN", "linh@moit.gov.vn");
    ASSERT_TRUE(pem.ok()) << type << ": " << pem.error().message;
    std::string path = token_.dir() + "/req.pem";
    spit(path, *pem);
    std::string out;
    ASSERT_EQ(token_.run("openssl req -in " + path + " -noout -verify", &out), 0) << out;
    EXPECT_NE(out.find("verify OK"), std::string::npos) << out;
    out.clear();
    ASSERT_EQ(token_.run("openssl req -in " + path + " -noout -subject -nameopt RFC2253,-esc_msb", &out), 0);
    EXPECT_EQ(out, "subject=CN=Trần Hữu Linh,O=Bộ Công Thương,C=VN\n");
    out.clear();
    ASSERT_EQ(token_.run("openssl req -in " + path + " -noout -text", &out), 0);
    EXPECT_NE(out.find("email:linh@moit.gov.vn"), std::string::npos) << out;
  }
}

TEST_F(TokenTest, CsrSubjectValuesAreUtf8Strings) {
  TokenSession s = open_logged_in();
  ASSERT_TRUE(s.generate_key(KeySpec{}, "asn1").ok());
  auto pem = s.make_csr(key_uri("asn1"), "/C=VN/O=Bộ Công Thương/CN=Trần Hữu Linh");
  ASSERT_TRUE(pem.ok()) << pem.error().message;
  std::string path = token_.dir() + "/req.pem", out;
  spit(path, *pem);
  ASSERT_EQ(token_.run("openssl asn1parse -in " + path, &out), 0) << out;
  EXPECT_NE(out.find("UTF8STRING        :Trần Hữu Linh"), std::string::npos) << out;
  EXPECT_NE(out.find("PRINTABLESTRING   :VN"), std::string::npos) << out;
}

TEST_F(TokenTest, CsrRefusesBadSubjectsAndEmails) {
  TokenSession s = open_logged_in();
  ASSERT_TRUE(s.generate_key(KeySpec{}, "bad").ok());
  for (const char* dn : {"", "CN", "XX=foo", "CN=", "C=VNM", "CN=#0403",
                         "CN=a\x01"
                         "b"}) {
    auto r = s.make_csr(key_uri("bad"), dn);
    ASSERT_FALSE(r.ok()) << dn;
    EXPECT_EQ(r.error().code, "csr.subject") << dn;
  }
  auto r = s.make_csr(key_uri("bad"), "CN=x", "not an email");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "csr.email");
  EXPECT_EQ(r.error().kind, ErrorKind::invalid);
  auto escaped = s.make_csr(key_uri("bad"), "CN=Phòng A\\, B,O=X,C=VN");
  ASSERT_TRUE(escaped.ok()) << escaped.error().message;
}

TEST_F(TokenTest, CsrSubjectTakesHexEscapesAndOtherEscapedCharacters) {
  TokenSession s = open_logged_in();
  ASSERT_TRUE(s.generate_key(KeySpec{}, "esc").ok());
  // \42 is "B" (RFC 4514 hex pair); \, and \+ stand for themselves; a
  // backslash before one hex digit only escapes that digit.
  auto pem = s.make_csr(key_uri("esc"), "CN=A\\42C \\, \\+ \\4,O=X");
  ASSERT_TRUE(pem.ok()) << pem.error().message;
  const std::string path = token_.dir() + "/esc.pem";
  spit(path, *pem);
  std::string out;
  ASSERT_EQ(token_.run("openssl req -in " + path + " -noout -subject -nameopt RFC2253,-esc_msb", &out), 0);
  EXPECT_EQ(out, "subject=CN=ABC \\, \\+ 4,O=X\n");
}

TEST_F(TokenTest, ImportsTheCertificateNextToItsKeyAndListsIt) {
  test::make_test_ca(token_);
  TokenSession s = open_logged_in();
  auto key = s.generate_key(KeySpec::parse("ec:P-256").value(), "leader", {0x0c, 0x0d});
  ASSERT_TRUE(key.ok());
  auto csr = s.make_csr(key_uri("leader"), "CN=Trần Hữu Linh,O=Bộ Công Thương,C=VN");
  ASSERT_TRUE(csr.ok());
  spit(token_.dir() + "/req.pem", *csr);
  test::issue(token_, token_.dir() + "/req.pem", token_.dir() + "/cert.pem", 100);
  auto info = s.import_certificate(key_uri("leader"), slurp(token_.dir() + "/cert.pem"));
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->id, key->id);
  EXPECT_EQ(info->label, "leader");
  EXPECT_EQ(info->subject, "CN=Trần Hữu Linh,O=Bộ Công Thương,C=VN");
  EXPECT_EQ(info->issuer, "CN=Test Root,O=Test CA,C=VN");
  // 100 days from issue: 100 within the same second, else 99 (rounded down).
  EXPECT_TRUE(info->days_to_expiry == 99 || info->days_to_expiry == 100) << info->days_to_expiry;
  EXPECT_EQ(info->key_usage, (std::vector<std::string>{"digitalSignature", "nonRepudiation"}));

  auto certs = s.certificates();
  ASSERT_TRUE(certs.ok()) << certs.error().message;
  ASSERT_EQ(certs->size(), 1u);
  EXPECT_EQ((*certs)[0].id, key->id);
  EXPECT_EQ((*certs)[0].serial, info->serial);
  EXPECT_TRUE((*certs)[0].has_private_key);
  EXPECT_NE(audit_log().find("\"action\":\"cert.import\""), std::string::npos);

  auto k = s.find_key(key_uri("leader"));
  ASSERT_TRUE(k.ok());
  EXPECT_TRUE(k->has_certificate);

  std::string out;
  ASSERT_EQ(token_.run("pkcs11-tool --module " + testing::SoftHsmToken::module() + " --token-label " + token_.label() +
                           " -O --type cert",
                       &out),
            0);
  EXPECT_NE(out.find("Certificate Object; type = X.509 cert"), std::string::npos) << out;
  EXPECT_NE(out.find("ID:         0c0d"), std::string::npos) << out;

  auto again = s.import_certificate(key_uri("leader"), slurp(token_.dir() + "/cert.pem"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "cert.exists");
  EXPECT_TRUE(s.import_certificate(key_uri("leader"), slurp(token_.dir() + "/cert.pem"), true).ok());
  EXPECT_EQ(s.certificates()->size(), 1u);
}

TEST_F(TokenTest, RefusesACertificateForAnotherKey) {
  test::make_test_ca(token_);
  TokenSession s = open_logged_in();
  ASSERT_TRUE(s.generate_key(KeySpec::parse("ec:P-256").value(), "mine").ok());
  ASSERT_TRUE(s.generate_key(KeySpec::parse("ec:P-256").value(), "other").ok());
  spit(token_.dir() + "/req.pem", s.make_csr(key_uri("other"), "CN=Other").value());
  test::issue(token_, token_.dir() + "/req.pem", token_.dir() + "/cert.pem");
  auto r = s.import_certificate(key_uri("mine"), slurp(token_.dir() + "/cert.pem"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "cert.key_mismatch");
  EXPECT_EQ(r.error().kind, ErrorKind::invalid);
  EXPECT_TRUE(s.certificates()->empty());
  EXPECT_NE(audit_log().find("cert.key_mismatch"), std::string::npos);
  auto garbage = s.import_certificate(key_uri("mine"), "not a certificate");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, "cert.parse");
}

TEST_F(TokenTest, DeletesTheKeyItsPublicKeyAndCertificate) {
  test::make_test_ca(token_);
  TokenSession s = open_logged_in();
  ASSERT_TRUE(s.generate_key(KeySpec{}, "gone", {0x09}).ok());
  ASSERT_TRUE(s.generate_key(KeySpec{}, "kept", {0x0a}).ok());
  spit(token_.dir() + "/req.pem", s.make_csr(key_uri("gone"), "CN=Gone").value());
  test::issue(token_, token_.dir() + "/req.pem", token_.dir() + "/cert.pem");
  ASSERT_TRUE(s.import_certificate(key_uri("gone"), slurp(token_.dir() + "/cert.pem")).ok());
  ASSERT_TRUE(s.delete_key(key_uri("gone")).ok());
  auto keys = s.keys();
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].label, "kept");
  EXPECT_TRUE(s.certificates()->empty());
  std::string out;
  token_.run("pkcs11-tool --module " + testing::SoftHsmToken::module() + " --token-label " + token_.label() + " -O",
             &out);
  EXPECT_EQ(out.find("gone"), std::string::npos) << out;
  auto missing = s.delete_key(key_uri("gone"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "key.not_found");
  EXPECT_NE(audit_log().find("\"action\":\"key.delete\""), std::string::npos);
}

TEST_F(TokenTest, AmbiguousKeySelectionIsRefused) {
  TokenSession s = open_logged_in();
  ASSERT_TRUE(s.generate_key(KeySpec::parse("ec:P-256").value(), "a", {0x01}).ok());
  ASSERT_TRUE(s.generate_key(KeySpec::parse("ec:P-256").value(), "b", {0x02}).ok());
  auto all = s.find_key(Pkcs11Uri{});
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.error().code, "key.not_found");
  EXPECT_EQ(all.error().kind, ErrorKind::usage);  // no selector given at all
  auto absent = s.find_key(Pkcs11Uri::parse("pkcs11:object=zzz").value());
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().code, "key.not_found");
  EXPECT_EQ(absent.error().kind, ErrorKind::not_found);
  auto cert_type = s.find_key(Pkcs11Uri::parse("pkcs11:object=a;type=cert").value());
  ASSERT_FALSE(cert_type.ok());
  auto by_id = s.find_key(Pkcs11Uri::parse("pkcs11:id=%02").value());
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->label, "b");
}

TEST(DescribeCertificate, ReadsPemAndDer) {
  testing::SoftHsmToken t;
  test::make_test_ca(t);
  auto pem = describe_certificate(slurp(t.dir() + "/ca.pem"));
  ASSERT_TRUE(pem.ok()) << pem.error().message;
  EXPECT_EQ(pem->subject, "CN=Test Root,O=Test CA,C=VN");
  ASSERT_EQ(t.run("openssl x509 -in " + t.dir() + "/ca.pem -outform DER -out " + t.dir() + "/ca.der"), 0);
  auto der = describe_certificate(slurp(t.dir() + "/ca.der"));
  ASSERT_TRUE(der.ok());
  EXPECT_EQ(der->serial, pem->serial);
  EXPECT_FALSE(describe_certificate(slurp(t.dir() + "/ca.der") + "x").ok());
}

}  // namespace
}  // namespace edxgate::hsm
