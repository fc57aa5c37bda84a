// Chain building, key usage and revocation (validate_chain).
#include <openssl/err.h>

#include <set>

#include "edxgate/base/log.h"
#include "edxgate/base/ossl.h"
#include "edxgate/crypto/revocation.h"
#include "edxgate/crypto/x509.h"

namespace edxgate::crypto {

namespace {

// Per-verification state the verify callback records into.
struct RevocationPass {
  bool at_given = false;
  std::set<int> unknown_depths;  // certificates with no usable CRL
};

// During the revocation pass, a missing/stale CRL is not a chain failure: it
// marks that certificate's status unknown, for OCSP or the failure mode.
int revocation_callback(int ok, X509_STORE_CTX* ctx) {
  if (ok) return 1;
  auto* pass = static_cast<RevocationPass*>(X509_STORE_CTX_get_app_data(ctx));
  int err = X509_STORE_CTX_get_error(ctx);
  int depth = X509_STORE_CTX_get_error_depth(ctx);
  switch (err) {
    case X509_V_ERR_CRL_NOT_YET_VALID:
      // Validating at a past time against today's CRL: the CRL still says
      // whether the certificate is revoked (a later revocation counts).
      if (pass->at_given) return 1;
      pass->unknown_depths.insert(depth);
      return 1;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
      pass->unknown_depths.insert(depth);
      return 1;
    default:
      return 0;
  }
}

Error chain_error(int err, int depth, X509* cert) {
  std::string who =
      depth == 0 ? "the signer certificate" : "a certificate of the chain (depth " + std::to_string(depth) + ")";
  std::string subject = cert ? Certificate::adopt(ossl::share(cert).release()).subject() : "";
  std::string detail = X509_verify_cert_error_string(err);
  std::string tail = subject.empty() ? "" : " [" + subject + "]";
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return make_error(ErrorKind::invalid, "cert.expired", who + " has expired at the validation time" + tail);
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return make_error(ErrorKind::invalid, "cert.not_yet_valid",
                        who + " is not yet valid at the validation time" + tail);
    case X509_V_ERR_CERT_REVOKED:
      return make_error(ErrorKind::invalid, "cert.revoked", who + " is revoked" + tail);
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return make_error(ErrorKind::invalid, "cert.untrusted",
                        who + " does not chain to a configured trust anchor (" + detail + ")" + tail);
    default:
      return make_error(ErrorKind::invalid, "cert.chain", who + " failed chain validation: " + detail + tail);
  }
}

struct ChainInputs {
  ossl::X509StorePtr store;
  ossl::X509StackPtr untrusted;
};

ChainInputs make_inputs(std::span<const Certificate> extra, const TrustStore& trust) {
  ChainInputs in{ossl::X509StorePtr(X509_STORE_new()), ossl::X509StackPtr(sk_X509_new_null())};
  for (const auto& a : trust.anchors()) X509_STORE_add_cert(in.store.get(), a.get());
  auto push = [&](const Certificate& c) { sk_X509_push(in.untrusted.get(), ossl::share(c.get()).release()); };
  for (const auto& c : trust.intermediates()) push(c);
  for (const auto& c : extra) push(c);
  return in;
}

// One X509_verify_cert run. `crls` non-null = revocation pass.
int run_verify(const ChainInputs& in, X509* leaf, time_t at, STACK_OF(X509_CRL) * crls, RevocationPass* pass,
               ossl::X509StoreCtxPtr& ctx_out) {
  ossl::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), in.store.get(), leaf, in.untrusted.get()) != 1) return -1;
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  unsigned long flags = X509_V_FLAG_X509_STRICT | X509_V_FLAG_PARTIAL_CHAIN;
  if (crls) {
    flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL | X509_V_FLAG_EXTENDED_CRL_SUPPORT;
    X509_STORE_CTX_set0_crls(ctx.get(), crls);
    X509_STORE_CTX_set_app_data(ctx.get(), pass);
    X509_STORE_CTX_set_verify_cb(ctx.get(), revocation_callback);
  }
  X509_VERIFY_PARAM_set_flags(param, flags);
  X509_VERIFY_PARAM_set_time(param, at);
  int rc = X509_verify_cert(ctx.get());
  ERR_clear_error();
  ctx_out = std::move(ctx);
  return rc;
}

