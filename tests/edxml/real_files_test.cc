// What real peers write (EDXML.md "What real files look like"), read as the
// receiving gateway reads it and as we check what we send; the schema agrees
// with the reader on every fixture.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "edxgate/edxml/json.h"
#include "edxgate/edxml/reader.h"
#include "edxgate/edxml/schema.h"
#include "edxgate/edxml/writer.h"
#include "test_util.h"
#include "zip_util.h"

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

ReadOptions with(Strictness strictness) {
  ReadOptions ro;
  ro.strictness = strictness;
  return ro;
}

std::string code_of(const Result<Envelope>& r) { return r.ok() ? "ok" : r.error().code; }
std::string receive_code(const std::string& xml) { return code_of(read_envelope(xml, ReadOptions{})); }
std::string outgoing_code(const std::string& xml) { return code_of(read_envelope(xml, with(Strictness::outgoing))); }

std::set<std::string> warning_codes(const Envelope& env) {
  std::set<std::string> codes;
  for (const Warning& w : env.warnings) codes.insert(w.code);
  return codes;
}

// How each fixture is judged. Every file in fixtures/ must be listed here.
struct Expectation {
  const char* file;
  const char* receive;             // "ok" or the error code
  const char* outgoing;            // the same with the rules for what we send
  const char* kind;                // "message", "status" or "" when refused
  std::set<std::string> warnings;  // codes, on receive
};

const std::vector<Expectation>& expectations() {
  static const std::vector<Expectation> kAll = {
      {"sdk_dotnet_form.xml", "ok", "ok", "message", {}},
      {"bkav_form.xml", "ok", "ok", "message", {}},
      {"signed_shape.xml", "ok", "ok", "message", {}},
      {"status_messagestatus.xml", "ok", "ok", "status", {}},
      {"status_status.xml", "ok", "ok", "status", {}},
      {"vnpt_status.xml", "ok", "ok", "status", {}},
      {"vnpt_status_reordered.xml", "ok", "ok", "status", {}},
      {"axis_2019.xml", "ok", "edxml.order", "message", {"edxml.organ_id"}},
      {"axis_2025.xml", "ok", "edxml.organ_id", "message", {"edxml.organ_id", "edxml.code"}},
      {"refused_undeclared_prefix.xml", "xml.namespace", "xml.namespace", "", {}},
      {"refused_not_well_formed.xml", "xml.malformed", "xml.malformed", "", {}},
      {"refused_bad_base64.xml", "edxml.base64", "edxml.base64", "", {}},
      {"refused_date_ddmmyyyy.xml", "edxml.date", "edxml.order", "", {}},  // its order first
  };
  return kAll;
}

std::vector<std::string> fixture_files() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(std::string(EDXML_TEST_DIR) + "/fixtures")) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

struct Att {
  std::string name, content_type, bytes;
};

// The 2025 axis delivery with other attachments, in the same (VNPT) form.
std::string vnpt_envelope(const std::vector<Att>& atts) {
  std::string xml = fixture("axis_2025.xml");
  xml = xml.substr(0, xml.find("    <edXML:edXMLBody>"));
  xml += "    <edXML:edXMLBody>\n      <edXML:edXMLManifest version=\"1.0\">\n";
  for (size_t i = 0; i < atts.size(); ++i) {
    xml += "        <edXML:Reference><edXML:ContentId>cid:" + std::to_string(i) +
           "</edXML:ContentId><edXML:ContentType>" + atts[i].content_type + "</edXML:ContentType><edXML:Description>" +
           atts[i].name + "</edXML:Description><edXML:AttachmentName>" + atts[i].name +
           "</edXML:AttachmentName></edXML:Reference>\n";
  }
  xml += "      </edXML:edXMLManifest>\n    </edXML:edXMLBody>\n  </edXML:edXMLEnvelope>\n  <AttachmentEncoded>\n";
  for (size_t i = 0; i < atts.size(); ++i) {
    xml += "    <Attachment><ContentId>cid:" + std::to_string(i) + "</ContentId><AttachmentName>" + atts[i].name +
           "</AttachmentName><Description>" + atts[i].name + "</Description><ContentType>" + atts[i].content_type +
           "</ContentType><edXML:ContentTransferEncoded>" + base64(atts[i].bytes) +
           "</edXML:ContentTransferEncoded></Attachment>\n";
  }
  return xml + "  </AttachmentEncoded>\n</edXML>\n";
}

const std::string kPdf = "%PDF-1.4\n% Kế hoạch 2025\n" + std::string(2000, 'k') + "\n%%EOF\n";

