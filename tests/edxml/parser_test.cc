// The hardened parser: every hostile class refused with its code, early.
#include <gtest/gtest.h>

#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "edxgate/edxml/xml.h"

namespace edxgate::edxml {
namespace {

std::string error_code(const Result<XmlDocPtr>& r) { return r.ok() ? "ok" : r.error().code; }

const char* kSmall =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">\n"
    "  <a x=\"1\">Công văn &amp; &#x110;\xC3\xA0</a>\n"
    "</edXML>\n";

TEST(Parser, ParsesAWellFormedUtf8Document) {
  auto r = parse_xml(kSmall, Limits{});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  xmlNode* root = xmlDocGetRootElement(r->get());
  ASSERT_NE(root, nullptr);
  EXPECT_STREQ(reinterpret_cast<const char*>(root->name), "edXML");
  xmlNode* a = xmlFirstElementChild(root);
  XmlCharPtr text(xmlNodeGetContent(a));
  EXPECT_STREQ(reinterpret_cast<const char*>(text.get()), "Công văn & Đà");
  EXPECT_EQ(xmlGetLineNo(a), 3);
}

TEST(Parser, RejectsDoctypeWithEntityDeclarations) {
  std::string laughs =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
      " <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n]>\n"
      "<lolz>&lol2;</lolz>\n";
  auto r = parse_xml(laughs, Limits{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "xml.doctype");
  EXPECT_EQ(r.error().line, 2);
}

TEST(Parser, RejectsExternalEntity) {
  std::string xxe = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>";
  EXPECT_EQ(error_code(parse_xml(xxe, Limits{})), "xml.doctype");
}

TEST(Parser, RejectsBareDoctypeAndExternalDtd) {
  EXPECT_EQ(error_code(parse_xml("<!DOCTYPE r><r/>", Limits{})), "xml.doctype");
  EXPECT_EQ(error_code(parse_xml("<!DOCTYPE r SYSTEM \"http://127.0.0.1:1/x.dtd\"><r/>", Limits{})), "xml.doctype");
}

TEST(Parser, RejectsDoctypeSplitAcrossFeedPieces) {
  // 64 KB of comment first, so "<!DOC" and "TYPE" can straddle the pieces.
  std::string doc = "<!--" + std::string(64 * 1024 - 6, 'c') + "--><!DOCTYPE r><r/>";
  EXPECT_EQ(error_code(parse_xml(doc, Limits{})), "xml.doctype");
}

TEST(Parser, RejectsUndeclaredEntityReference) {
  auto r = parse_xml("<r>&nbsp;</r>", Limits{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().code, "ok");
}

TEST(Parser, CutsOffHundredThousandDeepNestingEarly) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "<a>";
  auto t0 = std::chrono::steady_clock::now();
  auto r = parse_xml(deep, Limits{});
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "xml.depth");
  EXPECT_EQ(r.error().line, 1);
  EXPECT_LT(ms, 5000);  // a sanity bound, not a speed target
}

TEST(Parser, RejectsHugeAttributeListBeforeLibxmlParsesIt) {
  std::string tag = "<r";
  for (int i = 0; i < 100000; ++i) tag += " a" + std::to_string(i) + "=\"v\"";
  tag += "/>";
  EXPECT_EQ(error_code(parse_xml(tag, Limits{})), "xml.attributes");
}

TEST(Parser, RejectsOverlongStartTag) {
  Limits l;
  l.max_text_bytes = 1000;
  std::string tag = "<r a=\"" + std::string(5000, 'x') + "\"/>";
  EXPECT_EQ(error_code(parse_xml(tag, l)), "xml.text_size");
}

TEST(Parser, RejectsOverlongCommentsAndProcessingInstructions) {
  Limits l;
  l.max_text_bytes = 1000;
  EXPECT_EQ(error_code(parse_xml("<r><!--" + std::string(5000, 'c') + "--></r>", l)), "xml.text_size");
  EXPECT_EQ(error_code(parse_xml("<r><?pi " + std::string(5000, 'c') + "?></r>", l)), "xml.text_size");
  EXPECT_TRUE(parse_xml("<r><!-- short --><?pi short?></r>", l).ok());
}

TEST(Parser, RejectsTooManyNodes) {
  Limits l;
  l.max_nodes = 100;
  std::string doc = "<r>";
  for (int i = 0; i < 200; ++i) doc += "<b/>";
  doc += "</r>";
  EXPECT_EQ(error_code(parse_xml(doc, l)), "xml.nodes");
}

TEST(Parser, RejectsLongTextNodeButAllowsLongAttachmentContent) {
  Limits l;
  l.max_text_bytes = 1024;
  std::string body(100000, 'A');
  EXPECT_EQ(error_code(parse_xml("<r><Description>" + body + "</Description></r>", l)), "xml.text_size");
  auto ok = parse_xml("<r xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><ContentTransferEncoded>" + body +
                          "</ContentTransferEncoded></r>",
                      l);
  EXPECT_TRUE(ok.ok()) << ok.error().to_string();
  // The exemption is for the edXML element only, not a look-alike namespace.
  EXPECT_EQ(
      error_code(parse_xml("<r xmlns=\"urn:x\"><ContentTransferEncoded>" + body + "</ContentTransferEncoded></r>", l)),
      "xml.text_size");
}

TEST(Parser, CapsAttachmentContentAtTheAttachmentLimit) {
  Limits l;
  l.max_attachment_bytes = 1000;
  std::string body(10000, 'A');
  EXPECT_EQ(error_code(parse_xml("<ContentTransferEncoded>" + body + "</ContentTransferEncoded>", l)), "xml.text_size");
}

TEST(Parser, RejectsTotalSizeOverLimit) {
  Limits l;
  l.max_total_bytes = 100;
  EXPECT_EQ(error_code(parse_xml("<r>" + std::string(200, 'x') + "</r>", l)), "xml.size");
}

TEST(Parser, RejectsTruncatedInputWithItsLine) {
  auto r = parse_xml("<r>\n<a>\n<b>text", Limits{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "xml.malformed");
  EXPECT_GE(r.error().line, 3);
  EXPECT_EQ(error_code(parse_xml("", Limits{})), "xml.malformed");
}

TEST(Parser, RejectsUndeclaredNamespacePrefix) {
  EXPECT_EQ(error_code(parse_xml("<edXML:r xmlns:a=\"urn:a\"/>", Limits{})), "xml.namespace");
}

TEST(Parser, RejectsNonUtf8Encodings) {
  EXPECT_EQ(error_code(parse_xml(std::string("\xFF\xFE<\0r\0/\0>\0", 10), Limits{})), "xml.encoding");
  EXPECT_EQ(error_code(parse_xml("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r/>", Limits{})), "xml.encoding");
  EXPECT_TRUE(parse_xml("\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?><r/>", Limits{}).ok());
}

TEST(Parser, RejectsInvalidUtf8) { EXPECT_EQ(error_code(parse_xml("<r>\xC3\x28</r>", Limits{})), "xml.malformed"); }

TEST(Parser, StopsAtTheTimeLimit) {
  Limits l;
  l.parse_timeout_s = 0;
  std::string doc = "<r>";
  for (int i = 0; i < 2000; ++i) doc += "<b>x</b>";
  doc += "</r>";
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(error_code(parse_xml(doc, l)), "xml.timeout");
}

TEST(Parser, ParsesFilesAndReportsMissingOnes) {
  auto dir = std::filesystem::temp_directory_path() / ("edxml-parser-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "small.xml").string();
  std::ofstream(path) << kSmall;
  auto r = parse_xml_file(path, Limits{});
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(error_code(parse_xml_file((dir / "absent.xml").string(), Limits{})), "io.read");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace edxgate::edxml
