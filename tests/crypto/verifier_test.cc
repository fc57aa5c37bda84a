// Verifier: every rule of the strict policy, each rejection with its reason
// code, on envelopes signed by us and by the xmlsec1 CLI.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "../support/test_pki.h"
#include "edxgate/crypto/signing.h"
#include "edxgate/crypto/verifier.h"

namespace edxgate::crypto::test {
namespace {

void expect_rejected(const std::string& xml, const std::string& code, const VerifyPolicy& policy = strict_policy()) {
  Verification v = verify_text(xml, policy);
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.code, code) << v.message;
  EXPECT_FALSE(v.message.empty());
}

class VerifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { (void)Pki::get(); }
  const Pki& pki = Pki::get();
};

using Verifier_ = VerifierTest;

TEST_F(Verifier_, AcceptsEnvelopeSignedByGoodRsaSigner) {
  Verification v = verify_text(signed_envelope("good"));
  ASSERT_TRUE(v.valid) << v.code << ": " << v.message;
  EXPECT_EQ(v.code, "ok");
  EXPECT_EQ(v.signature_algorithm, "rsa-sha256");
  EXPECT_EQ(v.digest_algorithm, "sha256");
  ASSERT_TRUE(v.signer.has_value());
  EXPECT_NE(v.signer->subject.find("edxgate test good"), std::string::npos);
  EXPECT_EQ(v.signer->serial, pki.cert("good").serial_hex());
  ASSERT_EQ(v.chain.size(), 3u);
  EXPECT_NE(v.chain[2].subject.find("edxgate Test Root"), std::string::npos);
  EXPECT_TRUE(v.warnings.empty());
}

TEST_F(Verifier_, AcceptsEcdsaP256AndP384AndRsaSha512Signers) {
  for (auto [name, alg] :
       {std::pair{"ec256", SignatureAlgorithm::ecdsa_sha256}, std::pair{"ec384", SignatureAlgorithm::ecdsa_sha384},
        std::pair{"good", SignatureAlgorithm::rsa_sha512}}) {
    Verification v = verify_text(signed_envelope(name, alg));
    EXPECT_TRUE(v.valid) << name << ": " << v.code << ": " << v.message;
    EXPECT_EQ(v.signature_algorithm, signature_name(alg));
  }
}

TEST_F(Verifier_, AcceptsChainCarriedInKeyInfoWithoutConfiguredIntermediate) {
  std::string xml = signed_envelope("good", SignatureAlgorithm::rsa_sha256, /*include_chain=*/true);
  TrustStore trust;
  trust.add_anchor(pki.cert("root"));
  (void)trust.add_crl_file(pki.path("root.crl.pem"));
  (void)trust.add_crl_file(pki.path("inter.crl.pem"));
  Verification v = verify_both(trust, strict_policy(), nullptr, xml);
  EXPECT_TRUE(v.valid) << v.code << ": " << v.message;
  EXPECT_EQ(v.chain.size(), 3u);
}

TEST_F(Verifier_, RejectsChainWithoutIntermediateAsUntrusted) {
  TrustStore trust;
  trust.add_anchor(pki.cert("root"));
  EXPECT_EQ(verify_both(trust, strict_policy(), nullptr, signed_envelope("good")).code, "cert.untrusted");
}

TEST_F(Verifier_, AcceptsEnvelopeSignedByXmlsec1Cli) {
  std::string xml = xmlsec_sign(with_template(signature_template()), "good");
  Verification v = verify_text(xml);
  EXPECT_TRUE(v.valid) << v.code << ": " << v.message;
}

TEST_F(Verifier_, OurSignatureVerifiesWithXmlsec1Cli) {
  for (auto [name, alg] :
       {std::pair{"good", SignatureAlgorithm::rsa_sha256}, std::pair{"ec384", SignatureAlgorithm::ecdsa_sha384}}) {
    std::string file = pki.path(std::string("ours-") + name + ".xml");
    write_text(file, signed_envelope(name, alg));
    std::string out = sh("xmlsec1 --verify --trusted-pem '" + pki.path("root.pem") + "' --untrusted-pem '" +
                         pki.path("inter.pem") + "' '" + file + "'");
    EXPECT_NE(out.find("OK"), std::string::npos) << out;
  }
}

TEST_F(Verifier_, RejectsUnsignedEnvelope) { expect_rejected(envelope_xml(), "sig.missing"); }