// Envelopes whose attachment the VNPT library zipped, well and badly.
std::vector<std::pair<std::string, std::string>> zipped_envelopes(const TempDir& dir) {
  using testing::make_zip;
  using testing::ZipEntry;
  std::string crc = make_zip(dir, {{"a.pdf", kPdf}});
  for (size_t at : testing::records(crc, "PK\x03\x04")) testing::put_le(crc, at + 14, 1, 4);
  for (size_t at : testing::records(crc, "PK\x01\x02")) testing::put_le(crc, at + 16, 1, 4);
  return {
      {"zip_one_entry.xml", vnpt_envelope({{"KE HOACH.PDF", "application/zip", make_zip(dir, {{"kh.pdf", kPdf}})}})},
      {"zip_two_entries.xml",
       vnpt_envelope({{"KE HOACH.PDF", "application/zip", make_zip(dir, {{"a.pdf", kPdf}, {"b.pdf", kPdf}})}})},
      {"zip_bomb.xml",
       vnpt_envelope({{"KE HOACH.PDF", "application/zip", make_zip(dir, {{"a.pdf", std::string(4 << 20, '\0')}})}})},
      {"zip_encrypted.xml", vnpt_envelope({{"KE HOACH.PDF", "application/zip",
                                            make_zip(dir, {{"a.pdf", kPdf, ZIP_CM_DEFLATE, ZIP_EM_AES_256}})}})},
      {"zip_bad_crc.xml", vnpt_envelope({{"KE HOACH.PDF", "application/zip", crc}})},
      {"zip_traversal.xml",
       vnpt_envelope({{"KE HOACH.PDF", "application/zip", make_zip(dir, {{"../../ke hoach.pdf", kPdf}})}})},
  };
}

TEST(RealFiles, EveryFixtureIsJudgedAsSpecified) {
  std::set<std::string> listed;
  for (const Expectation& e : expectations()) {
    listed.insert(e.file);
    const std::string xml = fixture(e.file);
    auto r = read_envelope(xml, ReadOptions{});
    EXPECT_EQ(code_of(r), e.receive) << e.file << ": " << (r.ok() ? "" : r.error().to_string());
    EXPECT_EQ(outgoing_code(xml), e.outgoing) << e.file;
    if (!r.ok()) continue;
    EXPECT_EQ(r->status ? "status" : "message", std::string(e.kind)) << e.file;
    EXPECT_EQ(warning_codes(*r), e.warnings) << e.file;
  }
  for (const std::string& f : fixture_files()) EXPECT_TRUE(listed.count(f)) << f << " has no expectation";
}

// The schema never refuses what the reader accepts, and refuses the broken
// fixtures too: on the streamed tree `validate` checks (attachment content
// emptied) and on the whole document.
TEST(RealFiles, TheSchemaAgreesWithTheReaderOnEveryFixture) {
  TempDir dir;
  std::vector<std::string> paths;
  for (const std::string& f : fixture_files()) paths.push_back(std::string(EDXML_TEST_DIR) + "/fixtures/" + f);
  for (const auto& [name, xml] : zipped_envelopes(dir)) {
    testing::write_text(dir / name, xml);
    paths.push_back(dir / name);
  }
  for (const std::string& path : paths) {
    for (Strictness s : {Strictness::receive, Strictness::outgoing}) {
      auto read = read_envelope_file_with_doc(path, with(s));
      auto dom = parse_xml_file(path, Limits{});
      Status on_dom = dom.ok() ? validate_schema(dom->get()) : Status(dom.error());
      if (read.ok()) {
        Status on_streamed = validate_schema(read->doc.get());
        EXPECT_TRUE(on_streamed.ok()) << path << ": " << on_streamed.error().to_string();
        EXPECT_TRUE(on_dom.ok()) << path << ": " << on_dom.error().to_string();
      } else if (s == Strictness::receive) {
        EXPECT_FALSE(on_dom.ok()) << path << " is refused by the reader (" << read.error().code
                                  << ") but not by the schema";
      }
    }
  }
}

