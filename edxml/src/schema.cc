#include "edxgate/edxml/schema.h"

#include <libxml/xmlschemas.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "edxgate/edxml/xml.h"

namespace edxgate::edxml {
namespace detail {
extern const char kEdxmlXsd[];
}  // namespace detail

namespace {

struct SchemaDeleter {
  void operator()(xmlSchema* s) const noexcept { xmlSchemaFree(s); }
};
struct SchemaParserDeleter {
  void operator()(xmlSchemaParserCtxt* c) const noexcept { xmlSchemaFreeParserCtxt(c); }
};
struct SchemaValidDeleter {
  void operator()(xmlSchemaValidCtxt* c) const noexcept { xmlSchemaFreeValidCtxt(c); }
};

void ignore_structured(void*, xmlErrorPtr) {}

xmlSchema* compiled_schema() {
  static std::once_flag once;
  static std::unique_ptr<xmlSchema, SchemaDeleter> schema;
  std::call_once(once, [] {
    std::string_view text = schema_text();
    std::unique_ptr<xmlSchemaParserCtxt, SchemaParserDeleter> pc(
        xmlSchemaNewMemParserCtxt(text.data(), static_cast<int>(text.size())));
    if (!pc) return;
    xmlSchemaSetParserStructuredErrors(pc.get(), ignore_structured, nullptr);
    schema.reset(xmlSchemaParse(pc.get()));
  });
  return schema.get();
}

bool named(const xmlNode* n, std::initializer_list<std::string_view> names) {
  if (n->type != XML_ELEMENT_NODE || !n->ns ||
      std::string_view(reinterpret_cast<const char*>(n->ns->href)) != kEdxmlNs) {
    return false;
  }
  std::string_view local(reinterpret_cast<const char*>(n->name));
  return std::find(names.begin(), names.end(), local) != names.end();
}

// Removes the element children of `parent` not in `known` (edXML namespace).
void strip_unknown(xmlNode* parent, std::initializer_list<std::string_view> known) {
  for (xmlNode* c = parent->children; c;) {
    xmlNode* next = c->next;
    if (c->type == XML_ELEMENT_NODE && !named(c, known)) {
      xmlUnlinkNode(c);
      xmlFreeNode(c);
    }
    c = next;
  }
}

xmlNode* child(xmlNode* parent, std::string_view name) {
  for (xmlNode* c = parent ? parent->children : nullptr; c; c = c->next) {
    if (named(c, {name})) return c;
  }
  return nullptr;
}

void strip_extensions(xmlDoc* doc) {
  xmlNode* header = child(child(xmlDocGetRootElement(doc), "edXMLEnvelope"), "edXMLHeader");
  if (!header) return;
  for (xmlNode* c = header->children; c; c = c->next) {
    if (named(c, {"MessageHeader"})) {
      strip_unknown(c, {"From", "To", "Code", "PromulgationInfo", "DocumentType", "Subject",
                        "Content", "SignerInfo", "DueDate", "ToPlaces", "OtherInfo",
                        "SteeringType", "DocumentId", "ResponseFor"});
      if (xmlNode* other = child(c, "OtherInfo")) {
        strip_unknown(other, {"Priority", "SphereOfPromulgation", "TyperNotation",
                              "PromulgationAmount", "PageAmount", "Appendixes"});
      }
    } else if (named(c, {"MessageStatus", "Status"})) {
      strip_unknown(c, {"ResponseFor", "From", "StatusCode", "Description", "Timestamp",
                        "StaffInfo"});
    }
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
  first->error = make_error("edxml.schema", "The envelope does not match the edXML schema: " + msg,
                            err->line);
}

}  // namespace

std::string_view schema_text() { return detail::kEdxmlXsd; }

Status validate_schema(const xmlDoc* doc) {
  xmlSchema* schema = compiled_schema();
  if (!schema) throw std::runtime_error("the compiled-in edXML schema does not parse");
  XmlDocPtr copy(xmlCopyDoc(const_cast<xmlDoc*>(doc), 1));
  if (!copy) throw std::bad_alloc();
  strip_extensions(copy.get());
  std::unique_ptr<xmlSchemaValidCtxt, SchemaValidDeleter> vc(xmlSchemaNewValidCtxt(schema));
  if (!vc) throw std::bad_alloc();
  FirstError first;
  xmlSchemaSetValidStructuredErrors(vc.get(), record_error, &first);
  int rc = xmlSchemaValidateDoc(vc.get(), copy.get());
  if (first.error) return *first.error;
  if (rc != 0) return make_error("edxml.schema", "The envelope does not match the edXML schema.");
  return {};
}

}  // namespace edxgate::edxml
