// Verifier: strict verification of the one XML signature of an edXML envelope.
//
// An envelope is accepted only when every rule holds; the first rule broken
// gives the reason code (stable, for scripts and the quarantine):
//   sig.missing     no ds:Signature in the XML-DSig namespace (look-alikes do not count)
//   sig.count       more than one ds:Signature anywhere in the document
//   sig.placement   the signature is not a child of edXML/edXMLEnvelope/edXMLHeader
//   sig.structure   unexpected element, text, comment or Object in the signature
//   sig.c14n        canonicalization other than (exclusive) C14N 1.0 / 1.1
//   sig.reference   not exactly one Reference, or its URI is not ""
//   sig.transform   transforms other than enveloped-signature [+ one C14N]
//   sig.algorithm   SHA-1/MD5/HMAC/unknown method, or a method that does not fit the key
//   sig.key_size    RSA under 2048 bits, EC under P-256
//   sig.keyinfo     no X509 certificate, KeyValue/RetrievalMethod, or no single leaf
//   cert.*          chain, validity, usage, revocation (see x509.h)
//   revocation.unavailable
//   sig.digest      the document was changed after signing
//   sig.value       the signature value does not check out with the certificate's key
// The cryptographic check (xmlsec1) runs only after the structural checks
// passed, with the key of the validated certificate set directly (xmlsec
// resolves no key and no ID) and only the allowed transforms enabled.
//
// A Verifier is immutable after construction and may be shared by threads;
// the RevocationSource it holds is thread-safe.
#pragma once

#include <libxml/tree.h>

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "edxgate/crypto/revocation.h"
#include "edxgate/crypto/x509.h"

namespace edxgate::crypto {

// A sender (organ id) allowed SHA-1 until a date (exclusive), logged on use.
struct Sha1Exception {
  std::string sender;
  time_t until = 0;
};

struct VerifyPolicy {
  ChainOptions chain;  // validation time, revocation mode, key usage
  // false: skip chain/revocation (used only by the signing self-check when
  // no trust is configured); the key, algorithm and values are still checked.
  bool validate_chain = true;
  std::vector<Sha1Exception> sha1_exceptions;
};

// The outcome of a verification. `code` is "ok" when valid.
struct Verification {
  bool valid = false;
  std::string code;
  std::string message;
  std::optional<CertSummary> signer;
  std::string signature_algorithm;  // "rsa-sha256", ...
  std::string digest_algorithm;     // "sha256", ...
  std::string canonicalization;     // the SignedInfo C14N URI
  std::vector<CertSummary> chain;   // leaf first, anchor last (when validated)
  std::vector<std::string> warnings;
};

class Verifier {
 public:
  Verifier(TrustStore trust, VerifyPolicy policy, std::shared_ptr<RevocationSource> online = nullptr);

  // `doc` must come from the hardened parser (edxml::parse_xml*); it is read,
  // never changed.
  Verification verify(xmlDoc* doc) const;

  const VerifyPolicy& policy() const { return policy_; }

 private:
  TrustStore trust_;
  VerifyPolicy policy_;
  std::shared_ptr<RevocationSource> online_;
};

// Process-wide xmlsec1/libxml2 initialisation; idempotent, thread-safe.
// Called by Verifier; main may call it early to fail fast.
Status init_xmlsec();

}  // namespace edxgate::crypto
