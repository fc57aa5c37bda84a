// The Bussiness block of a recall (1), an update (2) and a replacement (3):
// read as the Government Office's SDK package writes it, and written by us in
// that same form (children, order, nesting). The fixtures reproduce the
// package's three samples (edoc_revocation, edoc_update, edoc_replacement)
// with our own content.
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "edxgate/edxml/reader.h"
#include "edxgate/edxml/writer.h"
#include "edxgate/edxml/xml.h"
#include "test_util.h"

namespace edxgate::edxml {
namespace {

using testing::fixture;

const std::string kStaff =
    "<edXML:StaffInfo><edXML:Department>Văn thư</edXML:Department><edXML:Staff>Trần Thị Hoa</edXML:Staff>"
    "<edXML:Email>vanthu@moit.gov.vn</edXML:Email><edXML:Mobile>0912000001</edXML:Mobile></edXML:StaffInfo>";

// As the package's edoc_revocation: no DocumentId (the header's is the one
// recalled), type, reason, Paper, StaffInfo.
const std::string kRevocation =
    "<edXML:Bussiness><edXML:BussinessDocType>1</edXML:BussinessDocType>"
    "<edXML:BussinessDocReason>Thu hồi văn bản có sai sót</edXML:BussinessDocReason><edXML:Paper>0</edXML:Paper>" +
    kStaff + "</edXML:Bussiness>";
// As edoc_update: the DocumentId updated first, then type, reason, Paper,
// BussinessDocumentInfo with its ReceiverList, StaffInfo.
const std::string kUpdate =
    "<edXML:Bussiness><edXML:DocumentId>000.00.00.G06,2024/03/10,250/TMĐT-TTTH</edXML:DocumentId>"
    "<edXML:BussinessDocType>2</edXML:BussinessDocType><edXML:BussinessDocReason>Cập nhật trích "
    "yếu</edXML:BussinessDocReason>"
    "<edXML:Paper>0</edXML:Paper><edXML:BussinessDocumentInfo><edXML:DocumentInfo>1</edXML:DocumentInfo>"
    "<edXML:DocumentReceiver>1</edXML:DocumentReceiver><edXML:ReceiverList>"
    "<edXML:Receiver><edXML:OrganId>000.00.00.H41</edXML:OrganId><edXML:ReceiverType>0</edXML:ReceiverType></"
    "edXML:Receiver>"
    "<edXML:Receiver><edXML:OrganId>000.00.00.G22</edXML:OrganId><edXML:ReceiverType>1</edXML:ReceiverType></"
    "edXML:Receiver>"
    "</edXML:ReceiverList></edXML:BussinessDocumentInfo>" +
    kStaff + "</edXML:Bussiness>";
// As edoc_replacement: type, reason, Paper, ReplacementInfoList (two), StaffInfo.
const std::string kReplacement =
    "<edXML:Bussiness><edXML:BussinessDocType>3</edXML:BussinessDocType>"
    "<edXML:BussinessDocReason>Văn bản thay thế</edXML:BussinessDocReason><edXML:Paper>0</edXML:Paper>"
    "<edXML:ReplacementInfoList><edXML:ReplacementInfo><edXML:DocumentId>000.00.00.G06,2024/03/10,250/TMĐT-TTTH"
    "</edXML:DocumentId><edXML:OrganIdList><edXML:OrganId>000.00.00.H41</edXML:OrganId>"
    "<edXML:OrganId>000.00.00.G22</edXML:OrganId></edXML:OrganIdList></edXML:ReplacementInfo>"
    "<edXML:ReplacementInfo><edXML:DocumentId>000.00.00.G06,2024/03/11,249/TMĐT-TTTH</edXML:DocumentId>"
    "<edXML:OrganIdList><edXML:OrganId>000.00.00.H41</edXML:OrganId></edXML:OrganIdList></edXML:ReplacementInfo>"
    "</edXML:ReplacementInfoList>" +
    kStaff + "</edXML:Bussiness>";

std::string with_business(const std::string& business) {
  const std::string xml = fixture("sdk_dotnet_form.xml");
  const auto from = xml.find("<edXML:Bussiness>");
  const auto to = xml.find("</edXML:Bussiness>");
  if (from == std::string::npos || to == std::string::npos) return "";
  return xml.substr(0, from) + business + xml.substr(to + std::string("</edXML:Bussiness>").size());
}

// The shape of the first Bussiness element: each element's local name, its
// element children in brackets.
void shape_of(const xmlNode* n, std::string& out) {
  for (const xmlNode* c = n->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    out += reinterpret_cast<const char*>(c->name);
    bool nested = false;
    for (const xmlNode* g = c->children; g; g = g->next) nested |= g->type == XML_ELEMENT_NODE;
    if (nested) {
      out += "[";
      shape_of(c, out);
      out += "]";
    }
    out += " ";
  }
}
const xmlNode* find(const xmlNode* n, const char* name) {
  for (; n; n = n->next) {
    if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST name)) return n;
    if (const xmlNode* f = find(n->children, name)) return f;
  }
  return nullptr;
}
std::string business_shape(const std::string& xml) {
  XmlDocPtr doc(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), nullptr, nullptr, XML_PARSE_NONET));
  if (!doc) return "not XML";
  std::string out;
  if (const xmlNode* b = find(xmlDocGetRootElement(doc.get()), "Bussiness")) shape_of(b, out);
  return out;
}

