// Verifier: structural policy, key policy, chain, then xmlsec1's check (the
// DOM verifier); the steps the streaming verifier shares with it.
#include "edxgate/crypto/verifier.h"

#include <libxml/parser.h>
#include <openssl/err.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/xmlsec.h>

#include <mutex>

#include "dsig.h"
#include "edxgate/base/log.h"
#include "structure.h"
#include "verify_steps.h"
#include "xmlsec_ptr.h"

namespace edxgate::crypto {

namespace {

// The sender's organ id (MessageHeader or status From/OrganId), for the
// SHA-1 exception list. Empty when absent.
std::string sender_organ_id(xmlDoc* doc) {
  xmlNode* header = dsig::find_edxml_header(doc);
  if (!header) return "";
  for (xmlNode* h = header->children; h; h = h->next) {
    if (!dsig::is_element(h, dsig::kEdxmlNs, "MessageHeader") &&
        !dsig::is_element(h, dsig::kEdxmlNs, "MessageStatus") && !dsig::is_element(h, dsig::kEdxmlNs, "Status")) {
      continue;
    }
    for (xmlNode* f = h->children; f; f = f->next) {
      if (!dsig::is_element(f, dsig::kEdxmlNs, "From")) continue;
      for (xmlNode* o = f->children; o; o = o->next) {
        if (dsig::is_element(o, dsig::kEdxmlNs, "OrganId")) return dsig::text_of(o);
      }
    }
  }
  return "";
}

Status check_weak_algorithms(xmlDoc* doc, const dsig::SignatureParts& parts, const VerifyPolicy& policy,
                             Verification& v) {
  if (!parts.method->weak && !parts.digest->weak) return {};
  const std::string sender = sender_organ_id(doc);
  const time_t at = policy.chain.at.value_or(time(nullptr));
  for (const auto& ex : policy.sha1_exceptions) {
    if (!sender.empty() && ex.sender == sender && at < ex.until) {
      v.warnings.push_back("SHA-1 accepted for sender " + sender + " under a configured exception until " +
                           format_time(ex.until));
      log::warn("SHA-1 signature accepted under exception", {{"sender", sender}, {"until", format_time(ex.until)}});
      return {};
    }
  }
  return make_error(ErrorKind::invalid, "sig.algorithm",
                    "SHA-1 (" + std::string(parts.method->weak ? parts.method->name : parts.digest->name) +
                        ") is refused; only SHA-256/384/512 are accepted");
}

std::once_flag g_init_once;
Status g_init_status;

// xmlsec's own messages go nowhere: we report through our codes.
void silent_xmlsec_errors(const char*, int, const char*, const char*, const char*, int, const char*) {}

// The cryptographic check, by xmlsec1, with the key set by us.
Status xmlsec_check(const dsig::SignatureParts& parts, EVP_PKEY* pub) {
  EDX_TRY(init_xmlsec());
  ossl::EvpPkeyPtr key_copy(pub);
  EVP_PKEY_up_ref(pub);
  xmlsec::KeyDataPtr data(xmlSecOpenSSLEvpKeyAdopt(key_copy.get()));
  if (!data) return make_error(ErrorKind::invalid, "sig.value", "the signer key cannot be used for verification");
  key_copy.release();  // now owned by data
  xmlsec::KeyPtr key(xmlSecKeyCreate());
  if (!key || xmlSecKeySetValue(key.get(), data.get()) < 0) {
    return make_error(ErrorKind::invalid, "sig.value", "the signer key cannot be used for verification");
  }
  data.release();                                        // now owned by key
  xmlsec::DSigCtxPtr ctx(xmlSecDSigCtxCreate(nullptr));  // no keys manager: nothing is resolved
  if (!ctx) return make_error(ErrorKind::invalid, "sig.value", "cannot create the signature context");
  ctx->signKey = key.release();  // owned by ctx
  ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty;
  ctx->flags |= XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
  const xmlSecTransformId c14n[] = {xmlSecTransformExclC14NId,   xmlSecTransformExclC14NWithCommentsId,
                                    xmlSecTransformInclC14NId,   xmlSecTransformInclC14NWithCommentsId,
                                    xmlSecTransformInclC14N11Id, xmlSecTransformInclC14N11WithCommentsId};
  for (auto id : c14n) {
    xmlSecDSigCtxEnableReferenceTransform(ctx.get(), id);
    xmlSecDSigCtxEnableSignatureTransform(ctx.get(), id);
  }
  xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformEnvelopedId);
  // Exactly the digest and signature methods the policy already accepted.
  xmlSecTransformId digest = xmlSecTransformIdListFindByHref(
      xmlSecTransformIdsGet(), reinterpret_cast<const xmlChar*>(std::string(parts.digest->uri).c_str()),
      xmlSecTransformUsageDigestMethod);
  xmlSecTransformId method = xmlSecTransformIdListFindByHref(
      xmlSecTransformIdsGet(), reinterpret_cast<const xmlChar*>(std::string(parts.method->uri).c_str()),
      xmlSecTransformUsageSignatureMethod);
  if (digest == xmlSecTransformIdUnknown || method == xmlSecTransformIdUnknown) {
    return make_error(ErrorKind::invalid, "sig.algorithm",
                      "the signature's algorithms are not available for verification");
  }
  xmlSecDSigCtxEnableReferenceTransform(ctx.get(), digest);
  xmlSecDSigCtxEnableSignatureTransform(ctx.get(), method);

