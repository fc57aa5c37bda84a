// The streaming verifier where it differs from the DOM verifier in how it
// works: every C14N method xmlsec1 signs with, over envelopes shaped as real
// peers write them; InclusiveNamespaces PrefixLists; a signature that comes
// after the attachments (a second pass); ECDSA values with trimmed halves;
// the model read in the same pass; the dual verdict. Every case goes through
// verify_both (test_pki.h): the DOM verifier and the streaming verifier must
// agree on validity and code.
#include <gtest/gtest.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <fstream>

#include "../support/test_pki.h"
#include "edxgate/crypto/signing.h"
#include "edxgate/crypto/verifier.h"
#include "verify_steps.h"

namespace edxgate::crypto::test {
namespace {

constexpr const char* kEdxmlNs = "http://www.mic.gov.vn/TBT/QCVN_102_2016";

std::string b64(const std::string& raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  out.resize(static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                                 reinterpret_cast<const unsigned char*>(raw.data()),
                                                 static_cast<int>(raw.size()))));
  return out;
}

// The header and body every shape shares (CRLF line ends, as the SDK's
// Windows builds write them; xlink attributes on the manifest reference).
std::string envelope_core() {
  return "  <edXML:edXMLEnvelope xmlns:edXML=\"" + std::string(kEdxmlNs) +
         "\">\r\n"
         "    <edXML:edXMLHeader>\r\n"
         "      <edXML:MessageHeader>\r\n"
         "        <edXML:From><edXML:OrganId>000.00.00.G06</edXML:OrganId>"
         "<edXML:OrganName>Bộ Thử nghiệm</edXML:OrganName></edXML:From>\r\n"
         "        <edXML:To><edXML:OrganId>000.00.00.H41</edXML:OrganId></edXML:To>\r\n"
         "        <edXML:DocumentId>000.00.00.G06,2025/01/02,12/BTN-VP</edXML:DocumentId>\r\n"
         "        <edXML:Code><edXML:CodeNumber>12</edXML:CodeNumber>"
         "<edXML:CodeNotation>BTN-VP</edXML:CodeNotation></edXML:Code>\r\n"
         "        <edXML:PromulgationInfo><edXML:Place>Hà Nội</edXML:Place>"
         "<edXML:PromulgationDate>2025/01/02</edXML:PromulgationDate></edXML:PromulgationInfo>\r\n"
         "        <edXML:Subject>V/v thử nghiệm &amp; kiểm tra chữ ký số</edXML:Subject>\r\n"
         "      </edXML:MessageHeader>\r\n"
         "      <edXML:TraceHeaderList>\r\n"
         "        <edXML:TraceHeader><edXML:OrganId>000.00.00.G06</edXML:OrganId>"
         "<edXML:Timestamp>2025/01/02 08:00:00</edXML:Timestamp></edXML:TraceHeader>\r\n"
         "      </edXML:TraceHeaderList>\r\n"
         "    </edXML:edXMLHeader>\r\n"
         "    <edXML:edXMLBody>\r\n"
         "      <edXML:edXMLManifest version=\"1.0\">\r\n"
         "        <edXML:Reference xmlns:xlink=\"http://www.w3.org/1999/xlink\" xlink:href=\"cid:1\" "
         "xlink:role=\"Document\" xlink:type=\"simple\"><edXML:Description>Văn bản</edXML:Description>"
         "<edXML:AttachmentName>cv.txt</edXML:AttachmentName><edXML:ContentType>text/plain</edXML:ContentType>"
         "<edXML:ContentId>cid:1</edXML:ContentId></edXML:Reference>\r\n"
         "      </edXML:edXMLManifest>\r\n"
         "    </edXML:edXMLBody>\r\n"
         "  </edXML:edXMLEnvelope>\r\n";
}

const std::string kContent = b64(std::string(3000, 'x') + "Nội dung công văn");

// The attachment as the SDKs write it: children in the order ContentType,
// ContentId, Description, ContentTransferEncoded, AttachmentName; the base64
// on one line; the content element declaring its own prefix.
std::string attachments(const std::string& open_tag) {
  return "  " + open_tag +
         "\r\n    <Attachment><ContentType>text/plain</ContentType><ContentId>1</ContentId>"
         "<Description>Văn bản</Description><edXML:ContentTransferEncoded xmlns:edXML=\"" +
         std::string(kEdxmlNs) + "\">" + kContent +
         "</edXML:ContentTransferEncoded><AttachmentName>cv.txt</AttachmentName></Attachment>\r\n"
         "  </AttachmentEncoded>\r\n";
}

