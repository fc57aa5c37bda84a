// The gateway's configuration: one TOML file parsed once, at start, into the
// plain structs below, then passed down explicitly. Every key has a default
// here; config/edxgate.example.toml documents each one.
//
// Secrets (PINs, the axis secret) never appear in the TOML: only the name of a
// file or of a systemd credential holding them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "edxgate/base/result.h"

namespace edxgate::config {

// [server]: the HTTPS listeners.
struct Server {
  std::string internal_listen = "127.0.0.1:8443";  // internal systems, officers, leaders
  std::string axis_listen = "";                    // push deliveries from the axis; "" = off
  std::string health_listen = "127.0.0.1:9464";    // plain HTTP, loopback only; "" = off
  std::string tls_cert;                            // PEM certificate chain of the gateway
  std::string tls_key;                             // PEM private key of the TLS certificate
  std::string client_ca;                           // PEM bundle that issues client certificates
  uint32_t shutdown_grace_s = 20;                  // in-flight requests get this long
};

// [limits]: bounds on every request; exceeding one is an HTTP error.
struct Limits {
  uint32_t max_header_bytes = 16 * 1024;
  uint64_t max_body_bytes = 512ull * 1024 * 1024;
  uint64_t max_json_bytes = 1024 * 1024;
  uint32_t request_timeout_s = 300;
  uint32_t idle_timeout_s = 30;       // no request in progress; the first one counted from accept
  uint32_t handshake_timeout_s = 10;  // TCP accept to completed TLS handshake
  uint32_t min_body_rate_bps = 4096;  // slower bodies are cut off
  // Per listener. At the cap a newcomer takes the slot of an unauthenticated
  // or idle connection; it is refused only when every slot serves a request.
  uint32_t max_connections = 512;
  uint32_t max_connections_per_client = 32;
};

// [edxml]: parser limits and format choices that the sources leave unsure.
struct Edxml {
  uint32_t max_depth = 64;
  uint64_t max_nodes = 100000;
  uint32_t max_attributes = 32;
  uint64_t max_text_bytes = 1024 * 1024;  // any text node except attachment content
  uint32_t max_attachments = 200;
  uint64_t max_attachment_bytes = 512ull * 1024 * 1024;
  uint32_t parse_timeout_s = 120;
  uint32_t max_zip_ratio = 200;  // a zipped attachment past 1 MiB: unzipped/compressed at most
  // Applied to what we send; on receive any token without spaces is accepted.
  std::string organ_id_pattern = R"(^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$)";
  std::string status_element = "MessageHeader";  // or "MessageStatus", "Status" (older peers)
};

// [store]: where the gateway keeps its state. SQLite (embedded, the default)
// or PostgreSQL (several gateways on one database, a cluster).
struct Store {
  std::string backend = "sqlite";              // "sqlite" | "postgresql"
  std::string state_dir = "/var/lib/edxgate";  // SQLite database, spool, work files
  std::string blob_dir;                        // attachments and envelopes; "" = <state_dir>/blobs
  uint32_t busy_timeout_ms = 5000;             // SQLite
  // PostgreSQL: the libpq connection string, without a password (use
  // dsn_file, or libpq's ~/.pgpass / PGPASSFILE), or a file holding the whole
  // string with its password. Exactly one of them.
  std::string dsn;
  std::string dsn_file;
  uint32_t pool_size = 8;                 // connections at most
  uint32_t statement_timeout_ms = 30000;  // every statement
  std::string node;                       // this gateway's name in a cluster; "" = host name
  // MiB: /readyz fails ("disk") while the state (and spool) or blob
  // directory has less free space than this; 0 = no check.
  uint32_t min_free_mb = 512;
};

// [hsm]: the PKCS#11 token the gateway signs with.
struct Hsm {
  std::string module = "/usr/lib/softhsm/libsofthsm2.so";
  std::string key_uri;         // RFC 7512 pkcs11: URI of the signing key
  std::string cert;            // PEM of the signing certificate (else read from the token)
  std::string chain;           // PEM of intermediates to include in KeyInfo
  std::string pin_file;        // file holding the user PIN
  std::string pin_credential;  // name under $CREDENTIALS_DIRECTORY
};

// [signing]: who signs outgoing documents (README, "Who signs").
//   "personal": each document waits in pending_signature for a leader, who
//     signs with the PIN of a token key on the gateway (POST .../sign with
//     "pin") or with a remote signing agent; the [hsm] PIN (pin_file or
//     pin_credential) is never used for a document, only for status messages.
//   "organization": the agency's key ([hsm] key_uri, its PIN from pin_file or
//     pin_credential) signs every document a system client submits, when the
//     submission is accepted; nobody signs by hand.
// Officers never sign documents, in either mode.
struct Signing {
  std::string mode = "personal";  // "personal" | "organization"
};

// [policy]: the content rules of Decision 2226/QĐ-BCT (workflow/policy.h).
struct Policy {
  // Document types refused at submission (policy.kind), compared word by word
  // ignoring case and normalisation. Unset: denunciation letters
  // (workflow::policy::default_forbidden_kinds()).
  std::optional<std::vector<std::string>> forbidden_kinds;
};

// [[trust.sha1_exception]]: a logged exception for a sender still on SHA-1.
struct Sha1Exception {
  std::string sender;  // organ id
  std::string until;   // YYYY-MM-DD, exclusive
};

// [trust]: what makes a signature trusted.
struct Trust {
  std::vector<std::string> anchors;        // PEM files of trust anchors
  std::vector<std::string> intermediates;  // PEM files of intermediates
  std::vector<std::string> crls;           // PEM/DER CRL files
  std::string revocation = "hard";         // "hard" | "soft" | "off"
  bool fetch_crl = false;                  // fetch from the CRL distribution point
  bool ocsp = false;                       // ask the OCSP responder in the AIA
  uint32_t revocation_cache_s = 3600;
  std::vector<Sha1Exception> sha1_exceptions;
  // Envelopes up to this size are verified twice: by the streaming verifier
  // and by the DOM verifier (xmlsec1); a disagreement refuses the envelope
  // (sig.disagreement). 0: the streaming verifier alone.
  uint64_t max_dual_bytes = 16ull * 1024 * 1024;
};

// [axis]: the national interconnection axis.
struct Axis {
  std::string mode = "pull";  // "pull" (poll getReceivedEdocList) | "push" | "off"
  std::string endpoint;       // https://... base URL of the axis
  std::string organ_id;       // our organ id, registered for system_id
  std::string system_id;
  std::string secret_file;        // file holding the HMAC secret
  std::string secret_credential;  // or its systemd credential name
  std::string ca_file;            // CA bundle to verify the axis' TLS certificate
  std::string client_cert;        // our TLS client certificate towards the axis
  std::string client_key;
  uint32_t poll_interval_s = 30;
  uint32_t timeout_s = 60;
  uint32_t retry_base_s = 5;
  uint32_t retry_max_s = 3600;
  // Permanent refusals by the axis (its ErrorCode, an HTTP 4xx) after which
  // an outgoing document stops being sent and is `failed` until an officer
  // re-queues it. Transient failures are retried without a count.
  uint32_t max_permanent_failures = 3;
  // Sends to the axis in flight at once (the outbox; one document's messages
  // still go one after another).
  uint32_t max_in_flight = 4;
  // Largest accepted age of the signed timestamp of a call pushed to our axis
  // listener; 0 = no check. Off by default: the axis SDK signs one timestamp
  // for its whole process life, and a redelivery is harmless (stored once).
  uint32_t timestamp_window_s = 0;
  // The agency directory (getAgenciesList): fetched at start and every
  // directory_refresh_h hours (0 = only at start and on demand). An answer
  // with more entries, or larger in bytes, is refused and the stored copy
  // kept (the real axis serves ~111,000 entries).
  uint32_t directory_refresh_h = 24;
  uint32_t directory_max_entries = 500000;
  uint32_t directory_max_mb = 128;
};

enum class Role { system, axis, officer, leader };

// [[clients]]: a caller identified by its TLS client certificate.
struct Client {
  std::string name;
  Role role = Role::system;
  std::string subject;                 // RFC 2253 subject DN, or
  std::string fingerprint;             // "sha256:<hex>" of the DER certificate
  std::vector<std::string> organ_ids;  // for role "system": organ ids it may send as (and sees)
  // For role "leader": the pkcs11: URIs of the token keys it may sign with on
  // the gateway; empty: only [hsm] key_uri.
  std::vector<std::string> sign_keys;
  // For role "leader": the certificates it may sign with remotely (its own
  // token, `edxgate agent`), as "sha256:<hex>" of their DER, lowercase once
  // read. A chain to a trust anchor is not enough: a national CA certifies
  // every civil servant, and only these certificates sign for this leader.
  // Empty: this leader may not sign remotely (403 sign.cert_not_allowed).
  std::vector<std::string> remote_signing_certs;
};

// [reports]: processing reports (GET /v1/reports/*, edxgate report).
struct Reports {
  int no_answer_days = 7;  // an outgoing document unanswered (beyond "arrived") this long counts as "no answer"
};

// [log]
struct Log {
  std::string level = "info";
};

struct Config {
  std::string path;  // where it was read from ("" for defaults)
  Server server;
  Limits limits;
  Edxml edxml;
  Store store;
  Hsm hsm;
  Trust trust;
  Axis axis;
  Signing signing;
  Policy policy;
  std::vector<Client> clients;
  Reports reports;
  Log log;
};

std::string_view role_name(Role role);

// Parses TOML text. `origin` names the source in messages. Collects every
// problem; on failure the Error's message holds one line per problem
// ("<origin>:<line>: <key>: <what>") and `line` the first problem's line.
Result<Config> parse(std::string_view toml_text, std::string_view origin);

// Reads and parses a file (missing or unreadable file: one clear error).
Result<Config> load(const std::string& path);

}  // namespace edxgate::config
