// SqliteStore: the SQLite implementation of Store. Its methods are spread
// over documents.cc, workflow_ops.cc, outbox.cc, audit_log.cc and
// sqlite_store.cc (opening, connections, maintenance).
#pragma once

#include <mutex>
#include <vector>

#include "edxgate/store/store.h"
#include "sqlite.h"

namespace edxgate::store {

class SqliteStore final : public Store {
 public:
  static Result<std::unique_ptr<Store>> open(const StoreOptions& options);

  const BlobStore& blobs() const override { return blobs_; }
  Result<Created> create_document(const NewDocument& doc) override;
  Result<std::vector<Created>> create_documents(std::span<const NewDocument> docs) override;
  Result<Document> get_document(DocumentId id) override;
  Result<DocumentPage> list_documents(const DocumentQuery& query) override;
  Status set_envelope(DocumentId id, const BlobRef& envelope, const std::string& signer_summary,
                      const std::string& actor) override;
  Status purge_document(DocumentId id, const std::string& actor, const std::string& reason) override;

  Result<std::optional<OutboxId>> transition(DocumentId id, State to, const std::string& actor,
                                             const std::string& reason, std::optional<State> expected_from,
                                             const std::optional<OutboxRequest>& enqueue) override;
  Result<std::vector<Transition>> history(DocumentId id) override;
  Status add_status_message(DocumentId id, const StatusMessage& message) override;
  Result<std::vector<StatusMessage>> status_messages(DocumentId id) override;

  Result<OutboxId> enqueue(DocumentId id, const OutboxRequest& request) override;
  Result<std::vector<OutboxItem>> claim_outbox(const std::string& worker, int64_t lease_ms,
                                               uint32_t max_items) override;
  Status complete_outbox(OutboxId id, const std::string& lease_token,
                         std::optional<State> advance_to, const std::string& actor) override;
  Status fail_outbox(OutboxId id, const std::string& lease_token, const std::string& error) override;
  Status cancel_outbox(OutboxId id, const std::string& actor, const std::string& reason) override;
  Result<std::vector<OutboxItem>> list_outbox(const OutboxQuery& query) override;
  Result<uint64_t> release_leases(const std::string& worker) override;

  Status append(const AuditEvent& event) override;
  Result<AuditCheck> verify_audit() override;
  Result<std::vector<AuditRow>> audit_rows(int64_t after_seq, uint32_t limit) override;

  Result<uint64_t> blob_references(std::string_view sha256) override;
  Result<GcReport> collect_garbage() override;
  Result<StoreStats> stats() override;
  int schema_version() const override { return schema_version_; }

 private:
  SqliteStore(StoreOptions options, BlobStore blobs)
      : options_(std::move(options)), blobs_(std::move(blobs)) {}

  int64_t now() const;
  uint64_t random64() const;
  std::string new_token() const;  // 128 random bits, hex

  // Runs `body(conn)` in one write transaction (BEGIN IMMEDIATE .. COMMIT,
  // fsync'd); rolls back when it fails. Serialised by write_mu_.
  template <class T, class F>
  Result<T> write_tx(F&& body);
  // Runs `body(conn)` in one read snapshot on a pooled connection.
  template <class T, class F>
  Result<T> read_tx(F&& body);

  // In-transaction helpers (REQUIRES: a write transaction on `c`).
  Result<Created> insert_document(sql::Conn& c, const NewDocument& doc, int64_t at);
  Status append_audit(sql::Conn& c, const AuditEvent& event, int64_t at);
  Result<OutboxId> insert_outbox(sql::Conn& c, DocumentId id, const OutboxRequest& r, int64_t at);
  Status move_document(sql::Conn& c, DocumentId id, State to, const std::string& actor,
                       const std::string& reason, std::optional<State> expected_from, int64_t at);
  Status claim_blobs(const NewDocument& doc) const;

  StoreOptions options_;
  BlobStore blobs_;
  int schema_version_ = 0;
  std::mutex write_mu_;
  std::unique_ptr<sql::Conn> writer_;  // null when read-only
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<sql::Conn>> readers_;  // idle read connections
  std::string db_path_;
};

template <class T, class F>
Result<T> SqliteStore::write_tx(F&& body) {
  if (!writer_) return make_error("store.read_only", "the store was opened read-only");
  std::lock_guard lock(write_mu_);
  auto tx = sql::Tx::begin(*writer_, sql::Tx::Kind::write);
  if (!tx.ok()) return tx.error();
  Result<T> r = body(*writer_);
  if (!r.ok()) return r;  // ~Tx rolls back
  Status c = tx->commit();
  if (!c.ok()) return c.error();
  return r;
}

template <class T, class F>
Result<T> SqliteStore::read_tx(F&& body) {
  std::unique_ptr<sql::Conn> conn;
  {
    std::lock_guard lock(pool_mu_);
    if (!readers_.empty()) {
      conn = std::move(readers_.back());
      readers_.pop_back();
    }
  }
  if (!conn) {
    auto opened = sql::Conn::open(db_path_, /*read_only=*/true, options_.busy_timeout_ms);
    if (!opened.ok()) return opened.error();
    conn = std::move(opened.value());
  }
  Result<T> r = [&]() -> Result<T> {
    auto tx = sql::Tx::begin(*conn, sql::Tx::Kind::read);
    if (!tx.ok()) return tx.error();
    Result<T> inner = body(*conn);
    if (!inner.ok()) return inner;
    Status c = tx->commit();
    if (!c.ok()) return c.error();
    return inner;
  }();
  std::lock_guard lock(pool_mu_);
  readers_.push_back(std::move(conn));
  return r;
}

// Hex SHA-256 of an audit row: it covers the previous row's hash and every
// field of this one, each length-prefixed so no two rows encode alike.
std::string audit_row_hash(const std::string& prev_sha256, int64_t seq, int64_t at_ms,
                           const AuditEvent& e);

std::string sha256_hex(std::string_view data);

}  // namespace edxgate::store
