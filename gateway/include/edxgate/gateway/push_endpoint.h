// Our own axis endpoint for deployments where the axis pushes deliveries:
// POST /vdxp/sendEdoc (role axis), speaking the VXP SDK's sendEdoc dialect
// (vdxp.h): signed XroadVnpt- headers whose key list is bare (or, from older
// peers, prefixed), no `to` (the envelope's To says whom it is for), the body
// = the edXML file followed by CRLF (or the file alone), and a timestamp the
// sender may reuse for its whole life.
//
// A delivery is accepted only when its HMAC (keyed with our system's secret)
// matches the received sign-header text, it signs `messagetype`, `from` and
// `hash-file`, and `hash-file` matches the body less its trailing CRLF or the
// whole body. The headers are checked before the body is read, so a wrong MAC
// costs no upload. Timestamps are not checked unless a window is configured.
// Replays are harmless instead of refused: the same file delivered again is
// the same document, stored once and answered OK with the same id (the
// sink's contract). The delivery goes to an IncomingSink, which must make it
// durable before returning; only then is OK answered. The workflow engine is
// the production sink (EngineSink); SpoolSink is a durable stand-in for tests.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "edxgate/base/result.h"
#include "edxgate/base/secret.h"
#include "edxgate/gateway/router.h"
#include "edxgate/gateway/vdxp.h"
#include "edxgate/workflow/engine.h"
#include "edxgate/workflow/incoming.h"

namespace edxgate::gateway {

using workflow::IncomingDelivery;

// Where the push endpoint hands a delivery: it stores it durably and returns
// the id answered to the axis (DocId). The same bytes delivered twice must
// give the same id and be stored once.
class IncomingSink {
 public:
  virtual ~IncomingSink() = default;
  virtual Result<std::string> accept(IncomingDelivery& delivery) = 0;
};

// The production sink: the workflow engine. The axis gets the incoming
// document's id, or "status:<id>" of the outgoing document a status message
// is about.
class EngineSink final : public IncomingSink {
 public:
  explicit EngineSink(workflow::Engine& engine) : engine_(engine) {}
  Result<std::string> accept(IncomingDelivery& delivery) override;

 private:
  workflow::Engine& engine_;
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
  // Largest accepted age (or lead) of a delivery's signed timestamp; 0 = no
  // check (the default: SDK-style senders reuse one timestamp for life).
  std::chrono::seconds timestamp_window{0};
  uint64_t max_envelope_bytes = 512ull * 1024 * 1024;
  std::string spool_dir;  // where a small in-memory body is written before the sink
};

class PushEndpoint {
 public:
  PushEndpoint(PushEndpointOptions options, IncomingSink& sink);
  // Adds POST /vdxp/sendEdoc for role axis. `this` must outlive the router.
  void add_routes(Router& router);
  // The answer to a request head whose signature fails, or nullopt.
  std::optional<Response> check_head(const Request& head) const;
  Response handle(Request& req);

 private:
  Result<vdxp::VerifiedCall> authenticate(const Request& req) const;
  PushEndpointOptions opt_;
  IncomingSink& sink_;
};

// The VDXP answer shape: {"status":"OK"|"FAIL","ErrorCode":..,"ErrorDesc":..[,"DocId":..]}.
Response vdxp_answer(unsigned http_status, std::string_view error_code, std::string_view desc,
                     std::string_view doc_id = "");

}  // namespace edxgate::gateway
