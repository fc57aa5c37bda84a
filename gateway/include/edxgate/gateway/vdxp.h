// The axis (VDXP) request-authentication encodings, kept in one place.
//
// Every axis call carries its parameters as `XroadVnpt-<key>` headers and is
// authenticated by an HMAC over a JSON text of those headers, exactly as the
// Government Office's VXP Java SDK builds them (shared/EDXML.md, "The axis
// (VDXP) protocol"):
//   XroadVnpt-sign-header-key  the signed names, BARE (no XroadVnpt- prefix),
//                              joined by ';', in the SDK's order: timestamp,
//                              systemid, Content-Type, then the call's params;
//   XroadVnpt-sign-header      {"XroadVnpt-<name>":"<value>",...} in that order;
//   XroadVnpt-hash-header      lower-case hex HMAC-SHA256(secret, sign-header).
// `Content-Type` is a signed parameter: sent as the plain header and as
// XroadVnpt-Content-Type. The SDK fixes `timestamp` once per process and
// reuses it for every call, so identical calls carry byte-identical headers:
// a receiver must not refuse old timestamps or repeated headers by default
// (replay protection is by idempotent delivery instead, see push_endpoint.h).
//
// This header is the single source of those facts for both sides: the client
// (VdxpTransport, the simulator's push) builds headers with sign(); the
// receiving side (the simulator, our push endpoint) checks them with
// verify(). Nothing here does I/O except the functions that read a file.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
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
// The signed Content-Type: the file of sendEdoc, JSON for every other call.
inline constexpr std::string_view kContentTypeFile = "application/octet-stream";
inline constexpr std::string_view kContentTypeJson = "application/json";
// The SDK sends a sendEdoc file followed by these bytes; hash-file covers the
// file without them.
inline constexpr std::string_view kFileTrailer = "\r\n";
// The zone the `timestamp` header is written in. The SDK writes the JVM's local
// time, which on the axis' side is Vietnam (UTC+7, no DST). (unsure: one place.)
inline constexpr int kTimestampUtcOffsetMinutes = 7 * 60;

// One header as it goes on the wire.
struct Header {
  std::string name;
  std::string value;
};

// A call's own parameters, bare names in the order they are signed.
using Params = std::vector<std::pair<std::string, std::string>>;

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

// The full header set of one call, as the SDK sends it: the plain
// Content-Type; XroadVnpt-timestamp, -systemid, -Content-Type and one
// XroadVnpt-<key> per `params` entry (bare keys, e.g. {"docId", "42"}), in
// that order; then sign-header-key (bare names), sign-header, hash-header,
// User-Agent and XroadVnpt-version. Only what is passed is signed (the SDK's
// accumulation of keys across calls is not copied). Fails (vdxp.param) on a
// key or value that could not travel as a header, or a key given twice.
Result<std::vector<Header>> sign(const Params& params, std::string_view content_type, std::string_view system_id,
                                 const SecretString& secret, Clock::time_point timestamp);

// What a verified call says: the system that made it and its signed
// parameters (bare names as signed, e.g. "docId", "Content-Type").
struct VerifiedCall {
  std::string system_id;
  std::map<std::string, std::string> params;
  Clock::time_point timestamp;
  // The signed value of `name` (compared case-insensitively); "" when unsigned.
  std::string param(std::string_view name) const;
};

struct VerifyOptions {
  // Largest accepted distance between a call's signed timestamp and now.
  // 0 (the default) checks no freshness: the SDK signs one timestamp for the
  // life of its process, so any window refuses long-running real clients.
  std::chrono::seconds timestamp_window{0};
};

// Looks a header up by name (case-insensitively); nullopt when absent. Must
// fail closed (return nullopt) for a header sent more than once.
using HeaderLookup = std::function<std::optional<std::string>(std::string_view name)>;
// The secret of a registered system, or nullptr when the system is unknown.
using SecretLookup = std::function<const SecretString*(std::string_view system_id)>;

// Checks one received call from its headers alone (so a large body need not
// be read first): sign-header-key lists distinct names, bare or (older
// peers) XroadVnpt-prefixed; sign-header holds exactly those names; the HMAC
// over the received sign-header text matches (constant-time); each signed
// value equals the header received; `systemid`, `timestamp` and every key in
// `required` are signed; the timestamp is well-formed and, when a window is
// set, within it. Repeated identical calls are NOT refused (see above).
// Error codes: vdxp.missing, vdxp.malformed, vdxp.unknown_system,
// vdxp.bad_mac, vdxp.stale.
Result<VerifiedCall> verify(const HeaderLookup& header, const SecretLookup& secret_of,
                            const std::vector<std::string>& required, const VerifyOptions& options,
                            Clock::time_point now);

// The file a sendEdoc body carries, found by its signed hash-file.
struct SentFile {
  uint64_t size = 0;       // the body's size, less the trailing CRLF when the SDK sent one
  std::string sha256_hex;  // the file's SHA-256, zero-padded lower-case hex (unambiguous)
};

// Hashes a sendEdoc body (a file, or bytes in memory) in one pass and matches
// it to `hash_file` (compared case-insensitively): the body less its trailing
// CRLF (the SDK's form) or the whole body (older peers). vdxp.hash_file when
// neither matches.
Result<SentFile> match_sent_file(const std::string& body_path, std::string_view hash_file);
Result<SentFile> match_sent_bytes(std::string_view body, std::string_view hash_file);

}  // namespace edxgate::gateway::vdxp
