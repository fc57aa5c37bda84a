// Base64 (RFC 4648, standard alphabet), on OpenSSL's codec, the one decoder
// and encoder of every part.
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
  // Flushes what is left; false if the text did not end on a whole quantum
  // (four characters, the last ones possibly '=').
  bool finish(std::string& out);

 private:
  bool flush(std::string& out, bool final);
  Mode mode_;
  char quad_[4] = {};
  int have_ = 0;     // characters in quad_
  int pad_ = 0;      // '=' in the current quantum
  bool ended_ = false;   // a padded quantum ended the data
  bool failed_ = false;
  std::string pending_;  // whole quanta not yet decoded (decoded in blocks)
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

}  // namespace edxgate::base64
