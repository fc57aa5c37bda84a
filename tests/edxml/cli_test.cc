// edxgate pack / unpack / validate / status through the real binary.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include <openssl/evp.h>

#include "edxgate/base/json.h"
#include "test_util.h"
#include "zip_util.h"

namespace edxgate::edxml {
namespace {

using testing::TempDir;

struct CliRun {
  int rc;
  std::string out, err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

CliRun edxgate(const TempDir& dir, const std::vector<std::string>& args) {
  std::string cmd = quote(std::string(EDXGATE_BINARY_DIR) + "/bin/edxgate");
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " >" + quote(dir / "stdout") + " 2>" + quote(dir / "stderr");
  int st = std::system(cmd.c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, testing::read_text(dir / "stdout"), testing::read_text(dir / "stderr")};
}

const char* kMeta = R"({
  "message": {
    "from": {"organ_id": "000.00.00.G06", "organ_name": "Bộ Công Thương"},
    "to": [{"organ_id": "000.00.00.H41", "organ_name": "UBND tỉnh Nghệ An"},
           {"organ_id": "000.00.00.G22", "organ_name": "Văn phòng Chính phủ"}],
    "code": "251/TMĐT-TTTH",
    "promulgation_place": "Hà Nội",
    "promulgation_date": "2024/03/15",
    "type": "1", "type_name": "Công văn",
    "subject": "V/v triển khai thương mại điện tử"
  },
  "attachments": [{"name": "Công văn 251.pdf", "description": "Văn bản chính"}, {}]
})";

TEST(EdxmlCli, PacksValidatesAndUnpacksAnEnvelope) {
  TempDir dir;
  testing::write_text(dir / "meta.json", kMeta);
  testing::write_text(dir / "cv.pdf", "%PDF-1.7 văn bản");
  testing::write_text(dir / "phuluc.bin", std::string(70000, '\x01'));
  CliRun p = edxgate(dir, {"pack", dir / "meta.json", dir / "cv.pdf", dir / "phuluc.bin", "-o", dir / "out.xml"});
  ASSERT_EQ(p.rc, 0) << p.err;
  CliRun v = edxgate(dir, {"validate", dir / "out.xml"});
  EXPECT_EQ(v.rc, 0) << v.err;
  EXPECT_NE(v.out.find("valid: document 251/TMĐT-TTTH"), std::string::npos);
  CliRun u = edxgate(dir, {"unpack", dir / "out.xml", "-d", dir / "un"});
  ASSERT_EQ(u.rc, 0) << u.err;
  EXPECT_EQ(testing::read_text(dir / "un/Công văn 251.pdf"), "%PDF-1.7 văn bản");
  EXPECT_EQ(testing::read_text(dir / "un/phuluc.bin"), std::string(70000, '\x01'));
  auto header = json::parse(testing::read_text(dir / "un/header.json"));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->at("message").at("subject").as_string(), "V/v triển khai thương mại điện tử");
  EXPECT_EQ(header->at("attachments").at(1).at("size").to_number<int64_t>(), 70000);
}

TEST(EdxmlCli, ValidateExitsOneForInvalidAndTwoForUsageOrIo) {
  TempDir dir;
  std::string xml = testing::fixture("sdk_dotnet_form.xml");
  xml.replace(xml.find("2024/03/17"), 10, "2024/13/17");
  testing::write_text(dir / "bad.xml", xml);
  CliRun bad = edxgate(dir, {"validate", dir / "bad.xml"});
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.err.find("edxml.date"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("line 15"), std::string::npos) << bad.err;
  EXPECT_EQ(edxgate(dir, {"validate", dir / "absent.xml"}).rc, 2);
  EXPECT_EQ(edxgate(dir, {"validate"}).rc, 2);
  testing::write_text(dir / "doctype.xml", "<!DOCTYPE x [<!ENTITY a SYSTEM \"file:///etc/passwd\">]><x>&a;</x>");
  CliRun dt = edxgate(dir, {"validate", "--json", dir / "doctype.xml"});
  EXPECT_EQ(dt.rc, 1);
  auto j = json::parse(dt.out);
  ASSERT_TRUE(j.ok()) << dt.out;
  EXPECT_EQ(j->at("code").as_string(), "xml.doctype");
}

