// prepare / complete / sign: building the enveloped signature ourselves
// (libxml2 C14N + OpenSSL digests), the private key staying in the Signer.
#include "edxgate/crypto/signing.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dsig.h"
#include "edxgate/base/base64.h"
#include "signing_parts.h"

namespace edxgate::crypto {

namespace {

const xmlChar* X(const char* s) { return reinterpret_cast<const xmlChar*>(s); }

xmlNode* add(xmlNode* parent, xmlNs* ns, const char* name, const std::string& text = "") {
  return xmlNewTextChild(parent, ns, X(name), text.empty() ? nullptr : X(text.c_str()));
}

void set_alg(xmlNode* n, std::string_view uri) { xmlNewProp(n, X("Algorithm"), X(std::string(uri).c_str())); }

const dsig::SignatureMethod& method_of(SignatureAlgorithm alg) {
  return *dsig::find_signature_method(signature_uri(alg));
}

}  // namespace

namespace detail {

xmlNode* insert_skeleton(xmlNode* header, const std::vector<uint8_t>& digest, const SignOptions& o,
                         const Certificate& cert, std::span<const Certificate> chain) {
  xmlNode* sig = xmlNewNode(nullptr, X("Signature"));
  xmlNs* ds = xmlNewNs(sig, X("http://www.w3.org/2000/09/xmldsig#"), X("ds"));
  xmlSetNs(sig, ds);
  xmlAddChild(header, sig);
  xmlNode* si = add(sig, ds, "SignedInfo");
  set_alg(add(si, ds, "CanonicalizationMethod"), dsig::kExcC14n);
  set_alg(add(si, ds, "SignatureMethod"), signature_uri(o.algorithm));
  xmlNode* ref = add(si, ds, "Reference");
  xmlNewProp(ref, X("URI"), X(""));
  xmlNode* transforms = add(ref, ds, "Transforms");
  set_alg(add(transforms, ds, "Transform"), dsig::kEnveloped);
  set_alg(add(transforms, ds, "Transform"), dsig::kExcC14n);
  set_alg(add(ref, ds, "DigestMethod"), dsig::digest_method(digest_of(o.algorithm)).uri);
  add(ref, ds, "DigestValue", base64::encode(digest));
  xmlNode* value = add(sig, ds, "SignatureValue");
  xmlNode* x509 = add(add(sig, ds, "KeyInfo"), ds, "X509Data");
  add(x509, ds, "X509Certificate", base64::encode(cert.der()));
  if (o.include_chain) {
    for (const auto& c : chain) {
      if (!(c == cert)) add(x509, ds, "X509Certificate", base64::encode(c.der()));
    }
  }
  return value;
}

Status check_unsigned(xmlDoc* doc, const Certificate& cert, const SignOptions& options) {
  if (!doc || doc->intSubset || doc->extSubset) {
    return make_error(ErrorKind::invalid, "sign.envelope",
                      "the document has a DOCTYPE; parse it with the hardened parser");
  }
  if (!dsig::find_edxml_header(doc))
    return make_error(ErrorKind::invalid, "sign.envelope", "the document is not an edXML envelope with an edXMLHeader");
  if (!dsig::find_signatures(doc).empty()) {
    return make_error(ErrorKind::conflict, "sign.already_signed", "the document already carries an XML-DSig signature");
  }
  EVP_PKEY* pub = X509_get0_pubkey(cert.get());
  if (!pub) return make_error(ErrorKind::invalid, "sig.keyinfo", "the signing certificate's public key is unreadable");
  return dsig::check_key(pub, method_of(options.algorithm));
}

Result<std::string> checked_value(const PreparedParts& p, std::span<const uint8_t> signature_value) {
  const auto& method = method_of(p.algorithm);
  EVP_PKEY* key = X509_get0_pubkey(p.cert.get());
  // An ECDSA value in the DER form most tools write (openssl dgst, CNG,
  // Java) becomes the r||s that XML-DSig carries.
  std::optional<std::vector<uint8_t>> raw;
  const size_t width = static_cast<size_t>((EVP_PKEY_get_bits(key) + 7) / 8);
  if (method.ecdsa && signature_value.size() != 2 * width) {
    raw = dsig::ecdsa_der_to_raw(signature_value, width);
    if (raw) signature_value = *raw;
  }
  if (!dsig::verify_raw(key, method, p.signed_info, signature_value)) {
    return make_error(ErrorKind::invalid, "sign.value",
                      "the signature value does not verify with the signing certificate's key");
  }
  return base64::encode(signature_value);
}

}  // namespace detail

Result<PreparedSignature> prepare(edxml::XmlDocPtr doc, const Certificate& cert, std::span<const Certificate> chain,
                                  const SignOptions& options) {
  EDX_TRY(detail::check_unsigned(doc.get(), cert, options));
  xmlNode* header = dsig::find_edxml_header(doc.get());

  // The reference digest: exclusive C14N (no comments) of the document as it
  // is now, which is exactly the document after the enveloped-signature
  // transform removes the signature we are about to insert.
  const auto& digest = dsig::digest_method(digest_of(options.algorithm));
  auto value = dsig::c14n_digest(doc.get(), nullptr, *dsig::find_c14n(dsig::kExcC14n), digest.md());
  if (!value.ok()) return value.error();

  PreparedSignature p;
  p.value_node_ = detail::insert_skeleton(header, *value, options, cert, chain);
  xmlNode* signed_info = p.value_node_->prev;
  auto bytes = dsig::c14n_subtree(doc.get(), signed_info, *dsig::find_c14n(dsig::kExcC14n));
  if (!bytes.ok()) return bytes.error();
  p.signed_info_.assign(bytes->begin(), bytes->end());
  p.algorithm_ = options.algorithm;
  p.cert_ = cert;
  p.doc_ = std::move(doc);
  return p;
}

Result<edxml::XmlDocPtr> complete(PreparedSignature prepared, std::span<const uint8_t> signature_value,
                                  const Verifier& verifier, Verification* report) {
  auto b64 = detail::checked_value({prepared.signed_info_, prepared.algorithm_, prepared.cert_}, signature_value);
  if (!b64.ok()) return b64.error();
  xmlNodeSetContent(prepared.value_node_, X(b64->c_str()));
  Verification v = verifier.verify(prepared.doc_.get());
  if (report) *report = v;
  if (!v.valid) {
    return make_error(ErrorKind::invalid, "sign.self_check",
                      "the signed document fails our own verification: " + v.code + ": " + v.message);
  }
  return std::move(prepared.doc_);
}

SignatureAlgorithm default_algorithm(const Certificate& cert) {
  EVP_PKEY* pub = X509_get0_pubkey(cert.get());
  if (pub && EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC) {
    const int bits = EVP_PKEY_get_bits(pub);
    return bits > 384   ? SignatureAlgorithm::ecdsa_sha512
           : bits > 256 ? SignatureAlgorithm::ecdsa_sha384
                        : SignatureAlgorithm::ecdsa_sha256;
  }
  return SignatureAlgorithm::rsa_sha256;
}

Result<edxml::XmlDocPtr> sign(edxml::XmlDocPtr doc, Signer& signer, const Certificate& cert,
                              std::span<const Certificate> chain, const SignOptions& options, const Verifier& verifier,
                              Verification* report) {
  auto prepared = prepare(std::move(doc), cert, chain, options);
  if (!prepared.ok()) return prepared.error();
  auto value = signer.sign(prepared->bytes_to_sign(), prepared->algorithm());
  if (!value.ok()) return value.error();
  return complete(std::move(prepared.value()), *value, verifier, report);
}

}  // namespace edxgate::crypto
