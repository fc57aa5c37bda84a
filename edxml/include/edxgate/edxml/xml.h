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

#include <memory>
#include <string>
#include <string_view>

#include "edxgate/base/result.h"
#include "edxgate/edxml/limits.h"

namespace edxgate::edxml {

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

// Hardened DOM parse of a whole document held in memory.
Result<XmlDocPtr> parse_xml(std::string_view bytes, const Limits& limits);
// The same, reading the file in chunks (never holding the raw bytes whole).
Result<XmlDocPtr> parse_xml_file(const std::string& path, const Limits& limits);

// The edXML namespace and the XML-DSig namespace.
inline constexpr std::string_view kEdxmlNs = "http://www.mic.gov.vn/TBT/QCVN_102_2016";
inline constexpr std::string_view kDsigNs = "http://www.w3.org/2000/09/xmldsig#";

}  // namespace edxgate::edxml
