// The workflow engine: drives documents through the store's states. It knows
// no HTTP: the gateway adapts its routes and the axis listener to it, and the
// axis is reached through AxisTransport (transport.h).
//
// Outgoing: a submission (header JSON + attachment files, or a ready edXML
// envelope) is packed into an unsigned envelope and stored as
// pending_signature; signing (a token on the gateway, or a remote agent in
// two steps) stores the signed envelope, moves it to signed and queues it in
// the same transaction as its outbox item; the outbox worker sends it to the
// axis, retrying with the store's backoff, and marks it sent. Status messages
// from the recipients move it on (01 delivered, 02 refused, 03 accepted, 04
// assigned, 05 processing, 06 completed).
//
// Incoming: a delivery (pushed by the axis or pulled from it) is read and
// verified in one streaming pass (crypto::Verifier::read_and_verify) and
// stored as verified — or as quarantined with the reason — before the
// delivery is acknowledged; the sender gets a status 01 (arrived) or 02
// (refused, with the reason). Internal systems report processing states,
// which become status messages to the sender. A status message for one of our
// outgoing documents is accepted only from one of that document's recipients
// and, when signed, only with a valid signature.
//
// The paths live in workflow/src: outgoing, incoming, status messages and the
// outbox worker, over one shared context. Everything durable goes through the
// store; the engine keeps no state of its own that a crash could lose. It is
// thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "edxgate/base/json.h"
#include "edxgate/base/metrics.h"
#include "edxgate/base/result.h"
#include "edxgate/base/secret.h"
#include "edxgate/crypto/signing.h"
#include "edxgate/crypto/verifier.h"
#include "edxgate/crypto/x509.h"
#include "edxgate/edxml/model.h"
#include "edxgate/edxml/reader.h"
#include "edxgate/edxml/writer.h"
#include "edxgate/store/store.h"
#include "edxgate/workflow/incoming.h"
#include "edxgate/workflow/keys.h"
#include "edxgate/workflow/policy.h"
#include "edxgate/workflow/transport.h"