// Shapes seen in real files (EDXML.md).
std::vector<std::pair<std::string, std::string>> peer_shapes() {
  const std::string decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n";
  return {
      // The SDK's sample: edXML as the default namespace, the prefix declared
      // on edXMLEnvelope, the attachment elements unprefixed (so in edXML).
      {"default namespace", decl + "<edXML xmlns=\"" + kEdxmlNs + "\">\r\n" + envelope_core() +
                                attachments("<AttachmentEncoded>") + "</edXML>\r\n"},
      // The same, with the attachment elements in no namespace (xmlns="").
      {"undeclared default", decl + "<edXML xmlns=\"" + kEdxmlNs + "\">\r\n" + envelope_core() +
                                 attachments("<AttachmentEncoded xmlns=\"\">") + "</edXML>\r\n"},
      // A prefixed root, attachment elements in no namespace.
      {"prefixed root", decl + "<edXML:edXML xmlns:edXML=\"" + kEdxmlNs + "\">\r\n" + envelope_core() +
                            attachments("<AttachmentEncoded>") + "</edXML:edXML>\r\n"},
      // xml:* attributes on the root: inclusive C14N of SignedInfo inherits
      // them (C14N 1.1 also fixes xml:base up).
      {"xml attributes", decl + "<edXML xmlns=\"" + kEdxmlNs +
                             "\" xml:lang=\"vi\" xml:space=\"preserve\" xml:base=\"http://example.test/a/\">\r\n" +
                             envelope_core() + attachments("<AttachmentEncoded>") + "</edXML>\r\n"},
  };
}

std::string transform_xml(const std::string& uri, const std::string& inner = "") {
  return "<Transform Algorithm=\"" + uri + "\"" + (inner.empty() ? "/>" : ">" + inner + "</Transform>");
}

std::string c14n_method_xml(const std::string& uri, const std::string& inner = "") {
  return "<CanonicalizationMethod Algorithm=\"" + uri + "\"" +
         (inner.empty() ? "/>" : ">" + inner + "</CanonicalizationMethod>");
}

const std::vector<std::string> kC14nUris = {
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/2006/12/xml-c14n11#WithComments",
};

std::string signed_with(const std::string& xml, const std::string& transforms, const std::string& c14n) {
  return xmlsec_sign(with_template(signature_template(kRsaSha256, kSha256, "", transforms,
                                                      "<X509Data><X509Certificate/></X509Data>", c14n),
                                   xml),
                     "good");
}

std::string tamper_content(const std::string& xml) {
  size_t at = xml.find(kContent);
  if (at == std::string::npos) throw std::runtime_error("no content to tamper with");
  std::string out = xml;
  out[at + 10] = out[at + 10] == 'e' ? 'f' : 'e';
  return out;
}

using StreamVerifier = ::testing::Test;

TEST_F(StreamVerifier, AgreesWithXmlsec1OnEveryC14nMethodOverRealPeerShapes) {
  (void)Pki::get();
  std::vector<std::string> transforms = {kEnvelopedXml};  // no C14N transform: inclusive C14N 1.0
  for (const auto& uri : kC14nUris) transforms.push_back(std::string(kEnvelopedXml) + transform_xml(uri));
  auto check = [](const std::string& xml, const std::string& t, const std::string& si) {
    SCOPED_TRACE(t + " / " + si);
    std::string good = signed_with(xml, t, c14n_method_xml(si));
    Verification v = verify_text(good);
    EXPECT_TRUE(v.valid) << v.code << ": " << v.message;
    EXPECT_EQ(verify_text(tamper_content(good)).code, "sig.digest");
    // URI="" covers no comment, whatever the method says.
    std::string commented = replace(good, "<edXML:edXMLBody>", "<edXML:edXMLBody><!-- added later -->");
    EXPECT_TRUE(verify_text(commented).valid);
  };
  for (const auto& [shape, xml] : peer_shapes()) {
    SCOPED_TRACE(shape);
    for (const auto& t : transforms) check(xml, t, kC14nUris[0]);
  }
  // SignedInfo canonicalized by each method (libxml2 on the skeleton).
  for (const auto& si : kC14nUris) check(peer_shapes()[3].second, transforms[1], si);
}