TEST_F(Verifier_, TreatsLookAlikeSignatureWithoutNamespaceAsUnsigned) {
  std::string xml = replace(envelope_xml(), "</edXML:edXMLHeader>",
                            "<Signature><DigestMethod>SHA-1</DigestMethod></Signature>"
                            "<edXML:DigitalSignature/></edXML:edXMLHeader>");
  expect_rejected(xml, "sig.missing");
}

TEST_F(Verifier_, RejectsSecondSignatureInsideAttachments) {
  std::string good = signed_envelope("good");
  size_t a = good.find("<ds:Signature"), b = good.find("</ds:Signature>") + 15;
  std::string copy = good.substr(a, b - a);
  expect_rejected(replace(good, "</edXML:AttachmentEncoded>", copy + "</edXML:AttachmentEncoded>"), "sig.count");
}

TEST_F(Verifier_, RejectsSignatureOutsideTheHeader) {
  std::string xml =
      xmlsec_sign(replace(envelope_xml(), "</edXML:edXMLBody>", signature_template() + "</edXML:edXMLBody>"), "good");
  expect_rejected(xml, "sig.placement");
}

TEST_F(Verifier_, RejectsSignatureWrappingWithIdReferenceThatXmlsec1Accepts) {
  // A signature over the MessageHeader only, by ID: valid for xmlsec1 once
  // Id is registered, but the rest of the envelope could be swapped.
  std::string xml = replace(envelope_xml(), "<edXML:MessageHeader>", R"(<edXML:MessageHeader Id="hdr">)");
  std::string tmpl = signature_template(kRsaSha256, kSha256, "#hdr", kExcXml);
  std::string id_attr = "--id-attr:Id http://www.mic.gov.vn/TBT/QCVN_102_2016:MessageHeader";
  std::string signed_xml = xmlsec_sign(with_template(tmpl, xml), "good", id_attr);
  std::string file = pki.path("wrapped.xml");
  write_text(file, signed_xml);
  std::string out = sh("xmlsec1 --verify " + id_attr + " --trusted-pem '" + pki.path("root.pem") +
                       "' --untrusted-pem '" + pki.path("inter.pem") + "' '" + file + "'");
  EXPECT_NE(out.find("OK"), std::string::npos) << out;
  expect_rejected(signed_xml, "sig.reference");
}

TEST_F(Verifier_, RejectsSecondReference) {
  std::string good = signed_envelope("good");
  size_t a = good.find("<ds:Reference"), b = good.find("</ds:Reference>") + 15;
  expect_rejected(replace(good, "</ds:SignedInfo>", good.substr(a, b - a) + "</ds:SignedInfo>"), "sig.reference");
}

TEST_F(Verifier_, RejectsReferenceWithoutUri) {
  expect_rejected(replace(signed_envelope("good"), R"(<ds:Reference URI="">)", "<ds:Reference>"), "sig.reference");
}

TEST_F(Verifier_, RejectsXsltAndXPathTransforms) {
  std::string good = signed_envelope("good");
  std::string exc = R"(<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>)";
  expect_rejected(
      replace(
          good, exc,
          R"(<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"><xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"/></ds:Transform>)"),
      "sig.transform");
  expect_rejected(
      replace(
          good, exc,
          R"(<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>1</ds:XPath></ds:Transform>)"),
      "sig.transform");
  expect_rejected(replace(good, exc, exc + exc), "sig.transform");
}

TEST_F(Verifier_, RejectsReferenceWithoutEnvelopedTransform) {
  std::string good = signed_envelope("good");
  expect_rejected(
      replace(good, R"(<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>)", ""),
      "sig.transform");
}

TEST_F(Verifier_, RejectsSha1UnlessSenderHasAnException) {
  std::string xml = xmlsec_sign(with_template(signature_template("http://www.w3.org/2000/09/xmldsig#rsa-sha1",
                                                                 "http://www.w3.org/2000/09/xmldsig#sha1")),
                                "good");
  expect_rejected(xml, "sig.algorithm");
  VerifyPolicy policy = strict_policy();
  policy.sha1_exceptions.push_back({"000.00.00.G06", *parse_time("2099-01-01")});
  Verification v = verify_text(xml, policy);
  EXPECT_TRUE(v.valid) << v.code << ": " << v.message;
  ASSERT_FALSE(v.warnings.empty());
  EXPECT_NE(v.warnings[0].find("SHA-1"), std::string::npos);
  policy.sha1_exceptions = {{"000.00.00.G06", *parse_time("2020-01-01")}};  // expired exception
  expect_rejected(xml, "sig.algorithm", policy);
  policy.sha1_exceptions = {{"000.00.00.H41", *parse_time("2099-01-01")}};  // another sender
  expect_rejected(xml, "sig.algorithm", policy);
}

