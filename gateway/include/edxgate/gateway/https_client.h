// A small blocking HTTP(S) client for the axis adapter, the simulator's push
// and the tests: one connection per call, a deadline on the whole exchange,
// TLS 1.2+ with the server verified against a CA bundle and its name (or IP),
// optional client certificate. Response bodies are bounded and can be
// streamed straight to a file. Beast stays inside https_client.cc.
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
};

struct ClientRequest {
  std::string method = "POST";
  std::string path;  // appended to the base URL's path
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type;
  std::string body;              // sent when body_file is empty
  std::string body_file;         // streamed from this file when set
  std::string body_file_suffix;  // sent after body_file's bytes (the axis SDK's CRLF after a file)
};

struct ClientResponse {
  unsigned status = 0;
  Headers headers;
  std::string body;  // empty when the body went to a file
};

// Immutable after create(); send() may be called from several threads.
class HttpsClient {
 public:
  // base_url: "https://HOST:PORT[/prefix]" (or "http://" for loopback tests).
  static Result<HttpsClient> create(const std::string& base_url, ClientOptions options);

  // Error codes: client.connect, client.tls, client.timeout, client.io,
  // client.too_large, client.malformed.
  Result<ClientResponse> send(const ClientRequest& request, const std::string& response_file = "") const;

  const std::string& host() const;
  struct Impl;

 private:
  explicit HttpsClient(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace edxgate::gateway