TEST(RealFiles, AStatusUnderMessageHeaderIsAStatusByItsContent) {
  auto r = read_envelope(fixture("vnpt_status.xml"), ReadOptions{});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_TRUE(r->status.has_value());
  EXPECT_FALSE(r->message.has_value());
  const StatusMessage& s = *r->status;
  EXPECT_EQ(s.code, StatusCode::arrived);
  EXPECT_EQ(s.from.organ_id, "000.00.00.H29");
  EXPECT_EQ(s.response_for.document_id, "000.00.00.G06,2024/03/15,251/TMĐT-TTTH");
  EXPECT_EQ(s.response_for.promulgation_date, (Date{2024, 3, 15}));
  EXPECT_EQ(s.staff.email, "lanpt@hanoi.gov.vn");
  EXPECT_EQ(s.staff.mobile, "84912345678");
  EXPECT_EQ(s.timestamp, (DateTime{Date{2024, 3, 15}, 17, 25, 11}));

  auto o = read_envelope(fixture("vnpt_status_reordered.xml"), ReadOptions{});
  ASSERT_TRUE(o.ok()) << o.error().to_string();
  EXPECT_EQ(o->status->code, StatusCode::refused);
  EXPECT_EQ(o->status->from.organization_in_charge, "UBND Thành phố Hà Nội");
  EXPECT_EQ(o->status->from.organ_name, "Văn phòng UBND Thành phố Hà Nội");
  EXPECT_EQ(o->status->response_for.promulgation_date, (Date{2024, 3, 15}));
  EXPECT_EQ(o->status->response_for.document_id, s.response_for.document_id);
  EXPECT_EQ(o->status->staff.mobile, "84912345678");
  EXPECT_EQ(o->status->staff.department, "Phòng Hành chính");
}

TEST(RealFiles, AMessageHeaderAnsweringADocumentWithoutStatusCodeIsAStatusMissingItsCode) {
  std::string xml = replace(fixture("vnpt_status.xml"), "<edXML:StatusCode>01</edXML:StatusCode>", "");
  auto r = read_envelope(xml, ReadOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "edxml.missing");
  EXPECT_NE(r.error().message.find("StatusCode"), std::string::npos) << r.error().message;
}

TEST(RealFiles, ReadsTheAxisDeliveryOf2019) {
  auto r = read_envelope(fixture("axis_2019.xml"), ReadOptions{});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const MessageHeader& m = *r->message;
  ASSERT_EQ(m.to.size(), 2u);
  EXPECT_EQ(m.to[1].organ_id, "G12");
  EXPECT_EQ(m.document_id, "000.00.00.G22,2019/01/16,312/VPCP-TTĐT");  // right after the last To
  EXPECT_EQ(m.to_places.size(), 2u);                                   // after SteeringType
  EXPECT_EQ(m.steering_type, "1");
  ASSERT_EQ(m.other_info_extensions.size(), 1u);
  EXPECT_NE(m.other_info_extensions[0].xml.find("Direction"), std::string::npos);
  ASSERT_TRUE(r->trace.business.has_value());  // before the TraceHeaders
  EXPECT_EQ(r->trace.business->staff.staff, "Lê Thị Mai");
  ASSERT_EQ(r->trace.traces.size(), 3u);
  EXPECT_EQ(r->trace.traces[1].organ_id, "02.29.W00");
  EXPECT_EQ(r->trace.traces[2].organ_id, "");  // the axis's own hop
  EXPECT_EQ(r->trace.traces[2].timestamp, (DateTime{Date{2019, 1, 16}, 9, 12, 44}));
  EXPECT_EQ(r->signature, SignaturePresence::lookalike);  // unprefixed Signature: unsigned
  ASSERT_EQ(r->warnings.size(), 2u);
  EXPECT_NE(r->warnings[0].message.find("'G12'"), std::string::npos) << r->warnings[0].message;
  EXPECT_NE(r->warnings[1].message.find("'02.29.W00'"), std::string::npos) << r->warnings[1].message;
  ASSERT_EQ(r->attachments.size(), 1u);
  EXPECT_FALSE(r->attachments[0].zipped);
}

TEST(RealFiles, ReadsTheAxisDeliveryOf2025) {
  TempDir dir;
  ReadOptions ro;
  ro.attachment_dir = dir.str();
  auto r = read_envelope(fixture("axis_2025.xml"), ro);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const MessageHeader& m = *r->message;
  EXPECT_EQ(m.from.organ_id, "020100107370");
  EXPECT_EQ(m.to[0].organ_id, "001.00.20.TT2");
  EXPECT_EQ(m.code.number, "74fass22");
  EXPECT_FALSE(m.response_for.has_value());  // present but empty: absent
  EXPECT_FALSE(m.due_date.has_value());
  ASSERT_EQ(r->trace.traces.size(), 4u);
  EXPECT_EQ(r->trace.traces[0].organ_id, "");  // "null"
  EXPECT_EQ(r->trace.traces[1].organ_id, "vxp.saas.03");
  EXPECT_EQ(r->trace.traces[2].organ_id, "01.02.G22");
  EXPECT_EQ(r->signature, SignaturePresence::lookalike);  // the empty DigitalSignature
  ASSERT_EQ(r->attachments.size(), 1u);
  const Attachment& a = r->attachments[0];
  EXPECT_EQ(a.name, "GUIDE.SIGNED.PDF");
  EXPECT_TRUE(a.zipped);
  EXPECT_FALSE(a.unzipped.has_value());                                              // not asked
  EXPECT_EQ(testing::read_text(a.path).substr(0, 4), std::string("PK\x03\x04", 4));  // as received
  EXPECT_EQ(r->warnings.size(), 6u);  // 020100107370, 001.00.20.TT2, 28.22.H17, 74fass22, 2 hops
}

