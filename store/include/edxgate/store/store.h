// Store: the gateway's durable memory. Documents and their attachments, the
// workflow states and every transition, the status messages exchanged for a
// document, the outbox of things to send, and the hash-chained audit log.
//
// The interface hides its engine: nothing above it writes SQL. open_store()
// opens SQLite (embedded, the default) or PostgreSQL (several gateways on one
// database, see "Cluster" below).
//
// Durability: a call that returned ok has been committed and fsync'd; it
// survives kill -9 and power loss. A blob is durable before any row naming it
// commits. Each mutation is one transaction: a transition writes the new
// state, its transition row and its audit row together, or none of them.
//
// Concurrency: a Store is thread-safe; call it from any thread. SQLite: writes
// are serialised (one writer connection, as SQLite allows one writer at a
// time) with group commit: concurrent writes are batched into one commit, one
// fsync, each still all or nothing and each caller back only once its own is
// durable (write_stats.h counts them); reads run in parallel on pooled
// connections, each in one snapshot. Several processes (the daemon and the CLI) may open the same
// state directory; SQLite's locks and the busy timeout coordinate them.
//
// Cluster (PostgreSQL): several processes on several machines open one
// database and serve together. Outbox items are claimed with FOR UPDATE SKIP
// LOCKED, so each due item goes to one node, and a crashed node's items are
// taken over when their lease expires (node clocks must agree to well within
// a lease). A duplicate incoming envelope or a retried submission is stored
// once (unique constraints, checked under the audit lock). Every transaction
// that appends to the audit chain first takes one cluster-wide lock, so the
// chain never forks. A transaction lost to a deadlock, a serialization
// failure or a dropped connection is run again (never one whose COMMIT was
// sent); the pool is bounded and every statement has a timeout.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edxgate/base/audit.h"
#include "edxgate/base/result.h"
#include "edxgate/store/blob_store.h"
#include "edxgate/store/reports.h"
#include "edxgate/store/workflow.h"