// A prefix bound on the root and used only inside text (a QName in content)
// is not "visibly utilized": exclusive C14N leaves it out unless the
// PrefixList names it.
TEST_F(StreamVerifier, HonoursInclusiveNamespacesPrefixLists) {
  const std::string ec = "xmlns:ec=\"http://www.w3.org/2001/10/xml-exc-c14n#\"";
  std::string xml = replace(envelope_xml(), "<edXML:edXML ", "<edXML:edXML xmlns:q=\"urn:edxgate:q-1\" ");
  xml = replace(xml, "Thử nghiệm chữ ký số", "q:value");
  auto signed_listing = [&](const std::string& list) {
    std::string inclusive = "<ec:InclusiveNamespaces " + ec + " PrefixList=\"" + list + "\"/>";
    return signed_with(xml, std::string(kEnvelopedXml) + transform_xml(kExcC14n, inclusive),
                       c14n_method_xml(kExcC14n, inclusive));
  };
  for (const std::string& list : {std::string("q"), std::string("edXML q"), std::string("q  edXML")}) {
    SCOPED_TRACE("PrefixList \"" + list + "\"");
    std::string good = signed_listing(list);
    EXPECT_TRUE(verify_text(good).valid);
    // q is covered: rebinding it breaks the digest.
    EXPECT_EQ(verify_text(replace(good, "urn:edxgate:q-1", "urn:edxgate:q-2")).code, "sig.digest");
  }
  // Without the list q is not covered.
  std::string plain = signed_with(xml, std::string(kEnvelopedXml) + kExcXml, c14n_method_xml(kExcC14n));
  EXPECT_TRUE(verify_text(replace(plain, "urn:edxgate:q-1", "urn:edxgate:q-2")).valid);
  // An InclusiveNamespaces without PrefixList cannot be processed: on
  // SignedInfo's method or on the reference's transform.
  std::string inclusive = "<ec:InclusiveNamespaces " + ec + " PrefixList=\"q\"/>";
  std::string on_signed_info =
      signed_with(xml, std::string(kEnvelopedXml) + kExcXml, c14n_method_xml(kExcC14n, inclusive));
  EXPECT_EQ(verify_text(replace(on_signed_info, "PrefixList=\"q\"", "")).code, "sig.value");
  std::string on_reference =
      signed_with(xml, std::string(kEnvelopedXml) + transform_xml(kExcC14n, inclusive), c14n_method_xml(kExcC14n));
  EXPECT_EQ(verify_text(replace(on_reference, "PrefixList=\"q\"", "")).code, "sig.value");
}

// No real envelope puts its attachments before the header, but the XML
// allows it: the part before the signature is then not in the skeleton and
// the streaming verifier reads the file a second time.
TEST_F(StreamVerifier, VerifiesASignatureThatComesAfterTheAttachments) {
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<edXML:edXML xmlns:edXML=\"" + std::string(kEdxmlNs) +
                    "\">\n" + attachments("<AttachmentEncoded>") + envelope_core() + "</edXML:edXML>\n";
  for (const auto& uri : {kC14nUris[0], kC14nUris[2]}) {
    std::string good = signed_with(xml, std::string(kEnvelopedXml) + transform_xml(uri), c14n_method_xml(uri));
    Verification v = verify_text(good);
    EXPECT_TRUE(v.valid) << v.code << ": " << v.message;
    EXPECT_EQ(verify_text(tamper_content(good)).code, "sig.digest");
    EXPECT_EQ(verify_text(replace(good, "Thử nghiệm", "Thu nghiem")).code, "sig.digest");
  }
}