TEST(RealFiles, ReadsAnEmptyResponseForAsAbsentInEveryForm) {
  std::string xml = fixture("sdk_dotnet_form.xml");
  for (const char* empty : {"<edXML:ResponseFor/>", "<edXML:ResponseFor>\n </edXML:ResponseFor>",
                            "<edXML:ResponseFor><edXML:OrganId/><edXML:Code></edXML:Code></edXML:ResponseFor>"}) {
    auto r = read_envelope(replace(xml, "</edXML:MessageHeader>", std::string(empty) + "</edXML:MessageHeader>"),
                           with(Strictness::outgoing));
    ASSERT_TRUE(r.ok()) << empty << ": " << r.error().to_string();
    EXPECT_FALSE(r->message->response_for.has_value()) << empty;
  }
}

// Each receive leniency, checked both ways: accepted on receive (with its
// warning when it breaks one of our rules), refused for what we send.
TEST(RealFiles, EachReceiveLeniencyIsRefusedForWhatWeSend) {
  const std::string xml = fixture("sdk_dotnet_form.xml");
  struct Case {
    std::string what, xml, outgoing, warning;
  };
  const std::string to_end = "</edXML:To>\n        <edXML:Code>";
  const std::string doc_id = "        <edXML:DocumentId>000.00.00.G06,2024/03/15,251/TMĐT-TTTH</edXML:DocumentId>\n";
  std::string doc_id_early = replace(xml, doc_id, "");
  doc_id_early = replace(doc_id_early, to_end, "</edXML:To>\n" + doc_id + "        <edXML:Code>");
  const std::string to_places =
      "        <edXML:ToPlaces><edXML:Place>UBND tỉnh Nghệ An</edXML:Place></edXML:ToPlaces>\n";
  std::string places_late = replace(xml, to_places, "");
  places_late = replace(places_late, "        <edXML:DocumentId>", to_places + "        <edXML:DocumentId>");
  const std::string trace =
      "<edXML:TraceHeader><edXML:OrganId>000.00.00.G06</edXML:OrganId><edXML:Timestamp>2024/03/15 "
      "08:30:05</edXML:Timestamp></edXML:TraceHeader>";
  std::string business_first = replace(xml, trace, "");
  business_first = replace(business_first, "</edXML:Bussiness>", "</edXML:Bussiness>" + trace);
  const std::vector<Case> cases = {
      {"organ id G12", replace(xml, "<edXML:OrganId>000.00.00.H41", "<edXML:OrganId>G12"), "edxml.organ_id",
       "edxml.organ_id"},
      {"12-digit organ id", replace(xml, "<edXML:OrganId>000.00.00.H41", "<edXML:OrganId>020100107370"),
       "edxml.organ_id", "edxml.organ_id"},
      {"CodeNumber 74fass22", replace(xml, "<edXML:CodeNumber>251<", "<edXML:CodeNumber>74fass22<"), "edxml.code",
       "edxml.code"},
      {"14-digit CodeNumber", replace(xml, "<edXML:CodeNumber>251<", "<edXML:CodeNumber>20250304101530<"), "edxml.code",
       "edxml.code"},
      {"trace without OrganId",
       replace(xml, "<edXML:OrganId>000.00.00.G06</edXML:OrganId><edXML:Timestamp>2024/03/15 08:30:05",
               "<edXML:Timestamp>2024/03/15 08:30:05"),
       "edxml.missing", ""},
      {"trace OrganId null",
       replace(xml, "<edXML:OrganId>000.00.00.G06</edXML:OrganId><edXML:Timestamp>2024/03/15 08:30:05",
               "<edXML:OrganId>null</edXML:OrganId><edXML:Timestamp>2024/03/15 08:30:05"),
       "edxml.missing", ""},
      {"trace hop vxp.saas.03",
       replace(xml, "<edXML:OrganId>000.00.00.G06</edXML:OrganId><edXML:Timestamp>2024/03/15 08:30:05",
               "<edXML:OrganId>vxp.saas.03</edXML:OrganId><edXML:Timestamp>2024/03/15 08:30:05"),
       "edxml.organ_id", "edxml.organ_id"},
      {"DocumentId after the last To", doc_id_early, "edxml.order", ""},
      {"ToPlaces after SteeringType", places_late, "edxml.order", ""},
      {"Bussiness before TraceHeader", business_first, "edxml.order", ""},
  };
  for (const Case& c : cases) {
    auto r = read_envelope(c.xml, ReadOptions{});
    ASSERT_TRUE(r.ok()) << c.what << ": " << r.error().to_string();
    EXPECT_EQ(warning_codes(*r), (c.warning.empty() ? std::set<std::string>{} : std::set<std::string>{c.warning}))
        << c.what;
    EXPECT_EQ(outgoing_code(c.xml), c.outgoing) << c.what;
    auto doc = parse_xml(c.xml, Limits{});
    ASSERT_TRUE(doc.ok());
    Status schema = validate_schema(doc->get());
    EXPECT_TRUE(schema.ok()) << c.what << ": " << schema.error().to_string();
  }
}