namespace edxgate::store {

using DocumentId = int64_t;
using OutboxId = int64_t;

// One attachment of a document: its name and type as the envelope declares
// them, and the blob holding its bytes.
struct Attachment {
  std::string name;
  std::string content_type;
  BlobRef blob;  // the bytes as received (or as we send them): what was signed
  // When the received bytes are a one-entry ZIP under a non-ZIP name (as the
  // VNPT library sends many files), the file inside it: what the clerk gets.
  std::optional<BlobRef> unzipped{};
  // Why an attachment that looked zipped was not unpacked ("edxml.zip_*:
  // ..."), empty otherwise. The attachment itself is still stored.
  std::string note{};
  // The blob a reader is given: the unpacked file when there is one.
  const BlobRef& file() const { return unzipped ? *unzipped : blob; }
};

// The fields a document is created with. Dates are text as the envelope
// carries them (normalised to YYYY-MM-DD by the caller when it can).
struct NewDocument {
  Direction direction = Direction::outgoing;
  State state = State::draft;           // must satisfy is_initial(direction, state)
  std::string envelope_id;              // edXML DocumentId (or the axis docId)
  std::string sender;                   // organ id of From
  std::vector<std::string> recipients;  // organ ids of To
  std::string code_number;
  std::string code_notation;
  std::string promulgation_date;
  std::string subject;
  std::string document_type;
  int priority = 0;
  std::string due_date;
  std::optional<BlobRef> envelope;  // the edXML file, when there is one yet
  std::vector<Attachment> attachments;
  std::string signer_summary;  // e.g. subject DN and verification outcome
  // Outgoing submissions: a retried submission with the same (submitter,
  // idempotency_key) returns the first document instead of a new one.
  std::string submitter;
  std::string idempotency_key;
  std::string actor;  // recorded in the first transition and audit row
  // Outgoing: the envelope's BussinessDocType (0 new, 1 revocation, 2 update,
  // 3 replacement). A DocumentId is unique per sender among live outgoing
  // documents (not cancelled, not refused), revocations and updates aside:
  // they carry their document's id. A second one is refused with
  // "document.duplicate_id" (conflict), decided by the database.
  int business_doc_type = 0;
};

struct Document {
  DocumentId id = 0;
  Direction direction = Direction::outgoing;
  State state = State::draft;
  std::string envelope_id;
  std::string sender;
  std::vector<std::string> recipients;
  std::string code_number;
  std::string code_notation;
  std::string promulgation_date;
  std::string subject;
  std::string document_type;
  int priority = 0;
  std::string due_date;
  std::optional<BlobRef> envelope;
  std::vector<Attachment> attachments;
  std::string signer_summary;
  std::string submitter;
  std::string idempotency_key;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  // Where the document stands in its lifecycle beside its workflow state
  // (recall_requested, revoked, recall_refused, updated, replaced; "" for
  // none): set by record_lifecycle, see LifecycleEvent.
  std::string lifecycle;
};

// The answer to a create: the document's id and whether it already existed
// (a duplicate incoming envelope, or a retried submission).
struct Created {
  DocumentId id = 0;
  bool existing = false;
};

struct Transition {
  std::optional<State> from;  // none for the creation
  State to = State::draft;
  std::string actor;
  std::string reason;
  int64_t at_ms = 0;
};

// One step of a document's lifecycle (issue 16: recall, update, replace),
// kept beside its workflow transitions: a new lifecycle marker and/or a link
// to the other document involved. Both documents of a link get an event, so
// each history names the other (e.g. the original "replaced_by" 12, the
// replacement "replaces" 7).
struct LifecycleEvent {
  DocumentId document_id = 0;
  std::string lifecycle;              // the new marker; "" keeps the current one
  std::optional<DocumentId> related;  // the other document, if any
  std::string relation;               // revocation_of, revoked_by, update_of, updated_by, replaces, replaced_by
  std::string actor;
  std::string reason;
  int64_t at_ms = 0;  // set by the store
  // When set, the document's current marker must be one of these
  // ("store.conflict" otherwise, and nothing of the batch is written).
  std::optional<std::vector<std::string>> expected_lifecycle;
};

// A status message received for (incoming direction) or sent about
// (outgoing direction) a document; `code` is the two-digit edXML StatusCode.
struct StatusMessage {
  Direction direction = Direction::incoming;
  std::string code;
  std::string description;
  std::string staff;  // who, as the message states it
  std::optional<BlobRef> envelope;
  int64_t at_ms = 0;
  std::string unit;      // the unit (department) it names, if any
  std::string organ_id;  // the organ it is from (incoming: a recipient of ours; "" when unknown)
};

// Something the outbox must deliver: the document's envelope to the axis
// ("edoc") or a status message about it ("status").
struct OutboxRequest {
  OutboxRequest() = default;
  OutboxRequest(std::string kind_, std::string destination_, std::optional<BlobRef> payload_ = std::nullopt,
                std::optional<StatusMessage> record_ = std::nullopt)
      : kind(std::move(kind_)),
        destination(std::move(destination_)),
        payload(std::move(payload_)),
        record(std::move(record_)) {}

