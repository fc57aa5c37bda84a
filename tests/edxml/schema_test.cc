// The compiled-in XSD: what we write and the SDK variants pass; structure
// errors the lenient reader lets through are caught.
#include <gtest/gtest.h>

#include "edxgate/edxml/reader.h"
#include "edxgate/edxml/schema.h"
#include "edxgate/edxml/writer.h"
#include "test_util.h"

namespace edxgate::edxml {
namespace {

Status validate_text(const std::string& xml) {
  auto doc = parse_xml(xml, Limits{});
  if (!doc.ok()) return doc.error();
  return validate_schema(doc->get());
}

TEST(Schema, AcceptsWhatTheWriterWrites) {
  testing::TempDir dir;
  Envelope env = testing::full_message();
  testing::write_text(dir / "a.pdf", "%PDF");
  Attachment a;
  a.content_id = "c1";
  a.name = "a.pdf";
  a.content_type = "application/pdf";
  a.path = dir / "a.pdf";
  env.attachments.push_back(a);
  auto xml = write_envelope_string(env, WriteOptions{});
  ASSERT_TRUE(xml.ok());
  Status s = validate_text(*xml);
  EXPECT_TRUE(s.ok()) << s.error().to_string();
}

TEST(Schema, AcceptsEverySdkVariantFixture) {
  for (const char* f :
       {"sdk_dotnet_form.xml", "bkav_form.xml", "status_messagestatus.xml", "status_status.xml", "signed_shape.xml"}) {
    Status s = validate_text(testing::fixture(f));
    EXPECT_TRUE(s.ok()) << f << ": " << s.error().to_string();
  }
}

TEST(Schema, ValidatesTheStreamedTreeWithEmptiedAttachmentContent) {
  testing::TempDir dir;
  std::string path = dir / "in.xml";
  testing::write_text(path, testing::fixture("sdk_dotnet_form.xml"));
  auto r = read_envelope_file_with_doc(path, ReadOptions{});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  Status s = validate_schema(r->doc.get());
  EXPECT_TRUE(s.ok()) << s.error().to_string();
}

TEST(Schema, AcceptsAnyHeaderOrderTheReaderAcceptsOnReceive) {
  std::string xml = testing::fixture("sdk_dotnet_form.xml");
  size_t subject = xml.find("        <edXML:Subject>");
  size_t end = xml.find('\n', subject) + 1;
  std::string line = xml.substr(subject, end - subject);
  xml.erase(subject, end - subject);
  xml.insert(xml.find("        <edXML:SteeringType>"), line);
  ASSERT_TRUE(read_envelope(xml, ReadOptions{}).ok());
  Status s = validate_text(xml);
  EXPECT_TRUE(s.ok()) << s.error().to_string();
  ReadOptions outgoing;
  outgoing.strictness = Strictness::outgoing;
  auto r = read_envelope(xml, outgoing);  // the order we send is checked in code
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "edxml.order");
  EXPECT_EQ(r.error().line, 17);
}

TEST(Schema, RejectsABadStatusCodeAndLeavesUnknownElementsToTheReader) {
  std::string st = testing::fixture("status_status.xml");
  st.replace(st.find(">03<"), 4, ">99<");
  EXPECT_EQ(validate_text(st).error().code, "edxml.schema");
  std::string doc = testing::fixture("sdk_dotnet_form.xml");
  doc.insert(doc.find("<edXML:edXMLBody>"), "<edXML:Surprise/>");
  EXPECT_TRUE(validate_text(doc).ok());  // ignored by the reader (with a warning), so here too
  std::string dated = testing::fixture("sdk_dotnet_form.xml");
  dated.replace(dated.find("2024/03/15</edXML:PromulgationDate>"), 10, "15/03/2024");
  EXPECT_EQ(validate_text(dated).error().code, "edxml.schema");
}

TEST(Schema, IgnoresAttributesTheReaderIgnores) {
  std::string doc = testing::fixture("sdk_dotnet_form.xml");
  doc.replace(doc.find("<edXML:DueDate>"), 15, "<edXML:DueDate xsi:nil=\"false\" lang=\"vi\" edXML:x=\"1\">");
  ASSERT_TRUE(read_envelope(doc, ReadOptions{}).ok());
  Status s = validate_text(doc);
  EXPECT_TRUE(s.ok()) << s.error().to_string();
}

}  // namespace
}  // namespace edxgate::edxml
