#include "edxgate/edxml/schema.h"

#include <libxml/xmlschemas.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "dom_reader.h"
#include "edxgate/edxml/xml.h"

namespace edxgate::edxml {
namespace detail {
extern const char kEdxmlXsd[];
}  // namespace detail

namespace {

void ignore_structured(void*, xmlErrorPtr) {}

xmlSchema* compiled_schema() {
  static std::once_flag once;
  static XmlSchemaPtr schema;
  std::call_once(once, [] {
    std::string_view text = schema_text();
    XmlSchemaParserCtxtPtr pc(xmlSchemaNewMemParserCtxt(text.data(), static_cast<int>(text.size())));
    if (!pc) return;
    xmlSchemaSetParserStructuredErrors(pc.get(), ignore_structured, nullptr);
    schema.reset(xmlSchemaParse(pc.get()));
  });
  return schema.get();
}

// The shape of the edXML structure as the reader walks it: for each element,
// the children it knows by local name. What the reader does not know it
// ignores (with a warning) or keeps as an extension, so the copy the schema
// sees loses it; attributes (which the reader never reads) and text between
// the elements of a structure go too. An opaque element (a signature, a
// Receiver) is left whole. Kept in step with dom_reader.cc; the fuzzer and
// the fixture test check that whatever the reader accepts, the schema does.
struct Shape;
struct Child {
  std::string_view name;
  const Shape* shape = nullptr;  // null: a text field
};
struct Shape {
  std::span<const Child> children;
  bool opaque = false;
};

constexpr Shape kOpaque{{}, true};
constexpr Child kOrgC[] = {
    {"OrganId"}, {"OrganizationInCharge"}, {"OrganName"}, {"OrganAdd"}, {"Email"}, {"Telephone"}, {"Fax"}, {"Website"}};
constexpr Shape kOrg{kOrgC};
constexpr Child kResponseForC[] = {{"OrganId"}, {"Code"}, {"PromulgationDate"}, {"DocumentId"}};
constexpr Shape kResponseFor{kResponseForC};
constexpr Child kStaffC[] = {{"Department"}, {"Staff"}, {"Mobile"}, {"Email"}};
constexpr Shape kStaff{kStaffC};
constexpr Child kCodeC[] = {{"CodeNumber"}, {"CodeNotation"}};
constexpr Child kPromulgationC[] = {{"Place"}, {"PromulgationDate"}};
constexpr Child kDocTypeC[] = {{"Type"}, {"TypeDetail"}, {"TypeName"}};
constexpr Child kSignerC[] = {{"Competence"}, {"Position"}, {"FullName"}};
constexpr Child kToPlacesC[] = {{"Place"}};
constexpr Child kAppendixesC[] = {{"Appendix"}};
constexpr Shape kAppendixes{kAppendixesC};
constexpr Child kOtherInfoC[] = {{"Priority"},           {"SphereOfPromulgation"}, {"TyperNotation"},
                                 {"PromulgationAmount"}, {"PageAmount"},           {"Appendixes", &kAppendixes}};
constexpr Shape kCode{kCodeC}, kPromulgation{kPromulgationC}, kDocType{kDocTypeC}, kSigner{kSignerC},
    kToPlaces{kToPlacesC}, kOtherInfo{kOtherInfoC};
constexpr Child kDocumentC[] = {{"From", &kOrg},
                                {"To", &kOrg},
                                {"Code", &kCode},
                                {"PromulgationInfo", &kPromulgation},
                                {"DocumentType", &kDocType},
                                {"Subject"},
                                {"Content"},
                                {"SignerInfo", &kSigner},
                                {"DueDate"},
                                {"ToPlaces", &kToPlaces},
                                {"OtherInfo", &kOtherInfo},
                                {"SteeringType"},
                                {"DocumentId"},
                                {"ResponseFor", &kResponseFor}};
constexpr Shape kDocument{kDocumentC};
constexpr Child kStatusC[] = {
    {"ResponseFor", &kResponseFor}, {"From", &kOrg}, {"StatusCode"}, {"Description"}, {"Timestamp"},
    {"StaffInfo", &kStaff}};
constexpr Shape kStatus{kStatusC};
constexpr Child kTraceC[] = {{"OrganId"}, {"Timestamp"}};
constexpr Shape kTrace{kTraceC};
constexpr Child kReceiverListC[] = {{"Receiver", &kOpaque}};
constexpr Shape kReceiverList{kReceiverListC};
constexpr Child kDocumentInfoC[] = {{"DocumentInfo"}, {"DocumentReceiver"}, {"ReceiverList", &kReceiverList}};
constexpr Shape kDocumentInfo{kDocumentInfoC};
constexpr Child kOrganIdListC[] = {{"OrganId"}};
constexpr Shape kOrganIdList{kOrganIdListC};
constexpr Child kReplacementC[] = {{"DocumentId"}, {"OrganIdList", &kOrganIdList}};
constexpr Shape kReplacement{kReplacementC};
constexpr Child kReplacementListC[] = {{"ReplacementInfo", &kReplacement}};
constexpr Shape kReplacementList{kReplacementListC};
constexpr Child kBusinessC[] = {{"DocumentId"},
                                {"BussinessDocType"},
                                {"BussinessDocReason"},
                                {"Paper"},
                                {"BussinessDocumentInfo", &kDocumentInfo},
                                {"ReplacementInfoList", &kReplacementList},
                                {"StaffInfo", &kStaff}};
constexpr Shape kBusiness{kBusinessC};
constexpr Child kTraceListC[] = {{"TraceHeader", &kTrace}, {"Bussiness", &kBusiness}, {"Business", &kBusiness}};
constexpr Shape kTraceList{kTraceListC};
constexpr Child kHeaderC[] = {{"MessageHeader", &kDocument}, {"MessageStatus", &kStatus},
                              {"Status", &kStatus},          {"TraceHeaderList", &kTraceList},
                              {"Signature", &kOpaque},       {"DigitalSignature", &kOpaque}};
constexpr Shape kHeader{kHeaderC};
constexpr Child kReferenceC[] = {{"Description"}, {"AttachmentName"}, {"ContentType"}, {"ContentId"}};
constexpr Shape kReference{kReferenceC};
constexpr Child kManifestC[] = {{"Reference", &kReference}};
constexpr Shape kManifest{kManifestC};
constexpr Child kBodyC[] = {{"edXMLManifest", &kManifest}, {"Manifest", &kManifest}};
constexpr Shape kBody{kBodyC};
constexpr Child kEnvelopeC[] = {{"edXMLHeader", &kHeader}, {"edXMLBody", &kBody}};
constexpr Shape kEnvelope{kEnvelopeC};
constexpr Child kAttachmentC[] = {
    {"ContentId"}, {"AttachmentName"}, {"ContentType"}, {"Description"}, {"ContentTransferEncoded"}};
constexpr Shape kAttachment{kAttachmentC};
constexpr Child kAttachmentsC[] = {{"Attachment", &kAttachment}};
constexpr Shape kAttachments{kAttachmentsC};
constexpr Child kRootC[] = {{"edXMLEnvelope", &kEnvelope}, {"AttachmentEncoded", &kAttachments}};
constexpr Shape kRoot{kRootC};

std::string_view local_name(const xmlNode* n) { return reinterpret_cast<const char*>(n->name); }

bool blank(const xmlChar* text) {
  for (const xmlChar* p = text; p && *p; ++p) {
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') return false;
  }
  return true;
}

void remove_node(xmlNode* n) {
  xmlUnlinkNode(n);
  XmlNodePtr unlinked(n);
}

// Strips `n` (an element of shape `shape`, or a text field when null) down to
// what the reader reads.
void strip(xmlNode* n, const Shape* shape) {
  if (shape && shape->opaque) return;
  if (n->properties) {
    xmlFreePropList(n->properties);
    n->properties = nullptr;
  }
  if (!shape) return;  // a text field: markup in it is refused by both
  for (xmlNode* c = n->children; c;) {
    xmlNode* next = c->next;
    if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
      if (!blank(c->content)) remove_node(c);
    } else if (c->type == XML_ELEMENT_NODE) {
      const Child* known = nullptr;
      for (const Child& k : shape->children) {
        if (k.name == local_name(c)) known = &k;
      }
      if (!known) {
        remove_node(c);
      } else if (known->shape == &kDocument && detail::holds_status(c)) {
        strip(c, &kStatus);
      } else {
        strip(c, known->shape);
      }
    }
    c = next;
  }
}

struct FirstError {
  std::optional<Error> error;
};

void record_error(void* ctx, xmlErrorPtr err) {
  auto* first = static_cast<FirstError*>(ctx);
  if (!err || err->level == XML_ERR_WARNING || first->error) return;
  std::string msg = err->message ? err->message : "invalid";
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  first->error =
      make_error(ErrorKind::invalid, "edxml.schema", "The envelope does not match the edXML schema: " + msg, err->line);
}

}  // namespace

std::string_view schema_text() { return detail::kEdxmlXsd; }

Status validate_schema(const xmlDoc* doc) {
  xmlSchema* schema = compiled_schema();
  if (!schema) throw std::runtime_error("the compiled-in edXML schema does not parse");
  XmlDocPtr copy(xmlCopyDoc(const_cast<xmlDoc*>(doc), 1));
  if (!copy) throw std::bad_alloc();
  if (xmlNode* root = xmlDocGetRootElement(copy.get())) strip(root, &kRoot);
  XmlSchemaValidCtxtPtr vc(xmlSchemaNewValidCtxt(schema));
  if (!vc) throw std::bad_alloc();
  FirstError first;
  xmlSchemaSetValidStructuredErrors(vc.get(), record_error, &first);
  int rc = xmlSchemaValidateDoc(vc.get(), copy.get());
  if (first.error) return *first.error;
  if (rc != 0) return make_error(ErrorKind::invalid, "edxml.schema", "The envelope does not match the edXML schema.");
  return {};
}

}  // namespace edxgate::edxml
