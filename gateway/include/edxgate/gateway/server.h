// An HTTP(S) listener: Boost.Beast + Asio behind a Beast-free interface.
//
// One Server owns one listening socket, its I/O threads and a small worker
// pool where handlers run (so a slow handler, such as a token signature, never
// stalls I/O). Each connection is one session object owning its stream,
// buffer and parser; every read and write carries a deadline. Limits come from
// config::Limits:
//   headers larger than max_header_bytes        -> 431
//   body larger than max_body_bytes (or route)  -> 413 (bodies past the memory
//                                                  threshold are spooled to disk)
//   request not complete in request_timeout_s   -> 408
//   body slower than min_body_rate_bps          -> 408
//   idle keep-alive past idle_timeout_s         -> closed
//   connections past max_connections            -> 503
//   connections from one address past max_connections_per_client -> 429
//   malformed request (bad chunk, bad header)   -> 400
// Every error is application/problem+json and closes the connection; other
// connections are unaffected.
//
// TLS: 1.2 and 1.3 only; for 1.2 only ECDHE key exchange with AEAD ciphers.
// When client_ca is set, a client certificate is requested and, if sent, must
// chain to it (else the handshake fails); the caller is then matched against
// `clients` by sha256 fingerprint or RFC 2253 subject. A caller without a
// certificate or without a match has no role (see router.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "edxgate/base/result.h"
#include "edxgate/config/config.h"
#include "edxgate/base/metrics.h"
#include "edxgate/gateway/router.h"

namespace edxgate::gateway {

struct ListenerOptions {
  std::string name = "internal";  // metrics label and log name
  std::string listen;             // "HOST:PORT"; port 0 picks a free port
  bool tls = true;
  std::string tls_cert;   // PEM chain
  std::string tls_key;    // PEM key
  std::string client_ca;  // PEM bundle; "" = no client certificates asked
  config::Limits limits;
  std::vector<config::Client> clients;
  std::string spool_dir = "/tmp";       // where large bodies are spooled
  uint64_t memory_body_bytes = 256 * 1024;
  unsigned io_threads = 1;
  unsigned worker_threads = 2;
};

// The HTTP metric families, registered once and shared by every listener.
struct HttpMetrics {
  explicit HttpMetrics(MetricsRegistry& r);
  Counter& requests;      // {listener, route, method, status}
  Histogram& latency;     // {listener, route}
  Gauge& connections;     // {listener}
  Counter& refused;       // {listener, reason}: connections refused or cut
};

// Maps a TLS peer certificate (DER) to a caller. Exposed for tests.
Caller identify_certificate(const unsigned char* der, size_t der_len,
                            const std::vector<config::Client>& clients);

class Server {
 public:
  // Binds, starts the I/O threads and begins accepting.
  static Result<std::unique_ptr<Server>> start(ListenerOptions options,
                                               std::shared_ptr<const Router> router,
                                               HttpMetrics* metrics);
  ~Server();  // stop(0) if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // "HOST:PORT" actually bound (with the real port when 0 was asked).
  std::string local_address() const;
  uint16_t port() const;
  // Open connections (including ones being refused).
  size_t connections() const;

  // Graceful stop: stop accepting, close idle connections, let requests in
  // flight finish for up to `grace`, then cut the rest. Idempotent; blocks
  // until every thread has ended.
  void stop(std::chrono::milliseconds grace);

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace edxgate::gateway
