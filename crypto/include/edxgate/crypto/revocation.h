// Online revocation: CRLs fetched from a certificate's CRL distribution
// points and OCSP answers from its AIA responder, both cached.
//
// The network sits behind Fetcher so that tests serve CRLs and OCSP answers
// from a loopback server or a fake. RevocationSource is thread-safe; one
// instance is shared by every verification of a process.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edxgate/base/mutex.h"
#include "edxgate/base/result.h"
#include "edxgate/crypto/x509.h"

namespace edxgate::crypto {

// Fetches a URL: GET when `body` is empty, else POST with `content_type`.
// Returns the body of a 200 answer. Errors: "fetch.*".
class Fetcher {
 public:
  virtual ~Fetcher() = default;
  virtual Result<std::vector<uint8_t>> fetch(const std::string& url, std::string_view content_type,
                                             std::span<const uint8_t> body) = 0;
};

struct HttpFetcherOptions {
  uint32_t timeout_s = 10;                // connect + whole exchange
  uint64_t max_bytes = 32 * 1024 * 1024;  // answer body limit
};
// A plain blocking HTTP/1.1 client for http:// URLs (CRL and OCSP are signed
// objects, served over plain HTTP by design). No redirects, no proxies.
std::unique_ptr<Fetcher> make_http_fetcher(HttpFetcherOptions options = {});

struct OnlineRevocationOptions {
  bool fetch_crl = true;    // from the CRL distribution point
  bool ocsp = true;         // from the AIA OCSP responder
  uint32_t cache_s = 3600;  // upper bound on how long an answer is reused
};

enum class RevocationStatus { good, revoked, unknown };

class RevocationSource {
 public:
  RevocationSource(std::shared_ptr<Fetcher> fetcher, OnlineRevocationOptions options);

  const OnlineRevocationOptions& options() const { return options_; }

  // The CRLs found at `cert`'s distribution points (http only), from the
  // cache while fresh (min of nextUpdate and cache_s). Unreachable or
  // unparsable points are skipped (and logged).
  std::vector<Crl> crls_for(const Certificate& cert);

  // Asks `cert`'s OCSP responder. The answer must be signed by `issuer` or by
  // a responder certificate `issuer` issued for OCSP signing, and be current
  // at `at`. Anything else is `unknown`.
  RevocationStatus ocsp_status(const Certificate& cert, const Certificate& issuer, time_t at);

 private:
  struct CachedCrls {
    std::vector<Crl> crls;
    time_t expires = 0;
  };
  struct CachedOcsp {
    RevocationStatus status = RevocationStatus::unknown;
    time_t expires = 0;
  };
  std::shared_ptr<Fetcher> fetcher_;
  OnlineRevocationOptions options_;
  Mutex mu_;                                                      // guards the caches (the fetches run outside it)
  std::map<std::string, CachedCrls> crl_cache_ GUARDED_BY(mu_);   // by URL
  std::map<std::string, CachedOcsp> ocsp_cache_ GUARDED_BY(mu_);  // by issuer fingerprint + serial
};

}  // namespace edxgate::crypto
