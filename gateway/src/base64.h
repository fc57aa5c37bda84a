// Streaming base64 (RFC 4648, standard alphabet) for envelopes that travel
// inside JSON answers: encode without line breaks; decode strictly (only the
// alphabet, CR/LF/space skipped, '=' only at the end).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace edxgate::gateway::b64 {

class Decoder {
 public:
  // Appends decoded bytes to `out`; false on a byte outside the alphabet or
  // data after padding.
  bool update(std::string_view in, std::string& out);
  // True when the input ended on a quantum boundary.
  bool finish() const { return have_ == 0 || padded_; }

 private:
  uint32_t acc_ = 0;
  int have_ = 0;
  int pad_ = 0;
  bool padded_ = false;
};

// Encodes `in` given that `carry` holds 0..2 bytes left from the last call;
// leaves the new remainder in `carry`. Call with final=true to flush.
void encode(std::string_view in, std::string& carry, std::string& out, bool final);

}  // namespace edxgate::gateway::b64
