// The steps the DOM and the streaming verifier share, and the dual verdict
// (crypto/src only).
#pragma once

#include <libxml/tree.h>

#include <functional>
#include <optional>

#include "edxgate/crypto/verifier.h"
#include "reference_digest.h"
#include "structure.h"

namespace edxgate::crypto::detail {

// What a verification is checked against.
struct Checker {
  const TrustStore& trust;
  const VerifyPolicy& policy;
  RevocationSource* online;
};

Verification reject(Verification v, const Error& e);

// Structure, algorithms (SHA-1 exceptions), key, chain, in this order; fills
// the descriptive fields of `v`. nullopt when `v` has been rejected.
std::optional<dsig::SignatureParts> check_policy(xmlDoc* doc, const Checker& c, Verification& v);

// Marks `v` valid (with the warning about comments when `doc` has some).
void accept(xmlDoc* doc, Verification& v);

// The DOM verifier (xmlsec1).
Verification verify_dom(xmlDoc* doc, const Checker& c);

// Runs a second pass over the same file with the method known; the digest
// it made, or why it could not.
using SecondPass = std::function<Result<std::vector<uint8_t>>(const dsig::ReferenceMethod&)>;

// The streaming verifier's verdict, from the skeleton DOM of the pass and
// the digest the pass streamed.
Verification verify_streamed(xmlDoc* skeleton, const ReferenceDigest& pass, const SecondPass& second_pass,
                             const Checker& c);

// The dual verdict: `streamed` when both agree on validity and code, else
// "sig.disagreement" (logged as a bug).
Verification combine_dual(Verification streamed, const Verification& dom, const std::string& file);

}  // namespace edxgate::crypto::detail
