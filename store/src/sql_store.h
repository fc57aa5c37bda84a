// SqlStore: the Store, written once over the SQL seam (sql.h, database.h)
// for both engines, SQLite and PostgreSQL. Its methods are spread over
// documents.cc, workflow_ops.cc, outbox.cc, audit_log.cc and sql_store.cc
// (opening, clock and randomness, maintenance).
#pragma once

#include <memory>
#include <optional>

#include "database.h"
#include "edxgate/store/store.h"
#include "edxgate/store/transfer.h"
#include "edxgate/store/write_stats.h"

namespace edxgate::store {

class SqlStore final : public Store {
 public:
  static Result<std::unique_ptr<Store>> open_sqlite(const StoreOptions& options);
  static Result<std::unique_ptr<Store>> open_postgresql(const StoreOptions& options);

  const BlobStore& blobs() const override { return blobs_; }
  Result<Created> create_document(const NewDocument& doc) override;
  Result<std::vector<Created>> create_documents(std::span<const NewDocument> docs) override;
  Result<Document> get_document(DocumentId id) override;
  Result<DocumentPage> list_documents(const DocumentQuery& query) override;
  Status set_envelope(DocumentId id, const BlobRef& envelope, const std::string& signer_summary,
                      const std::string& actor) override;
  Status queue_signed(DocumentId id, const BlobRef& envelope, const std::string& signer_summary,
                      const SignedStart& how) override;
  Result<Created> create_signed(const NewDocument& doc, const SignedStart& how) override;
  Status purge_document(DocumentId id, const std::string& actor, const std::string& reason) override;

  Result<std::optional<OutboxId>> transition(DocumentId id, State to, const std::string& actor,
                                             const std::string& reason, std::optional<State> expected_from,
                                             const std::optional<OutboxRequest>& enqueue) override;
  Result<std::vector<Transition>> history(DocumentId id) override;
  Status add_status_message(DocumentId id, const StatusMessage& message) override;
  Result<std::vector<StatusMessage>> status_messages(DocumentId id) override;
  Status record_lifecycle(std::span<const LifecycleEvent> events) override;
  Result<std::vector<LifecycleEvent>> lifecycle_events(DocumentId id) override;

  Status update_tracking(DocumentId id, const TrackingUpdate& update) override;
  Result<Tracking> tracking(DocumentId id) override;
  Result<IncomingReport> incoming_report(const ReportPeriod& period) override;
  Result<OutgoingReport> outgoing_report(const ReportPeriod& period, int no_answer_days) override;

  Result<OutboxId> enqueue(DocumentId id, const OutboxRequest& request) override;
  Result<std::vector<OutboxItem>> claim_outbox(const std::string& worker, int64_t lease_ms,
                                               uint32_t max_items) override;
  Status complete_outbox(OutboxId id, const std::string& lease_token, std::optional<State> advance_to,
                         const std::string& actor) override;
  Status fail_outbox(OutboxId id, const std::string& lease_token, const std::string& error) override;
  Result<bool> refuse_outbox(OutboxId id, const std::string& lease_token, const std::string& error,
                             int max_refusals) override;
  Status requeue_failed(DocumentId id, const std::string& actor, const std::string& reason) override;
  Status cancel_outbox(OutboxId id, const std::string& actor, const std::string& reason) override;
  Result<std::vector<OutboxItem>> list_outbox(const OutboxQuery& query) override;
  Result<uint64_t> release_leases(const std::string& worker) override;

  Status append(const AuditEvent& event) override;
  Result<AuditCheck> verify_audit() override;
  Result<std::vector<AuditRow>> audit_rows(int64_t after_seq, uint32_t limit) override;

  Status replace_agencies(const std::vector<Agency>& entries, const std::string& actor) override;
  Result<std::vector<Agency>> search_agencies(std::string_view query, uint32_t limit) override;
  Result<std::optional<Agency>> find_agency(std::string_view code) override;
  Result<std::vector<Agency>> closest_agencies(std::string_view code, uint32_t limit) override;
  Result<AgencyDirectoryInfo> agency_directory_info() override;
  Result<uint64_t> blob_references(std::string_view sha256) override;
  Result<GcReport> collect_garbage() override;
  Result<StoreStats> stats() override;
  WriteStats write_stats() const { return db_->write_stats(); }
  int schema_version() const override { return schema_version_; }

