// The hardened XML parser every edXML input goes through before anything else
// (the model reader, xmlsec1, schema validation) sees it.
//
// What it guarantees for a document it returns:
//  - it had no DOCTYPE at all (so no DTD was loaded, no entity was declared,
//    substituted or expanded) and nothing was fetched from the network;
//  - it was UTF-8 (declared or implied) and namespace-well-formed;
//  - it stayed within Limits (depth, nodes, attributes per element, text node
//    size, total size, time), enforced while parsing: a hostile document is
//    cut off after at most a few chunks of input past the limit, with memory
//    bounded by the limits, never by the input.
// Attachment content (text of an edXML ContentTransferEncoded element) is the
// one text allowed past max_text_bytes, up to the base64 size of
// max_attachment_bytes.
//
// Errors are values: codes "xml.doctype", "xml.depth", "xml.nodes",
// "xml.attributes", "xml.text_size", "xml.size", "xml.timeout",
// "xml.encoding", "xml.namespace", "xml.malformed", and "io.read" for
// parse_xml_file; Error::line is the 1-based input line.
#pragma once

#include <libxml/tree.h>
#include <libxml/uri.h>
#include <libxml/xmlschemas.h>

#include <memory>
#include <string>
#include <string_view>

#include "edxgate/base/result.h"
#include "edxgate/edxml/limits.h"

namespace edxgate::edxml {

// Owning handles for libxml2 objects, declared here once for every part
// (as base/ossl.h is for OpenSSL): nothing libxml2 allocates is freed by hand.
// (The hardened parser's own parser context is the one exception: it lives
// and dies inside hardened_parser.cc.)
struct XmlDocDeleter {
  void operator()(xmlDoc* d) const noexcept;
};
// Owns a libxml2 document (freed with xmlFreeDoc).
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocDeleter>;

// Libxml2-allocated memory (xmlChar* from xmlNodeGetContent, xmlC14N...).
struct XmlFreeDeleter {
  void operator()(void* p) const noexcept;
};
using XmlCharPtr = std::unique_ptr<xmlChar, XmlFreeDeleter>;

// A node unlinked from its document (xmlUnlinkNode), freed with its subtree.
struct XmlNodeDeleter {
  void operator()(xmlNode* n) const noexcept { xmlFreeNode(n); }
};
using XmlNodePtr = std::unique_ptr<xmlNode, XmlNodeDeleter>;

// A parsed URI (xmlParseURI).
struct XmlUriDeleter {
  void operator()(xmlURI* u) const noexcept { xmlFreeURI(u); }
};
using XmlUriPtr = std::unique_ptr<xmlURI, XmlUriDeleter>;

// XML Schema objects (the compiled-in edXML schema).
struct XmlSchemaDeleter {
  void operator()(xmlSchema* s) const noexcept { xmlSchemaFree(s); }
  void operator()(xmlSchemaParserCtxt* c) const noexcept { xmlSchemaFreeParserCtxt(c); }
  void operator()(xmlSchemaValidCtxt* c) const noexcept { xmlSchemaFreeValidCtxt(c); }
};
using XmlSchemaPtr = std::unique_ptr<xmlSchema, XmlSchemaDeleter>;
using XmlSchemaParserCtxtPtr = std::unique_ptr<xmlSchemaParserCtxt, XmlSchemaDeleter>;
using XmlSchemaValidCtxtPtr = std::unique_ptr<xmlSchemaValidCtxt, XmlSchemaDeleter>;

// Hardened DOM parse of a whole document held in memory.
Result<XmlDocPtr> parse_xml(std::string_view bytes, const Limits& limits);
// The same, reading the file in chunks (never holding the raw bytes whole).
Result<XmlDocPtr> parse_xml_file(const std::string& path, const Limits& limits);

// The edXML namespace and the XML-DSig namespace.
inline constexpr std::string_view kEdxmlNs = "http://www.mic.gov.vn/TBT/QCVN_102_2016";
inline constexpr std::string_view kDsigNs = "http://www.w3.org/2000/09/xmldsig#";

}  // namespace edxgate::edxml
