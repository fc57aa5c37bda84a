#include "prescan.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstring>
#include <string>

namespace edxgate::edxml::detail {

namespace {

// Newlines in [p, end), 16 bytes at a time where SSE2 is there: this runs over
// every byte of attachment text.
int count_newlines(const char* p, const char* end) {
  int n = 0;
#if defined(__SSE2__)
  const __m128i nl = _mm_set1_epi8('\n');
  while (end - p >= 16) {
    // Per-byte counters (a match is -1: subtracting it adds 1), summed every
    // 255 blocks before they can wrap.
    __m128i counts = _mm_setzero_si128();
    for (int i = 0; i < 255 && end - p >= 16; ++i, p += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      counts = _mm_sub_epi8(counts, _mm_cmpeq_epi8(v, nl));
    }
    const __m128i sums = _mm_sad_epu8(counts, _mm_setzero_si128());
    n += _mm_cvtsi128_si32(sums) + _mm_extract_epi16(sums, 4);
  }
#endif
  return n + static_cast<int>(std::count(p, end, '\n'));
}

}  // namespace

Status PreScanner::check_first_byte(unsigned char c) {
  static constexpr unsigned char kBom[] = {0xEF, 0xBB, 0xBF};
  if (bang_len_ < 3 && c == kBom[bang_len_]) {  // bang_ is unused until text starts
    ++bang_len_;
    return {};
  }
  if (bang_len_ != 0 && bang_len_ != 3) {
    return make_error(ErrorKind::invalid, "xml.encoding", "The input starts with a broken byte order mark.", 1);
  }
  bang_len_ = 0;
  if (c == '<' || c == ' ' || c == '\t' || c == '\r' || c == '\n') {
    st_ = St::text;
    return {};
  }
  if (c == 0x00 || c == 0xFE || c == 0xFF) {
    return make_error(ErrorKind::invalid, "xml.encoding",
                      "The input is UTF-16 or UTF-32; edXML envelopes must be UTF-8.", 1);
  }
  return make_error(ErrorKind::invalid, "xml.malformed", "The input does not start with an XML document.", 1);
}

// Bytes after "<!": a comment ("--"), a CDATA section ("[CDATA["), or a
// markup declaration, which is refused.
Status PreScanner::bang_byte(char c) {
  bang_[bang_len_++] = c;
  std::string_view seen(bang_, bang_len_);
  if (seen == "--") {
    st_ = St::comment;
    prev1_ = prev2_ = 0;
    return {};
  }
  if (seen == "[CDATA[") {
    st_ = St::cdata;
    prev1_ = prev2_ = 0;
    return {};
  }
  if (std::string_view("--").starts_with(seen) || std::string_view("[CDATA[").starts_with(seen)) {
    return {};
  }
  return make_error(ErrorKind::invalid, "xml.doctype",
                    "The document has a DOCTYPE or markup declaration; edXML envelopes must "
                    "not have one (no DTD, no entities).",
                    line_);
}

Status PreScanner::scan(std::string_view chunk) {
  const char* p = chunk.data();
  const char* end = p + chunk.size();
  while (p < end) {
    if (st_ == St::text) {
      // Fast path: most input is text (attachment content).
      const char* lt = static_cast<const char*>(std::memchr(p, '<', static_cast<size_t>(end - p)));
      const char* stop = lt ? lt : end;
      line_ += count_newlines(p, stop);
      p = stop;
      if (!lt) break;
      ++p;
      st_ = St::lt;
      continue;
    }
    char c = *p++;
    if (c == '\n') ++line_;
    // Comments, PIs and end tags are buffered whole by libxml2: bound them too.
    if ((st_ == St::comment || st_ == St::pi || st_ == St::end_tag) && ++markup_bytes_ > limits_.max_text_bytes) {
      return make_error(ErrorKind::too_large, "xml.text_size",
                        "A comment, processing instruction or end tag is longer "
                        "than the limit of " +
                            std::to_string(limits_.max_text_bytes) + " bytes.",
                        line_);
    }
    switch (st_) {
      case St::start:
        if (auto s = check_first_byte(static_cast<unsigned char>(c)); !s) return s;
        if (st_ == St::text && c == '<') st_ = St::lt;
        break;
      case St::text:
        break;  // handled above
      case St::lt:
        markup_bytes_ = 0;
        if (c == '/') {
          st_ = St::end_tag;
        } else if (c == '?') {
          st_ = St::pi;
          prev1_ = prev2_ = 0;
        } else if (c == '!') {
          st_ = St::bang;
          bang_len_ = 0;
        } else {
          st_ = St::start_tag;
          attrs_ = 0;
          tag_bytes_ = 1;
        }
        break;
      case St::bang:
        if (auto s = bang_byte(c); !s) return s;
        break;
      case St::start_tag:
      case St::attr_value:
        if (++tag_bytes_ > limits_.max_text_bytes) {
          return make_error(
              ErrorKind::too_large, "xml.text_size",
              "A start tag is longer than the limit of " + std::to_string(limits_.max_text_bytes) + " bytes.", line_);
        }
        if (st_ == St::attr_value) {
          if (c == quote_) st_ = St::start_tag;
        } else if (c == '"' || c == '\'') {
          quote_ = c;
          st_ = St::attr_value;
        } else if (c == '=') {
          if (++attrs_ > limits_.max_attributes) {
            return make_error(ErrorKind::invalid, "xml.attributes",
                              "An element has more than " + std::to_string(limits_.max_attributes) + " attributes.",
                              line_);
          }
        } else if (c == '>') {
          st_ = St::text;
        }
        break;
      case St::end_tag:
        if (c == '>') st_ = St::text;
        break;
      case St::pi:
        if (c == '>' && prev1_ == '?') st_ = St::text;
        prev1_ = c;
        break;
      case St::comment:
        if (c == '>' && prev1_ == '-' && prev2_ == '-') st_ = St::text;
        prev2_ = prev1_;
        prev1_ = c;
        break;
      case St::cdata:
        if (c == '>' && prev1_ == ']' && prev2_ == ']') st_ = St::text;
        prev2_ = prev1_;
        prev1_ = c;
        break;
    }
  }
  return {};
}

}  // namespace edxgate::edxml::detail
