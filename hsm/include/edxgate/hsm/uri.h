// Pkcs11Uri: an RFC 7512 "pkcs11:" URI naming a token, a key or a certificate.
//
// Parsing is strict: every value is percent-decoded, an attribute may appear
// once, unknown attributes are refused (a selector we do not understand must
// not silently match more than the officer meant), and "pin-value" is refused
// because a PIN in a URI ends up in shell history and process lists.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edxgate/base/result.h"

namespace edxgate::hsm {

struct Pkcs11Uri {
  // Path attributes (RFC 7512 section 2.3). Empty optional = not constrained.
  std::optional<std::string> token;         // CK_TOKEN_INFO.label
  std::optional<std::string> manufacturer;  // CK_TOKEN_INFO.manufacturerID
  std::optional<std::string> serial;        // CK_TOKEN_INFO.serialNumber
  std::optional<std::string> model;         // CK_TOKEN_INFO.model
  std::optional<unsigned long> slot_id;     // "slot-id"
  std::optional<std::string> object;        // CKA_LABEL
  std::optional<std::vector<uint8_t>> id;   // CKA_ID (raw bytes)
  std::optional<std::string> type;          // "private" | "public" | "cert" | ...
  // Query attributes.
  std::optional<std::string> module_path;  // "module-path"
  std::optional<std::string> pin_source;   // "pin-source" (a file path or file: URI)

  // Parses "pkcs11:token=A;object=B;id=%01?module-path=/x.so".
  static Result<Pkcs11Uri> parse(std::string_view text);
  // The URI in canonical form (attributes in RFC order, reserved bytes and
  // every id byte percent-encoded). Parsing the result gives back *this.
  std::string to_string() const;

  bool selects_token() const { return token || manufacturer || serial || model || slot_id; }
};

// Hex <-> bytes for key ids given on the command line ("01ab", case-insensitive).
Result<std::vector<uint8_t>> parse_hex_id(std::string_view hex);
std::string to_hex(const std::vector<uint8_t>& bytes);

}  // namespace edxgate::hsm