TEST_F(Verifier_, RejectsSha256SignatureWithSha1Digest) {
  std::string xml =
      xmlsec_sign(with_template(signature_template(kRsaSha256, "http://www.w3.org/2000/09/xmldsig#sha1")), "good");
  expect_rejected(xml, "sig.algorithm");
}

TEST_F(Verifier_, RejectsMd5AndHmac) {
  std::string good = signed_envelope("good");
  expect_rejected(replace(good, kSha256, "http://www.w3.org/2001/04/xmldsig-more#md5"), "sig.algorithm");
  expect_rejected(
      replace(
          good, R"(<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>)",
          R"(<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"><ds:HMACOutputLength>8</ds:HMACOutputLength></ds:SignatureMethod>)"),
      "sig.algorithm");
  expect_rejected(
      replace(good, R"(<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>)",
              R"(<ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"/>)"),
      "sig.algorithm");
}

TEST_F(Verifier_, RejectsHmacOutputLengthEvenOnAnAllowedMethod) {
  expect_rejected(
      replace(
          signed_envelope("good"),
          R"(<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>)",
          R"(<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"><ds:HMACOutputLength>8</ds:HMACOutputLength></ds:SignatureMethod>)"),
      "sig.algorithm");
}

TEST_F(Verifier_, RejectsRsa1024Signer) {
  expect_rejected(xmlsec_sign(with_template(signature_template()), "rsa1024"), "sig.key_size");
}

TEST_F(Verifier_, RejectsMethodThatDoesNotFitTheKey) {
  std::string ec = signed_envelope("ec256", SignatureAlgorithm::ecdsa_sha256);
  expect_rejected(replace(ec, "xmldsig-more#ecdsa-sha256", "xmldsig-more#rsa-sha256"), "sig.algorithm");
}

TEST_F(Verifier_, RejectsBareKeyValueRetrievalMethodAndKeyName) {
  std::string good = signed_envelope("good");
  size_t a = good.find("<ds:KeyInfo>"), b = good.find("</ds:KeyInfo>") + 13;
  auto with_key_info = [&](const std::string& ki) {
    std::string s = good;
    return s.replace(a, b - a, "<ds:KeyInfo>" + ki + "</ds:KeyInfo>");
  };
  expect_rejected(with_key_info("<ds:KeyValue><ds:RSAKeyValue><ds:Modulus>AQAB</ds:Modulus><ds:Exponent>AQAB</"
                                "ds:Exponent></ds:RSAKeyValue></ds:KeyValue>"),
                  "sig.keyinfo");
  expect_rejected(with_key_info(R"(<ds:RetrievalMethod URI="http://example.test/cert"/>)"), "sig.keyinfo");
  expect_rejected(with_key_info("<ds:KeyName>good</ds:KeyName>"), "sig.keyinfo");
  std::string cert_part = good.substr(a + 12, b - 13 - (a + 12));
  expect_rejected(with_key_info(cert_part + "<ds:KeyValue/>"), "sig.keyinfo");
  std::string no_keyinfo = good;
  expect_rejected(no_keyinfo.replace(a, b - a, ""), "sig.keyinfo");
}

TEST_F(Verifier_, RejectsAmbiguousLeafAmongSeveralCertificates) {
  std::string good = signed_envelope("good");
  std::string other = "<ds:X509Certificate>" + [&] {
    auto der = pki.cert("good2").der();
    std::string b64(4 * ((der.size() + 2) / 3) + 1, '\0');
    b64.resize(static_cast<size_t>(
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), der.data(), static_cast<int>(der.size()))));
    return b64;
  }() + "</ds:X509Certificate>";
  expect_rejected(replace(good, "</ds:X509Data>", other + "</ds:X509Data>"), "sig.keyinfo");
}

