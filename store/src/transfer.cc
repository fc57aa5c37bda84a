// transfer_store: a whole store copied row by row into an empty one.
#include "edxgate/store/transfer.h"

#include <filesystem>
#include <set>

#include "edxgate/base/fs.h"
#include "sql_store.h"

namespace edxgate::store {
namespace {

// The tables in an order that satisfies their foreign keys, with every
// column (the same names in both engines) and the key that orders them.
struct Table {
  const char* name;
  const char* columns;
  const char* order;
};
constexpr Table kTables[] = {
    {"documents",
     "id, direction, state, envelope_id, sender, code_number, code_notation, promulgation_date, subject,"
     " document_type, priority, due_date, envelope_sha256, envelope_size, signer_summary, submitter,"
     " idempotency_key, created_ms, updated_ms, subject_folded, lifecycle, business_doc_type, duplicate_id_of",
     "id"},
    {"recipients", "document_id, ordinal, organ_id", "document_id, ordinal"},
    {"attachments", "document_id, ordinal, name, content_type, sha256, size, unzipped_sha256, unzipped_size, note",
     "document_id, ordinal"},
    {"transitions", "id, document_id, from_state, to_state, actor, reason, at_ms", "id"},
    {"status_messages",
     "id, document_id, direction, code, description, staff, envelope_sha256, envelope_size, at_ms, unit, organ_id",
     "id"},
    {"tracking", "document_id, deadline_ms, deadline_source, unit, handler, updated_ms", "document_id"},
    {"outbox",
     "id, document_id, kind, destination, payload_sha256, payload_size, state, attempts, next_attempt_ms,"
     " last_error, lease_owner, lease_token, lease_until_ms, created_ms, refusals",
     "id"},
    {"lifecycle_events", "id, document_id, lifecycle, related_id, relation, actor, reason, at_ms", "id"},
    {"audit_log", "seq, at_ms, actor, action, object, outcome, detail, prev_sha256, sha256", "seq"},
    {"agencies", "code, code_folded, name, name_folded, axis_id, pid, mail, old_code", "code"},
    {"agency_directory", "singleton, entries, synced_ms", "singleton"},
};

// Tables of the schema that are not data: the version the migrations keep.
constexpr const char* kNotCopied[] = {"schema_version"};

// Every table of the source's schema must be copied or named above as not
// data: a migration that adds a table and forgets this list fails here (and
// in the migrate tests) instead of leaving its rows behind.
Status check_every_table_known(sql::Conn& c) {
  auto st = c.prepare(c.is_postgresql()
                          ? "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
                            " AND table_type = 'BASE TABLE'"
                          : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
  if (!st.ok()) return st.error();
  for (;;) {
    auto row = st->step();
    if (!row.ok()) return row.error();
    if (!*row) return {};
    const std::string name = st->text(0);
    bool known = false;
    for (const Table& t : kTables) known = known || name == t.name;
    for (const char* n : kNotCopied) known = known || name == n;
    if (!known) {
      return make_error(ErrorKind::internal, "store.transfer_unknown_table",
                        "the source store has a table '" + name + "' that store migrate does not know how to copy");
    }
  }
}

// Tables whose ids the target must go on from (PostgreSQL identities).
constexpr const char* kIdentityTables[] = {"documents", "transitions", "status_messages", "outbox", "lifecycle_events"};

int column_count(const char* columns) {
  int n = 1;
  for (const char* p = columns; *p; ++p) n += *p == ',';
  return n;
}

Result<int64_t> scalar(sql::Conn& c, const std::string& query) {
  auto st = c.prepare_built(query);
  if (!st.ok()) return st.error();
  auto row = st->step();
  if (!row.ok()) return row.error();
  return *row && !st->is_null(0) ? st->i64(0) : int64_t{0};
}

std::string canonical(const std::string& dir) {
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(dir, ec);
  return ec ? dir : p.string();
}

}  // namespace

Result<TransferReport> transfer_store(const StoreOptions& from_options, const StoreOptions& to_options) {
  StoreOptions fo = from_options;
  fo.read_only = true;
  auto from_store = open_store(fo);
  if (!from_store.ok()) return from_store.error();
  StoreOptions to_opts = to_options;
  to_opts.read_only = false;
  auto to_store = open_store(to_opts);
  if (!to_store.ok()) return to_store.error();
  auto& from = static_cast<SqlStore&>(**from_store);
  auto& to = static_cast<SqlStore&>(**to_store);

  TransferReport report;
  EDX_TRY(from.db_->read([&](sql::Conn& c) -> Status { return check_every_table_known(c); }));
  // The target must be empty.
  EDX_TRY(to.db_->read([&](sql::Conn& c) -> Status {
    for (const Table& t : kTables) {
      auto n = scalar(c, std::string("SELECT count(*) FROM ") + t.name);
      if (!n.ok()) return n.error();
      if (*n > 0) {
        return make_error(
            ErrorKind::conflict, "store.target_not_empty",
            std::string("the target store already holds rows in ") + t.name + "; migrate only into an empty database");
      }
    }
    return {};
  }));

  // Blobs first: a row may name a blob only once the blob is durable.
  const bool same_blobs = canonical(from.blobs().dir()) == canonical(to.blobs().dir());
  std::set<std::string> names;
  EDX_TRY(from.db_->read([&](sql::Conn& c) -> Status {
    names.clear();
    auto st = c.prepare(
        "SELECT sha256 FROM attachments UNION SELECT unzipped_sha256 FROM attachments WHERE unzipped_sha256 IS NOT NULL"
        " UNION SELECT envelope_sha256 FROM documents WHERE envelope_sha256"
        " IS NOT NULL UNION SELECT payload_sha256 FROM outbox WHERE payload_sha256 IS NOT NULL"
        " UNION SELECT envelope_sha256 FROM status_messages WHERE envelope_sha256 IS NOT NULL");
    if (!st.ok()) return st.error();
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) return {};
      names.insert(st->text(0));
    }
  }));
  for (const std::string& name : names) {
    if (!is_blob_name(name))
      return make_error(ErrorKind::io, "store.corrupt", "the source names a blob '" + name + "'");
    if (same_blobs) {
      auto size = from.blobs().stat(name);
      if (!size.ok()) return size.error();
      continue;
    }
    auto copied = to.blobs().put_file(from.blobs().path_of(name));
    if (!copied.ok()) return copied.error();
    if (copied->sha256 != name) {
      return make_error(ErrorKind::invalid, "store.blob_corrupt",
                        "blob " + name + " of the source does not hash to its name");
    }
    ++report.blobs_copied;
  }

