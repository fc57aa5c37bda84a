// The structural policy of a ds:Signature, checked on the hardened DOM before
// any cryptography runs (see verifier.h for the reason codes).
#pragma once

#include <libxml/tree.h>

#include <vector>

#include "dsig.h"
#include "edxgate/crypto/x509.h"

namespace edxgate::crypto::dsig {

// The parts of a signature that passed the structural policy.
struct SignatureParts {
  xmlNode* signature = nullptr;
  xmlNode* signed_info = nullptr;
  const C14nMethod* c14n = nullptr;             // SignedInfo canonicalization
  const SignatureMethod* method = nullptr;      // may be weak (SHA-1): the caller decides
  const DigestMethod* digest = nullptr;         // may be weak (SHA-1): the caller decides
  std::vector<uint8_t> signature_value;
  Certificate leaf;                             // the one end of the included certificates
  std::vector<Certificate> others;              // the rest (candidate intermediates)
};

// Finds the one signature of `doc`, checks its placement and structure.
Result<SignatureParts> parse_signature(xmlDoc* doc);

}  // namespace edxgate::crypto::dsig
