// The VDXP adapter: the workflow engine's AxisTransport
// (workflow/transport.h) over HTTPS in the national axis' protocol (vdxp.h,
// shared/EDXML.md), kept in this one place.
//
// The adapter speaks the VXP SDK's dialect exactly (vdxp.h): every call signs
// timestamp, systemid and Content-Type before its own parameters;
//   sendEdoc             from, servicetype=eDoc, messagetype, hash-file; the
//                        body is the file followed by CRLF (no `to`: the axis
//                        routes by the envelope's To)
//   getReceivedEdocList  servicetype=eDoc, messagetype; empty body
//   getEdoc              docId; body {}
//   updateStatus         status, docId; body {}
//   getAgenciesList      no parameters; empty body (the SDK's path: not
//                        "getAgencyList"); answer data[] of code, id, name,
//                        pid, mail, oldCode
// An answer is read on HTTP 200 or 201. Unlike the SDK, which fixes one
// timestamp for its whole process life, the adapter signs a fresh timestamp
// per call: the axis accepts any age (it must, for the SDK), a peer that does
// check freshness (our own push endpoint with a window) accepts ours, and a
// captured request of ours is never older than such a window.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "edxgate/base/json.h"
#include "edxgate/base/result.h"
#include "edxgate/base/secret.h"
#include "edxgate/gateway/https_client.h"
#include "edxgate/workflow/transport.h"

namespace edxgate::gateway {

using workflow::AxisAgency;
using workflow::AxisDirectoryLimits;
using workflow::AxisItemStatus;
using workflow::AxisListQuery;
using workflow::AxisMessageType;
using workflow::AxisReceivedItem;
using workflow::AxisTransport;

// The wire names of the transport's enums (messagetype, updateStatus status).
std::string_view axis_message_type_name(AxisMessageType t);
std::string_view axis_item_status_name(AxisItemStatus s);

struct VdxpOptions {
  std::string endpoint;  // https://... base URL; calls go to {endpoint}/<name>
  std::string organ_id;  // ours, registered for system_id (sent as `from` with sendEdoc)
  std::string system_id;
  std::shared_ptr<const SecretString> secret;
  ClientOptions client;  // TLS and the per-call timeout
  uint64_t max_envelope_bytes = 512ull * 1024 * 1024;
  std::string spool_dir = "/tmp";  // getEdoc answers are spooled here before decoding
};

Result<std::unique_ptr<AxisTransport>> make_vdxp_transport(VdxpOptions options);

// Parses a VDXP JSON answer that carries `status`/`ErrorCode`/`ErrorDesc`:
// OK only for status "OK" with ErrorCode 0 (exposed for tests).
Status check_vdxp_answer(const json::bj::value& answer);

}  // namespace edxgate::gateway
