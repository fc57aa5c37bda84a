// The structural policy of a ds:Signature, checked on the hardened DOM before
// any cryptography runs (see verifier.h for the reason codes).
#pragma once

#include <libxml/tree.h>

#include <string>
#include <vector>

#include "dsig.h"
#include "edxgate/crypto/x509.h"

namespace edxgate::crypto::dsig {

// An InclusiveNamespaces PrefixList as xmlsec1 reads it: the value of the
// first attribute named PrefixList (any namespace), split at single spaces
// (two spaces make an empty token, which libxml2 takes for #default).
struct PrefixList {
  std::vector<std::string> prefixes;
  // InclusiveNamespaces without PrefixList: xmlsec1 cannot process the
  // method (a failure reported as "sig.value", after the chain checks).
  bool unreadable = false;
};

// How the Reference's digest is made: the node set of the whole document
// minus the signature, canonicalized, hashed.
struct ReferenceMethod {
  const C14nMethod* c14n = nullptr;  // its C14N transform; null: inclusive C14N 1.0 (XML-DSig's default)
  PrefixList prefixes;               // of an exclusive C14N transform
  const DigestMethod* digest = nullptr;
};

// The parts of a signature that passed the structural policy.
struct SignatureParts {
  xmlNode* signature = nullptr;
  xmlNode* signed_info = nullptr;
  const C14nMethod* c14n = nullptr;         // SignedInfo canonicalization
  const SignatureMethod* method = nullptr;  // may be weak (SHA-1): the caller decides
  const DigestMethod* digest = nullptr;     // may be weak (SHA-1): the caller decides
  PrefixList signed_info_prefixes;          // of an exclusive SignedInfo C14N
  ReferenceMethod reference;                // reference.digest == digest
  std::vector<uint8_t> digest_value;        // the Reference's DigestValue
  std::vector<uint8_t> signature_value;
  Certificate leaf;                 // the one end of the included certificates
  std::vector<Certificate> others;  // the rest (candidate intermediates)
};

// Finds the one signature of `doc`, checks its placement and structure.
Result<SignatureParts> parse_signature(xmlDoc* doc);

// The same checks for one signature element, without counting the others:
// the streaming verifier reads the signature as soon as it has passed, before
// the rest of the document exists.
Result<SignatureParts> parse_signature_element(xmlDoc* doc, xmlNode* signature);

}  // namespace edxgate::crypto::dsig
