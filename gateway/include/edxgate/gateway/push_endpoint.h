// Our own axis endpoint for deployments where the axis pushes deliveries:
// POST /vdxp/sendEdoc (role axis), speaking the same VDXP protocol as the
// axis (signed XroadVnpt- headers, body = the raw edXML file).
//
// A delivery is accepted only when its HMAC (keyed with our system's secret)
// matches the received sign-header text, its timestamp is inside the replay
// window and its MAC is new, and the body's SHA-256 equals the signed
// `hash-file`. It is then handed to an IncomingSink, which must make it
// durable before returning; only then is OK answered. The workflow engine
// will be the production sink; SpoolSink is the durable default.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "edxgate/base/result.h"
#include "edxgate/base/secret.h"
#include "edxgate/gateway/router.h"
#include "edxgate/gateway/vdxp.h"

namespace edxgate::gateway {

struct IncomingDelivery {
  std::string file;          // the envelope, in a spool file the sink may rename
  uint64_t size = 0;
  std::string message_type;  // edoc | replacement | revocation | update | status
  std::string from;          // sender organ id as signed by the axis ("" if absent)
  std::string system_id;
};

class IncomingSink {
 public:
  virtual ~IncomingSink() = default;
  // Stores the delivery durably and returns its id. The same bytes delivered
  // twice must give the same id and be stored once.
  virtual Result<std::string> accept(IncomingDelivery& delivery) = 0;
};

// Stores envelopes as <dir>/<sha256>.edxml with a <sha256>.json sidecar, each
// fsync'd and renamed into place; the id is the SHA-256 hex.
class SpoolSink final : public IncomingSink {
 public:
  explicit SpoolSink(std::string dir) : dir_(std::move(dir)) {}
  Result<std::string> accept(IncomingDelivery& delivery) override;

 private:
  std::string dir_;
};

struct PushEndpointOptions {
  std::string system_id;
  std::shared_ptr<const SecretString> secret;
  std::chrono::seconds replay_window{300};
  uint64_t max_envelope_bytes = 512ull * 1024 * 1024;
  std::string spool_dir;  // where a small in-memory body is written before the sink
};

class PushEndpoint {
 public:
  PushEndpoint(PushEndpointOptions options, IncomingSink& sink);
  // Adds POST /vdxp/sendEdoc for role axis. `this` must outlive the router.
  void add_routes(Router& router);
  Response handle(Request& req);

 private:
  PushEndpointOptions opt_;
  IncomingSink& sink_;
  vdxp::ReplayGuard guard_;
};

// The VDXP answer shape: {"status":"OK"|"FAIL","ErrorCode":..,"ErrorDesc":..[,"DocId":..]}.
Response vdxp_answer(unsigned http_status, std::string_view error_code, std::string_view desc,
                     std::string_view doc_id = "");

}  // namespace edxgate::gateway
