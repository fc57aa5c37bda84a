// XML-DSig internals shared by signing and verification: algorithm URIs, DOM
// helpers, streaming C14N digests, base64.
#pragma once

#include <libxml/c14n.h>
#include <libxml/tree.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edxgate/base/ossl.h"
#include "edxgate/base/result.h"
#include "edxgate/crypto/signer.h"
#include "edxgate/edxml/xml.h"

namespace edxgate::crypto::dsig {

inline constexpr std::string_view kDsigNs = "http://www.w3.org/2000/09/xmldsig#";
inline constexpr std::string_view kEdxmlNs = "http://www.mic.gov.vn/TBT/QCVN_102_2016";
inline constexpr std::string_view kEnveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
inline constexpr std::string_view kExcC14n = "http://www.w3.org/2001/10/xml-exc-c14n#";
inline constexpr std::string_view kExcC14nNs = kExcC14n;  // InclusiveNamespaces namespace

// A canonicalization method we accept, and how libxml2 runs it.
struct C14nMethod {
  std::string_view uri;
  int mode;  // xmlC14NMode
  bool with_comments;
  bool exclusive() const { return mode == XML_C14N_EXCLUSIVE_1_0; }
};
const C14nMethod* find_c14n(std::string_view uri);

// A digest method we know (sha1 is known so the policy can name it).
struct DigestMethod {
  std::string_view uri;
  std::string_view name;
  const EVP_MD* (*md)();
  bool weak;  // SHA-1: refused unless a configured exception applies
};
const DigestMethod* find_digest(std::string_view uri);
const DigestMethod& digest_method(DigestAlgorithm alg);

// A signature method we know.
struct SignatureMethod {
  std::string_view uri;
  std::string_view name;
  bool ecdsa;
  const EVP_MD* (*md)();
  bool weak;
};
const SignatureMethod* find_signature_method(std::string_view uri);

// DOM helpers.
bool is_element(const xmlNode* n, std::string_view ns, std::string_view name);
std::string attr(const xmlNode* n, const char* name, bool* present = nullptr);
std::string text_of(const xmlNode* n);
// Element children only; `ok` false if a child is non-blank text, a comment,
// a PI, CDATA or an entity reference (no room for hidden content).
std::vector<xmlNode*> element_children(xmlNode* n, bool& ok);
// The edXMLHeader of an edXML document (root edXML > edXMLEnvelope > edXMLHeader).
xmlNode* find_edxml_header(xmlDoc* doc);
// Every ds:Signature element in the document, in document order.
std::vector<xmlNode*> find_signatures(xmlDoc* doc);
bool has_comments(xmlDoc* doc);

// Digest of the C14N of the document (nodes for which `visible` is true; all
// when null), streamed from libxml2's serializer into the hash.
Result<std::vector<uint8_t>> c14n_digest(xmlDoc* doc, const xmlNode* subtree, const C14nMethod& m, const EVP_MD* md);
// The C14N bytes of one subtree (SignedInfo: small).
Result<std::string> c14n_subtree(xmlDoc* doc, const xmlNode* subtree, const C14nMethod& m,
                                 const std::vector<std::string>& inclusive_prefixes = {});

// XML-DSig ECDSA value (r||s) <-> DER.
std::optional<std::vector<uint8_t>> ecdsa_raw_to_der(std::span<const uint8_t> raw);
// A DER ECDSA-Sig-Value as r||s, each padded to `width` bytes (nullopt if it
// is not exactly one DER value or a part does not fit).
std::optional<std::vector<uint8_t>> ecdsa_der_to_raw(std::span<const uint8_t> der, size_t width);
// Checks `signature` (XML-DSig form) over `data` with `key`.
bool verify_raw(EVP_PKEY* key, const SignatureMethod& m, std::span<const uint8_t> data,
                std::span<const uint8_t> signature);

// Checks a SignatureValue over `data` as xmlsec1 does: RSA PKCS#1 v1.5; ECDSA
// r||s of twice the curve order's size, or of any shorter even size (both
// halves trimmed alike, as some Java signers write them).
bool verify_signature_value(EVP_PKEY* key, const SignatureMethod& m, std::span<const uint8_t> data,
                            std::span<const uint8_t> value);

// Key policy: RSA >= 2048 bits, EC on P-256/P-384/P-521; matches `m`.
// Errors: "sig.key_size", "sig.algorithm".
Status check_key(EVP_PKEY* key, const SignatureMethod& m);

}  // namespace edxgate::crypto::dsig