TEST(RealFiles, WhatWeSendKeepsTheHeaderInOrderWithItsLine) {
  std::string xml = replace(fixture("sdk_dotnet_form.xml"), "<edXML:TraceHeaderList id=\"3fa9c01b\"",
                            "<edXML:TraceHeaderList id=\"3fa9c01b\"");
  // The trace list before the message header.
  size_t a = xml.find("      <edXML:TraceHeaderList");
  size_t b = xml.find("</edXML:TraceHeaderList>") + std::string("</edXML:TraceHeaderList>\n").size();
  std::string list = xml.substr(a, b - a);
  xml.erase(a, b - a);
  xml.insert(xml.find("      <edXML:MessageHeader>"), list);
  EXPECT_EQ(receive_code(xml), "ok");
  auto r = read_envelope(xml, with(Strictness::outgoing));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "edxml.order");
  EXPECT_EQ(r.error().line, 9);  // the MessageHeader, found after the list
}

TEST(RealFiles, StillRefusesWhatIsTrulyBrokenOnReceive) {
  const std::string xml = fixture("sdk_dotnet_form.xml");
  EXPECT_EQ(receive_code(replace(xml, "<edXML:OrganId>000.00.00.H41", "<edXML:OrganId>000.00.00 H41")),
            "edxml.organ_id");
  EXPECT_EQ(receive_code(replace(xml, "<edXML:OrganId>000.00.00.H41", "<edXML:OrganId>" + std::string(65, '9'))),
            "edxml.organ_id");
  EXPECT_EQ(receive_code(replace(xml, "<edXML:CodeNumber>251<", "<edXML:CodeNumber>25 1<")), "edxml.code");
  EXPECT_EQ(receive_code(replace(xml, "<edXML:Subject>V/v", "<edXML:Subject><b>V/v</b>")), "edxml.structure");
  EXPECT_EQ(
      receive_code(replace(xml, "</edXML:edXMLManifest>", "</edXML:edXMLManifest><edXML:Manifest></edXML:Manifest>")),
      "edxml.duplicate");
  EXPECT_EQ(receive_code(replace(xml, "2024/03/17", "17/03/2024")), "edxml.date");
  EXPECT_EQ(receive_code(replace(xml, "<edXML:Subject>", "<x:Subject>")), "xml.namespace");
}

TEST(RealFiles, IgnoresUnknownElementsWithABoundedListOfWarnings) {
  std::string xml = fixture("sdk_dotnet_form.xml");
  auto one = read_envelope(replace(xml, "<edXML:edXMLBody>", "<edXML:Surprise>x</edXML:Surprise><edXML:edXMLBody>"),
                           ReadOptions{});
  ASSERT_TRUE(one.ok()) << one.error().to_string();
  ASSERT_EQ(one->warnings.size(), 1u);
  EXPECT_EQ(one->warnings[0].code, "edxml.unknown_element");
  EXPECT_NE(one->warnings[0].message.find("Surprise"), std::string::npos);
  EXPECT_EQ(one->warnings[0].line, 27);
  std::string many;
  for (int i = 0; i < 500; ++i) many += "<edXML:Extra" + std::to_string(i) + "/>";
  auto lots =
      read_envelope(replace(xml, "<edXML:OrganId>000.00.00.H41", many + "<edXML:OrganId>000.00.00.H41"), ReadOptions{});
  ASSERT_TRUE(lots.ok()) << lots.error().to_string();
  EXPECT_EQ(lots->warnings.size(), 21u);
  EXPECT_EQ(lots->warnings.back().message, "More unknown elements were ignored.");
}

