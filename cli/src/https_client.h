// A small blocking HTTPS client for the CLI (the agent, `edxgate agencies`),
// on OpenSSL's SSL and BIO alone: the CLI does not link Boost.Beast.
//
// One connection per request, TLS 1.2 or newer, the server's certificate
// verified against the CA bundle given (--ca; else the system store) and
// against the URL's host name or IP address, mutual TLS with the caller's
// certificate and key. Every socket read and write is bounded by the timeout
// and the response by max_response_bytes. HTTP/1.1 with Connection: close;
// chunked and Content-Length answers are both read.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "edxgate/base/result.h"

namespace edxgate::cli {

struct HttpsOptions {
  std::string url;   // https://HOST:PORT[/prefix]
  std::string ca;    // PEM bundle the server must chain to ("" = the system store)
  std::string cert;  // our client certificate chain (PEM)
  std::string key;   // its private key (PEM)
  std::chrono::milliseconds timeout{60'000};
  uint64_t max_response_bytes = 64ull << 20;
};

struct HttpsReply {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// Errors: https.url (usage), https.tls (TLS setup or the server certificate
// refused), https.connect, https.io (unavailable), https.too_large,
// https.malformed (not an HTTP/1.1 answer).
Result<HttpsReply> https_request(const HttpsOptions& options, const std::string& method, const std::string& path,
                                 const std::string& content_type = "", const std::string& body = "");

// Builds an Error from an API problem answer (RFC 9457: code and detail), or
// the bare status when the body is not one.
Error problem_error(const HttpsReply& reply);

}  // namespace edxgate::cli