TEST(EdxmlCli, UnpackRefusesTraversalNamesAndWritesNothing) {
  TempDir dir;
  std::string xml = testing::fixture("sdk_dotnet_form.xml");
  for (size_t at; (at = xml.find("bang.bin")) != std::string::npos;) xml.replace(at, 8, "../../evil.sh");
  testing::write_text(dir / "evil.xml", xml);
  CliRun u = edxgate(dir, {"unpack", dir / "evil.xml", "-d", dir / "un"});
  EXPECT_EQ(u.rc, 1);
  EXPECT_NE(u.err.find("edxml.attachment_name"), std::string::npos) << u.err;
  EXPECT_TRUE(std::filesystem::is_empty(dir / "un"));
  EXPECT_FALSE(std::filesystem::exists(dir / "evil.sh"));
}

TEST(EdxmlCli, StatusMakeWritesMessageHeaderByDefaultAndShowReadsIt) {
  TempDir dir;
  testing::write_text(dir / "doc.xml", testing::fixture("sdk_dotnet_form.xml"));
  CliRun m = edxgate(dir, {"status", "make", "--for", dir / "doc.xml", "--from", "000.00.00.H41", "--code", "03",
                           "--staff", "Lê Văn An", "-o", dir / "st.xml"});
  ASSERT_EQ(m.rc, 0) << m.err;
  std::string st = testing::read_text(dir / "st.xml");
  EXPECT_NE(st.find("<edXML:MessageHeader><edXML:ResponseFor>"), std::string::npos) << st;
  EXPECT_EQ(st.find("MessageStatus"), std::string::npos);
  CliRun s = edxgate(dir, {"status", "show", dir / "st.xml"});
  ASSERT_EQ(s.rc, 0) << s.err;
  EXPECT_NE(s.out.find("status:       03 (Đã tiếp nhận)"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("staff:        Lê Văn An"), std::string::npos) << s.out;
  CliRun old = edxgate(dir, {"status", "make", "--for", dir / "doc.xml", "--from", "000.00.00.H41", "--code", "03",
                             "--status-element", "MessageStatus", "-o", dir / "old.xml"});
  ASSERT_EQ(old.rc, 0) << old.err;
  EXPECT_NE(testing::read_text(dir / "old.xml").find("<edXML:MessageStatus>"), std::string::npos);
  EXPECT_EQ(edxgate(dir, {"validate", "--outgoing", dir / "st.xml"}).rc, 0);
}

TEST(EdxmlCli, StatusMakeAnswersAnEnvelopeAndShowReadsIt) {
  TempDir dir;
  testing::write_text(dir / "doc.xml", testing::fixture("sdk_dotnet_form.xml"));
  testing::write_text(dir / "c.toml", "[edxml]\nstatus_element = \"Status\"\n");
  CliRun m = edxgate(
      dir, {"status", "make", "--config", dir / "c.toml", "--for", dir / "doc.xml", "--from", "000.00.00.H41", "--code",
            "02", "--description", "Sai thể thức", "--timestamp", "2024/03/16 10:00:00", "-o", dir / "st.xml"});
  ASSERT_EQ(m.rc, 0) << m.err;
  EXPECT_NE(testing::read_text(dir / "st.xml").find("<edXML:Status>"), std::string::npos);
  CliRun s = edxgate(dir, {"status", "show", "--json", dir / "st.xml"});
  ASSERT_EQ(s.rc, 0) << s.err;
  auto j = json::parse(s.out);
  ASSERT_TRUE(j.ok());
  const auto& st = j->at("status");
  EXPECT_EQ(st.at("status_code").as_string(), "02");
  EXPECT_EQ(st.at("status_meaning").as_string(), "Từ chối tiếp nhận");
  EXPECT_EQ(st.at("description").as_string(), "Sai thể thức");
  EXPECT_EQ(st.at("response_for").at("code").as_string(), "251/TMĐT-TTTH");
  EXPECT_EQ(st.at("timestamp").as_string(), "2024/03/16 10:00:00");
  EXPECT_EQ(edxgate(dir, {"status", "make", "--for", dir / "doc.xml", "--from", "000.00.00.H41", "--code", "07", "-o",
                          dir / "x.xml"})
                .rc,
            1);
  EXPECT_EQ(edxgate(dir, {"status", "show", dir / "doc.xml"}).rc, 1);
}

TEST(EdxmlCli, PackRefusesMetaWithUnknownKeysOrBadFields) {
  TempDir dir;
  testing::write_text(dir / "f.txt", "x");
  testing::write_text(dir / "typo.json", R"({"message": {"subjet": "x"}})");
  CliRun t = edxgate(dir, {"pack", dir / "typo.json", dir / "f.txt", "-o", dir / "o.xml"});
  EXPECT_EQ(t.rc, 1);
  EXPECT_NE(t.err.find("message.subjet"), std::string::npos) << t.err;
  std::string meta = kMeta;
  meta.replace(meta.find("000.00.00.H41"), 13, "H41");
  testing::write_text(dir / "bad.json", meta);
  CliRun b = edxgate(dir, {"pack", dir / "bad.json", dir / "f.txt", dir / "f.txt", "-o", dir / "o.xml"});
  EXPECT_EQ(b.rc, 1);
  EXPECT_NE(b.err.find("edxml.organ_id"), std::string::npos) << b.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "o.xml"));
}

