// The axis transport: the one seam between the workflow engine and the
// national interconnection axis.
//
// The engine only ever calls AxisTransport; the real protocol (VDXP, the VXP
// SDK's dialect) lives in one adapter in the gateway (gateway/axis.h,
// make_vdxp_transport), so protocol details can be adjusted in one place and
// the engine knows no HTTP. Every call is synchronous and bounded by the
// adapter's timeout; failures are values (codes under "axis."), never an empty
// success: an answer that cannot be parsed is an error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edxgate/base/result.h"

namespace edxgate::workflow {

// sendEdoc message types: the SDK knows only these two. A revocation, update
// or replacement is sent as edoc; its kind is the envelope's
// Bussiness/BussinessDocType (1 revoke, 2 update, 3 replace).
enum class AxisMessageType { edoc, status };

// updateStatus values for a received item: the ones the SDK's callers use
// (inbox, acceptance and rejection exist in the SDK but in no caller).
enum class AxisItemStatus { processing, done, fail };

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

// One entry of the axis' agency directory, as getAgenciesList names its
// fields (code, name, id, pid, mail, oldCode); absent fields are "".
struct AxisAgency {
  std::string code;  // the organ id documents are addressed to
  std::string name;
  std::string id;
  std::string pid;
  std::string mail;
  std::string old_code;
};

// Bounds of one directory fetch: an answer over either is refused whole
// (axis.too_large), never truncated.
struct AxisDirectoryLimits {
  uint64_t max_entries = 500000;
  uint64_t max_bytes = 128ull << 20;
};

// True when `e` is the axis answering that it will not take the call as it
// is (a refusal with the axis' ErrorCode, an HTTP 4xx other than 408/429, a
// call we cannot even make): sending it again unchanged cannot succeed, so
// the outbox counts these towards [axis] max_permanent_failures. Such
// errors are of kind `invalid`. Anything else (unreachable, timeout, 5xx,
// 408/429, a refusal answered with a 5xx, a malformed answer) is transient
// and retried with backoff, without a count.
inline bool is_permanent_refusal(const Error& e) {
  return e.kind == ErrorKind::invalid &&
         (e.code == "axis.refused" || e.code == "axis.rejected" || e.code == "axis.param");
}

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
  // The directory of connected agencies (getAgenciesList), whole. Transports
  // that have none answer axis.unsupported.
  virtual Result<std::vector<AxisAgency>> list_agencies(const AxisDirectoryLimits& limits) {
    (void)limits;
    return make_error(ErrorKind::unavailable, "axis.unsupported", "this axis transport serves no agency directory");
  }
};

}  // namespace edxgate::workflow
