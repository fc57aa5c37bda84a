// XmlObserver: what the hardened parser sees, event by event, for a consumer
// that must process a document in one pass without keeping it whole (the
// streaming signature verifier canonicalizes and hashes the envelope while
// it is read).
//
// The parser builds a DOM "skeleton" as it goes (the stock libxml2 SAX2
// builders); in streaming mode the text of attachment content elements
// (ContentTransferEncoded) stays out of it. Each event hands the observer the
// skeleton node just built, so it sees names, namespaces and attribute values
// exactly as libxml2 stores them, and the raw character data, attachment
// content included, as it streams past.
//
// Events arrive in document order and only while the parse is sound: after
// the first limit, refusal or well-formedness error no further event comes.
// An observer's error status stops the parse and is returned from it as is.
#pragma once

#include <libxml/tree.h>

#include <string>
#include <string_view>

#include "edxgate/base/result.h"
#include "edxgate/edxml/limits.h"
#include "edxgate/edxml/xml.h"

namespace edxgate::edxml {

class XmlObserver {
 public:
  virtual ~XmlObserver() = default;

  // An element has started. `element` is its node in the skeleton: its name,
  // namespace, namespace declarations (nsDef) and attributes (properties) are
  // complete; its ancestors and earlier siblings are there, its children not
  // yet. The node lives as long as the document.
  // `attachment_content`: its text is attachment content, which in streaming
  // mode reaches the observer (and the reader's decoder) but not the DOM.
  virtual Status start_element(const xmlNode* element, bool attachment_content) = 0;
  virtual Status end_element(const xmlNode* element) = 0;
  // Character data: CDATA sections included, character references and the
  // five predefined entities expanded, line ends normalised to LF (as the
  // XML parser does). One text node may come in several pieces.
  virtual Status text(std::string_view chunk) = 0;
  virtual Status comment(std::string_view value) = 0;
  virtual Status processing_instruction(std::string_view target, std::string_view data) = 0;
  // The whole input is parsed into `doc` (well-formed, namespace-well-formed,
  // within limits), before anything else (e.g. the model reader) looks at it.
  // `doc` is only borrowed for the call.
  virtual Status end_document(xmlDoc* doc) = 0;
};

// Streams the file at `path` through the hardened parser with `observer`
// seeing every event. Attachment content goes to the observer only (it is
// neither decoded nor kept), so the returned document is the skeleton and
// memory stays bounded by the header. Same limits and errors as
// parse_xml_file.
Result<XmlDocPtr> parse_xml_file_observed(const std::string& path, const Limits& limits, XmlObserver& observer);

}  // namespace edxgate::edxml
