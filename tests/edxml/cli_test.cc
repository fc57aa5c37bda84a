// edxgate pack / unpack / validate / status through the real binary.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "edxgate/base/json.h"
#include "test_util.h"

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
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, testing::read_text(dir / "stdout"),
          testing::read_text(dir / "stderr")};
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

TEST(EdxmlCli, StatusMakeAnswersAnEnvelopeAndShowReadsIt) {
  TempDir dir;
  testing::write_text(dir / "doc.xml", testing::fixture("sdk_dotnet_form.xml"));
  testing::write_text(dir / "c.toml", "[edxml]\nstatus_element = \"Status\"\n");
  CliRun m = edxgate(dir, {"status", "make", "--config", dir / "c.toml", "--for", dir / "doc.xml",
                        "--from", "000.00.00.H41", "--code", "02", "--description", "Sai thể thức",
                        "--timestamp", "2024/03/16 10:00:00", "-o", dir / "st.xml"});
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
  EXPECT_EQ(edxgate(dir, {"status", "make", "--for", dir / "doc.xml", "--from", "000.00.00.H41",
                          "--code", "07", "-o", dir / "x.xml"}).rc, 1);
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

}  // namespace
}  // namespace edxgate::edxml
