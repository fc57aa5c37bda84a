// The workflow engine: drives documents through the store's states.
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
// Incoming: a delivery (pushed by the axis or pulled from it) is parsed by
// the hardened reader, verified under the strict policy, and stored as
// verified — or as quarantined with the reason — before the delivery is
// acknowledged; the sender gets a status 01 (arrived) or 02 (refused, with
// the reason). Internal systems report processing states, which become
// status messages to the sender. A status message for one of our outgoing
// documents is accepted only from one of that document's recipients and,
// when signed, only with a valid signature.
//
// Everything durable goes through the store; the engine keeps no state of its
// own that a crash could lose. It is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "edxgate/base/json.h"
#include "edxgate/base/result.h"
#include "edxgate/base/secret.h"
#include "edxgate/crypto/signer.h"
#include "edxgate/crypto/signing.h"
#include "edxgate/crypto/verifier.h"
#include "edxgate/crypto/x509.h"
#include "edxgate/edxml/reader.h"
#include "edxgate/edxml/writer.h"
#include "edxgate/gateway/axis.h"
#include "edxgate/gateway/metrics.h"
#include "edxgate/gateway/push_endpoint.h"
#include "edxgate/store/store.h"

namespace edxgate::gateway {

// A key ready to sign: the signer (a token session) and its certificate.
struct SigningKey {
  std::unique_ptr<crypto::Signer> signer;
  crypto::Certificate certificate;
  std::vector<crypto::Certificate> chain;
  crypto::SignatureAlgorithm algorithm = crypto::SignatureAlgorithm::rsa_sha256;
};

// Opens signing keys. `key_uri` "" means the configured key; `pin` empty
// means the configured PIN (file or credential), if any ("pin.missing").
class KeyProvider {
 public:
  virtual ~KeyProvider() = default;
  virtual Result<SigningKey> open(const std::string& key_uri, const SecretString* pin) = 0;
  // Whether a key can be opened without a PIN in the request (for status
  // messages, which the gateway signs on its own when it can).
  virtual bool has_unattended_key() const = 0;
  // The configured key's certificate (for days-to-expiry), if known.
  virtual std::optional<crypto::Certificate> configured_certificate() const = 0;
  // Readiness: the token of the configured key is present.
  virtual Status check() const = 0;
};

struct EngineOptions {
  std::string organ_id;       // ours: the From of what we send, checked on submissions
  std::string organ_name;     // for status messages
  std::string work_dir;       // temp files (same filesystem as the store's blobs)
  edxml::ReadOptions read;    // limits and format (attachment_dir is set per use)
  edxml::WriteOptions write;
  std::string worker = "engine";
  int64_t lease_ms = 15 * 60 * 1000;  // must exceed the axis call timeout
  std::chrono::milliseconds outbox_interval{1000};
  bool pull = false;          // poll the axis for deliveries
  std::chrono::milliseconds poll_interval{30'000};
  std::chrono::milliseconds gc_interval{3'600'000};
};

// What a submitter hands in: the header JSON (edxml/README.md's META.json
// shape) and the attachment files, which the engine moves into the store.
struct Submission {
  json::bj::value header;
  std::vector<std::string> files;  // spool files, consumed
  std::vector<std::string> names;  // the names the submitter gave them
  std::string submitter;           // caller name
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
  std::string department;
};

class Engine : public IncomingSink {
 public:
  Engine(EngineOptions options, store::Store& store, std::shared_ptr<const crypto::Verifier> verifier,
         KeyProvider* keys, AxisTransport* axis, MetricsRegistry& metrics);
  ~Engine() override;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // --- outgoing ---
  // Errors: "submit.*", "edxml.*", "json.*" (bad input: 422), "submit.sender" (403),
  // "store.*".
  Result<Submitted> submit(Submission submission);
  // A ready envelope (unsigned, or already signed: then it is verified and queued).
  Result<Submitted> submit_envelope(std::string file, const std::string& submitter,
                                    const std::vector<std::string>& allowed_senders,
                                    const std::string& idempotency_key);
  // Signs on a token of the gateway and queues the document.
  Result<store::State> sign(store::DocumentId id, const std::string& key_uri, const SecretString* pin,
                            const std::string& actor);
  // Remote signing: the bytes to sign for `certificates` (leaf first).
  Result<ToSign> to_sign(store::DocumentId id, const std::vector<crypto::Certificate>& certificates,
                         std::optional<crypto::SignatureAlgorithm> algorithm);
  Result<store::State> complete_signature(store::DocumentId id, const std::vector<crypto::Certificate>& certificates,
                                          std::optional<crypto::SignatureAlgorithm> algorithm,
                                          const std::vector<uint8_t>& signature, const std::string& actor);

  // --- incoming ---
  // IncomingSink: verifies and stores a delivery; returns the document id
  // (as text). A status message returns "status:<document id>".
  Result<std::string> accept(IncomingDelivery& delivery) override;
  Status acknowledge(store::DocumentId id, const std::string& actor);
  Result<store::State> report(store::DocumentId id, const ProcessingReport& report, const std::string& actor);

  // --- background work ---
  // One pass of the outbox: sends what is due; returns how many items were
  // sent. Also used by tests.
  Result<size_t> run_outbox_once();
  // One poll of the axis (pull mode); returns how many deliveries were stored.
  Result<size_t> poll_once();
  // Starts/stops the worker thread (outbox, poller, metrics refresh, gc).
  void start();
  void stop();
  // Wakes the worker (a new outbox item).
  void wake();

  // Readiness: the axis answered the last call (or no call failed yet).
  Status axis_check() const;
  // Refreshes the document/outbox gauges (also done by the worker).
  void refresh_gauges();

 private:
  struct Metrics;
  Result<store::DocumentId> store_incoming_document(IncomingDelivery& d, const std::string& dir,
                                                    std::string& status_for);
  Result<std::string> accept_status(const std::string& file, const std::string& envelope_sha256,
                                    const std::string& axis_from);
  Status queue_status(const store::Document& doc, edxml::StatusCode code, const std::string& description,
                      const std::string& staff, const std::string& department,
                      std::optional<store::State> move_to, const std::string& actor);
  Result<edxml::XmlDocPtr> load_unsigned(const store::Document& doc);
  Result<crypto::PreparedSignature> prepare_remote(store::DocumentId id,
                                                   const std::vector<crypto::Certificate>& certificates,
                                                   std::optional<crypto::SignatureAlgorithm> algorithm);
  Result<store::State> store_signed(store::DocumentId id, xmlDoc* doc, const crypto::Verification& v,
                                    const std::string& actor);
  std::string temp_dir();
  void loop();

  EngineOptions opt_;
  store::Store& store_;
  std::shared_ptr<const crypto::Verifier> verifier_;
  KeyProvider* keys_;
  AxisTransport* axis_;
  std::unique_ptr<Metrics> m_;
  std::atomic<bool> axis_ok_{true};
  std::mutex axis_err_mu_;
  std::string axis_error_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

// Maps an edXML status code to the outgoing state it moves a document to.
std::optional<store::State> state_for_status(edxml::StatusCode code);
// Maps a reported incoming state to the status code sent for it.
std::optional<edxml::StatusCode> status_for_state(store::State state);

}  // namespace edxgate::gateway