TEST_F(Verifier_, RejectsSwappedKeyInfoCertificate) {
  // good2 is trusted and valid, but did not make this signature.
  std::string good = signed_envelope("good");
  std::string swapped = signed_envelope("good2");
  size_t a = good.find("<ds:X509Certificate>"), b = good.find("</ds:X509Certificate>");
  size_t c = swapped.find("<ds:X509Certificate>"), d = swapped.find("</ds:X509Certificate>");
  std::string xml = good;
  xml.replace(a, b - a, swapped.substr(c, d - c));
  expect_rejected(xml, "sig.value");
}

TEST_F(Verifier_, RejectsDocumentChangedAfterSigning) {
  expect_rejected(replace(signed_envelope("good"), "Thử nghiệm chữ ký số", "Thử nghiệm chữ ký giả"), "sig.digest");
  std::string good = signed_envelope("good");
  expect_rejected(replace(good, "<edXML:ContentTransferEncoded>QUFB", "<edXML:ContentTransferEncoded>QkFB"),
                  "sig.digest");  // attachment bytes
}

TEST_F(Verifier_, RejectsTamperedSignatureValue) {
  std::string good = signed_envelope("good");
  size_t at = good.find("<ds:SignatureValue>") + 19;
  good[at] = good[at] == 'A' ? 'B' : 'A';
  expect_rejected(good, "sig.value");
}

TEST_F(Verifier_, RejectsObjectAndForeignContentInSignature) {
  std::string good = signed_envelope("good");
  expect_rejected(replace(good, "</ds:KeyInfo>", "</ds:KeyInfo><ds:Object><ds:Signature/></ds:Object>"), "sig.count");
  expect_rejected(replace(good, "</ds:KeyInfo>", "</ds:KeyInfo><ds:Object>x</ds:Object>"), "sig.structure");
  expect_rejected(replace(good, "<ds:SignedInfo>", "<ds:SignedInfo><!-- c -->"), "sig.structure");
  expect_rejected(replace(good, "<ds:SignedInfo>", "<ds:SignedInfo>text"), "sig.structure");
}

TEST_F(Verifier_, RejectsUnknownCanonicalization) {
  std::string good = signed_envelope("good");
  expect_rejected(replace(good, R"(<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>)",
                          R"(<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2002/06/xmldsig-filter2"/>)"),
                  "sig.c14n");
}

TEST_F(Verifier_, RejectsExpiredNotYetValidRevokedWrongUsageAndUntrustedSigners) {
  expect_rejected(xmlsec_sign(with_template(signature_template()), "expired"), "cert.expired");
  expect_rejected(xmlsec_sign(with_template(signature_template()), "notyet"), "cert.not_yet_valid");
  expect_rejected(signed_envelope("revoked"), "cert.revoked");
  expect_rejected(signed_envelope("usage"), "cert.usage");
  expect_rejected(signed_envelope("untrusted"), "cert.untrusted");
}

TEST_F(Verifier_, AcceptsExpiredSignerAtATimeWithinItsValidity) {
  std::string xml = xmlsec_sign(with_template(signature_template()), "expired");
  VerifyPolicy policy = strict_policy();
  policy.chain.at = *parse_time("2020-06-01T12:00:00Z");
  Verification v = verify_text(xml, policy);
  EXPECT_TRUE(v.valid) << v.code << ": " << v.message;
}

TEST_F(Verifier_, HardRevocationModeRefusesWhenNoCrlOrOcspAnswers) {
  Verification v = verify_text(signed_envelope("good"), strict_policy(), nullptr, /*with_crls=*/false);
  EXPECT_EQ(v.code, "revocation.unavailable") << v.message;
}

TEST_F(Verifier_, SoftRevocationModeAcceptsWithAWarning) {
  VerifyPolicy policy = strict_policy();
  policy.chain.revocation = RevocationMode::soft;
  Verification v = verify_text(signed_envelope("good"), policy, nullptr, /*with_crls=*/false);
  EXPECT_TRUE(v.valid) << v.code << ": " << v.message;
  EXPECT_FALSE(v.warnings.empty());
}

TEST_F(Verifier_, RevocationOffSkipsTheCheck) {
  VerifyPolicy policy = strict_policy();
  policy.chain.revocation = RevocationMode::off;
  Verification v = verify_text(signed_envelope("revoked"), policy, nullptr, /*with_crls=*/false);
  EXPECT_TRUE(v.valid) << v.code << ": " << v.message;
}