 private:
  // Copies rows engine to engine (transfer.cc).
  friend Result<TransferReport> transfer_store(const StoreOptions& from, const StoreOptions& to);

  SqlStore(StoreOptions options, BlobStore blobs) : options_(std::move(options)), blobs_(std::move(blobs)) {}

  int64_t now() const;
  uint64_t random64() const;
  std::string new_token() const;  // 128 random bits, hex

  // Runs `body(conn)` in one write transaction (committed durably); rolls
  // back when it fails. `lock_audit` is false only for transactions that
  // never append to the audit chain (claiming and failing outbox items), so
  // that nodes of a cluster claim in parallel. `body` may run again after a
  // retryable failure (see Database::write).
  template <class T, class F>
  Result<T> write_tx(F&& body, bool lock_audit = true);
  // Runs `body(conn)` in one read snapshot.
  template <class T, class F>
  Result<T> read_tx(F&& body);

  // In-transaction helpers (REQUIRES: a write transaction on `c`).
  Result<Created> insert_document(sql::Conn& c, const NewDocument& doc, int64_t at);
  Status append_audit(sql::Conn& c, const AuditEvent& event, int64_t at);
  Result<OutboxId> insert_outbox(sql::Conn& c, DocumentId id, const OutboxRequest& r, int64_t at);
  // set_envelope's update and audit row, inside a transaction.
  Status update_envelope(sql::Conn& c, DocumentId id, const BlobRef& envelope, const std::string& signer_summary,
                         const std::string& actor, int64_t at);
  // A status message's fields checked and its envelope claimed (before the
  // transaction); its row and audit entry (inside one).
  Status check_status_message(const StatusMessage& m);
  Status insert_status_message(sql::Conn& c, DocumentId id, const StatusMessage& m, int64_t now_ms);
  // A SignedStart's fields checked and its outbox payload claimed (before the
  // transaction); the document's moves from pending_signature through signed
  // to queued, its outbox item and the signature's audit row (inside one).
  Status check_signed_start(const SignedStart& how);
  Status sign_and_queue(sql::Conn& c, DocumentId id, const SignedStart& how, int64_t at);
  Status move_document(sql::Conn& c, DocumentId id, State to, const std::string& actor, const std::string& reason,
                       std::optional<State> expected_from, int64_t at);
  Status claim_blobs(const NewDocument& doc) const;
  // The tracking row of a new incoming document with a DueDate (reports.cc).
  Status insert_due_date(sql::Conn& c, DocumentId id, const NewDocument& doc, int64_t at);

  StoreOptions options_;
  BlobStore blobs_;
  int schema_version_ = 0;
  std::unique_ptr<Database> db_;
};

template <class T, class F>
Result<T> SqlStore::write_tx(F&& body, bool lock_audit) {
  std::optional<Result<T>> out;
  Status s = db_->write(
      [&](sql::Conn& c) -> Status {
        Result<T> r = body(c);
        if (!r.ok()) return r.error();
        out.emplace(std::move(r));
        return {};
      },
      lock_audit);
  if (!s.ok()) return s.error();
  return std::move(*out);
}

template <class T, class F>
Result<T> SqlStore::read_tx(F&& body) {
  std::optional<Result<T>> out;
  Status s = db_->read([&](sql::Conn& c) -> Status {
    Result<T> r = body(c);
    if (!r.ok()) return r.error();
    out.emplace(std::move(r));
    return {};
  });
  if (!s.ok()) return s.error();
  return std::move(*out);
}

// Hex SHA-256 of an audit row: it covers the previous row's hash and every
// field of this one, each length-prefixed so no two rows encode alike.
std::string audit_row_hash(const std::string& prev_sha256, int64_t seq, int64_t at_ms, const AuditEvent& e);

// Folds text for the directory search: lower case, Vietnamese diacritics
// removed (NFD, combining marks dropped, đ/Đ -> d), spaces collapsed.
std::string fold_for_search(std::string_view utf8);

}  // namespace edxgate::store
