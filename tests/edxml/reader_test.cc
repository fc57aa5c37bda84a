// The envelope reader: SDK variants accepted, each hostile class refused.
#include <gtest/gtest.h>

#include <filesystem>

#include "edxgate/edxml/json.h"
#include "edxgate/edxml/reader.h"
#include "edxgate/edxml/writer.h"
#include "test_util.h"

namespace edxgate::edxml {
namespace {

using testing::fixture;
using testing::TempDir;

std::string replace(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << "fixture lacks: " << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

std::string code_of(const Result<Envelope>& r) { return r.ok() ? "ok" : r.error().code; }

std::string read_code(const std::string& xml) { return code_of(read_envelope(xml, ReadOptions{})); }

TEST(Reader, ReadsTheDotNetSdkFormWithUnprefixedAttachments) {
  TempDir dir;
  ReadOptions ro;
  ro.attachment_dir = dir.str();
  auto r = read_envelope(fixture("sdk_dotnet_form.xml"), ro);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const MessageHeader& m = *r->message;
  EXPECT_EQ(m.from.organ_id, "000.00.00.G06");
  ASSERT_EQ(m.to.size(), 2u);
  EXPECT_EQ(m.to[1].organ_name, "Văn phòng Chính phủ");
  EXPECT_EQ(format_document_code(m.code), "251/TMĐT-TTTH");
  EXPECT_EQ(m.type, "18");
  EXPECT_EQ(m.type_name, "Công văn");
  EXPECT_EQ(m.promulgation_date, (Date{2024, 3, 15}));
  EXPECT_EQ(m.due_date, (Date{2024, 3, 17}));
  ASSERT_TRUE(r->trace.business.has_value());
  EXPECT_EQ(r->trace.business->staff.staff, "Trần Thị Hoa");
  EXPECT_EQ(r->signature, SignaturePresence::lookalike);  // the empty DigitalSignature
  ASSERT_EQ(r->attachments.size(), 2u);
  EXPECT_EQ(r->attachments[0].content_id, "7d1f0c2e-1");
  EXPECT_EQ(testing::read_text(dir / "Công văn 251.txt"), "Xin chào, đây là công văn số 251.\n");
  EXPECT_EQ(r->attachments[1].size, 768u);
  EXPECT_EQ(sha256_hex(r->attachments[0].sha256).size(), 64u);
}

TEST(Reader, ReadsPrefixedRootManifestVariantAndUnnamespacedAttachments) {
  auto r = read_envelope(fixture("bkav_form.xml"), ReadOptions{});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const MessageHeader& m = *r->message;
  EXPECT_EQ(m.promulgation_date, (Date{2024, 2, 1}));                                  // ISO 8601 accepted
  EXPECT_EQ(r->trace.traces.at(0).timestamp, (DateTime{Date{2024, 2, 1}, 8, 30, 5}));  // Z -> +07
  ASSERT_TRUE(m.response_for.has_value());
  EXPECT_EQ(m.response_for->code, "99/BCT-TMĐT");
  ASSERT_EQ(m.extensions.size(), 1u);
  EXPECT_NE(m.extensions[0].xml.find("ApplicationType"), std::string::npos);
  ASSERT_EQ(m.other_info_extensions.size(), 1u);
  EXPECT_NE(m.other_info_extensions[0].xml.find("99/BCT-TMĐT"), std::string::npos);
  EXPECT_EQ(r->signature, SignaturePresence::lookalike);  // no-namespace Signature
  ASSERT_EQ(r->attachments.size(), 1u);
  EXPECT_EQ(r->attachments[0].path, "");  // no directory: hashed only
}

TEST(Reader, PreservesExtensionElementsThroughAWrite) {
  auto r = read_envelope(fixture("bkav_form.xml"), ReadOptions{});
  ASSERT_TRUE(r.ok());
  r->attachments.clear();
  auto xml = write_envelope_string(*r, WriteOptions{});
  ASSERT_TRUE(xml.ok()) << xml.error().to_string();
  EXPECT_NE(xml->find("ApplicationType"), std::string::npos);
  auto again = read_envelope(*xml, ReadOptions{});
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(again->message, r->message);
}

TEST(Reader, KeepsTheNamespaceOfExtensionElementsThroughAWrite) {
  std::string xml = replace(fixture("sdk_dotnet_form.xml"), "<edXML:SteeringType>",
                            "<Local xmlns=\"\">x</Local><Mine>y</Mine><o:Other xmlns:o=\"urn:o\"/>"
                            "<edXML:SteeringType>");
  auto r = read_envelope(xml, ReadOptions{});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->message->extensions.size(), 3u);
  r->attachments.clear();
  auto out = write_envelope_string(*r, WriteOptions{});
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  auto again = read_envelope(*out, ReadOptions{});
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(again->message->extensions, r->message->extensions);
  EXPECT_NE(out->find("<Local xmlns=\"\">x</Local>"), std::string::npos);
  EXPECT_NE(out->find("<Mine xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">y</Mine>"), std::string::npos);
}

TEST(Reader, ReadsBothStatusElementNames) {
  for (const char* f : {"status_messagestatus.xml", "status_status.xml"}) {
    auto r = read_envelope(fixture(f), ReadOptions{});
    ASSERT_TRUE(r.ok()) << f << ": " << r.error().to_string();
    ASSERT_TRUE(r->status.has_value());
    EXPECT_EQ(r->status->code, StatusCode::accepted);
    EXPECT_EQ(status_code_meaning(r->status->code), "Đã tiếp nhận");
    EXPECT_EQ(r->status->staff.mobile, "0987654321");
    EXPECT_EQ(r->status->response_for.promulgation_date, (Date{2024, 3, 15}));
  }
}

TEST(Reader, ExposesAnXmlDsigSignatureInTheHeader) {
  auto r = read_envelope(fixture("signed_shape.xml"), ReadOptions{});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->signature, SignaturePresence::dsig);
}

TEST(Reader, DomModeMatchesStreamingMode) {
  std::string xml = fixture("sdk_dotnet_form.xml");
  auto streamed = read_envelope(xml, ReadOptions{});
  auto doc = parse_xml(xml, Limits{});
  ASSERT_TRUE(doc.ok());
  auto dom = envelope_from_doc(doc->get(), ReadOptions{});
  ASSERT_TRUE(streamed.ok() && dom.ok());
  EXPECT_EQ(streamed->message, dom->message);
  ASSERT_EQ(dom->attachments.size(), 2u);
  EXPECT_EQ(streamed->attachments[1].sha256, dom->attachments[1].sha256);
}

TEST(Reader, RejectsWrongNamespace) {
  std::string xml = fixture("sdk_dotnet_form.xml");
  std::string ns = "http://www.mic.gov.vn/TBT/QCVN_102_2016";
  std::string wrong = xml;
  for (size_t at; (at = wrong.find(ns)) != std::string::npos;) wrong.replace(at, ns.size(), "urn:other");
  EXPECT_EQ(read_code(wrong), "xml.namespace");
  // One header element moved to another namespace.
  EXPECT_EQ(read_code(replace(xml, "<edXML:Subject>", "<edXML:Subject xmlns:edXML=\"urn:x\">")), "xml.namespace");
}

TEST(Reader, RejectsMissingRequiredFields) {
  std::string xml = fixture("sdk_dotnet_form.xml");
  EXPECT_EQ(read_code(replace(xml, "<edXML:Subject>V/v triển khai thương mại điện tử</edXML:Subject>", "")),
            "edxml.missing");
  EXPECT_EQ(read_code(replace(xml, "<edXML:CodeNumber>251</edXML:CodeNumber>", "")), "edxml.missing");
  EXPECT_EQ(read_code(replace(xml, "<edXML:PromulgationDate>2024/03/15</edXML:PromulgationDate>", "")),
            "edxml.missing");
}

TEST(Reader, AcceptsAnUnusualOrganIdOnReceiveAndRefusesItForWhatWeSend) {
  std::string xml = replace(fixture("sdk_dotnet_form.xml"), "<edXML:OrganId>000.00.00.H41", "<edXML:OrganId>H41");
  auto received = read_envelope(xml, ReadOptions{});
  ASSERT_TRUE(received.ok()) << received.error().to_string();
  ASSERT_EQ(received->warnings.size(), 1u);
  EXPECT_EQ(received->warnings[0].code, "edxml.organ_id");
  ReadOptions outgoing;
  outgoing.strictness = Strictness::outgoing;
  auto r = read_envelope(xml, outgoing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "edxml.organ_id");
}

TEST(Reader, AppliesTheConfiguredOrganIdPatternToWhatWeSend) {
  std::string xml =
      replace(fixture("sdk_dotnet_form.xml"), "<edXML:OrganId>000.00.00.H41", "<edXML:OrganId>vxp.saas.03");
  ReadOptions ro;
  ro.strictness = Strictness::outgoing;
  EXPECT_EQ(code_of(read_envelope(xml, ro)), "edxml.organ_id");
  ro.format.organ_id_pattern = R"(^(\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}|vxp\.saas\.\d{2})$)";
  EXPECT_EQ(code_of(read_envelope(xml, ro)), "ok");
  ro.strictness = Strictness::receive;  // on receive the pattern only decides the warning
  auto r = read_envelope(xml, ro);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->warnings.empty());
}

TEST(Reader, RejectsBadDateWithItsLine) {
  auto r = read_envelope(replace(fixture("sdk_dotnet_form.xml"), "2024/03/17", "2024/02/30"), ReadOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "edxml.date");
  EXPECT_EQ(r.error().line, 15);
}

TEST(Reader, RejectsDuplicateContentIds) {
  std::string xml = fixture("sdk_dotnet_form.xml");
  for (size_t at; (at = xml.find("7d1f0c2e-2")) != std::string::npos;) xml.replace(at, 10, "7d1f0c2e-1");
  EXPECT_EQ(read_code(xml), "edxml.duplicate_content_id");
}

TEST(Reader, RejectsManifestAttachmentMismatch) {
  std::string xml = fixture("sdk_dotnet_form.xml");
  std::string other = replace(xml, "<ContentId>7d1f0c2e-2</ContentId>", "<ContentId>zzz</ContentId>");
  EXPECT_EQ(read_code(other), "edxml.manifest");
  std::string renamed =
      replace(xml, "<AttachmentName>bang.bin</AttachmentName>", "<AttachmentName>khac.bin</AttachmentName>");
  EXPECT_EQ(read_code(renamed), "edxml.manifest");
  size_t a = xml.find("<Attachment><ContentType>application/octet-stream");
  size_t b = xml.find("</Attachment>", a) + std::string("</Attachment>").size();
  EXPECT_EQ(read_code(xml.substr(0, a) + xml.substr(b)), "edxml.manifest");
}

TEST(Reader, RejectsPathTraversalAndControlCharactersInAttachmentNames) {
  std::string xml = fixture("sdk_dotnet_form.xml");
  for (const std::string& name :
       {std::string("../../etc/passwd"), std::string("a/b.txt"), std::string("..\\..\\win.ini"),
        std::string("x&#10;y.txt"), std::string(".."), std::string(".bashrc")}) {
    std::string bad = replace(
        replace(xml, "<AttachmentName>bang.bin</AttachmentName>", "<AttachmentName>" + name + "</AttachmentName>"),
        "<edXML:AttachmentName>bang.bin</edXML:AttachmentName>",
        "<edXML:AttachmentName>" + name + "</edXML:AttachmentName>");
    TempDir dir;
    ReadOptions ro;
    ro.attachment_dir = dir.str();
    EXPECT_EQ(code_of(read_envelope(bad, ro)), "edxml.attachment_name") << name;
    EXPECT_TRUE(std::filesystem::is_empty(dir.str())) << "nothing may be left behind";
  }
}

TEST(Reader, RejectsInvalidBase64) {
  std::string xml = fixture("bkav_form.xml");
  std::string good = "QsOhbyBjw6Fv";  // "Báo cáo"
  EXPECT_EQ(read_code(replace(xml, good, "QsOh*yBjw6Fv")), "edxml.base64");
  EXPECT_EQ(read_code(replace(xml, good, "QsOhbyBjw6F")), "edxml.base64");       // truncated
  EXPECT_EQ(read_code(replace(xml, good, "QsOhbyBjw6F=QQ==")), "edxml.base64");  // data after '='
  EXPECT_EQ(read_code(replace(xml, good, "QsOh<b/>byBjw6Fv")), "edxml.base64");  // markup
}

TEST(Reader, RejectsDuplicateSingularElements) {
  std::string xml = fixture("sdk_dotnet_form.xml");
  EXPECT_EQ(read_code(replace(xml, "<edXML:Subject>", "<edXML:Subject>x</edXML:Subject><edXML:Subject>")),
            "edxml.duplicate");
}

TEST(Reader, RejectsDoctypeTruncationAndNonEnvelopes) {
  std::string xml = fixture("sdk_dotnet_form.xml");
  EXPECT_EQ(read_code(replace(xml, "<edXML xmlns:xsi", "<!DOCTYPE edXML [<!ENTITY x \"y\">]><edXML xmlns:xsi")),
            "xml.doctype");
  EXPECT_EQ(read_code(xml.substr(0, xml.size() / 2)), "xml.malformed");
  EXPECT_EQ(read_code("<html xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"/>"), "edxml.structure");
}

TEST(Reader, RejectsStatusMessageWithAttachments) {
  std::string xml = fixture("status_status.xml");
  xml = replace(
      xml, "</edXML>",
      "<AttachmentEncoded><Attachment><ContentId>x</ContentId><AttachmentName>a.txt</"
      "AttachmentName><ContentTransferEncoded>QQ==</ContentTransferEncoded></Attachment></AttachmentEncoded></edXML>");
  EXPECT_EQ(read_code(xml), "edxml.status_body");
}

TEST(Reader, RejectsMoreAttachmentsThanTheLimit) {
  ReadOptions ro;
  ro.limits.max_attachments = 1;
  EXPECT_EQ(code_of(read_envelope(fixture("sdk_dotnet_form.xml"), ro)), "edxml.attachments");
}

TEST(Reader, ReadsFromFileAndGivesRepeatedNamesDistinctFiles) {
  TempDir dir;
  std::string xml = fixture("sdk_dotnet_form.xml");
  for (size_t at; (at = xml.find("bang.bin")) != std::string::npos;) xml.replace(at, 8, "Công văn 251.txt");
  std::string path = dir / "in.xml";
  testing::write_text(path, xml);
  ReadOptions ro;
  ro.attachment_dir = dir.make_sub("out");
  auto r = read_envelope_file(path, ro);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->attachments[0].path, ro.attachment_dir + "/Công văn 251.txt");
  EXPECT_EQ(r->attachments[1].path, ro.attachment_dir + "/Công văn 251 (2).txt");
  EXPECT_EQ(std::filesystem::file_size(r->attachments[1].path), 768u);
}

TEST(Reader, HeaderJsonRoundTripsThroughMetaJson) {
  auto r = read_envelope(fixture("bkav_form.xml"), ReadOptions{});
  ASSERT_TRUE(r.ok());
  auto back = envelope_from_json(envelope_to_json(*r));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  MessageHeader expected = *r->message;
  expected.extensions.clear();  // never taken from JSON
  expected.other_info_extensions.clear();
  EXPECT_EQ(*back->message, expected);
  EXPECT_EQ(back->trace, r->trace);
  EXPECT_EQ(back->attachments.at(0).name, "baocao.txt");
}

}  // namespace
}  // namespace edxgate::edxml
