// prepare / complete / sign: the two-step remote signing API.
#include <gtest/gtest.h>

#include "../support/test_pki.h"
#include "edxgate/crypto/signing.h"

namespace edxgate::crypto::test {
namespace {

class SigningTest : public ::testing::Test {
 protected:
  const Pki& pki = Pki::get();
  Verifier strict{pki.trust(), strict_policy()};
};

using Signing = SigningTest;

TEST_F(Signing, PreparedBytesAreDeterministicAndCanonicalSignedInfo) {
  auto a = prepare(parse(envelope_xml()), pki.cert("good"), {}, SignOptions{});
  auto b = prepare(parse(envelope_xml()), pki.cert("good"), {}, SignOptions{});
  ASSERT_TRUE(a.ok() && b.ok());
  std::string bytes(a->bytes_to_sign().begin(), a->bytes_to_sign().end());
  EXPECT_EQ(bytes, std::string(b->bytes_to_sign().begin(), b->bytes_to_sign().end()));
  EXPECT_EQ(bytes.rfind(R"(<ds:SignedInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">)", 0), 0u) << bytes;
  EXPECT_NE(bytes.find(R"(<ds:Reference URI="">)"), std::string::npos);
}

TEST_F(Signing, TwoStepSigningProducesAVerifiedEnvelope) {
  auto prepared = prepare(parse(envelope_xml()), pki.cert("good"), {}, SignOptions{});
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  SoftwareSigner remote(pki.path("good.key"));  // e.g. a leader's USB token elsewhere
  auto value = remote.sign(prepared->bytes_to_sign(), prepared->algorithm());
  ASSERT_TRUE(value.ok());
  Verification report;
  auto doc = complete(std::move(prepared.value()), *value, strict, &report);
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  EXPECT_TRUE(report.valid);
  // The signature is the last child of edXMLHeader, after TraceHeaderList.
  std::string xml = serialize(doc->get());
  size_t sig = xml.find("<ds:Signature"), trace = xml.find("</edXML:TraceHeaderList>");
  EXPECT_LT(trace, sig);
  EXPECT_EQ(xml.find("</ds:Signature></edXML:edXMLHeader>") == std::string::npos, false) << xml;
}

TEST_F(Signing, CompleteRejectsAValueFromAnotherKey) {
  auto prepared = prepare(parse(envelope_xml()), pki.cert("good"), {}, SignOptions{});
  ASSERT_TRUE(prepared.ok());
  SoftwareSigner wrong(pki.path("good2.key"));
  auto value = wrong.sign(prepared->bytes_to_sign(), prepared->algorithm());
  auto doc = complete(std::move(prepared.value()), *value, strict);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().code, "sign.value");
}

TEST_F(Signing, SelfCheckRefusesAnEnvelopeOurVerifierWouldReject) {
  SoftwareSigner signer(pki.path("revoked.key"));
  auto doc = sign(parse(envelope_xml()), signer, pki.cert("revoked"), {}, SignOptions{}, strict);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().code, "sign.self_check");
  EXPECT_NE(doc.error().message.find("cert.revoked"), std::string::npos);
}

TEST_F(Signing, RefusesDocumentsThatAreNotUnsignedEnvelopes) {
  auto not_edxml = prepare(parse("<a/>"), pki.cert("good"), {}, SignOptions{});
  ASSERT_FALSE(not_edxml.ok());
  EXPECT_EQ(not_edxml.error().code, "sign.envelope");
  auto twice = prepare(parse(signed_envelope("good")), pki.cert("good"), {}, SignOptions{});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, "sign.already_signed");
}

TEST_F(Signing, RefusesWeakKeysAndAlgorithmsThatDoNotFitTheKey) {
  auto weak = prepare(parse(envelope_xml()), pki.cert("rsa1024"), {}, SignOptions{});
  ASSERT_FALSE(weak.ok());
  EXPECT_EQ(weak.error().code, "sig.key_size");
  auto mismatch = prepare(parse(envelope_xml()), pki.cert("ec256"), {}, SignOptions{SignatureAlgorithm::rsa_sha256});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error().code, "sig.algorithm");
}

TEST_F(Signing, SignsAndVerifiesAnEnvelopeWithAOneMegabyteAttachment) {
  std::string xml = signed_envelope("good", SignatureAlgorithm::rsa_sha256, false, envelope_xml(1 << 20));
  EXPECT_TRUE(verify_text(xml).valid);
}

}  // namespace
}  // namespace edxgate::crypto::test
