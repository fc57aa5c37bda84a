// The web console of officers and leaders, served by edxgated on the internal
// listener under /console/, and the officers' summary behind it.
//
// The console holds no data of its own and no access rule of its own: every
// page is rendered from the JSON of the internal API's routes, called through
// the same Router with the caller's own identity (so a page shows only what
// that caller could read with curl), and every action its JavaScript takes is
// a fetch() of an API route. Officers get a dashboard (GET /v1/summary),
// document lists and document pages; leaders get the documents awaiting their
// signature and sign them with their PIN (POST /v1/outgoing/{id}/sign).
// Systems and the axis get 403 on every console path, assets included.
//
// Pages are server-rendered HTML (UTF-8, NFC, every value escaped); the CSS,
// the script and the icon are compiled into the binary (gateway/console/).
// Every console response carries a strict Content-Security-Policy (no inline
// script or style), X-Frame-Options DENY and Cache-Control no-store.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "edxgate/base/json.h"
#include "edxgate/base/mutex.h"
#include "edxgate/base/result.h"
#include "edxgate/config/config.h"
#include "edxgate/crypto/x509.h"
#include "edxgate/gateway/health.h"
#include "edxgate/gateway/router.h"
#include "edxgate/store/store.h"

namespace edxgate::gateway {

// The Content-Security-Policy of every console response.
inline constexpr const char* kConsoleCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

// Adds GET /console, /console/, /console/outgoing, /console/incoming,
// /console/outgoing/{id}, /console/incoming/{id} and /console/assets/{name}
// (roles officer and leader). The pages call the routes already in `router`
// (add_api_routes first). REQUIRES: `router` outlives its routes' use, as the
// server's shared Router does.
void add_console_routes(Router& router);

// A certificate whose expiry officers watch, and where it comes from.
struct WatchedCertificate {
  std::string role;    // signing | trust_anchor | intermediate | tls_server | client_ca | axis_client
  std::string source;  // the configured file or key URI
  crypto::Certificate certificate;
};

// The certificates of a configuration: the signing certificate (when the
// key provider knows it), the trust anchors and intermediates of [trust], the
// listener's TLS certificate, the client CA, the TLS client certificate
// towards the axis. A file that cannot be read is left out (the daemon checks
// the ones it needs when it starts).
std::vector<WatchedCertificate> watched_certificates(const config::Config& cfg,
                                                     const std::optional<crypto::Certificate>& signing);

// GET /v1/summary for officers: documents by direction and state, the
// outbox (depth, oldest item, the first pending items with their last error),
// quarantined documents with their reason codes, the readiness checks (store,
// token, axis, trust), the watched certificates with days to expiry, and the
// last audit rows with the verification of the whole audit chain.
//
// Walking the chain costs time in proportion to its length, so its result is
// kept for `audit_check_ttl` (0: checked on every call); concurrent callers
// share one walk. Thread-safe. `store` and `readiness` (may be null) must
// outlive it.
class OperatorSummary {
 public:
  OperatorSummary(store::Store& store, const Readiness* readiness, std::vector<WatchedCertificate> certificates,
                  std::chrono::seconds audit_check_ttl = std::chrono::seconds(60));
  Result<json::bj::object> build();

  static constexpr uint32_t kOutboxItems = 10;
  static constexpr uint32_t kQuarantined = 20;
  static constexpr uint32_t kAuditRows = 20;

 private:
  Result<store::AuditCheck> audit_check(int64_t now_ms, int64_t& checked_ms) EXCLUDES(audit_mu_);

  store::Store& store_;
  const Readiness* readiness_;
  std::vector<WatchedCertificate> certificates_;
  std::chrono::seconds audit_ttl_;
  Mutex audit_mu_;  // one audit chain check at a time; its result cached
  std::optional<store::AuditCheck> audit_ GUARDED_BY(audit_mu_);
  int64_t audit_checked_ms_ GUARDED_BY(audit_mu_) = 0;
};

}  // namespace edxgate::gateway