TEST(RealFiles, WarnsOnceForAnIdGivenTwice) {
  std::string xml = fixture("sdk_dotnet_form.xml");
  xml = replace(replace(xml, "<edXML:OrganId>000.00.00.H41", "<edXML:OrganId>G12"), "<edXML:OrganId>000.00.00.G22",
                "<edXML:OrganId>G12");
  auto r = read_envelope(xml, ReadOptions{});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->message->to.size(), 2u);
  EXPECT_EQ(r->warnings.size(), 1u);
}

TEST(RealFiles, WritesStatusMessagesUnderMessageHeaderByDefault) {
  Envelope env;
  StatusMessage& s = env.status.emplace();
  s.response_for = {"000.00.00.G06", "251/TMĐT-TTTH", Date{2024, 3, 15}, "000.00.00.G06,2024/03/15,251/TMĐT-TTTH"};
  s.from = testing::org("000.00.00.H29", "UBND Thành phố Hà Nội");
  s.code = StatusCode::accepted;
  s.timestamp = DateTime{Date{2024, 3, 16}, 9, 0, 0};
  env.trace.traces.push_back({"000.00.00.H29", s.timestamp});
  auto xml = write_envelope_string(env, WriteOptions{});
  ASSERT_TRUE(xml.ok()) << xml.error().to_string();
  EXPECT_NE(xml->find("<edXML:MessageHeader><edXML:ResponseFor>"), std::string::npos) << *xml;
  EXPECT_EQ(xml->find("MessageStatus"), std::string::npos);
  for (std::string_view element : kStatusElements) {
    WriteOptions wo;
    wo.format.status_element = std::string(element);
    auto out = write_envelope_string(env, wo);
    ASSERT_TRUE(out.ok()) << element;
    EXPECT_NE(out->find("<edXML:" + std::string(element) + ">"), std::string::npos);
    auto back = read_envelope(*out, with(Strictness::outgoing));
    ASSERT_TRUE(back.ok()) << element << ": " << back.error().to_string();
    EXPECT_EQ(back->status, env.status) << element;
    auto doc = parse_xml(*out, Limits{});
    EXPECT_TRUE(validate_schema(doc->get()).ok()) << element;
  }
  WriteOptions bad;
  bad.format.status_element = "Trangthai";
  EXPECT_EQ(write_envelope_string(env, bad).error().code, "edxml.options");
}

TEST(RealFiles, TheWriterKeepsTheOutgoingRulesWhateverWasRead) {
  auto r = read_envelope(fixture("axis_2025.xml"), ReadOptions{});
  ASSERT_TRUE(r.ok());
  r->attachments.clear();
  EXPECT_EQ(write_envelope_string(*r, WriteOptions{}).error().code, "edxml.organ_id");
  r->message->from.organ_id = "000.00.00.G06";
  for (auto& t : r->message->to) t.organ_id = "000.00.00.H41";
  EXPECT_EQ(write_envelope_string(*r, WriteOptions{}).error().code, "edxml.code");
  r->message->code.number = "74";
  EXPECT_EQ(write_envelope_string(*r, WriteOptions{}).error().code, "edxml.missing");  // trace without organ
  std::vector<Warning> warnings;
  EXPECT_TRUE(check_envelope(*r, FormatOptions{}, Strictness::receive, &warnings).ok());
}

// We answer whoever we accepted a document from: the organ a ResponseFor
// names is the peer's, not held to our pattern (ours, From, still is).
TEST(RealFiles, AStatusAnswersASenderWithAnUnusualIdButComesFromAUsualOne) {
  auto doc = read_envelope(fixture("axis_2025.xml"), ReadOptions{});
  ASSERT_TRUE(doc.ok());
  Envelope env;
  StatusMessage& s = env.status.emplace();
  s.response_for = {doc->message->from.organ_id, format_document_code(doc->message->code),
                    doc->message->promulgation_date, doc->message->document_id};
  s.from = testing::org("001.00.20.TT2", "Trung tâm Tin học");
  s.code = StatusCode::arrived;
  s.timestamp = DateTime{Date{2025, 3, 4}, 10, 5, 0};
  EXPECT_EQ(write_envelope_string(env, WriteOptions{}).error().code, "edxml.organ_id");  // our id
  s.from.organ_id = "000.00.00.H29";
  auto xml = write_envelope_string(env, WriteOptions{});
  ASSERT_TRUE(xml.ok()) << xml.error().to_string();
  auto back = read_envelope(*xml, with(Strictness::outgoing));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->status->response_for.organ_id, "020100107370");
  EXPECT_EQ(back->status->response_for.code, "74fass22/EVNNPC-KT");
  s.response_for.organ_id = "0201 00107370";  // a space: not an organ id at all
  EXPECT_EQ(write_envelope_string(env, WriteOptions{}).error().code, "edxml.organ_id");
  // A document answering it likewise.
  Envelope answer = testing::full_message();
  answer.message->response_for->organ_id = "020100107370";
  EXPECT_TRUE(write_envelope_string(answer, WriteOptions{}).ok());
}

