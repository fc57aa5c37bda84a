// libFuzzer target: hardened parse + strict verify of arbitrary bytes.
//
// Two verifiers: one with an empty trust store (the production path: the
// chain fails closed), one that skips the chain so that every structurally
// acceptable input reaches xmlsec1's cryptographic check.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "edxgate/crypto/verifier.h"
#include "edxgate/edxml/xml.h"

using namespace edxgate;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const crypto::Verifier no_trust(crypto::TrustStore{}, crypto::VerifyPolicy{});
  static const crypto::Verifier no_chain = [] {
    crypto::VerifyPolicy p;
    p.validate_chain = false;
    p.sha1_exceptions.push_back({"000.00.00.G06", 4102444800});  // reach the SHA-1 path too
    return crypto::Verifier(crypto::TrustStore{}, p);
  }();
  edxml::Limits limits;
  limits.max_total_bytes = 1 << 20;
  limits.parse_timeout_s = 5;
  auto doc = edxml::parse_xml(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (!doc.ok()) return 0;
  crypto::Verification a = no_trust.verify(doc->get());
  crypto::Verification b = no_chain.verify(doc->get());
  // Invariants: no trust never validates; a valid result names its signer.
  if (a.valid) __builtin_trap();
  if (b.valid && (!b.signer || b.code != "ok")) __builtin_trap();
  if (!a.valid && a.code.empty()) __builtin_trap();
  return 0;
}
