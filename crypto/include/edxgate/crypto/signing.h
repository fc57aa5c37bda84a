// XML-DSig signing of edXML envelopes, without ever holding a private key.
//
// The signature is enveloped and covers the whole document: one Reference
// with URI="", the enveloped-signature transform and exclusive C14N; the
// SignedInfo is canonicalized with exclusive C14N. It is inserted as the last
// child of edXMLHeader (after TraceHeaderList), with the signer certificate
// (and optionally its chain) in KeyInfo/X509Data.
//
// Two steps, for remote signing: prepare() inserts the signature skeleton and
// returns the canonical SignedInfo bytes to sign; complete() checks the value
// against the certificate, inserts it, and runs the Verifier before returning
// the signed document. prepare() is deterministic: preparing the same
// envelope with the same certificate and options gives the same bytes, so a
// caller may keep only the unsigned envelope between the two steps.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "edxgate/crypto/signer.h"
#include "edxgate/crypto/verifier.h"
#include "edxgate/crypto/x509.h"
#include "edxgate/edxml/xml.h"

namespace edxgate::crypto {

struct SignOptions {
  SignatureAlgorithm algorithm = SignatureAlgorithm::rsa_sha256;
  bool include_chain = false;  // add the chain certificates to X509Data
};

// A document waiting for its signature value. Move-only; owns the document.
class PreparedSignature {
 public:
  std::span<const uint8_t> bytes_to_sign() const { return signed_info_; }
  SignatureAlgorithm algorithm() const { return algorithm_; }
  const Certificate& certificate() const { return cert_; }

 private:
  friend Result<PreparedSignature> prepare(edxml::XmlDocPtr, const Certificate&, std::span<const Certificate>,
                                           const SignOptions&);
  friend Result<edxml::XmlDocPtr> complete(PreparedSignature, std::span<const uint8_t>, const Verifier&, Verification*);
  friend Result<PreparedSignature> prepare_file(const std::string&, const edxml::Limits&, const Certificate&,
                                                std::span<const Certificate>, const SignOptions&);
  friend Status complete_file(PreparedSignature, std::span<const uint8_t>, const std::string&, const Verifier&,
                              const edxml::Limits&, Verification*);
  edxml::XmlDocPtr doc_;           // the document (file forms: its skeleton, no attachment content)
  std::string source_file_;        // file forms: the unsigned envelope
  xmlNode* value_node_ = nullptr;  // ds:SignatureValue inside doc_
  std::vector<uint8_t> signed_info_;
  SignatureAlgorithm algorithm_ = SignatureAlgorithm::rsa_sha256;
  Certificate cert_;
};

// Errors: "sign.envelope" (not an edXML envelope with an edXMLHeader),
// "sign.already_signed", "sig.algorithm"/"sig.key_size" (the certificate's key
// does not fit the algorithm or the policy), "c14n.failed".
Result<PreparedSignature> prepare(edxml::XmlDocPtr doc, const Certificate& cert, std::span<const Certificate> chain,
                                  const SignOptions& options);

// An ECDSA value may be r||s (XML-DSig) or the DER ECDSA-Sig-Value most tools
// write; the document always carries r||s.
// Errors: "sign.value" (the value does not verify with the certificate's key),
// "sign.self_check" (our Verifier rejects the result; the message names why).
// `report`, when given, receives the Verifier's result.
Result<edxml::XmlDocPtr> complete(PreparedSignature prepared, std::span<const uint8_t> signature_value,
                                  const Verifier& verifier, Verification* report = nullptr);

// The algorithm a certificate's key signs with when none is asked for:
// RSA-SHA256; ECDSA with the hash that matches the curve (P-256: SHA-256,
// P-384: SHA-384, P-521: SHA-512).
SignatureAlgorithm default_algorithm(const Certificate& cert);

// prepare + signer.sign + complete.
Result<edxml::XmlDocPtr> sign(edxml::XmlDocPtr doc, Signer& signer, const Certificate& cert,
                              std::span<const Certificate> chain, const SignOptions& options, const Verifier& verifier,
                              Verification* report = nullptr);

// The file forms. `envelope_file` must not change between prepare_file and
// complete_file (a blob does not). complete_file writes the signed envelope
// to `signed_file` (replaced; not fsync'd: the caller stores it) and checks
// it with verifier.verify_file under `limits`.
// Errors: those of prepare/complete, the hardened parser's (xml.*), io.*.
Result<PreparedSignature> prepare_file(const std::string& envelope_file, const edxml::Limits& limits,
                                       const Certificate& cert, std::span<const Certificate> chain,
                                       const SignOptions& options);
Status complete_file(PreparedSignature prepared, std::span<const uint8_t> signature_value,
                     const std::string& signed_file, const Verifier& verifier, const edxml::Limits& limits,
                     Verification* report = nullptr);
// prepare_file + signer.sign + complete_file.
Status sign_file(const std::string& envelope_file, const std::string& signed_file, Signer& signer,
                 const Certificate& cert, std::span<const Certificate> chain, const SignOptions& options,
                 const Verifier& verifier, const edxml::Limits& limits, Verification* report = nullptr);

}  // namespace edxgate::crypto