Status check_signing_usage(const Certificate& leaf) {
  X509* x = leaf.get();
  if (X509_check_ca(x) != 0) {
    return make_error(ErrorKind::invalid, "cert.usage",
                      "the signer certificate is a CA certificate, not an end-entity one");
  }
  uint32_t ku = X509_get_key_usage(x);
  if (!(X509_get_extension_flags(x) & EXFLAG_KUSAGE)) {
    return make_error(ErrorKind::invalid, "cert.usage",
                      "the signer certificate has no key usage extension; "
                      "digitalSignature or nonRepudiation is required");
  }
  if (!(ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION))) {
    return make_error(ErrorKind::invalid, "cert.usage",
                      "the signer certificate's key usage allows neither "
                      "digitalSignature nor nonRepudiation");
  }
  return {};
}

ossl::CrlStackPtr crl_stack(const std::vector<Crl>& crls) {
  ossl::CrlStackPtr st(sk_X509_CRL_new_null());
  for (const auto& c : crls) {
    X509_CRL_up_ref(c.get());
    sk_X509_CRL_push(st.get(), c.get());
  }
  return st;
}

// Runs the revocation pass with `crls`; returns the depths still unknown.
Result<std::set<int>> crl_pass(const ChainInputs& in, const Certificate& leaf, time_t at, bool at_given,
                               const std::vector<Crl>& crls) {
  auto stack = crl_stack(crls);
  RevocationPass pass{at_given, {}};
  ossl::X509StoreCtxPtr ctx;
  int rc = run_verify(in, leaf.get(), at, stack.get(), &pass, ctx);
  if (rc != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    return chain_error(err, depth, X509_STORE_CTX_get_current_cert(ctx.get()));
  }
  return pass.unknown_depths;
}

}  // namespace

Result<ValidatedChain> validate_chain(const Certificate& leaf, std::span<const Certificate> extra,
                                      const TrustStore& trust, const ChainOptions& options, RevocationSource* online) {
  const time_t at = options.at.value_or(time(nullptr));
  ChainInputs in = make_inputs(extra, trust);
  ossl::X509StoreCtxPtr ctx;
  if (run_verify(in, leaf.get(), at, nullptr, nullptr, ctx) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    return chain_error(err, X509_STORE_CTX_get_error_depth(ctx.get()), X509_STORE_CTX_get_current_cert(ctx.get()));
  }
  ValidatedChain out;
  {
    ossl::X509StackPtr chain(X509_STORE_CTX_get1_chain(ctx.get()));
    for (int i = 0; i < sk_X509_num(chain.get()); ++i) {
      out.chain.push_back(Certificate::adopt(ossl::share(sk_X509_value(chain.get(), i)).release()));
    }
  }
  if (options.require_signing_usage) EDX_TRY(check_signing_usage(leaf));
  if (options.revocation == RevocationMode::off) return out;

  // Revocation: configured CRLs first, then fetched ones, then OCSP. The
  // anchor (last in the chain) is trusted as configured and not checked.
  const int anchor_depth = static_cast<int>(out.chain.size()) - 1;
  std::vector<Crl> crls = trust.crls();
  auto unknown = crl_pass(in, leaf, at, options.at.has_value(), crls);
  if (!unknown.ok()) return unknown.error();
  unknown->erase(anchor_depth);
  if (!unknown->empty() && online && online->options().fetch_crl) {
    for (int d : *unknown) {
      for (auto& c : online->crls_for(out.chain[static_cast<size_t>(d)])) crls.push_back(std::move(c));
    }
    unknown = crl_pass(in, leaf, at, options.at.has_value(), crls);
    if (!unknown.ok()) return unknown.error();
    unknown->erase(anchor_depth);
  }
  if (!unknown->empty() && online && online->options().ocsp) {
    for (auto it = unknown->begin(); it != unknown->end();) {
      size_t d = static_cast<size_t>(*it);
      auto st = online->ocsp_status(out.chain[d], out.chain[d + 1], at);
      if (st == RevocationStatus::revoked) {
        return make_error(ErrorKind::invalid, "cert.revoked",
                          (d == 0 ? std::string("the signer certificate") : "a certificate of the chain") +
                              " is revoked according to its OCSP responder [" + out.chain[d].subject() + "]");
      }
      it = st == RevocationStatus::good ? unknown->erase(it) : std::next(it);
    }
  }
  for (int d : *unknown) {
    std::string what = "the revocation status of " +
                       (d == 0 ? std::string("the signer certificate") : "a certificate of the chain") + " [" +
                       out.chain[static_cast<size_t>(d)].subject() + "] could not be determined";
    if (options.revocation == RevocationMode::hard) {
      return make_error(ErrorKind::unavailable, "revocation.unavailable",
                        what + " (no current CRL or OCSP answer; revocation mode is hard)");
    }
    out.warnings.push_back(what + " (soft fail)");
    log::warn("revocation status unavailable, accepted (soft fail)",
              {{"subject", out.chain[static_cast<size_t>(d)].subject()}});
  }
  return out;
}

}  // namespace edxgate::crypto