  std::string kind = "edoc";
  std::string destination;  // organ id(s) or an endpoint name
  std::optional<BlobRef> payload;
  // A status message we send: recorded (as add_status_message does) in the
  // same transaction that queues it, so it is queued and listed, or neither.
  std::optional<StatusMessage> record;
};

// How a document signed before it was stored goes on (Store::create_signed).
struct SignedStart {
  std::string actor;          // who signed: the signed and queued transitions
  std::string signed_reason;  // the signed transition's reason
  OutboxRequest item;         // queued with it
  // When not empty, a "document.sign" audit row ("ok") with this detail.
  std::string audit_detail;
};

// failed: the axis refused the item permanently max_refusals times (see
// refuse_outbox); it is no longer sent until requeue_failed.
enum class OutboxState { pending, done, cancelled, failed };
std::string_view outbox_state_name(OutboxState s);

struct OutboxItem {
  OutboxId id = 0;
  DocumentId document_id = 0;
  std::string kind;
  std::string destination;
  std::optional<BlobRef> payload;
  OutboxState state = OutboxState::pending;
  int attempts = 0;
  int refusals = 0;  // permanent refusals by the axis among the attempts
  int64_t next_attempt_ms = 0;
  std::string last_error;
  std::string lease_owner;  // set while claimed
  int64_t lease_until_ms = 0;
  std::string lease_token;  // only in items returned by claim_outbox
  int64_t created_ms = 0;
};

// Filters for list_documents; empty fields do not filter. Results come newest
// first; pass the previous page's next_before_id to get the next page.
struct DocumentQuery {
  std::optional<Direction> direction;
  std::optional<State> state;
  std::string sender;
  std::string envelope_id;                  // exact edXML DocumentId
  std::optional<int64_t> created_from_ms;   // inclusive
  std::optional<int64_t> created_until_ms;  // exclusive
  std::string subject_contains;             // case-insensitive (Unicode simple folding)
  std::string lifecycle;                    // exact lifecycle marker (LifecycleEvent)
  // The document a submission with this (submitter, idempotency_key) made;
  // both are matched when the key is not empty.
  std::string submitter;
  std::string idempotency_key;
  std::optional<DocumentId> before_id;
  uint32_t limit = 50;  // capped at 1000
};

struct DocumentPage {
  std::vector<Document> documents;  // attachments and recipients not filled
  std::optional<DocumentId> next_before_id;
};

struct OutboxQuery {
  std::optional<OutboxState> state;
  std::optional<DocumentId> document_id;
  std::optional<OutboxId> after_id;
  uint32_t limit = 100;  // capped at 1000
};

// The outcome of walking the audit chain: ok, or the first broken row.
struct AuditCheck {
  bool ok = true;
  uint64_t rows = 0;
  int64_t first_bad_seq = 0;
  std::string problem;      // one sentence when !ok
  std::string head_sha256;  // hash of the last row (record it elsewhere to detect truncation)
};

struct AuditRow {
  int64_t seq = 0;
  int64_t at_ms = 0;
  AuditEvent event;
  std::string prev_sha256;
  std::string sha256;
};

// Counts for monitoring: documents per (direction, state), and the outbox.
struct StoreStats {
  struct StateCount {
    Direction direction = Direction::outgoing;
    State state = State::draft;
    uint64_t count = 0;
  };
  std::vector<StateCount> documents;  // only pairs with at least one document
  uint64_t outbox_pending = 0;
  int64_t outbox_oldest_created_ms = 0;  // 0 when none is pending
};

// One entry of the axis' agency directory (getAgenciesList), as the axis
// names its fields: `code` is the organ id documents are addressed to.
struct Agency {
  std::string code;  // organ id (mã định danh), e.g. 000.00.00.H41
  std::string name;  // Vietnamese name, as the axis gives it
  std::string id;    // the axis' own id of the entry
  std::string pid;   // the axis id of the parent entry ("" for a root)
  std::string mail;
  std::string old_code;  // the entry's former organ id, when it had one
};

// The stored directory: how many entries and when it was last replaced
// (0 = never synchronised).
struct AgencyDirectoryInfo {
  uint64_t count = 0;
  int64_t synced_ms = 0;
};

struct GcReport {
  uint64_t blobs_removed = 0;
  uint64_t temps_removed = 0;
  uint64_t blobs_kept = 0;
};

// Retry policy of the outbox: after the n-th failure the next attempt comes
// after a delay drawn uniformly from [min_delay_ms, min(cap_ms, base_ms*2^(n-1))]
// ("full jitter", floored so that a failing item never spins).
struct BackoffPolicy {
  int64_t base_ms = 5'000;
  int64_t cap_ms = 3'600'000;
  int64_t min_delay_ms = 1'000;
};

// The delay before attempt n+1 after n >= 1 failures, drawn from `random`.
int64_t backoff_delay_ms(const BackoffPolicy& policy, int failures, uint64_t random);

// The engine under the store. SQLite is embedded and needs nothing set up;
// PostgreSQL lets several gateways (a cluster) share one database.
enum class Backend { sqlite, postgresql };
std::string_view backend_name(Backend b);  // "sqlite" | "postgresql"

struct StoreOptions {
  Backend backend = Backend::sqlite;
  std::string state_dir;  // SQLite: holds edxgate.db; both: blobs/ unless blob_dir is set
  std::string db_path;    // SQLite: default <state_dir>/edxgate.db
  // The content-addressed blob directory (default <state_dir>/blobs). Nodes
  // of a cluster share one (e.g. an NFS mount): a blob's name is its hash, it
  // is written to a temp file and renamed, so nodes never overwrite each other.
  std::string blob_dir;
  uint32_t busy_timeout_ms = 5000;  // SQLite: waiting for another process's lock
  // PostgreSQL: a libpq connection string or URI. It may hold a password, so
  // it is never logged nor put in an error message.
  std::string dsn;
  uint32_t pool_size = 8;                  // connections at most (each node)
  uint32_t statement_timeout_ms = 30'000;  // every statement, and waiting for a connection
  uint32_t connect_timeout_s = 10;
  std::string application_name = "edxgate";  // shown in pg_stat_activity
  uint64_t max_blob_bytes = 512ull * 1024 * 1024;
  bool read_only = false;  // no migrations, no writes (inspection tools)
  BackoffPolicy backoff;
  // Blobs and temp files younger than this are never collected: a blob must
  // be referenced by a committed row within this time after it was written.
  int64_t gc_grace_ms = 3'600'000;
  // Injected for tests; default: the system clock and a CSPRNG.
  std::function<int64_t()> now_ms;
  std::function<uint64_t()> random;
};

class Store : public AuditSink {
 public:
  ~Store() override = default;

