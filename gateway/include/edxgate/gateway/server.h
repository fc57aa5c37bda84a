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
//   TLS handshake not done handshake_timeout_s after accept -> closed
//   no request started idle_timeout_s after accept (the first request) or
//     after the previous response (keep-alive) -> closed (408 if it had begun)
//   connections past max_connections            -> a slot is reclaimed (below);
//                                                  503 only if none can be
//   connections from one address past max_connections_per_client -> 429
//   malformed request (bad chunk, bad header)   -> 400
// Every error is application/problem+json and closes the connection; other
// connections are unaffected.
//
// Slots. max_connections bounds the connections a listener holds (and so its
// memory and descriptors), but a full listener does not turn newcomers away:
// the newcomer takes the slot of the connection that is worth least, closing
// it at once. In that order, oldest first within each kind:
//   1. connected a second ago or more, and never sent a byte (no ClientHello);
//   2. not authenticated and no request in progress (handshake done without a
//      certificate of a configured client, or a client that is not one of
//      `authenticated_roles`), and connections already closing;
//   3. connected less than a second ago, not a byte yet (a real client's
//      ClientHello may be on its way);
//   4. TLS handshake in progress;
//   5. not authenticated, request in progress;
//   6. authenticated, idle between keep-alive requests (or before its first).
// An authenticated client with a request in progress is never evicted; only
// when every slot holds one is the newcomer answered 503 (after its handshake;
// past 64 such refusals at once it is closed without an answer). So a flood
// of idle or certificate-less connections, from any number of addresses,
// cannot lock out a client with its certificate: it costs the flood its own
// connections. Evictions are counted in edxgate_http_connections_refused_total
// with the reasons evicted_silent, evicted_unauthenticated, evicted_closing,
// evicted_handshake, evicted_idle; load() reports the saturation for /readyz.
// Memory per connection before a route admits its caller: the TLS engine's
// buffers and the header parser's (bounded by max_header_bytes), no body buffer.
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

#include "edxgate/base/metrics.h"
#include "edxgate/base/result.h"
#include "edxgate/config/config.h"
#include "edxgate/gateway/router.h"

struct x509_st;  // OpenSSL's X509

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
  // The roles that count as authenticated on this listener when a slot is
  // reclaimed (the axis listener: only the axis); empty = any configured client.
  std::vector<config::Role> authenticated_roles;
  std::string spool_dir = "/tmp";  // where large bodies are spooled
  uint64_t memory_body_bytes = 256 * 1024;
  unsigned io_threads = 1;
  unsigned worker_threads = 2;
};

// The HTTP metric families, registered once and shared by every listener.
struct HttpMetrics {
  explicit HttpMetrics(MetricsRegistry& r);
  Counter& requests;   // {listener, route, method, status}
  Histogram& latency;  // {listener, route}
  Gauge& connections;  // {listener}
  Counter& refused;    // {listener, reason}: connections refused or cut
};

// How full a listener is: a snapshot for /readyz (see health.h) and tests.
struct ListenerLoad {
  std::string name;                  // ListenerOptions::name
  size_t open = 0;                   // connections holding a slot
  size_t max = 0;                    // limits.max_connections
  uint64_t evicted_last_minute = 0;  // slots reclaimed from other connections
  uint64_t refused_last_minute = 0;  // newcomers refused: every slot was serving a request
  // At the cap now, or a slot reclaimed or refused in the last few seconds
  // (so a flood that keeps the listener just under its cap still shows).
  bool saturated = false;
};

// Maps a TLS peer certificate (OpenSSL's X509, as the handshake left it) to a
// caller.
Caller identify_certificate(const x509_st* cert, const std::vector<config::Client>& clients);

class Server {
 public:
  // Binds, starts the I/O threads and begins accepting.
  static Result<std::unique_ptr<Server>> start(ListenerOptions options, std::shared_ptr<const Router> router,
                                               HttpMetrics* metrics);
  ~Server();  // stop(0) if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // "HOST:PORT" actually bound (with the real port when 0 was asked).
  std::string local_address() const;
  uint16_t port() const;
  // Open connections (including ones being refused).
  size_t connections() const;
  // Thread-safe; valid also after stop().
  ListenerLoad load() const;

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
