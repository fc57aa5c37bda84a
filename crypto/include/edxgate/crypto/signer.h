// Signer: the seam between XML-DSig and whoever holds the private key.
//
// crypto never holds a private key. It hands the bytes to sign (the canonical
// SignedInfo) to a Signer — the hsm TokenSigner, or a remote signing agent on a
// leader's PC — and gets the signature value back.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "edxgate/base/result.h"

namespace edxgate::crypto {

enum class SignatureAlgorithm {
  rsa_sha256,
  rsa_sha384,
  rsa_sha512,
  ecdsa_sha256,
  ecdsa_sha384,
  ecdsa_sha512,
};

enum class DigestAlgorithm { sha256, sha384, sha512 };

// The XML-DSig algorithm URI (http://www.w3.org/2001/04/xmldsig-more#rsa-sha256, ...).
std::string_view signature_uri(SignatureAlgorithm alg);
// The digest the signature algorithm uses.
DigestAlgorithm digest_of(SignatureAlgorithm alg);
// "rsa-sha256", "ecdsa-sha384", ...
std::string_view signature_name(SignatureAlgorithm alg);
bool parse_signature_name(std::string_view name, SignatureAlgorithm& out);
inline bool is_ecdsa(SignatureAlgorithm a) {
  return a == SignatureAlgorithm::ecdsa_sha256 || a == SignatureAlgorithm::ecdsa_sha384 ||
         a == SignatureAlgorithm::ecdsa_sha512;
}

class Signer {
 public:
  virtual ~Signer() = default;

  // Signs `data` with `alg` (the signer hashes). Returns the signature value
  // in XML-DSig form: PKCS#1 v1.5 bytes for RSA, r||s of fixed width for ECDSA
  // (RFC 4050 / XML-DSig 1.1), not DER.
  // Errors: "token.absent" ("token not present"), "pin.*", "sign.failed", ...
  virtual Result<std::vector<uint8_t>> sign(std::span<const uint8_t> data, SignatureAlgorithm alg) = 0;
};

}  // namespace edxgate::crypto