struct Variant {
  const char* what;
  const std::string* xml;
};

TEST(Business, ReadsTheSdkPackagesFormsAndWritesThemBackInTheSameForm) {
  for (const Variant& v :
       {Variant{"revocation", &kRevocation}, Variant{"update", &kUpdate}, Variant{"replacement", &kReplacement}}) {
    const std::string xml = with_business(*v.xml);
    ASSERT_FALSE(xml.empty());
    auto env = read_envelope(xml, ReadOptions{});
    ASSERT_TRUE(env.ok()) << v.what << ": " << env.error().to_string();
    ASSERT_TRUE(env->trace.business.has_value()) << v.what;
    // Written back (our writer, outgoing rules), the block has the peer's
    // shape. (The attachments were not kept by this read: left out.)
    env->attachments.clear();
    auto written = write_envelope_string(*env, WriteOptions{});
    ASSERT_TRUE(written.ok()) << v.what << ": " << written.error().to_string();
    EXPECT_EQ(business_shape(*written), business_shape(xml)) << v.what;
    auto again = read_envelope(*written, ReadOptions{});
    ASSERT_TRUE(again.ok()) << again.error().to_string();
    EXPECT_EQ(again->trace.business, env->trace.business) << v.what;
  }
}

TEST(Business, ReadsEachFieldOfTheThreeKinds) {
  auto revocation = read_envelope(with_business(kRevocation), ReadOptions{});
  ASSERT_TRUE(revocation.ok()) << revocation.error().to_string();
  const Business& r = *revocation->trace.business;
  EXPECT_EQ(r.doc_type, BusinessDocType::revocation);
  EXPECT_EQ(r.reason, "Thu hồi văn bản có sai sót");
  EXPECT_TRUE(r.document_id.empty());
  EXPECT_FALSE(r.paper);
  EXPECT_EQ(r.staff.email, "vanthu@moit.gov.vn");
  EXPECT_EQ(r.staff.mobile, "0912000001");

  auto update = read_envelope(with_business(kUpdate), ReadOptions{});
  ASSERT_TRUE(update.ok()) << update.error().to_string();
  const Business& u = *update->trace.business;
  EXPECT_EQ(u.doc_type, BusinessDocType::update);
  EXPECT_EQ(u.document_id, "000.00.00.G06,2024/03/10,250/TMĐT-TTTH");
  EXPECT_EQ(u.document_info, "1");
  EXPECT_EQ(u.document_receiver, "1");
  EXPECT_EQ(u.receivers.size(), 2u);

  auto replacement = read_envelope(with_business(kReplacement), ReadOptions{});
  ASSERT_TRUE(replacement.ok()) << replacement.error().to_string();
  const Business& p = *replacement->trace.business;
  EXPECT_EQ(p.doc_type, BusinessDocType::replacement);
  ASSERT_EQ(p.replacements.size(), 2u);
  EXPECT_EQ(p.replacements[0].document_id, "000.00.00.G06,2024/03/10,250/TMĐT-TTTH");
  EXPECT_EQ(p.replacements[0].organ_ids, (std::vector<std::string>{"000.00.00.H41", "000.00.00.G22"}));
  EXPECT_EQ(p.replacements[1].organ_ids, std::vector<std::string>{"000.00.00.H41"});
}

}  // namespace
}  // namespace edxgate::edxml
