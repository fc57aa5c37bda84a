// The axis transport: the one seam between the workflow engine and the
// national interconnection axis.
//
// The engine only ever calls AxisTransport; the real protocol (VDXP, see
// vdxp.h and shared/EDXML.md) lives in one adapter, make_vdxp_transport, so
// protocol details can be adjusted in one place. Every call is synchronous
// and bounded by the adapter's timeout; failures are values (codes under
// "axis."), never an empty success: an answer that cannot be parsed is an
// error.
//
// The adapter speaks the VXP SDK's dialect exactly (vdxp.h): every call signs
// timestamp, systemid and Content-Type before its own parameters;
//   sendEdoc             from, servicetype=eDoc, messagetype, hash-file; the
//                        body is the file followed by CRLF (no `to`: the axis
//                        routes by the envelope's To)
//   getReceivedEdocList  servicetype=eDoc, messagetype; empty body
//   getEdoc              docId; body {}
//   updateStatus         status, docId; body {}
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
#include <vector>

#include "edxgate/base/result.h"
#include "edxgate/base/secret.h"
#include "edxgate/gateway/https_client.h"

namespace edxgate::gateway {

// sendEdoc message types: the SDK knows only these two. A revocation, update
// or replacement is sent as edoc; its kind is the envelope's
// Bussiness/BussinessDocType (1 revoke, 2 update, 3 replace).
enum class AxisMessageType { edoc, status };
std::string_view axis_message_type_name(AxisMessageType t);

// updateStatus values for a received item (callers of the SDK use
// processing, done and fail; the others appear in no caller).
enum class AxisItemStatus { inbox, acceptance, rejection, processing, done, fail };
std::string_view axis_item_status_name(AxisItemStatus s);

// One entry of getReceivedEdocList. Fields the axis leaves out are "".
struct AxisReceivedItem {
  std::string doc_id;
  std::string service_type;
  std::string message_type;
  std::string created_time;
  std::string updated_time;
  std::string from;
  std::string to;
  std::string status;
  std::string status_desc;
};

struct AxisListQuery {
  AxisMessageType message_type = AxisMessageType::edoc;
  // Paging, signed as pageIndex/pageSize only when not 0. The SDK's callers
  // send none; the axis then answers its default page.
  uint32_t page_index = 0;
  uint32_t page_size = 0;
};

class AxisTransport {
 public:
  virtual ~AxisTransport() = default;
  // Sends an edXML envelope file addressed to `to` (the organ ids of its To,
  // at least one); returns the axis' id for it (axis.refused with the axis'
  // reason when refused). The axis routes by the envelope's own To, so the
  // VDXP adapter does not put `to` on the wire.
  virtual Result<std::string> send_envelope(const std::string& envelope_file, const std::vector<std::string>& to,
                                            AxisMessageType type) = 0;
  // Sends a status message (an edXML file) about a document of the organ ids
  // in `to` (the axis routes it by the message's ResponseFor).
  virtual Result<std::string> send_status(const std::string& status_file, const std::vector<std::string>& to) = 0;
  // Lists what the axis holds for us.
  virtual Result<std::vector<AxisReceivedItem>> list_received(const AxisListQuery& query) = 0;
  // Fetches one item's edXML file into dest_file (streamed, never whole in memory).
  virtual Status get(const std::string& doc_id, const std::string& dest_file) = 0;
  // Marks a received item.
  virtual Status update_status(const std::string& doc_id, AxisItemStatus status) = 0;
};

struct VdxpOptions {
  std::string endpoint;   // https://... base URL; calls go to {endpoint}/<name>
  std::string organ_id;   // ours, registered for system_id (sent as `from` with sendEdoc)
  std::string system_id;
  std::shared_ptr<const SecretString> secret;
  ClientOptions client;   // TLS and the per-call timeout
  uint64_t max_envelope_bytes = 512ull * 1024 * 1024;
  std::string spool_dir = "/tmp";  // getEdoc answers are spooled here before decoding
};

Result<std::unique_ptr<AxisTransport>> make_vdxp_transport(VdxpOptions options);

// Parses a VDXP JSON answer that carries `status`/`ErrorCode`/`ErrorDesc`:
// OK only for status "OK" with ErrorCode 0 (exposed for tests).
Status check_vdxp_answer(const json::bj::value& answer);

}  // namespace edxgate::gateway