namespace edxgate::workflow {

// Who signs outgoing documents ([signing] mode, config.h): a leader with the
// PIN (personal), or the agency's key when a submission is accepted
// (organization). The configured (unattended) PIN signs a document only in
// organization mode.
enum class SigningMode { personal, organization };

struct EngineOptions {
  std::string organ_id;  // ours: the From of what we send, checked on submissions
  SigningMode signing = SigningMode::personal;
  // Document types refused at submission (policy.h, policy.kind).
  std::vector<std::string> forbidden_kinds = policy::default_forbidden_kinds();
  std::string organ_name;   // for status messages
  std::string work_dir;     // temp files (same filesystem as the store's blobs)
  edxml::ReadOptions read;  // limits and format (attachment_dir is set per use)
  edxml::WriteOptions write;
  std::string worker = "engine";
  int64_t lease_ms = 15 * 60 * 1000;  // must exceed the axis call timeout
  // [axis] max_permanent_failures: after this many permanent refusals by the
  // axis (is_permanent_refusal) an outbox item stops and its document is
  // `failed`; other failures are retried with backoff, without a count.
  int max_permanent_failures = 3;
  std::chrono::milliseconds outbox_interval{1000};
  // Sends to the axis in flight at once within one outbox pass ([axis]
  // max_in_flight); the items of one document still go one after another.
  size_t outbox_in_flight = 4;
  bool pull = false;  // poll the axis for deliveries
  std::chrono::milliseconds poll_interval{30'000};
  std::chrono::milliseconds gc_interval{3'600'000};
  // Reports ([reports]): an outgoing document unanswered this long counts as
  // "no answer"; the overdue gauges are recomputed at most this often.
  int no_answer_days = 7;
  std::chrono::milliseconds report_gauge_interval{60'000};
};

// What a submitter hands in: the header JSON (edxml/README.md's META.json
// shape) and the attachment files, which the engine moves into the store.
struct Submission {
  json::bj::value header;
  std::vector<std::string> files;            // spool files, consumed
  std::vector<std::string> names;            // the names the submitter gave them
  std::string submitter;                     // caller name
  std::vector<std::string> allowed_senders;  // organ ids the caller may send as
  std::string idempotency_key;
};

struct Submitted {
  store::DocumentId id = 0;
  store::State state = store::State::pending_signature;
  bool existing = false;
};

// The remote signing agent's first step.
struct ToSign {
  std::vector<uint8_t> bytes;  // canonical SignedInfo
  crypto::SignatureAlgorithm algorithm;
};

// A report from an internal system about an incoming document.
struct ProcessingReport {
  store::State state = store::State::registered;  // registered (accepted), refused, assigned, processing, completed
  std::string reason;
  std::string staff;
  std::string department;  // the unit handling it (tracked, and kept with the status message)
};

// Who asks for a recall, update or replacement of a sent document, and why
// (the Bussiness block's BussinessDocReason and StaffInfo).
struct LifecycleRequest {
  std::string reason;
  std::string staff;
  std::string department;
  std::string submitter;                     // caller name
  std::vector<std::string> allowed_senders;  // organ ids the caller may send as
  std::string idempotency_key;
};

class Engine {
 public:
  Engine(EngineOptions options, store::Store& store, std::shared_ptr<const crypto::Verifier> verifier,
         KeyProvider* keys, AxisTransport* axis, MetricsRegistry& metrics);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // --- outgoing ---
  // Errors: "submit.*", "edxml.*", "json.*", "policy.*" (invalid),
  // "submit.sender" (forbidden), "document.duplicate_id" (conflict), "store.*".
  // The header may carry "security_level" (top level or in "message"):
  // anything but normal is refused (policy.h). In organization mode the
  // accepted document is signed with the agency's key before this returns
  // (a signing failure is returned; the same submission retried signs again).
  Result<Submitted> submit(Submission submission);
  // A ready envelope (unsigned, or already signed: then it is verified and queued).
  Result<Submitted> submit_envelope(std::string file, const std::string& submitter,
                                    const std::vector<std::string>& allowed_senders,
                                    const std::string& idempotency_key);
  // Signs on a token of the gateway and queues the document. Personal mode
  // only, and only with the signer's PIN: a null `pin` is "sign.pin_required"
  // (the configured PIN never signs a document here); in organization mode
  // "sign.mode" (conflict). The history names the certificate (subject and
  // SHA-256 fingerprint).
  Result<store::State> sign(store::DocumentId id, const std::string& key_uri, const SecretString* pin,
                            const std::string& actor);
  // Remote signing (personal mode only): the bytes to sign for
  // `certificates` (leaf first).
  Result<ToSign> to_sign(store::DocumentId id, const std::vector<crypto::Certificate>& certificates,
                         std::optional<crypto::SignatureAlgorithm> algorithm);
  Result<store::State> complete_signature(store::DocumentId id, const std::vector<crypto::Certificate>& certificates,
                                          std::optional<crypto::SignatureAlgorithm> algorithm,
                                          const std::vector<uint8_t>& signature, const std::string& actor);

  // --- incoming ---
  // Reads, verifies and stores a delivery (parsed once); durable when it
  // returns. The same envelope delivered again is the same outcome, stored once.
  Result<Accepted> accept(IncomingDelivery& delivery);
  Status acknowledge(store::DocumentId id, const std::string& actor);
  // `deadline` ("YYYY-MM-DD", Vietnam time), only with state assigned,
  // replaces the document's DueDate (workflow/reports.h, store/reports.h).
  Result<store::State> report(store::DocumentId id, const ProcessingReport& report, const std::string& actor,
                              const std::string& deadline = "");

  // --- lifecycle of a sent document (lifecycle.cc; README "Recall, update,
  // replace") ---
  // Each builds a new outgoing document carrying the Bussiness block (type
  // 1, 2 or 3), pending its signature like any submission, linked to the
  // original. The original must be an outgoing document already sent and not
  // revoked, replaced or awaiting a recall answer: "lifecycle.not_sent",
  // "lifecycle.state" (conflict). Errors of submit() otherwise.
  Result<Submitted> revoke(store::DocumentId original, const LifecycleRequest& request);
  // `changes`: message fields in META.json's names (edxml/README.md) that
  // replace the original's; `files` (consumed), when given, replace its
  // attachments. At least one of the two.
  Result<Submitted> update(store::DocumentId original, const LifecycleRequest& request, const json::bj::object& changes,
                           std::vector<std::string> files, std::vector<std::string> names);
  // `replacement`: the new document, submitted as by submit().
  Result<Submitted> replace(store::DocumentId original, const LifecycleRequest& request, Submission replacement);
  // The internal system's answer to a recall request on an incoming
  // document: status 15 (agree: revoked) or 16 (refuse: recall_refused) to
  // the sender. Returns the new marker. "lifecycle.state" (conflict) when no
  // recall was asked.
  Result<std::string> answer_recall(store::DocumentId incoming, bool agree, const ProcessingReport& report,
                                    const std::string& actor);

  // Re-queues an outgoing document the axis refused permanently (state
  // failed): it is sent again at once; audited. "store.conflict" when the
  // document is not failed.
  Status retry_failed(store::DocumentId id, const std::string& actor);

  // --- background work ---
  // One pass of the outbox: sends what is due; returns how many items were
  // sent. Also used by tests.
  Result<size_t> run_outbox_once();
  // One poll of the axis (pull mode); returns how many deliveries were stored.
  Result<size_t> poll_once();
  // The answers (status 01/02) owed for stored incoming documents and not
  // yet queued in the outbox. Once start()ed, a second thread answers them
  // off the request path (and, at start, those a crash left unanswered);
  // before, accept() answers itself.
  size_t answers_pending() const;
  // Starts/stops the worker threads (outbox, poller, metrics refresh, gc;
  // the answers to incoming documents).
  void start();
  void stop();
  // Wakes the worker (a new outbox item).
  void wake();

  // Readiness: the axis answered the last call (or no call failed yet).
  Status axis_check() const;
  // Refreshes the document/outbox gauges (also done by the worker).
  void refresh_gauges();

  struct Parts;

 private:
  void loop();
  std::unique_ptr<Parts> p_;
};

// Maps an edXML status code to the outgoing state it moves a document to.
std::optional<store::State> state_for_status(edxml::StatusCode code);
// Maps a reported incoming state to the status code sent for it.
std::optional<edxml::StatusCode> status_for_state(store::State state);

}  // namespace edxgate::workflow
