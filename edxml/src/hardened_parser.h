// The parser core behind parse_xml and the streaming envelope reader.
//
// A libxml2 push parser whose SAX2 callbacks build the DOM (the stock
// xmlSAX2* builders) and enforce Limits as each event arrives; a byte-level
// pre-scanner in front of it refuses markup declarations (<!DOCTYPE,
// <!ENTITY...) and over-long start tags before libxml2 buffers or parses
// them. In streaming mode a ContentSink takes the text of every attachment
// content element (ContentTransferEncoded) instead of the DOM, so an
// envelope of any size is parsed with memory bounded by the header. An
// XmlObserver, when given, sees every event (xml_observer.h).
#pragma once

#include <libxml/tree.h>

#include <memory>
#include <string_view>

#include "edxgate/base/result.h"
#include "edxgate/edxml/limits.h"
#include "edxgate/edxml/xml.h"
#include "edxgate/edxml/xml_observer.h"

namespace edxgate::edxml::detail {

// Takes attachment content in streaming mode. Calls come in order
// begin, data*, end for each content element; an error status stops the
// parse and is returned from feed/finish as is.
class ContentSink {
 public:
  virtual ~ContentSink() = default;
  // `element` is the (empty) content element in the DOM being built.
  virtual Status begin(xmlNode* element) = 0;
  virtual Status data(std::string_view chunk) = 0;
  virtual Status end() = 0;
};

class HardenedParser {
 public:
  // `sink` may be null (DOM mode: content stays in the DOM); `observer` may
  // be null. Both must outlive the parser.
  HardenedParser(const Limits& limits, ContentSink* sink, XmlObserver* observer = nullptr);
  ~HardenedParser();
  HardenedParser(const HardenedParser&) = delete;
  HardenedParser& operator=(const HardenedParser&) = delete;

  // Parses the next piece of input. After an error every call returns it.
  Status feed(std::string_view chunk);
  // Ends the input and returns the document.
  Result<XmlDocPtr> finish();

  // Bytes of attachment text handed to the sink without passing through
  // libxml2 (feed's fast path); for tests and benchmarks.
  uint64_t plain_text_bytes() const;

  struct State;

 private:
  std::unique_ptr<State> s_;
};

// Element name test: local name `local` in the edXML namespace or in none.
bool is_edxml_element(const xmlNode* n, std::string_view local);

}  // namespace edxgate::edxml::detail
