// What sort of failure each crypto error is (ErrorKind), where it is made:
// a refused signature or certificate is invalid input, an undeterminable
// revocation status and an unreachable responder are outages (unavailable),
// a file that cannot be read is io. Verification carries the kind of its
// reason so that a caller tells "no verdict" from "refused".
#include <gtest/gtest.h>

#include "../support/test_pki.h"
#include "edxgate/crypto/signing.h"

namespace edxgate::crypto::test {
namespace {

class Kinds : public ::testing::Test {
 protected:
  const Pki& pki = Pki::get();
};

TEST_F(Kinds, ARefusedSignatureIsInvalidInEveryVerifier) {
  const std::string tampered = replace(signed_envelope("good"), "<edXML:Subject>", "<edXML:Subject>X");
  Verification v = verify_text(tampered);  // DOM, streaming, read-and-verify and dual agree
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.code, "sig.digest");
  EXPECT_EQ(v.kind, ErrorKind::invalid);
  Verification revoked = verify_text(signed_envelope("revoked"));
  EXPECT_EQ(revoked.code, "cert.revoked");
  EXPECT_EQ(revoked.kind, ErrorKind::invalid);
}

TEST_F(Kinds, AnUndeterminableRevocationStatusIsAnOutage) {
  Verification v = verify_text(signed_envelope("good"), strict_policy(), nullptr, /*with_crls=*/false);
  EXPECT_EQ(v.code, "revocation.unavailable");
  EXPECT_EQ(v.kind, ErrorKind::unavailable);
}

TEST_F(Kinds, AnEnvelopeFileThatCannotBeReadGetsNoVerdict) {
  const Verifier verifier(pki.trust(), strict_policy());
  const std::string absent = pki.path("absent-envelope.xml");
  Verification v = verifier.verify_file(absent, edxml::Limits{});
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.code, "io.read");
  EXPECT_EQ(v.kind, ErrorKind::io);
  VerifiedEnvelope read = verifier.read_and_verify(absent, edxml::ReadOptions{});
  EXPECT_EQ(read.verification.kind, ErrorKind::io);
}

TEST_F(Kinds, CertificateAndCrlFilesKeepTheKindOfWhatWentWrong) {
  auto missing = Certificate::load_file(pki.path("absent.pem"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::io);
  const std::string junk = pki.path("junk-kinds.pem");
  write_text(junk, "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n");
  auto bad = Certificate::load_file(junk);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "cert.parse");
  EXPECT_EQ(bad.error().kind, ErrorKind::invalid);
  auto crl = Crl::load_file(junk);
  ASSERT_FALSE(crl.ok());
  EXPECT_EQ(crl.error().code, "crl.parse");
  EXPECT_EQ(crl.error().kind, ErrorKind::invalid);
  std::remove(junk.c_str());
}

TEST_F(Kinds, ADocumentThatIsAlreadySignedConflictsWithSigningIt) {
  auto twice = prepare(parse(signed_envelope("good")), pki.cert("good"), {}, SignOptions{});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, "sign.already_signed");
  EXPECT_EQ(twice.error().kind, ErrorKind::conflict);
  auto not_edxml = prepare(parse("<a/>"), pki.cert("good"), {}, SignOptions{});
  ASSERT_FALSE(not_edxml.ok());
  EXPECT_EQ(not_edxml.error().kind, ErrorKind::invalid);
}

TEST_F(Kinds, AnUnreachableResponderIsAnOutageAndABadUrlInvalid) {
  auto fetcher = make_http_fetcher(HttpFetcherOptions{2, 1024});
  auto bad_url = fetcher->fetch("ftp://crl.example/x.crl", "", {});
  ASSERT_FALSE(bad_url.ok());
  EXPECT_EQ(bad_url.error().code, "fetch.url");
  EXPECT_EQ(bad_url.error().kind, ErrorKind::invalid);
  auto refused = fetcher->fetch("http://127.0.0.1:1/x.crl", "", {});  // nothing listens on port 1
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "fetch.connect");
  EXPECT_EQ(refused.error().kind, ErrorKind::unavailable);
}

}  // namespace
}  // namespace edxgate::crypto::test