TEST(RealFiles, UnzipsTheZippedAttachmentWhenAskedAndKeepsTheBytesAsReceived) {
  TempDir dir;
  ReadOptions ro;
  ro.attachment_dir = dir.make_sub("received");
  ro.unzip_dir = dir.make_sub("unzipped");
  auto r = read_envelope(fixture("axis_2025.xml"), ro);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const Attachment& a = r->attachments[0];
  ASSERT_TRUE(a.unzipped.has_value());
  EXPECT_EQ(a.unzipped->name, "GUIDE.SIGNED.PDF");
  EXPECT_EQ(a.unzipped->path, ro.unzip_dir + "/GUIDE.SIGNED.PDF");
  EXPECT_EQ(a.unzipped->entry_name, "5c1f3a2e-7b9d-4e1a-9c3f-2d8e6b4a1f07.pdf");
  EXPECT_EQ(testing::read_text(a.unzipped->path).substr(0, 5), "%PDF-");
  EXPECT_EQ(a.path, ro.attachment_dir + "/GUIDE.SIGNED.PDF");
  EXPECT_EQ(testing::read_text(a.path).substr(0, 2), "PK");
  EXPECT_EQ(a.size, std::filesystem::file_size(a.path));
  auto j = envelope_to_json(*r, dir.str());
  EXPECT_EQ(j.at("attachments").at(0).at("unzipped").at("file").as_string(), "unzipped/GUIDE.SIGNED.PDF");
  EXPECT_EQ(j.at("attachments").at(0).at("file").as_string(), "received/GUIDE.SIGNED.PDF");
  // The unzip directory may not be the attachment directory.
  ReadOptions same = ro;
  same.unzip_dir = ro.attachment_dir;
  EXPECT_EQ(code_of(read_envelope(fixture("axis_2025.xml"), same)), "usage.unzip_dir");
}

TEST(RealFiles, TheUnzipDirectoryIsMadeOnlyWhenAZippedAttachmentNeedsIt) {
  TempDir dir;
  ReadOptions ro;
  ro.attachment_dir = dir.make_sub("received");
  ro.unzip_dir = dir.str() + "/unzipped";  // not there yet
  ro.sync_attachments = false;             // the caller syncs them where it keeps them
  auto plain = read_envelope(vnpt_envelope({{"to trinh.pdf", "application/pdf", kPdf}}), ro);
  ASSERT_TRUE(plain.ok()) << plain.error().to_string();
  EXPECT_EQ(testing::read_text(plain->attachments[0].path), kPdf);
  EXPECT_FALSE(std::filesystem::exists(ro.unzip_dir));  // nothing zipped: no directory
  auto zipped = read_envelope(fixture("axis_2025.xml"), ro);
  ASSERT_TRUE(zipped.ok()) << zipped.error().to_string();
  ASSERT_TRUE(zipped->attachments[0].unzipped.has_value());
  EXPECT_EQ(zipped->attachments[0].unzipped->path, ro.unzip_dir + "/GUIDE.SIGNED.PDF");
  EXPECT_EQ(testing::read_text(zipped->attachments[0].unzipped->path).substr(0, 5), "%PDF-");
  EXPECT_EQ(std::filesystem::status(ro.unzip_dir).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
  // A directory that cannot be made is that attachment's unzip error; the
  // envelope is still read, the bytes as received kept.
  ReadOptions orphan = ro;
  orphan.attachment_dir = dir.make_sub("received2");
  orphan.unzip_dir = dir.str() + "/no/such/parent";
  auto kept = read_envelope(fixture("axis_2025.xml"), orphan);
  ASSERT_TRUE(kept.ok()) << kept.error().to_string();
  ASSERT_TRUE(kept->attachments[0].unzip_error.has_value());
  EXPECT_EQ(kept->attachments[0].unzip_error->code, "io.write");
  EXPECT_EQ(testing::read_text(kept->attachments[0].path).substr(0, 2), "PK");
}

TEST(RealFiles, WithTempNamesManyReadsShareOneDirectoryAndTheFilesAreTheCallers) {
  TempDir dir;
  ReadOptions ro;
  ro.attachment_dir = dir.make_sub("incoming");
  ro.temp_names = true;
  ro.sync_attachments = false;
  ro.reserved_names = {"to trinh.pdf"};  // does not apply: no file takes a declared name
  const std::string xml =
      vnpt_envelope({{"to trinh.pdf", "application/pdf", kPdf}, {"to trinh.pdf", "application/pdf", "%PDF-2"}});
  auto first = read_envelope(xml, ro);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  auto second = read_envelope(xml, ro);  // the same names again, in the same directory
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  std::set<std::string> paths;
  for (const auto* env : {&*first, &*second}) {
    ASSERT_EQ(env->attachments.size(), 2u);
    EXPECT_EQ(env->attachments[0].name, "to trinh.pdf");  // the declared name stays in the model
    EXPECT_EQ(testing::read_text(env->attachments[0].path), kPdf);
    EXPECT_EQ(testing::read_text(env->attachments[1].path), "%PDF-2");
    for (const auto& a : env->attachments) {
      EXPECT_EQ(std::filesystem::path(a.path).parent_path(), ro.attachment_dir);
      EXPECT_EQ(std::filesystem::path(a.path).filename().string().rfind(".tmp-", 0), 0u) << a.path;
      paths.insert(a.path);
    }
  }
  EXPECT_EQ(paths.size(), 4u);  // four files, none replaced another
  size_t in_dir = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(ro.attachment_dir)) ++in_dir;
  EXPECT_EQ(in_dir, 4u);  // kept after the reads returned: the caller's now
  // A read that fails removes what it wrote.
  std::string bad = xml;
  bad.replace(bad.find("</edXML>"), 8, "</edXML><x/>");
  EXPECT_FALSE(read_envelope(bad, ro).ok());
  in_dir = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(ro.attachment_dir)) ++in_dir;
  EXPECT_EQ(in_dir, 4u);
  // A zipped attachment is unzipped under its temp name (without the dot).
  ro.unzip_dir = dir.str() + "/unzipped";
  auto zipped = read_envelope(fixture("axis_2025.xml"), ro);
  ASSERT_TRUE(zipped.ok()) << zipped.error().to_string();
  ASSERT_TRUE(zipped->attachments[0].unzipped.has_value()) << zipped->attachments[0].unzip_error->message;
  EXPECT_EQ(zipped->attachments[0].unzipped->path,
            ro.unzip_dir + "/" + std::filesystem::path(zipped->attachments[0].path).filename().string().substr(1));
  EXPECT_EQ(zipped->attachments[0].unzipped->name, "GUIDE.SIGNED.PDF");
  EXPECT_EQ(testing::read_text(zipped->attachments[0].unzipped->path).substr(0, 5), "%PDF-");
}

