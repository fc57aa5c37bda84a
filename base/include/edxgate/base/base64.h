// Base64 (RFC 4648, standard alphabet), the one decoder and encoder of every
// part. Encoding is OpenSSL's; decoding is a table lookup per character, four
// at a time (every attachment byte an envelope carries goes through it).
//
// The whitespace rule: the four XML whitespace characters (space, tab, CR, LF)
// are skipped anywhere in the text, since XML and MIME producers wrap base64
// in lines and indent it. Anything else outside the alphabet is an error in
// strict mode (the default: what we verify and store must be exactly what was
// signed), and is skipped in lenient mode (only for transports that are known
// to insert stray bytes, such as the axis' getEdoc answer). '=' padding may
// only end the text, in both modes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace edxgate::base64 {

enum class Mode { strict, lenient };

// Decodes text arriving in pieces of any size, with bounded memory.
class Decoder {
 public:
  explicit Decoder(Mode mode = Mode::strict) : mode_(mode) {}
  // Appends the bytes decoded from `in` to `out`; false if `in` breaks the
  // rules above (after which the decoder stays failed).
  bool update(std::string_view in, std::string& out);
  // Ends the text: false if it did not end on a whole quantum (four
  // characters, the last ones possibly '='). Every whole quantum has been
  // appended by update() already; `out` gets nothing more today, but a
  // caller must not rely on that.
  bool finish(std::string& out);

 private:
  Mode mode_;
  char quad_[4] = {};
  int have_ = 0;        // characters in quad_
  int pad_ = 0;         // '=' in the current quantum
  bool ended_ = false;  // a padded quantum ended the data
  bool failed_ = false;
};

// Whole-buffer decoding; false when the text breaks the rules.
bool decode(std::string_view text, std::string& out, Mode mode = Mode::strict);

// Encodes a stream: bytes are carried between calls so that each call emits
// whole quanta; `line` > 0 ends every `line` characters (a multiple of 4) with
// "\n" (the last line too); 0 writes one line with no break.
class Encoder {
 public:
  explicit Encoder(size_t line = 0) : line_(line) {}
  void update(std::string_view in, std::string& out);
  void finish(std::string& out);

 private:
  void emit(std::string_view encoded, std::string& out);
  size_t line_;
  size_t column_ = 0;
  std::string carry_;
};

std::string encode(std::string_view bytes, size_t line = 0);
inline std::string encode(std::span<const uint8_t> bytes, size_t line = 0) {
  return encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), line);
}

}  // namespace edxgate::base64