  virtual const BlobStore& blobs() const = 0;

  // --- documents ---
  // Creates a document in its initial state (with its first transition and
  // an audit row), or returns the existing one for a duplicate incoming
  // envelope (same direction, sender, envelope_id and envelope hash) or a
  // retried submission (same submitter and idempotency_key). Every blob named
  // must exist in blobs(): "store.blob_missing".
  virtual Result<Created> create_document(const NewDocument& doc) = 0;
  // Group commit: creates many documents in one transaction (one fsync).
  // All or nothing.
  virtual Result<std::vector<Created>> create_documents(std::span<const NewDocument> docs) = 0;
  virtual Result<Document> get_document(DocumentId id) = 0;  // "store.not_found"
  virtual Result<DocumentPage> list_documents(const DocumentQuery& query) = 0;
  // Sets the envelope of an outgoing document not yet queued (e.g. once
  // signed); "store.conflict" otherwise. Audited.
  virtual Status set_envelope(DocumentId id, const BlobRef& envelope, const std::string& signer_summary,
                              const std::string& actor) = 0;
  // A document just signed, in one transaction: its signed envelope (as
  // set_envelope), its moves from draft or pending_signature through signed
  // (`how.signed_reason`, by `how.actor`) to queued (each recorded and
  // audited), `how.item` in the outbox, and the signature's audit row when
  // `how.audit_detail` is set. All or nothing: "store.conflict" when it is no
  // longer waiting for a signature.
  virtual Status queue_signed(DocumentId id, const BlobRef& envelope, const std::string& signer_summary,
                              const SignedStart& how) = 0;
  // A document signed before it was stored (organization mode, or a signed
  // envelope submitted as it is), in one transaction: created as
  // create_document does (`doc.state` pending_signature, `doc.envelope` the
  // signed envelope), then moved through signed to queued with `how.item` in
  // the outbox. A retried submission gets its existing document back and
  // nothing else is written (`existing`; it may still wait for a signature).
  virtual Result<Created> create_signed(const NewDocument& doc, const SignedStart& how) = 0;
  // Removes a document in a terminal state with its rows (the audit log keeps
  // its trace); its blobs become collectable when nothing else refers to them.
  virtual Status purge_document(DocumentId id, const std::string& actor, const std::string& reason) = 0;

