// Lower-case hexadecimal, the one encoding of digests, serials and ids.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace edxgate {

// Two lower-case digits per byte.
std::string to_hex(std::span<const uint8_t> bytes);
std::string to_hex(std::string_view bytes);
inline std::string to_hex(const unsigned char* p, size_t n) { return to_hex(std::span<const uint8_t>(p, n)); }

// Decodes hex (either case, an even number of digits, nothing else);
// nullopt when the text is not that.
std::optional<std::vector<uint8_t>> from_hex(std::string_view text);

// The value of one hex digit (either case); -1 for any other character.
int hex_digit(char c);

}  // namespace edxgate