  // Every row, in one transaction of the target (it also holds the audit
  // lock, so no node can append to the chain midway).
  EDX_TRY(from.db_->read([&](sql::Conn& src) -> Status {
    return to.db_->write(
        [&](sql::Conn& dst) -> Status {
          for (const Table& t : kTables) {
            const int n = column_count(t.columns);
            std::string insert = std::string("INSERT INTO ") + t.name + "(" + t.columns + ") VALUES(";
            for (int i = 1; i <= n; ++i) insert += i == 1 ? "?" : ",?";
            insert += ")";
            auto read =
                src.prepare_built(std::string("SELECT ") + t.columns + " FROM " + t.name + " ORDER BY " + t.order);
            if (!read.ok()) return read.error();
            for (;;) {
              auto row = read->step();
              if (!row.ok()) return row.error();
              if (!*row) break;
              auto write = dst.prepare_built(insert);
              if (!write.ok()) return write.error();
              for (int i = 0; i < n; ++i) {
                if (read->is_null(i)) {
                  write->bind_null(i + 1);
                } else {
                  write->bind(i + 1, read->text(i));
                }
              }
              EDX_TRY(write->run());
            }
          }
          if (dst.is_postgresql()) {
            // Ids go on after the highest one ever given (SQLite's
            // AUTOINCREMENT remembers purged ones in sqlite_sequence).
            for (const char* table : kIdentityTables) {
              auto max_id = scalar(src, std::string("SELECT max(id) FROM ") + table);
              if (!max_id.ok()) return max_id.error();
              int64_t next = *max_id;
              if (!src.is_postgresql()) {
                auto seq = scalar(
                    src, std::string("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = '") + table + "'");
                if (seq.ok()) next = std::max(next, *seq);
              }
              if (next <= 0) continue;
              auto set =
                  dst.prepare_built(std::string("SELECT setval(pg_get_serial_sequence('") + table + "', 'id'), ?)");
              if (!set.ok()) return set.error();
              EDX_TRY(set->bind(1, next).run());
            }
          }
          return {};
        },
        /*lock_audit=*/true);
  }));

  // Count what was moved and check the chain where it now lives.
  EDX_TRY(to.db_->read([&](sql::Conn& c) -> Status {
    auto count = [&](const char* q, uint64_t& out) -> Status {
      auto n = scalar(c, q);
      if (!n.ok()) return n.error();
      out = static_cast<uint64_t>(*n);
      return {};
    };
    EDX_TRY(count("SELECT count(*) FROM documents", report.documents));
    EDX_TRY(count("SELECT count(*) FROM documents WHERE idempotency_key <> ''", report.idempotency_keys));
    EDX_TRY(count("SELECT count(*) FROM transitions", report.transitions));
    EDX_TRY(count("SELECT count(*) FROM status_messages", report.status_messages));
    EDX_TRY(count("SELECT count(*) FROM outbox", report.outbox_items));
    EDX_TRY(count("SELECT count(*) FROM agencies", report.agencies));
    return {};
  }));
  auto source_chain = from.verify_audit();
  if (!source_chain.ok()) return source_chain.error();
  auto target_chain = to.verify_audit();
  if (!target_chain.ok()) return target_chain.error();
  if (!target_chain->ok) {
    return make_error(ErrorKind::invalid, "store.transfer_check",
                      "the audit chain does not verify after the move: " + target_chain->problem);
  }
  if (target_chain->rows != source_chain->rows || target_chain->head_sha256 != source_chain->head_sha256) {
    return make_error(ErrorKind::invalid, "store.transfer_check",
                      "the moved audit chain ends at another head than the source's");
  }
  report.audit_rows = target_chain->rows;
  report.audit_head_sha256 = target_chain->head_sha256;
  return report;
}

}  // namespace edxgate::store
