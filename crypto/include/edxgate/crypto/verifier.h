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
//                   (or the signature cannot be processed, e.g. a relative namespace URI)
//   sig.disagreement  the streaming and the DOM verifier disagree: a bug, logged as such
// The cryptographic check runs only after the structural checks passed, with
// the key of the validated certificate.
//
// Two verifiers implement this policy, with the same codes:
//  - verify(xmlDoc*), the DOM verifier: xmlsec1 checks a document our
//    hardened parser built whole, with the key set directly (xmlsec resolves
//    no key and no ID) and only the allowed transforms enabled;
//  - verify_file / read_and_verify, the streaming verifier: one pass over the
//    file with the hardened parser; the reference's canonical form is hashed
//    as it streams (stream_c14n.h, byte for byte libxml2's C14N), the
//    structural checks run on the DOM skeleton (the whole header, signature
//    included; attachment content left out), SignedInfo is canonicalized
//    from it and the value checked with the certificate's key (OpenSSL EVP).
//    Memory is bounded by the header, not the envelope.
// Dual verification: a file of at most VerifyPolicy::max_dual_bytes is also
// checked by the DOM verifier; any difference in validity or code gives
// "sig.disagreement".
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
#include "edxgate/edxml/reader.h"

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
  // Files verified by the streaming verifier up to this size are verified by
  // the DOM verifier too (dual verification); 0 turns it off. The DOM
  // verifier holds the whole document, about 3x its size.
  uint64_t max_dual_bytes = 16ull * 1024 * 1024;
};

// The outcome of a verification. `code` is "ok" when valid.
struct Verification {
  bool valid = false;
  std::string code;
  std::string message;
  // When not valid, the kind of the reason: invalid for a refusal of the
  // envelope, io when the file could not be read (no verdict on the
  // envelope), unavailable for revocation.unavailable, internal for
  // sig.disagreement.
  ErrorKind kind = ErrorKind::invalid;
  std::optional<CertSummary> signer;
  std::string signature_algorithm;  // "rsa-sha256", ...
  std::string digest_algorithm;     // "sha256", ...
  std::string canonicalization;     // the SignedInfo C14N URI
  std::vector<CertSummary> chain;   // leaf first, anchor last (when validated)
  std::vector<std::string> warnings;
  bool dual_checked = false;  // the DOM verifier checked it too, and agreed
};

// What one streaming pass over an envelope file gives: the signature verdict
// and what the edxml reader made of the same bytes.
struct VerifiedEnvelope {
  // The verdict; when the file could not be parsed, invalid with the parse
  // error's code (xml.*, edxml.* from the attachment decoder, io.read).
  Verification verification;
  // The model, its attachment files (committed in ReadOptions::attachment_dir)
  // and the skeleton DOM; or the reader's error. A model error does not
  // change the verdict: the signature is checked on the XML.
  Result<edxml::StreamedEnvelope> envelope{Error{ErrorKind::internal, "edxml.missing", "the envelope was not read"}};
};

class Verifier {
 public:
  Verifier(TrustStore trust, VerifyPolicy policy, std::shared_ptr<RevocationSource> online = nullptr);

  // The DOM verifier. `doc` must come from the hardened parser
  // (edxml::parse_xml*); it is read, never changed.
  Verification verify(xmlDoc* doc) const;

  // The streaming verifier: one pass over the file at `path` with the
  // hardened parser (these limits), attachments neither decoded nor kept;
  // dual verification per policy. For `edxgate verify`.
  // The file is read again for dual verification, and for a second pass when
  // attachment content precedes the signature (never in real envelopes): it
  // must not change meanwhile (a spool file does not). Each read is held to
  // the limits on its own.
  Verification verify_file(const std::string& path, const edxml::Limits& limits) const;

  // The same pass also reads the envelope: attachments are base64-decoded
  // and hashed into options.attachment_dir as the edxml reader does
  // (options.observer is not used). "Parse once, verify once" for the
  // gateway; dual verification per policy (a second, DOM parse).
  VerifiedEnvelope read_and_verify(const std::string& path, const edxml::ReadOptions& options) const;

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