// ---- real files (fixtures that reproduce what real peers write) ----

struct Judged {
  const char* file;
  int receive_rc;
  const char* receive;  // a code printed: the refusal, or a warning
  int outgoing_rc;
  const char* outgoing;  // the refusal's code (empty: valid)
};

TEST(EdxmlCli, ValidateJudgesRealFilesAsTheReceivingGatewayAndOutgoingAsWeSend) {
  const Judged cases[] = {
      {"vnpt_status.xml", 0, "", 0, ""},
      {"vnpt_status_reordered.xml", 0, "", 0, ""},
      {"axis_2019.xml", 0, "[edxml.organ_id]", 1, "[edxml.order]"},
      {"axis_2025.xml", 0, "[edxml.code]", 1, "[edxml.organ_id]"},
      {"sdk_dotnet_form.xml", 0, "", 0, ""},
      {"refused_undeclared_prefix.xml", 1, "[xml.namespace]", 1, "[xml.namespace]"},
      {"refused_not_well_formed.xml", 1, "[xml.malformed]", 1, "[xml.malformed]"},
      {"refused_bad_base64.xml", 1, "[edxml.base64]", 1, "[edxml.base64]"},
      {"refused_date_ddmmyyyy.xml", 1, "[edxml.date]", 1, "[edxml.order]"},
  };
  TempDir dir;
  for (const Judged& c : cases) {
    const std::string path = std::string(EDXML_TEST_DIR) + "/fixtures/" + c.file;
    CliRun r = edxgate(dir, {"validate", path});
    EXPECT_EQ(r.rc, c.receive_rc) << c.file << ": " << r.out << r.err;
    EXPECT_NE((r.out + r.err).find(c.receive), std::string::npos) << c.file << ": " << r.out << r.err;
    if (c.receive_rc == 0) {
      EXPECT_EQ(r.out.rfind("valid: ", 0), 0u) << c.file;
    }
    CliRun o = edxgate(dir, {"validate", "--outgoing", path});
    EXPECT_EQ(o.rc, c.outgoing_rc) << c.file << ": " << o.out << o.err;
    EXPECT_NE((o.out + o.err).find(c.outgoing), std::string::npos) << c.file << ": " << o.out << o.err;
  }
  CliRun j = edxgate(dir, {"validate", "--json", std::string(EDXML_TEST_DIR) + "/fixtures/axis_2025.xml"});
  ASSERT_EQ(j.rc, 0) << j.err;
  auto v = json::parse(j.out);
  ASSERT_TRUE(v.ok()) << j.out;
  EXPECT_EQ(v->at("strictness").as_string(), "receive");
  const auto& warnings = v->at("envelope").at("warnings").as_array();
  ASSERT_EQ(warnings.size(), 6u);
  EXPECT_EQ(warnings[0].at("code").as_string(), "edxml.organ_id");
  EXPECT_TRUE(v->at("envelope").at("attachments").at(0).at("zipped").as_bool());
}