// xmlsec1 accepts an ECDSA value whose r and s lost their leading zero
// bytes alike (as some Java signers write them); so does the streaming
// verifier. Other sizes are refused by both.
TEST_F(StreamVerifier, AcceptsEcdsaHalvesTrimmedAlikeAsXmlsec1Does) {
  const Pki& pki = Pki::get();
  auto prepared = prepare(parse(envelope_xml()), pki.cert("ec256"), {}, SignOptions{SignatureAlgorithm::ecdsa_sha256});
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  FILE* f = fopen(pki.path("ec256.key").c_str(), "r");
  ASSERT_NE(f, nullptr);
  EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  fclose(f);
  ASSERT_NE(key, nullptr);
  // Sign until both r and s have a leading zero byte (1 in 65536).
  auto data = prepared->bytes_to_sign();
  unsigned char digest[32];
  SHA256(data.data(), data.size(), digest);
  EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new(key, nullptr);
  ASSERT_TRUE(pctx && EVP_PKEY_sign_init(pctx) == 1 && EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) == 1);
  std::vector<uint8_t> full, trimmed;
  for (int i = 0; i < 3000000 && trimmed.empty(); ++i) {
    std::vector<uint8_t> der(80);
    size_t len = der.size();
    ASSERT_EQ(EVP_PKEY_sign(pctx, der.data(), &len, digest, sizeof digest), 1);
    const unsigned char* p = der.data();
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
    ASSERT_NE(sig, nullptr);
    if (BN_num_bytes(ECDSA_SIG_get0_r(sig)) <= 31 && BN_num_bytes(ECDSA_SIG_get0_s(sig)) <= 31) {
      full.resize(64);
      trimmed.resize(62);
      BN_bn2binpad(ECDSA_SIG_get0_r(sig), full.data(), 32);
      BN_bn2binpad(ECDSA_SIG_get0_s(sig), full.data() + 32, 32);
      BN_bn2binpad(ECDSA_SIG_get0_r(sig), trimmed.data(), 31);
      BN_bn2binpad(ECDSA_SIG_get0_s(sig), trimmed.data() + 31, 31);
    }
    ECDSA_SIG_free(sig);
  }
  EVP_PKEY_CTX_free(pctx);
  EVP_PKEY_free(key);
  ASSERT_FALSE(trimmed.empty());
  VerifyPolicy no_chain;
  no_chain.validate_chain = false;
  auto doc = complete(std::move(prepared.value()), full, Verifier(TrustStore{}, no_chain));
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  const std::string xml = serialize(doc->get());
  const std::string value = b64(std::string(full.begin(), full.end()));
  auto with_value = [&](const std::vector<uint8_t>& v) {
    return replace(xml, value, b64(std::string(v.begin(), v.end())));
  };
  EXPECT_TRUE(verify_text(xml).valid);
  Verification v = verify_text(with_value(trimmed));
  EXPECT_TRUE(v.valid) << v.code << ": " << v.message;
  std::vector<uint8_t> odd(trimmed.begin(), trimmed.end() - 1), longer = full;
  longer.push_back(0);
  EXPECT_EQ(verify_text(with_value(odd)).code, "sig.value");
  EXPECT_EQ(verify_text(with_value(longer)).code, "sig.value");
}

// envelope_xml() with what the model reader requires besides.
std::string model_envelope(size_t attachment_bytes = 16) {
  return replace(envelope_xml(attachment_bytes), "</edXML:Code>",
                 "</edXML:Code><edXML:PromulgationInfo><edXML:Place>Hà Nội</edXML:Place>"
                 "<edXML:PromulgationDate>2025/01/02</edXML:PromulgationDate></edXML:PromulgationInfo>");
}

class ReadAndVerify : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/edxgate-read-verify-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
    options.attachment_dir = dir;
  }
  void TearDown() override { sh("rm -rf '" + dir + "'"); }
  VerifiedEnvelope read(const std::string& xml) {
    const std::string file = Pki::get().path("read-and-verify.xml");
    write_text(file, xml);
    return Verifier(Pki::get().trust(), strict_policy()).read_and_verify(file, options);
  }
  std::string dir;
  edxml::ReadOptions options;
};

TEST_F(ReadAndVerify, GivesTheModelAndAttachmentFilesWithTheVerdict) {
  VerifiedEnvelope r = read(signed_envelope("good", SignatureAlgorithm::rsa_sha256, false, model_envelope(5000)));
  EXPECT_TRUE(r.verification.valid) << r.verification.code << ": " << r.verification.message;
  EXPECT_TRUE(r.verification.dual_checked);
  ASSERT_TRUE(r.envelope.ok()) << r.envelope.error().message;
  ASSERT_EQ(r.envelope->envelope.attachments.size(), 1u);
  const auto& a = r.envelope->envelope.attachments[0];
  EXPECT_EQ(read_text(a.path), std::string(5000, 'A'));
  EXPECT_EQ(a.size, 5000u);
  // The skeleton holds the header and signature, not the attachment bytes.
  EXPECT_EQ(serialize(r.envelope->doc.get()).find("QUFBQUFB"), std::string::npos);
}

