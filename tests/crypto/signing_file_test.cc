// prepare_file / complete_file / sign_file: signing an envelope file in
// memory bounded by its header, with the same signature as the DOM forms.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../support/test_pki.h"
#include "edxgate/crypto/signing.h"

#if defined(__SANITIZE_ADDRESS__)
#define EDXGATE_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EDXGATE_TEST_SANITIZED 1
#endif
#endif

namespace edxgate::crypto::test {
namespace {

// An unsigned envelope as a sender's own builder writes it (EDXML.md, "What
// real files look like"): the edXML namespace as the default one on the root
// and the prefixed one beside it, CRLF line ends, an unprefixed look-alike
// <Signature> in the edXML namespace, the SDK sample's commented-out extra
// references (holding what looks like the header's end tag), a
// TraceHeaderList with the SDK's attributes, the Bussiness block first.
std::string peer_envelope() {
  std::string xml =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\" "
      "xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">\n"
      "  <edXMLEnvelope>\n"
      "    <edXMLHeader>\n"
      "      <MessageHeader>\n"
      "        <From><OrganId>000.00.00.G06</OrganId><OrganName>Bộ Thử nghiệm</OrganName></From>\n"
      "        <To><OrganId>000.00.00.H41</OrganId></To>\n"
      "        <DocumentId>000.00.00.G06,2026/11/23,251/TMĐT-TTTH</DocumentId>\n"
      "        <Code><CodeNumber>251</CodeNumber><CodeNotation>TMĐT-TTTH</CodeNotation></Code>\n"
      "        <Subject>Thử nghiệm &lt;ký số&gt; &amp; gửi</Subject>\n"
      "      </MessageHeader>\n"
      "      <TraceHeaderList id=\"x7f3a\" version=\"1.0\" mustUnderstand=\"1\" "
      "actor=\"http://schemas.xmlsoap.org/soap/actor/next\">\n"
      "        <Bussiness><BussinessDocType>0</BussinessDocType></Bussiness>\n"
      "        <TraceHeader><OrganId>000.00.00.G06</OrganId><Timestamp>2026/11/23 09:00:00</Timestamp>"
      "</TraceHeader>\n"
      "      </TraceHeaderList>\n"
      "      <Signature><DigestMethod>SHA-1</DigestMethod></Signature>\n"
      "      <!-- <Reference URI=\"#att1\"/> </edXMLHeader> -->\n"
      "    </edXMLHeader>\n"
      "    <edXMLBody><edXMLManifest version=\"1.0\"><Reference><ContentId>cid:1</ContentId>"
      "<AttachmentName>a.txt</AttachmentName></Reference></edXMLManifest></edXMLBody>\n"
      "  </edXMLEnvelope>\n"
      "  <AttachmentEncoded><Attachment><ContentId>1</ContentId><AttachmentName>a.txt</AttachmentName>"
      "<ContentTransferEncoded>dGjhu60gbmdoaeG7h20=</ContentTransferEncoded></Attachment></AttachmentEncoded>\n"
      "</edXML>\n";
  std::string crlf;
  for (char c : xml) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  return crlf;
}

// VmRSS / VmHWM of this process, in KiB.
long status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(key.size()));
  }
  return -1;
}

class SigningFile : public ::testing::Test {
 protected:
  const Pki& pki = Pki::get();
  Verifier strict{pki.trust(), strict_policy()};
  std::string dir = pki.path("signing-file-" + std::to_string(::getpid()));
  edxml::Limits limits;

  void SetUp() override { std::filesystem::create_directories(dir); }
  void TearDown() override { std::filesystem::remove_all(dir); }

  std::string file_of(const std::string& name, const std::string& text) {
    const std::string path = dir + "/" + name;
    write_text(path, text);
    return path;
  }

  std::string xmlsec1_verify(const std::string& file) {
    return sh("xmlsec1 --verify --trusted-pem '" + pki.path("root.pem") + "' --untrusted-pem '" +
              pki.path("inter.pem") + "' '" + file + "' 2>&1");
  }
};