  int rc = xmlSecDSigCtxVerify(ctx.get(), parts.signature);
  ERR_clear_error();
  if (rc < 0)
    return make_error(ErrorKind::invalid, "sig.value", "the signature could not be processed for verification");
  if (ctx->status == xmlSecDSigStatusSucceeded) return {};
  for (xmlSecSize i = 0; i < xmlSecPtrListGetSize(&ctx->signedInfoReferences); ++i) {
    auto* ref = static_cast<xmlSecDSigReferenceCtxPtr>(xmlSecPtrListGetItem(&ctx->signedInfoReferences, i));
    if (ref && ref->status != xmlSecDSigStatusSucceeded) {
      return make_error(ErrorKind::invalid, "sig.digest",
                        "the document's digest does not match: it was changed after signing");
    }
  }
  return make_error(ErrorKind::invalid, "sig.value", "the signature value does not match the signer certificate's key");
}

}  // namespace

namespace detail {

Verification reject(Verification v, const Error& e) {
  v.valid = false;
  v.code = e.code;
  v.message = e.message;
  v.kind = e.kind;
  return v;
}

std::optional<dsig::SignatureParts> check_policy(xmlDoc* doc, const Checker& c, Verification& v) {
  if (!doc || doc->intSubset || doc->extSubset) {
    v = reject(v, make_error(ErrorKind::invalid, "xml.doctype",
                             "the document has a DOCTYPE; it must come from the hardened parser"));
    return std::nullopt;
  }
  auto parts = dsig::parse_signature(doc);
  if (!parts.ok()) {
    v = reject(v, parts.error());
    return std::nullopt;
  }
  v.signature_algorithm = parts->method->name;
  v.digest_algorithm = parts->digest->name;
  v.canonicalization = parts->c14n->uri;
  v.signer = summarize(parts->leaf);
  if (auto st = check_weak_algorithms(doc, *parts, c.policy, v); !st.ok()) {
    v = reject(v, st.error());
    return std::nullopt;
  }
  EVP_PKEY* pub = X509_get0_pubkey(parts->leaf.get());
  Status key = pub ? dsig::check_key(pub, *parts->method)
                   : make_error(ErrorKind::invalid, "sig.keyinfo", "the signer certificate's public key is unreadable");
  if (!key.ok()) {
    v = reject(v, key.error());
    return std::nullopt;
  }
  if (c.policy.validate_chain) {
    auto chain = validate_chain(parts->leaf, parts->others, c.trust, c.policy.chain, c.online);
    if (!chain.ok()) {
      v = reject(v, chain.error());
      return std::nullopt;
    }
    for (const auto& cert : chain->chain) v.chain.push_back(summarize(cert));
    for (auto& w : chain->warnings) v.warnings.push_back(std::move(w));
  } else {
    v.warnings.push_back("the certificate chain was not validated (no trust configured)");
  }
  return std::move(parts.value());
}

void accept(xmlDoc* doc, Verification& v) {
  if (dsig::has_comments(doc)) {  // URI="" never covers comments
    v.warnings.push_back("the document has comments; they are not covered by the signature");
  }
  v.valid = true;
  v.code = "ok";
  v.message = "the signature is valid";
}

Verification verify_dom(xmlDoc* doc, const Checker& c) {
  Verification v;
  auto parts = check_policy(doc, c, v);
  if (!parts) return v;
  if (auto st = xmlsec_check(*parts, X509_get0_pubkey(parts->leaf.get())); !st.ok()) return reject(v, st.error());
  accept(doc, v);
  return v;
}

}  // namespace detail

Status init_xmlsec() {
  std::call_once(g_init_once, [] {
    xmlInitParser();
    if (xmlSecInit() < 0 || xmlSecCheckVersion() != 1 || xmlSecCryptoAppInit(nullptr) < 0 || xmlSecCryptoInit() < 0) {
      g_init_status = make_error(ErrorKind::internal, "xmlsec.init", "xmlsec1 could not be initialised");
      return;
    }
    xmlSecErrorsSetCallback(silent_xmlsec_errors);
  });
  return g_init_status;
}

Verifier::Verifier(TrustStore trust, VerifyPolicy policy, std::shared_ptr<RevocationSource> online)
    : trust_(std::move(trust)), policy_(std::move(policy)), online_(std::move(online)) {}

Verification Verifier::verify(xmlDoc* doc) const {
  return detail::verify_dom(doc, detail::Checker{trust_, policy_, online_.get()});
}

}  // namespace edxgate::crypto