TEST(EdxmlCli, StatusMakeAnswersARealDeliveryFromAnUnusualSender) {
  TempDir dir;
  CliRun m = edxgate(dir, {"status", "make", "--for", std::string(EDXML_TEST_DIR) + "/fixtures/axis_2025.xml", "--from",
                           "000.00.00.H29", "--code", "01", "-o", dir / "st.xml"});
  ASSERT_EQ(m.rc, 0) << m.err;
  CliRun s = edxgate(dir, {"status", "show", dir / "st.xml"});
  ASSERT_EQ(s.rc, 0) << s.err;
  EXPECT_NE(s.out.find("response for: 020100107370 74fass22/EVNNPC-KT of 2025/03/04"), std::string::npos) << s.out;
}

TEST(EdxmlCli, StatusShowReadsStatusesUnderMessageHeader) {
  TempDir dir;
  CliRun a = edxgate(dir, {"status", "show", std::string(EDXML_TEST_DIR) + "/fixtures/vnpt_status.xml"});
  ASSERT_EQ(a.rc, 0) << a.err;
  EXPECT_NE(a.out.find("status:       01 (Đã đến)"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("document id:  000.00.00.G06,2024/03/15,251/TMĐT-TTTH"), std::string::npos) << a.out;
  CliRun b =
      edxgate(dir, {"status", "show", "--json", std::string(EDXML_TEST_DIR) + "/fixtures/vnpt_status_reordered.xml"});
  ASSERT_EQ(b.rc, 0) << b.err;
  auto j = json::parse(b.out);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->at("status").at("status_code").as_string(), "02");
  EXPECT_EQ(j->at("status").at("response_for").at("promulgation_date").as_string(), "2024/03/15");
  EXPECT_EQ(j->at("status").at("staff").at("email").as_string(), "lanpt@hanoi.gov.vn");
  CliRun doc = edxgate(dir, {"status", "show", std::string(EDXML_TEST_DIR) + "/fixtures/axis_2019.xml"});
  EXPECT_EQ(doc.rc, 1);
  EXPECT_NE(doc.err.find("not a status message"), std::string::npos) << doc.err;
}

std::string sha256_file(const std::string& path) {
  std::string bytes = testing::read_text(path);
  unsigned char md[32];
  unsigned len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : md) {
    hex += kHex[b >> 4];
    hex += kHex[b & 15];
  }
  return hex;
}

TEST(EdxmlCli, UnpackWritesTheFileInsideAZippedAttachmentAndKeepsTheBytesAsReceived) {
  TempDir dir;
  CliRun u = edxgate(dir, {"unpack", std::string(EDXML_TEST_DIR) + "/fixtures/axis_2025.xml", "-d", dir / "in"});
  ASSERT_EQ(u.rc, 0) << u.err;
  EXPECT_NE(u.out.find("GUIDE.SIGNED.PDF (unzipped; as received: as-received/GUIDE.SIGNED.PDF.zip)"), std::string::npos)
      << u.out;
  EXPECT_NE(u.out.find("warning: "), std::string::npos) << u.out;  // the unusual ids, the CodeNumber
  EXPECT_EQ(testing::read_text(dir / "in/GUIDE.SIGNED.PDF").substr(0, 5), "%PDF-");
  const std::string kept = dir / "in/as-received/GUIDE.SIGNED.PDF.zip";
  EXPECT_EQ(testing::read_text(kept).substr(0, 4), std::string("PK\x03\x04", 4));
  auto header = json::parse(testing::read_text(dir / "in/header.json"));
  ASSERT_TRUE(header.ok());
  const auto& a = header->at("attachments").at(0);
  EXPECT_EQ(a.at("file").as_string(), "as-received/GUIDE.SIGNED.PDF.zip");
  EXPECT_EQ(a.at("sha256").as_string(), sha256_file(kept));  // what was signed
  EXPECT_EQ(a.at("unzipped").at("file").as_string(), "GUIDE.SIGNED.PDF");
  EXPECT_EQ(a.at("unzipped").at("entry_name").as_string(), "5c1f3a2e-7b9d-4e1a-9c3f-2d8e6b4a1f07.pdf");
  EXPECT_EQ(a.at("unzipped").at("sha256").as_string(), sha256_file(dir / "in/GUIDE.SIGNED.PDF"));
  EXPECT_EQ(header->at("warnings").as_array().size(), 6u);
}