TEST_F(SigningFile, SignsTheSameSignedInfoAsTheDomForm) {
  for (const std::string& xml : {envelope_xml(), peer_envelope()}) {
    for (auto [name, alg] :
         {std::pair{"good", SignatureAlgorithm::rsa_sha256}, std::pair{"ec384", SignatureAlgorithm::ecdsa_sha384}}) {
      const std::string file = file_of("unsigned.xml", xml);
      std::vector<Certificate> chain{pki.cert("inter")};
      auto streamed = prepare_file(file, limits, pki.cert(name), chain, SignOptions{alg, true});
      auto dom = prepare(parse(xml), pki.cert(name), chain, SignOptions{alg, true});
      ASSERT_TRUE(streamed.ok()) << streamed.error().code << ": " << streamed.error().message;
      ASSERT_TRUE(dom.ok());
      EXPECT_EQ(std::string(streamed->bytes_to_sign().begin(), streamed->bytes_to_sign().end()),
                std::string(dom->bytes_to_sign().begin(), dom->bytes_to_sign().end()))
          << name;
      EXPECT_EQ(streamed->algorithm(), alg);
    }
  }
}

TEST_F(SigningFile, ThePeersEnvelopeKeepsItsBytesAndVerifiesWithXmlsec1AndOurVerifier) {
  const std::string xml = peer_envelope();
  const std::string in = file_of("peer.xml", xml), out = dir + "/peer-signed.xml";
  SoftwareSigner signer(pki.path("good.key"));
  std::vector<Certificate> chain{pki.cert("inter")};
  Verification report;
  Status st = sign_file(in, out, signer, pki.cert("good"), chain, SignOptions{}, strict, limits, &report);
  ASSERT_TRUE(st.ok()) << st.error().code << ": " << st.error().message;
  EXPECT_TRUE(report.valid) << report.code;
  EXPECT_TRUE(report.dual_checked) << "a small envelope is checked by the DOM verifier too";
  // Every byte of the sender's file is kept; the signature sits just before
  // the header's end tag (after the comment that only looks like one).
  const std::string signed_xml = read_text(out);
  const size_t at = signed_xml.find("<ds:Signature");
  ASSERT_NE(at, std::string::npos);
  const size_t end = signed_xml.find("</ds:Signature>", at) + std::string("</ds:Signature>").size();
  EXPECT_EQ(signed_xml.substr(0, at) + signed_xml.substr(end), xml);
  EXPECT_EQ(signed_xml.compare(end, 14, "</edXMLHeader>"), 0) << signed_xml.substr(end, 40);
  EXPECT_LT(xml.find("-->"), at);
  EXPECT_NE(xmlsec1_verify(out).find("OK"), std::string::npos) << xmlsec1_verify(out);
  EXPECT_TRUE(verify_text(signed_xml).valid);
}

TEST_F(SigningFile, TwoStepsFromFilesMakeTheSignatureARemoteSignerReturns) {
  const std::string in = file_of("two-step.xml", envelope_xml()), out = dir + "/two-step-signed.xml";
  auto prepared = prepare_file(in, limits, pki.cert("ec256"), {}, SignOptions{SignatureAlgorithm::ecdsa_sha256});
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  // The DER form `openssl dgst -sign` writes: complete_file turns it into r||s.
  write_text(dir + "/tbs.bin", std::string(prepared->bytes_to_sign().begin(), prepared->bytes_to_sign().end()));
  sh("openssl dgst -sha256 -sign '" + pki.path("ec256.key") + "' -out '" + dir + "/sig.der' '" + dir + "/tbs.bin'");
  const std::string der = read_text(dir + "/sig.der");
  std::vector<uint8_t> value(der.begin(), der.end());
  Status st = complete_file(std::move(prepared.value()), value, out, strict, limits);
  ASSERT_TRUE(st.ok()) << st.error().code << ": " << st.error().message;
  EXPECT_TRUE(verify_text(read_text(out)).valid);
}