TEST_F(Verifier_, FetchesCrlFromTheDistributionPointAndCachesIt) {
  auto fetcher = std::make_shared<FakeFetcher>();
  std::string der = read_text(pki.path("inter.crl.der"));
  fetcher->answers[kCrlUrl] = std::vector<uint8_t>(der.begin(), der.end());
  OnlineRevocationOptions o;
  o.ocsp = false;
  auto online = std::make_shared<RevocationSource>(fetcher, o);
  // Only the root's CRL is configured: the intermediate's comes from the DP.
  TrustStore trust = pki.trust(false);
  (void)trust.add_crl_file(pki.path("root.crl.pem"));
  EXPECT_EQ(verify_both(trust, strict_policy(), online, signed_envelope("revoked")).code, "cert.revoked");
  Verification v = verify_both(trust, strict_policy(), online, signed_envelope("good"));
  EXPECT_TRUE(v.valid) << v.code << ": " << v.message;
  EXPECT_EQ(fetcher->calls, 1);  // every later verification used the cache
}

TEST_F(Verifier_, AsksTheOcspResponderWhenNoCrlIsAvailable) {
  auto fetcher = std::make_shared<FakeFetcher>();
  fetcher->ocsp_via_pki = true;
  OnlineRevocationOptions o;
  o.fetch_crl = false;
  auto online = std::make_shared<RevocationSource>(fetcher, o);
  TrustStore trust = pki.trust(false);
  (void)trust.add_crl_file(pki.path("root.crl.pem"));
  EXPECT_EQ(verify_both(trust, strict_policy(), online, signed_envelope("revoked")).code, "cert.revoked");
  const std::string good = signed_envelope("good");
  Verification v = verify_both(trust, strict_policy(), online, good);
  EXPECT_TRUE(v.valid) << v.code << ": " << v.message;
  int calls = fetcher->calls;
  (void)verify_both(trust, strict_policy(), online, good);
  EXPECT_EQ(fetcher->calls, calls);  // cached
}

TEST_F(Verifier_, OcspAnswerSignedByAnUnrelatedKeyIsNotTrusted) {
  auto fetcher = std::make_shared<FakeFetcher>();
  // A syntactically valid answer from the wrong responder: the untrusted
  // signer's key (not issued by the intermediate for OCSP signing).
  fetcher->answers[kOcspUrl] = {0x30, 0x03, 0x0a, 0x01, 0x06};  // "unauthorized"
  OnlineRevocationOptions o;
  o.fetch_crl = false;
  auto online = std::make_shared<RevocationSource>(fetcher, o);
  TrustStore trust = pki.trust(false);
  (void)trust.add_crl_file(pki.path("root.crl.pem"));
  EXPECT_EQ(verify_both(trust, strict_policy(), online, signed_envelope("good")).code, "revocation.unavailable");
}

TEST_F(Verifier_, WarnsThatCommentsAreNotCovered) {
  std::string xml = replace(signed_envelope("good"), "<edXML:edXMLBody>", "<edXML:edXMLBody><!-- not signed -->");
  Verification v = verify_text(xml);
  EXPECT_TRUE(v.valid) << v.code << ": " << v.message;
  ASSERT_FALSE(v.warnings.empty());
  EXPECT_NE(v.warnings.back().find("comments"), std::string::npos);
}

TEST_F(Verifier_, HardenedParserRefusesEntityExpansionAndExternalEntities) {
  std::string bomb =
      R"(<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><edXML>&b;</edXML>)";
  auto doc = edxml::parse_xml(bomb, edxml::Limits{});
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().code, "xml.doctype");
  std::string xxe =
      R"(<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]><edXML>&x;</edXML>)";
  auto doc2 = edxml::parse_xml(xxe, edxml::Limits{});
  ASSERT_FALSE(doc2.ok());
  EXPECT_EQ(doc2.error().code, "xml.doctype");
}

TEST_F(Verifier_, IsSharedSafelyByThreadsAndLeavesTheDocumentUnchanged) {
  Verifier verifier(pki.trust(), strict_policy());
  std::string xml = signed_envelope("good");
  const std::string file = pki.path("threads.xml");
  write_text(file, xml);
  std::atomic<int> valid{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto doc = parse(xml);
        std::string before = serialize(doc.get());
        if (verifier.verify(doc.get()).valid && serialize(doc.get()) == before) ++valid;
        Verification streamed = verifier.verify_file(file, edxml::Limits{});  // dual: both verifiers
        if (streamed.valid && streamed.dual_checked) ++valid;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(valid.load(), 40);
}

}  // namespace
}  // namespace edxgate::crypto::test
