// Streaming base64 (RFC 4648 alphabet) for attachment content.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace edxgate::edxml::detail {

// Decodes base64 text arriving in pieces of any size. XML whitespace is
// skipped anywhere; padding may only end the text; anything else is invalid.
class Base64Decoder {
 public:
  // Appends the bytes decoded from `in` to `out`; false if `in` is invalid.
  bool update(std::string_view in, std::string& out);
  // True if the text ended on a whole quantum.
  bool finish() const { return have_ == 0; }

 private:
  uint32_t acc_ = 0;
  int have_ = 0;  // sextets in acc_
  int pad_ = 0;   // '=' seen in the current quantum
  bool done_ = false;  // a padded quantum ended the data
};

// Encodes `in` (a multiple of 3 bytes unless it is the last piece) as base64
// lines of 76 characters, each ended by "\n", appended to `out`.
void base64_encode_lines(std::string_view in, std::string& out);

}  // namespace edxgate::edxml::detail