TEST_F(SigningFile, RefusesWhatTheDomFormRefusesAndLeavesNoSignedFile) {
  SoftwareSigner good(pki.path("good.key")), revoked(pki.path("revoked.key")), wrong(pki.path("good2.key"));
  const std::string out = dir + "/refused.xml";
  Status not_edxml =
      sign_file(file_of("a.xml", "<a/>"), out, good, pki.cert("good"), {}, SignOptions{}, strict, limits);
  ASSERT_FALSE(not_edxml.ok());
  EXPECT_EQ(not_edxml.error().code, "sign.envelope");
  Status twice = sign_file(file_of("signed.xml", signed_envelope("good")), out, good, pki.cert("good"), {},
                           SignOptions{}, strict, limits);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, "sign.already_signed");
  Status doctype = sign_file(file_of("doctype.xml", "<!DOCTYPE edXML [<!ENTITY e \"x\">]>" + envelope_xml().substr(39)),
                             out, good, pki.cert("good"), {}, SignOptions{}, strict, limits);
  ASSERT_FALSE(doctype.ok());
  EXPECT_EQ(doctype.error().code, "xml.doctype");
  Status weak =
      sign_file(file_of("weak.xml", envelope_xml()), out, good, pki.cert("rsa1024"), {}, SignOptions{}, strict, limits);
  ASSERT_FALSE(weak.ok());
  EXPECT_EQ(weak.error().code, "sig.key_size");
  Status other_key =
      sign_file(file_of("other.xml", envelope_xml()), out, wrong, pki.cert("good"), {}, SignOptions{}, strict, limits);
  ASSERT_FALSE(other_key.ok());
  EXPECT_EQ(other_key.error().code, "sign.value");
  Status self_check = sign_file(file_of("revoked.xml", envelope_xml()), out, revoked, pki.cert("revoked"), {},
                                SignOptions{}, strict, limits);
  ASSERT_FALSE(self_check.ok());
  EXPECT_EQ(self_check.error().code, "sign.self_check");
  EXPECT_NE(self_check.error().message.find("cert.revoked"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(out));
}

// 20 MB of attachment: the signer streams it (the DOM form held about three
// times the envelope), and xmlsec1, the DOM verifier, agrees with the result.
TEST_F(SigningFile, ATwentyMegabyteEnvelopeIsSignedInFlatMemoryAndVerifiesWithXmlsec1) {
  const std::string in = dir + "/big.xml", out = dir + "/big-signed.xml";
  write_text(in, envelope_xml(20u << 20));
  const auto envelope_bytes = std::filesystem::file_size(in);
  SoftwareSigner signer(pki.path("good.key"));
  std::vector<Certificate> chain{pki.cert("inter")};
  Verification report;
  // The peak since here (Linux: writing 5 to clear_refs resets VmHWM).
  const bool peak_reset = static_cast<bool>(std::ofstream("/proc/self/clear_refs") << "5");
  const long before = status_kib("VmRSS");
  Status st = sign_file(in, out, signer, pki.cert("good"), chain, SignOptions{}, strict, limits, &report);
  const long peak = status_kib("VmHWM");
  ASSERT_TRUE(st.ok()) << st.error().code << ": " << st.error().message;
  EXPECT_TRUE(report.valid) << report.code;
  EXPECT_FALSE(report.dual_checked) << "above the dual size, the streaming verifier alone";
  const std::string x = xmlsec1_verify(out);
  EXPECT_NE(x.find("OK"), std::string::npos) << x;
  EXPECT_EQ(std::filesystem::file_size(out) - envelope_bytes,
            read_text(out).find("</ds:Signature>") + 15 - read_text(out).find("<ds:Signature"));
#ifndef EDXGATE_TEST_SANITIZED  // ASan's quarantine keeps freed buffers resident
  if (peak_reset && before > 0 && peak > 0) {
    EXPECT_LT(peak - before, 16 * 1024) << "KiB above the start while signing a " << envelope_bytes << "-byte envelope";
  }
#else
  (void)peak_reset, (void)before, (void)peak;
#endif
}

}  // namespace
}  // namespace edxgate::crypto::test
