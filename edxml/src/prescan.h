// A byte-level pass over the raw input, ahead of libxml2.
//
// libxml2 (2.9.14) buffers a whole start tag before parsing it, checks
// attribute uniqueness in quadratic time, and reports a DOCTYPE only after it
// has read its name and external id. This scanner sees every byte first and
// refuses, with the line number:
//  - any markup declaration: `<!` not starting a comment or CDATA section
//    ("xml.doctype"), so no DTD, entity, element or attribute-list
//    declaration ever reaches libxml2;
//  - a start tag with more attributes than allowed ("xml.attributes") or
//    longer than the text limit, and likewise an over-long comment, PI or end
//    tag ("xml.text_size");
//  - input that is not UTF-8 (UTF-16/32, EBCDIC; "xml.encoding").
// It does not check well-formedness: that stays libxml2's job. On malformed
// input it may desynchronise, which can only make it refuse more.
#pragma once

#include <cstdint>
#include <string_view>

#include "edxgate/base/result.h"
#include "edxgate/edxml/limits.h"

namespace edxgate::edxml::detail {

class PreScanner {
 public:
  explicit PreScanner(const Limits& limits) : limits_(limits) {}
  Status scan(std::string_view chunk);
  // Text known to hold no '<' and `newlines` LFs (the parser's plain
  // attachment text): the same as scan() would do, without reading it again.
  // False, and nothing done, unless the scanner stands in text.
  bool skip_text(int newlines) {
    if (st_ != St::text) return false;
    line_ += newlines;
    return true;
  }
  int line() const { return line_; }

 private:
  enum class St : uint8_t { start, text, lt, bang, start_tag, attr_value, end_tag, pi, comment, cdata };
  Status check_first_byte(unsigned char c);
  Status bang_byte(char c);

  const Limits& limits_;
  St st_ = St::start;
  int line_ = 1;
  char quote_ = 0;
  uint32_t attrs_ = 0;
  uint64_t tag_bytes_ = 0;
  uint64_t markup_bytes_ = 0;   // of the current comment, PI or end tag
  char prev1_ = 0, prev2_ = 0;  // last two bytes, for "-->", "]]>", "?>"
  char bang_[8] = {};
  uint32_t bang_len_ = 0;
};

}  // namespace edxgate::edxml::detail