TEST(EdxmlCli, UnpackKeepsAnAttachmentThatCannotBeUnzippedAsReceivedWithAWarning) {
  TempDir dir;
  const std::string pdf = "%PDF-1.4\n" + std::string(5000, 'p') + "\n%%EOF\n";
  std::string crc = testing::make_zip(dir, {{"a.pdf", pdf}});
  for (size_t at : testing::records(crc, "PK\x03\x04")) testing::put_le(crc, at + 14, 7, 4);
  for (size_t at : testing::records(crc, "PK\x01\x02")) testing::put_le(crc, at + 16, 7, 4);
  const std::pair<std::string, std::string> zips[] = {
      {"edxml.zip_entries", testing::make_zip(dir, {{"a.pdf", pdf}, {"b.pdf", pdf}})},
      {"edxml.zip_ratio", testing::make_zip(dir, {{"a.pdf", std::string(4 << 20, '\0')}})},
      {"edxml.zip_encrypted", testing::make_zip(dir, {{"a.pdf", pdf, ZIP_CM_DEFLATE, ZIP_EM_AES_256}})},
      {"edxml.zip_crc", crc},
      {"edxml.zip_corrupt", pdf},
      {"edxml.zip_name", testing::make_zip(dir, {{"../../a.pdf", pdf}})},
  };
  const std::string xml = testing::fixture("axis_2025.xml");
  const size_t b64 = xml.find("<edXML:ContentTransferEncoded>") + 30;
  const size_t b64_end = xml.find("</edXML:ContentTransferEncoded>");
  int n = 0;
  for (const auto& [code, zip] : zips) {
    std::string enc(4 * ((zip.size() + 2) / 3) + 1, '\0');
    enc.resize(static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(enc.data()),
                                                   reinterpret_cast<const unsigned char*>(zip.data()),
                                                   static_cast<int>(zip.size()))));
    testing::write_text(dir / "env.xml", xml.substr(0, b64) + enc + xml.substr(b64_end));
    const std::string out = dir / ("out" + std::to_string(n++));
    CliRun u = edxgate(dir, {"unpack", dir / "env.xml", "-d", out});
    ASSERT_EQ(u.rc, 0) << code << ": " << u.err;
    EXPECT_NE(u.out.find("[" + code + "]"), std::string::npos) << code << ": " << u.out;
    EXPECT_EQ(testing::read_text(out + "/GUIDE.SIGNED.PDF"), zip) << code;  // as received
    EXPECT_FALSE(std::filesystem::exists(out + "/as-received")) << code;
    EXPECT_FALSE(std::filesystem::exists(dir / "a.pdf")) << code;
    auto header = json::parse(testing::read_text(out + "/header.json"));
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header->at("attachments").at(0).at("unzip_error").at("code").as_string(), code);
    EXPECT_EQ(header->at("attachments").at(0).at("file").as_string(), "GUIDE.SIGNED.PDF");
  }
}

TEST(EdxmlCli, UnpackWritesTheAxisDeliveryOf2019AsIs) {
  TempDir dir;
  CliRun u = edxgate(dir, {"unpack", std::string(EDXML_TEST_DIR) + "/fixtures/axis_2019.xml", "-d", dir / "in"});
  ASSERT_EQ(u.rc, 0) << u.err;
  EXPECT_EQ(testing::read_text(dir / "in/312_VPCP-TTĐT.pdf").substr(0, 5), "%PDF-");
  EXPECT_FALSE(std::filesystem::exists(dir / "in/as-received"));
  auto header = json::parse(testing::read_text(dir / "in/header.json"));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->at("signature").as_string(), "lookalike");
  EXPECT_EQ(header->at("trace").at("traces").at(2).at("organ_id").as_string(), "");
  EXPECT_EQ(header->at("message").at("document_id").as_string(), "000.00.00.G22,2019/01/16,312/VPCP-TTĐT");
  CliRun bad =
      edxgate(dir, {"unpack", std::string(EDXML_TEST_DIR) + "/fixtures/refused_bad_base64.xml", "-d", dir / "bad"});
  EXPECT_EQ(bad.rc, 1);
  EXPECT_TRUE(std::filesystem::is_empty(dir / "bad"));
}

}  // namespace
}  // namespace edxgate::edxml
