// A small blocking HTTP(S) client for the axis adapter, the simulator's push
// and the tests: a deadline on the whole exchange, TLS 1.2+ with the server
// verified against a CA bundle and its name (or IP), optional client
// certificate. Response bodies are bounded and can be streamed straight to a
// file. Beast stays inside https_client.cc.
//
// By default every call opens its own connection and closes it. With
// ClientOptions::keep_alive (the axis transport) a finished exchange leaves its
// connection in a small pool shared by the copies of one client (one host).
// Either way a new connection resumes the client's last TLS session when the
// server allows (an abbreviated handshake: no certificates, no signatures).
// A kept connection is reused only if the peer has not closed it meanwhile;
// when a reused connection still fails before any byte of the answer came
// back, the request is sent again once on a fresh connection only if that
// cannot deliver it twice: the request was not completely written (so the
// server cannot have acted on it) or the request says it is idempotent.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "edxgate/base/result.h"
#include "edxgate/gateway/http.h"

namespace edxgate::gateway {

struct ClientOptions {
  std::string ca_file;      // PEM bundle the server must chain to ("" = system store)
  std::string client_cert;  // PEM chain to present ("" = none)
  std::string client_key;
  std::chrono::milliseconds timeout{60'000};  // whole exchange: connect .. last byte
  uint64_t max_response_bytes = 16 * 1024 * 1024;
  // Kept-alive connections (see above). Idle connections beyond
  // max_idle_connections are closed; one idle longer than idle_timeout is
  // closed instead of reused (keep it below the server's own idle timeout).
  bool keep_alive = false;
  size_t max_idle_connections = 4;
  std::chrono::milliseconds idle_timeout{15'000};
};

struct ClientRequest {
  std::string method = "POST";
  std::string path;  // appended to the base URL's path
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type;
  std::string body;              // sent when body_file is empty
  std::string body_file;         // streamed from this file when set
  std::string body_file_suffix;  // sent after body_file's bytes (the axis SDK's CRLF after a file)
  // Sending it twice has the effect of sending it once (a read, a status
  // update): it may be re-sent when a kept-alive connection died under it
  // after it was written. GET and HEAD are idempotent whatever this says.
  bool idempotent = false;
};

// What a client did since create(), for tests and benchmarks.
struct ClientStats {
  uint64_t connections = 0;  // TCP connections opened
  uint64_t resumed = 0;      // of which the TLS handshake resumed a session
  uint64_t reused = 0;       // exchanges on a kept-alive connection
  uint64_t retried = 0;      // requests sent again on a fresh connection
};

struct ClientResponse {
  unsigned status = 0;
  Headers headers;
  std::string body;  // empty when the body went to a file
};

// Immutable after create() but for its connection pool, which is locked;
// send() may be called from several threads (each call has a connection of
// its own while it runs). Copies share the pool.
class HttpsClient {
 public:
  // base_url: "https://HOST:PORT[/prefix]" (or "http://" for loopback tests).
  static Result<HttpsClient> create(const std::string& base_url, ClientOptions options);

  // Error codes: client.connect, client.tls, client.timeout, client.io,
  // client.too_large, client.malformed.
  Result<ClientResponse> send(const ClientRequest& request, const std::string& response_file = "") const;

  const std::string& host() const;
  ClientStats stats() const;
  struct Impl;

 private:
  explicit HttpsClient(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace edxgate::gateway
