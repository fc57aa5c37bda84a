// The axis (VDXP) request-authentication encodings, kept in one place.
//
// Every axis call carries its parameters as `XroadVnpt-<key>` headers and is
// authenticated by an HMAC over a JSON text of those headers (see
// shared/EDXML.md, "The axis (VDXP) protocol"). This header is the single
// source of those facts for both sides: the client (VdxpTransport) builds the
// headers with sign(); the receiving side (the simulator and our own push
// endpoint) checks them with verify(). Nothing here does I/O except
// hash_file_hex, which reads a file.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "edxgate/base/result.h"
#include "edxgate/base/secret.h"

namespace edxgate::gateway::vdxp {

using Clock = std::chrono::system_clock;

inline constexpr std::string_view kPrefix = "XroadVnpt-";
inline constexpr std::string_view kVersion = "3.0.201608";
inline constexpr std::string_view kUserAgent = "JAVASDKAgent/1.0.0 XRoad/VPCP";
// The zone the `timestamp` header is written in. The SDK writes the JVM's local
// time, which on the axis' side is Vietnam (UTC+7, no DST). (unsure: one place.)
inline constexpr int kTimestampUtcOffsetMinutes = 7 * 60;

// One header as it goes on the wire.
struct Header {
  std::string name;
  std::string value;
};

// Lower-case hex HMAC-SHA256 of `text` keyed with `secret`.
std::string hmac_sha256_hex(std::string_view secret, std::string_view text);
// The SDK's `hash-file`: SHA-256 written byte by byte in lower-case hex
// WITHOUT zero padding (0x0a -> "a", 0x00 -> "0").
std::string unpadded_hex(const unsigned char* digest, size_t size);
std::string hash_bytes_hex(std::string_view bytes);
Result<std::string> hash_file_hex(const std::string& path);

// `ddMMyyyy'T'HHmmss+SSSS` (the last four digits are milliseconds).
std::string format_timestamp(Clock::time_point t);
Result<Clock::time_point> parse_timestamp(std::string_view text);

// The JSON text `{"XroadVnpt-<k>":"<v>",...}` in the given order.
std::string sign_header_json(const std::vector<Header>& prefixed);

// Builds the full header set of one call, fresh each time: every `params`
// entry (key without prefix, e.g. {"docId", "42"}) plus `systemid` and
// `timestamp` as XroadVnpt- headers, then sign-header-key, sign-header,
// hash-header, version and User-Agent. Fails on a key or value that could not
// travel as a header (control characters, empty key).
Result<std::vector<Header>> sign(const std::vector<std::pair<std::string, std::string>>& params,
                                 std::string_view system_id, const SecretString& secret,
                                 Clock::time_point now);

// Remembers recently seen request MACs so a captured request cannot be
// replayed within the timestamp window. Thread-safe.
class ReplayGuard {
 public:
  explicit ReplayGuard(std::chrono::seconds window) : window_(window) {}
  std::chrono::seconds window() const { return window_; }
  // False if `mac` was already seen within the window; otherwise records it.
  bool first_use(const std::string& mac, Clock::time_point timestamp, Clock::time_point now);

 private:
  std::chrono::seconds window_;
  std::mutex mu_;
  std::map<std::string, Clock::time_point> seen_;       // mac -> timestamp
  std::multimap<Clock::time_point, std::string> order_;  // timestamp -> mac, for expiry
};

// What a verified call says: the system that made it and its signed
// parameters (keys without the prefix, as sent).
struct VerifiedCall {
  std::string system_id;
  std::map<std::string, std::string> params;
  Clock::time_point timestamp;
};

// Looks a header up by name (case-insensitively); nullopt when absent. Must
// fail closed (return nullopt) for a header sent more than once.
using HeaderLookup = std::function<std::optional<std::string>(std::string_view name)>;
// The secret of a registered system, or nullopt when the system is unknown.
using SecretLookup = std::function<const SecretString*(std::string_view system_id)>;

// Checks one received call: the signed header list names `systemid`,
// `timestamp` and every key in `required`; each signed value equals the header
// actually received; the HMAC over the received sign-header text matches
// (constant-time); the timestamp is within the replay window of `now`; and the
// MAC was not seen before. Error codes: vdxp.missing, vdxp.malformed,
// vdxp.unknown_system, vdxp.bad_mac, vdxp.stale, vdxp.replay.
Result<VerifiedCall> verify(const HeaderLookup& header, const SecretLookup& secret_of,
                            const std::vector<std::string>& required, ReplayGuard& guard,
                            Clock::time_point now);

}  // namespace edxgate::gateway::vdxp