TEST_F(ReadAndVerify, ReadsTheModelOfATamperedEnvelopeAndRefusesItsSignature) {
  std::string good = signed_envelope("good", SignatureAlgorithm::rsa_sha256, false, model_envelope());
  VerifiedEnvelope r = read(replace(good, "Thử nghiệm chữ ký số", "Thử nghiệm chữ ký giả"));
  EXPECT_EQ(r.verification.code, "sig.digest");
  EXPECT_TRUE(r.envelope.ok());
}

TEST_F(ReadAndVerify, GivesTheVerdictWhenTheModelIsRefused) {
  // Signed, but the manifest names an attachment the envelope lacks.
  std::string xml = signed_envelope("good", SignatureAlgorithm::rsa_sha256, false,
                                    replace(model_envelope(), "<edXML:ContentId>cid:1", "<edXML:ContentId>cid:9"));
  VerifiedEnvelope r = read(xml);
  EXPECT_TRUE(r.verification.valid) << r.verification.code;
  ASSERT_FALSE(r.envelope.ok());
  EXPECT_EQ(r.envelope.error().code.rfind("edxml.", 0), 0u) << r.envelope.error().code;
}

TEST_F(ReadAndVerify, AnUnparsableEnvelopeGivesItsParseError) {
  VerifiedEnvelope r = read("<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>");
  EXPECT_FALSE(r.verification.valid);
  EXPECT_EQ(r.verification.code, "xml.doctype");
  EXPECT_FALSE(r.envelope.ok());
  // Invalid base64 in an attachment stops the reader before the end.
  std::string good = signed_envelope("good");
  r = read(replace(good, "<edXML:ContentTransferEncoded>QUFB", "<edXML:ContentTransferEncoded>Q*FB"));
  EXPECT_EQ(r.verification.code, "edxml.base64");
}

TEST(StreamVerifierFile, ReportsIoAndLimitErrorsAsCodes) {
  const Pki& pki = Pki::get();
  Verifier verifier(pki.trust(), strict_policy());
  EXPECT_EQ(verifier.verify_file(pki.path("does-not-exist.xml"), edxml::Limits{}).code, "io.read");
  write_text(pki.path("deep.xml"), signed_envelope("good"));
  edxml::Limits shallow;
  shallow.max_depth = 4;
  Verification v = verifier.verify_file(pki.path("deep.xml"), shallow);
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.code, "xml.depth");
  EXPECT_TRUE(verifier.verify_file(pki.path("deep.xml"), edxml::Limits{}).valid);
}

// The pre-scanner counts the lines of attachment text in blocks; an error
// after a long attachment still names its line.
TEST(StreamVerifierFile, NamesTheLineOfAnErrorAfterALongAttachment) {
  const Pki& pki = Pki::get();
  std::string xml = "<a>\n<ContentTransferEncoded>";
  for (int i = 0; i < 70000; ++i) xml += (i % 7 == 0 ? "QUFB\n" : "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\n");
  xml += "</ContentTransferEncoded>\n<!ENTITY x \"y\">\n</a>\n";  // on line 70003
  write_text(pki.path("long-lines.xml"), xml);
  Verification v = Verifier(pki.trust(), strict_policy()).verify_file(pki.path("long-lines.xml"), edxml::Limits{});
  EXPECT_EQ(v.code, "xml.doctype");
  EXPECT_NE(v.message.find("(line 70003)"), std::string::npos) << v.message;
}

TEST(DualVerdict, AgreementKeepsTheStreamingVerdictAndMarksItChecked) {
  Verification s, d;
  s.valid = d.valid = true;
  s.code = d.code = "ok";
  s.message = "the signature is valid";
  Verification v = detail::combine_dual(s, d, "x.xml");
  EXPECT_TRUE(v.valid);
  EXPECT_EQ(v.code, "ok");
  EXPECT_TRUE(v.dual_checked);
  s.valid = d.valid = false;
  s.code = d.code = "cert.revoked";
  EXPECT_EQ(detail::combine_dual(s, d, "x.xml").code, "cert.revoked");
}

TEST(DualVerdict, AnyDifferenceIsADisagreement) {
  Verification s, d;
  s.valid = true;
  s.code = "ok";
  d.code = "sig.digest";
  Verification v = detail::combine_dual(s, d, "x.xml");
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.code, "sig.disagreement");
  EXPECT_NE(v.message.find("sig.digest"), std::string::npos) << v.message;
  s.valid = false;
  s.code = "sig.value";  // both invalid, for different reasons
  EXPECT_EQ(detail::combine_dual(s, d, "x.xml").code, "sig.disagreement");
}

}  // namespace
}  // namespace edxgate::crypto::test