TEST(RealFiles, AnAttachmentThatCannotBeUnzippedIsKeptAndTheRestIsRead) {
  TempDir dir;
  std::string two = testing::make_zip(dir, {{"a.pdf", kPdf}, {"b.pdf", kPdf}});
  std::string bomb = testing::make_zip(dir, {{"a.pdf", std::string(4 << 20, '\0')}});
  std::string xml = vnpt_envelope({{"KE HOACH.PDF", "application/zip", bomb},
                                   {"DANH SACH.DOC", "application/zip", two},
                                   {"to trinh.pdf", "application/pdf", kPdf},
                                   {"phu luc.pdf", "application/zip", testing::make_zip(dir, {{"p.pdf", kPdf}})}});
  ReadOptions ro;
  ro.attachment_dir = dir.make_sub("received");
  ro.unzip_dir = dir.make_sub("unzipped");
  auto r = read_envelope(xml, ro);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->attachments.size(), 4u);
  EXPECT_EQ(r->attachments[0].unzip_error->code, "edxml.zip_ratio");
  EXPECT_EQ(r->attachments[1].unzip_error->code, "edxml.zip_entries");
  EXPECT_FALSE(r->attachments[2].zipped);
  EXPECT_TRUE(r->attachments[3].unzipped.has_value());
  EXPECT_EQ(testing::read_text(ro.unzip_dir + "/phu luc.pdf"), kPdf);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(ro.unzip_dir), {}), 1);
  std::set<std::string> codes = warning_codes(*r);
  EXPECT_TRUE(codes.count("edxml.zip_ratio") && codes.count("edxml.zip_entries"));
  EXPECT_EQ(testing::read_text(ro.attachment_dir + "/KE HOACH.PDF"), bomb);  // as received
}

TEST(RealFiles, ARealZipFormatIsNotUnzipped) {
  TempDir dir;
  std::string docx = testing::make_zip(dir, {{"[Content_Types].xml", "<Types/>"}, {"word/document.xml", "<w/>"}});
  auto r = read_envelope(vnpt_envelope({{"bieu mau.docx",
                                         "application/vnd.openxmlformats-officedocument."
                                         "wordprocessingml.document",
                                         docx}}),
                         ReadOptions{});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_FALSE(r->attachments[0].zipped);
}

}  // namespace
}  // namespace edxgate::edxml
