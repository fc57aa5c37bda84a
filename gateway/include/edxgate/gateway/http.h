// HTTP messages as the gateway's handlers see them: plain values, no Beast.
//
// The server (server.h) parses the wire into a Request, identifies the caller
// from its TLS client certificate, and writes back the Response a handler
// returns. Keeping Boost.Beast out of this header keeps it out of every
// translation unit but the few that do I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "edxgate/base/json.h"
#include "edxgate/base/result.h"
#include "edxgate/config/config.h"

namespace edxgate::gateway {

// Header fields in arrival order. Lookups are case-insensitive.
class Headers {
 public:
  void add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }
  // The value of the only field named `name`; nullopt when absent or repeated
  // (a repeated field is ambiguous, so it never authorises anything).
  std::optional<std::string> get(std::string_view name) const;
  size_t count(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// A request body. Small bodies stay in memory; once a body passes the
// server's memory threshold it is spooled to a private file that this object
// owns and unlinks when it dies. A handler that wants to keep the bytes moves
// the file (take_file) instead of copying it.
class Body {
 public:
  Body() = default;
  ~Body();
  Body(Body&& o) noexcept;
  Body& operator=(Body&& o) noexcept;
  Body(const Body&) = delete;
  Body& operator=(const Body&) = delete;

  uint64_t size() const { return size_; }
  bool in_file() const { return !path_.empty(); }
  const std::string& memory() const { return memory_; }  // valid when !in_file()
  const std::string& path() const { return path_; }      // valid when in_file()
  // The whole body as a string, refused (http.too_large) above max_bytes.
  Result<std::string> read_all(uint64_t max_bytes) const;
  // Hands the spool file to the caller (who must then remove or rename it).
  std::string take_file();

  // Used by the server while receiving.
  Status append(const char* data, size_t n, uint64_t memory_limit, const std::string& spool_dir);
  void finish();  // closes the spool file (the bytes stay)

 private:
  void reset();
  std::string memory_;
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as received: path and query
  std::string path;    // the target up to '?'
  std::string query;   // after '?', without it
  Headers headers;
  Body body;
  std::string remote_address;
};

// Who is calling. An anonymous caller presented no client certificate (or the
// listener is plain HTTP); an unknown one presented a certificate that chains
// to the client CA but matches no [[clients]] entry. Both have no role.
struct Caller {
  std::string name;
  std::optional<config::Role> role;
  std::vector<std::string> organ_ids;  // role system: organ ids it may send as
  std::vector<std::string> sign_keys;  // role leader: token keys it may sign with ([[clients]] sign_keys)
  // role leader: "sha256:<hex>" of the certificates it may sign with remotely
  // ([[clients]] remote_signing_certs); empty: none.
  std::vector<std::string> remote_signing_certs;
  std::string subject;      // RFC 2253, "" if no certificate
  std::string fingerprint;  // "sha256:<hex>", "" if no certificate
  bool has_certificate() const { return !fingerprint.empty(); }
};

// The HTTP status for an error, from its kind: the one mapping of the
// gateway (base/result.h lists the kinds).
unsigned http_status(ErrorKind kind);

struct Response {
  unsigned status = 200;
  Headers headers;
  std::string content_type = "application/json";
  std::string body;
  std::string body_file;  // when set, the file's bytes are streamed instead of `body`
  // Fault injection (the axis simulator only): close without answering.
  bool drop_connection = false;

  static Response json(unsigned status, const json::bj::value& v);
  static Response text(unsigned status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  // RFC 9457 problem details: type "urn:edxgate:problem:<code>", the status'
  // reason phrase as title, `detail` one sentence for a person.
  static Response problem(unsigned status, std::string_view code, std::string_view detail);
  // Maps an Error to a problem response with the given status.
  static Response from_error(unsigned status, const Error& e) { return problem(status, e.code, e.message); }
};

std::string_view reason_phrase(unsigned status);

}  // namespace edxgate::gateway
