// What the DOM and the file forms of signing (signing.cc, signing_file.cc)
// share: the checks before signing, the ds:Signature skeleton, the check of a
// signature value made elsewhere.
#pragma once

#include <libxml/tree.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "edxgate/crypto/signing.h"

namespace edxgate::crypto::detail {

// Errors: "sign.envelope", "sign.already_signed", "sig.keyinfo", those of
// dsig::check_key.
Status check_unsigned(xmlDoc* doc, const Certificate& cert, const SignOptions& options);

// Builds ds:Signature (reference `digest`, empty SignatureValue) as the last
// child of `header`; returns the SignatureValue node. SignedInfo is its
// previous sibling.
xmlNode* insert_skeleton(xmlNode* header, const std::vector<uint8_t>& digest, const SignOptions& o,
                         const Certificate& cert, std::span<const Certificate> chain);

struct PreparedParts {
  std::span<const uint8_t> signed_info;
  SignatureAlgorithm algorithm;
  const Certificate& cert;
};

// The value (r||s for ECDSA, DER accepted) base64-encoded for SignatureValue,
// once it verifies over the SignedInfo bytes. Errors: "sign.value".
Result<std::string> checked_value(const PreparedParts& p, std::span<const uint8_t> signature_value);

}  // namespace edxgate::crypto::detail