  // --- workflow ---
  // Moves a document to `to` if the table allows it ("store.illegal_transition"
  // naming both states), recording the transition and an audit row; when
  // `enqueue` is given, the outbox item is added in the same transaction.
  // `expected_from`, when given, must be the current state ("store.conflict").
  // Cancelling a document cancels its pending outbox items in the same
  // transaction (a worker holding one gets "store.conflict" on completion).
  virtual Result<std::optional<OutboxId>> transition(DocumentId id, State to, const std::string& actor,
                                                     const std::string& reason,
                                                     std::optional<State> expected_from = std::nullopt,
                                                     const std::optional<OutboxRequest>& enqueue = std::nullopt) = 0;
  virtual Result<std::vector<Transition>> history(DocumentId id) = 0;
  virtual Status add_status_message(DocumentId id, const StatusMessage& message) = 0;
  virtual Result<std::vector<StatusMessage>> status_messages(DocumentId id) = 0;
  // Records lifecycle events (and sets the markers they carry) in one
  // transaction with their audit rows: all or none. "store.not_found" for a
  // document that does not exist, "store.conflict" for an unexpected marker.
  virtual Status record_lifecycle(std::span<const LifecycleEvent> events) = 0;
  // A document's lifecycle events, oldest first.
  virtual Result<std::vector<LifecycleEvent>> lifecycle_events(DocumentId id) = 0;

  // --- tracking and reports (reports.h) ---
  // Changes the tracking of an incoming document ("store.not_found" for any
  // other id), audited. A deadline given here replaces the DueDate's.
  virtual Status update_tracking(DocumentId id, const TrackingUpdate& update) = 0;
  // The tracking of a document (empty when it has none).
  virtual Result<Tracking> tracking(DocumentId id) = 0;
  // The reports, counted in one read snapshot at the store's clock.
  virtual Result<IncomingReport> incoming_report(const ReportPeriod& period) = 0;
  virtual Result<OutgoingReport> outgoing_report(const ReportPeriod& period, int no_answer_days) = 0;

