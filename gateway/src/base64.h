// Streaming base64 (RFC 4648, standard alphabet) for envelopes that travel
// inside JSON answers: encode without line breaks; decode strictly (only the
// alphabet, CR/LF/space skipped, '=' only at the end) or leniently, as the
// axis SDK reads getEdoc's `data`: every byte outside the alphabet skipped,
// the first '=' ends the data, a final quantum may lack its padding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace edxgate::gateway::b64 {

class Decoder {
 public:
  explicit Decoder(bool lenient = false) : lenient_(lenient) {}
  // Appends decoded bytes to `out`; false (strict only) on a byte outside the
  // alphabet or data after padding.
  bool update(std::string_view in, std::string& out);
  // Ends the input, appending what a lenient decoder still holds; false when
  // the input cannot end here (strict: not on a quantum boundary; lenient: a
  // lone sixth of a quantum left, which holds no whole byte).
  bool finish(std::string& out);
  // Strict decoders: true when the input ended on a quantum boundary.
  bool finish() const { return have_ == 0 || padded_; }

 private:
  void push(uint32_t v, std::string& out);
  bool lenient_;
  uint32_t acc_ = 0;
  int have_ = 0;
  int pad_ = 0;
  bool padded_ = false;
  bool ended_ = false;  // lenient: '=' seen, the rest is ignored
};

// Encodes `in` given that `carry` holds 0..2 bytes left from the last call;
// leaves the new remainder in `carry`. Call with final=true to flush.
void encode(std::string_view in, std::string& carry, std::string& out, bool final);

}  // namespace edxgate::gateway::b64