  // --- outbox ---
  virtual Result<OutboxId> enqueue(DocumentId id, const OutboxRequest& request) = 0;
  // Leases up to `max_items` due items to `worker` for `lease_ms`. An item is
  // due when pending, its next attempt has come and it holds no live lease.
  // Each returned item carries a fresh lease_token that complete/fail need.
  virtual Result<std::vector<OutboxItem>> claim_outbox(const std::string& worker, int64_t lease_ms,
                                                       uint32_t max_items) = 0;
  // Marks a leased item sent ("store.lease_lost" when the lease was taken
  // over by another worker). With `advance_to`, the item's document moves to
  // that state (e.g. sent) in the same transaction, so a crash can never leave
  // a sent item pending nor a document queued after its item is done.
  virtual Status complete_outbox(OutboxId id, const std::string& lease_token,
                                 std::optional<State> advance_to = std::nullopt,
                                 const std::string& actor = "system:outbox") = 0;
  // Records a failed attempt and schedules the next one (BackoffPolicy).
  virtual Status fail_outbox(OutboxId id, const std::string& lease_token, const std::string& error) = 0;
  // Records a permanent refusal by the axis (an answer that will not change
  // by retrying): counted apart from other failures. Below `max_refusals` the
  // next attempt is scheduled as fail_outbox does; at `max_refusals` the item
  // becomes failed and leaves the outbox, and an edoc item's queued document
  // moves to State::failed with `error` as the reason, in one transaction,
  // audited ("outbox.failed"). Returns true when the item failed.
  virtual Result<bool> refuse_outbox(OutboxId id, const std::string& lease_token, const std::string& error,
                                     int max_refusals) = 0;
  // Re-queues a failed outgoing document: failed -> queued, its failed items
  // pending again with their refusals forgotten, due now; audited
  // ("outbox.requeue"). "store.not_found" for no such outgoing document,
  // "store.conflict" when it is not failed.
  virtual Status requeue_failed(DocumentId id, const std::string& actor, const std::string& reason) = 0;
  virtual Status cancel_outbox(OutboxId id, const std::string& actor, const std::string& reason) = 0;
  virtual Result<std::vector<OutboxItem>> list_outbox(const OutboxQuery& query) = 0;
  // Releases every live lease held by `worker`: a worker restarted after a
  // crash calls this for its own name, so that what its previous life held
  // is sent again at once instead of after the lease expires. Returns how
  // many leases were released.
  virtual Result<uint64_t> release_leases(const std::string& worker) = 0;

  // --- audit ---
  // AuditSink: appends one hash-chained row durably.
  Status append(const AuditEvent& event) override = 0;
  virtual Result<AuditCheck> verify_audit() = 0;
  virtual Result<std::vector<AuditRow>> audit_rows(int64_t after_seq, uint32_t limit) = 0;

  // --- agency directory (agencies.cc) ---
  // Replaces the whole directory with `entries` in one transaction (a sync is
  // all or nothing; the previous copy stays on failure) and audits it.
  // Entries with an empty code are refused (store.agency); a code given
  // twice keeps its last entry.
  virtual Status replace_agencies(const std::vector<Agency>& entries, const std::string& actor) = 0;
  // Entries whose name or code contains `query` ignoring case and Vietnamese
  // diacritics ("nghe an" finds "Nghệ An", "da nang" "Đà Nẵng"; NFC or NFD
  // input alike), best first (name starts with it, then shorter names), at
  // most `limit`. An empty query lists the directory by code.
  virtual Result<std::vector<Agency>> search_agencies(std::string_view query, uint32_t limit) = 0;
  // The entry with this organ id (exact, case-insensitive), if any.
  virtual Result<std::optional<Agency>> find_agency(std::string_view code) = 0;
  // The `limit` entries whose codes are closest to `code` (edit distance),
  // for an error that names what the caller may have meant.
  virtual Result<std::vector<Agency>> closest_agencies(std::string_view code, uint32_t limit) = 0;
  virtual Result<AgencyDirectoryInfo> agency_directory_info() = 0;

  // --- maintenance ---
  // Number of rows (documents, attachments, status messages, outbox items)
  // that refer to a blob; a blob with none is garbage.
  virtual Result<uint64_t> blob_references(std::string_view sha256) = 0;
  // Removes unreferenced blobs and stale temp files older than gc_grace_ms.
  virtual Result<GcReport> collect_garbage() = 0;
  virtual Result<StoreStats> stats() = 0;
  // The schema version of the open database.
  virtual int schema_version() const = 0;
};

// Opens (creating if needed, migrating to the latest schema unless read_only)
// the store on options.backend: SQLite under options.state_dir, or the
// PostgreSQL database of options.dsn. Errors: "store.schema_newer" when the
// database was written by a newer edxgate, "store.schema_older" (read-only),
// "store.open", "store.unavailable" (PostgreSQL cannot be reached), "store.db".
Result<std::unique_ptr<Store>> open_store(const StoreOptions& options);

// The schema version this binary writes.
int latest_schema_version();

}  // namespace edxgate::store
