#include "migrations.h"

#include <chrono>
#include <string>

#include "database.h"

namespace edxgate::store {
namespace {

// Never edit a migration that has shipped: add the next one.
// SQLite's SQL for each version.
constexpr const char* kMigrations[] = {
    // 1: documents, attachments, workflow, outbox, audit log.
    R"sql(
CREATE TABLE documents(
  id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: a purged id is never reused
  direction TEXT NOT NULL CHECK(direction IN ('outgoing','incoming')),
  state TEXT NOT NULL,
  envelope_id TEXT NOT NULL,
  sender TEXT NOT NULL,
  code_number TEXT NOT NULL,
  code_notation TEXT NOT NULL,
  promulgation_date TEXT NOT NULL,
  subject TEXT NOT NULL,
  document_type TEXT NOT NULL,
  priority INTEGER NOT NULL,
  due_date TEXT NOT NULL,
  envelope_sha256 TEXT,
  envelope_size INTEGER,
  signer_summary TEXT NOT NULL,
  submitter TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX documents_incoming_dedup ON documents(sender, envelope_id, envelope_sha256)
  WHERE direction = 'incoming' AND envelope_sha256 IS NOT NULL;
CREATE UNIQUE INDEX documents_idempotency ON documents(submitter, idempotency_key)
  WHERE idempotency_key <> '';
CREATE INDEX documents_state ON documents(direction, state, id);
CREATE INDEX documents_sender ON documents(sender, id);
CREATE INDEX documents_created ON documents(created_ms, id);
CREATE INDEX documents_envelope ON documents(envelope_sha256) WHERE envelope_sha256 IS NOT NULL;
CREATE TABLE recipients(
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  ordinal INTEGER NOT NULL,
  organ_id TEXT NOT NULL,
  PRIMARY KEY(document_id, ordinal)) WITHOUT ROWID;
CREATE TABLE attachments(
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  ordinal INTEGER NOT NULL,
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY(document_id, ordinal)) WITHOUT ROWID;
CREATE INDEX attachments_sha256 ON attachments(sha256);
CREATE TABLE transitions(
  id INTEGER PRIMARY KEY,
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  from_state TEXT,
  to_state TEXT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL,
  at_ms INTEGER NOT NULL);
CREATE INDEX transitions_document ON transitions(document_id, id);
CREATE TABLE outbox(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  destination TEXT NOT NULL,
  payload_sha256 TEXT,
  payload_size INTEGER,
  state TEXT NOT NULL CHECK(state IN ('pending','done','cancelled')),
  attempts INTEGER NOT NULL,
  next_attempt_ms INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  lease_owner TEXT NOT NULL,
  lease_token TEXT NOT NULL,
  lease_until_ms INTEGER NOT NULL,
  created_ms INTEGER NOT NULL);
CREATE INDEX outbox_due ON outbox(next_attempt_ms) WHERE state = 'pending';
CREATE INDEX outbox_document ON outbox(document_id);
CREATE INDEX outbox_payload ON outbox(payload_sha256) WHERE payload_sha256 IS NOT NULL;
CREATE TABLE audit_log(
  seq INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  object TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_sha256 TEXT NOT NULL,
  sha256 TEXT NOT NULL);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql",
    // 2: status messages per document; folded subjects for case-insensitive
    // search (backfilled for documents stored by version 1).
    R"sql(
CREATE TABLE status_messages(
  id INTEGER PRIMARY KEY,
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  direction TEXT NOT NULL CHECK(direction IN ('outgoing','incoming')),
  code TEXT NOT NULL,
  description TEXT NOT NULL,
  staff TEXT NOT NULL,
  envelope_sha256 TEXT,
  envelope_size INTEGER,
  at_ms INTEGER NOT NULL);
CREATE INDEX status_messages_document ON status_messages(document_id, id);
CREATE INDEX status_messages_envelope ON status_messages(envelope_sha256)
  WHERE envelope_sha256 IS NOT NULL;
ALTER TABLE documents ADD COLUMN subject_folded TEXT NOT NULL DEFAULT '';
UPDATE documents SET subject_folded = edx_fold(subject);
)sql",
    // 3: status messages find their document by its edXML DocumentId.
    R"sql(
CREATE INDEX documents_envelope_id ON documents(envelope_id, direction);
)sql",
    // 4: a zipped attachment keeps the file unpacked from it beside the bytes
    // as received; a note says why one was not unpacked.
    R"sql(
ALTER TABLE attachments ADD COLUMN unzipped_sha256 TEXT;
ALTER TABLE attachments ADD COLUMN unzipped_size INTEGER;
ALTER TABLE attachments ADD COLUMN note TEXT NOT NULL DEFAULT '';
CREATE INDEX attachments_unzipped ON attachments(unzipped_sha256) WHERE unzipped_sha256 IS NOT NULL;
)sql",
    // 5: the lifecycle of a sent or received document (recall, update,
    // replacement): its current marker, and its events with the links
    // between the documents involved.
    R"sql(
ALTER TABLE documents ADD COLUMN lifecycle TEXT NOT NULL DEFAULT '';
CREATE INDEX documents_lifecycle ON documents(direction, lifecycle, id) WHERE lifecycle <> '';
CREATE TABLE lifecycle_events(
  id INTEGER PRIMARY KEY,
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  lifecycle TEXT NOT NULL,
  related_id INTEGER,  -- no foreign key: the other document may be purged first
  relation TEXT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL,
  at_ms INTEGER NOT NULL);
CREATE INDEX lifecycle_events_document ON lifecycle_events(document_id, id);
)sql",
    // 6: the axis' agency directory (a cache of getAgenciesList, replaced
    // whole at each sync), searched by folded name and code.
    R"sql(
CREATE TABLE agencies(
  code TEXT PRIMARY KEY,
  code_folded TEXT NOT NULL,
  name TEXT NOT NULL,
  name_folded TEXT NOT NULL,
  axis_id TEXT NOT NULL,
  pid TEXT NOT NULL,
  mail TEXT NOT NULL,
  old_code TEXT NOT NULL);
CREATE INDEX agencies_code_folded ON agencies(code_folded);
CREATE TABLE agency_directory(
  singleton INTEGER PRIMARY KEY CHECK(singleton = 1),
  entries INTEGER NOT NULL,
  synced_ms INTEGER NOT NULL);
)sql",
    // 7 (issue 16, processing tracking): the deadline, unit and handler of an
    // incoming document (from its DueDate, or set when it is assigned); the
    // organ and unit of each status message; transitions found by their
    // target state (when a document was sent, when it was completed).
    // A DueDate is a day in Vietnam time: due by its last millisecond there.
    // Recorded statuses get the organ of a single-recipient document.
    R"sql(
CREATE TABLE tracking(
  document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
  deadline_ms INTEGER,
  deadline_source TEXT NOT NULL CHECK(deadline_source IN ('','due_date','assigned')),
  unit TEXT NOT NULL,
  handler TEXT NOT NULL,
  updated_ms INTEGER NOT NULL);
CREATE INDEX tracking_deadline ON tracking(deadline_ms) WHERE deadline_ms IS NOT NULL;
ALTER TABLE status_messages ADD COLUMN organ_id TEXT NOT NULL DEFAULT '';
ALTER TABLE status_messages ADD COLUMN unit TEXT NOT NULL DEFAULT '';
CREATE INDEX transitions_to_state ON transitions(to_state, document_id);
INSERT INTO tracking(document_id, deadline_ms, deadline_source, unit, handler, updated_ms)
  SELECT id, (CAST(strftime('%s', due_date) AS INTEGER) + 86400 - 25200) * 1000 - 1, 'due_date', '', '',
         updated_ms
  FROM documents
  WHERE direction = 'incoming' AND strftime('%s', due_date) IS NOT NULL
    AND due_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]';
UPDATE status_messages SET organ_id = (
    SELECT r.organ_id FROM recipients r WHERE r.document_id = status_messages.document_id)
  WHERE direction = 'incoming'
    AND (SELECT count(*) FROM recipients r WHERE r.document_id = status_messages.document_id) = 1;
)sql",
    // 8 (issue 13): a DocumentId is unique per sending organ among its live
    // outgoing documents (not cancelled, not refused by the recipient), in the
    // database, so two submissions at once cannot both pass. Recall and update
    // envelopes (BussinessDocType 1, 2) reuse their document's DocumentId on
    // purpose: each document keeps its BussinessDocType (backfilled from the
    // lifecycle marker). Duplicates stored before this version are kept: the
    // newest live one holds the id, each older one is marked with it
    // (duplicate_id_of) and left out of the rule; none changes state.
    // The outbox counts the axis' permanent refusals of an item apart from its
    // other failures; at [axis] max_permanent_failures the item (and its
    // document) is `failed` (SQLite cannot change a CHECK: the table is rebuilt).
    R"sql(
ALTER TABLE documents ADD COLUMN business_doc_type INTEGER NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN duplicate_id_of INTEGER;
UPDATE documents SET business_doc_type = CASE lifecycle
    WHEN 'revocation' THEN 1 WHEN 'update' THEN 2 WHEN 'replacement' THEN 3 ELSE 0 END
  WHERE direction = 'outgoing';
UPDATE documents SET duplicate_id_of = (
    SELECT max(n.id) FROM documents n
    WHERE n.direction = 'outgoing' AND n.sender = documents.sender AND n.envelope_id = documents.envelope_id
      AND n.business_doc_type NOT IN (1, 2) AND n.state NOT IN ('cancelled', 'refused'))
  WHERE direction = 'outgoing' AND envelope_id <> '' AND business_doc_type NOT IN (1, 2)
    AND state NOT IN ('cancelled', 'refused')
    AND id < (SELECT max(n.id) FROM documents n
              WHERE n.direction = 'outgoing' AND n.sender = documents.sender
                AND n.envelope_id = documents.envelope_id AND n.business_doc_type NOT IN (1, 2)
                AND n.state NOT IN ('cancelled', 'refused'));
CREATE UNIQUE INDEX documents_live_document_id ON documents(sender, envelope_id)
  WHERE direction = 'outgoing' AND envelope_id <> '' AND business_doc_type NOT IN (1, 2)
    AND state NOT IN ('cancelled', 'refused') AND duplicate_id_of IS NULL;
CREATE TABLE outbox_v8(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  destination TEXT NOT NULL,
  payload_sha256 TEXT,
  payload_size INTEGER,
  state TEXT NOT NULL CHECK(state IN ('pending','done','cancelled','failed')),
  attempts INTEGER NOT NULL,
  next_attempt_ms INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  lease_owner TEXT NOT NULL,
  lease_token TEXT NOT NULL,
  lease_until_ms INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  refusals INTEGER NOT NULL DEFAULT 0);
INSERT INTO outbox_v8(id, document_id, kind, destination, payload_sha256, payload_size, state, attempts,
                      next_attempt_ms, last_error, lease_owner, lease_token, lease_until_ms, created_ms)
  SELECT id, document_id, kind, destination, payload_sha256, payload_size, state, attempts,
         next_attempt_ms, last_error, lease_owner, lease_token, lease_until_ms, created_ms FROM outbox;
-- AUTOINCREMENT: the new table goes on from the old one's last id, never reusing a purged one.
UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'outbox') WHERE name = 'outbox_v8';
INSERT INTO sqlite_sequence(name, seq) SELECT 'outbox_v8', seq FROM sqlite_sequence
  WHERE name = 'outbox' AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'outbox_v8');
DROP TABLE outbox;
ALTER TABLE outbox_v8 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(next_attempt_ms) WHERE state = 'pending';
CREATE INDEX outbox_document ON outbox(document_id);
CREATE INDEX outbox_payload ON outbox(payload_sha256) WHERE payload_sha256 IS NOT NULL;
)sql",
};
static_assert(std::size(kMigrations) == kLatestSchemaVersion);

// PostgreSQL's SQL for the same versions: the same tables, columns, indexes
// and constraints; INTEGER becomes BIGINT (SQLite's are 64-bit), rowid ids
// become identity columns, the append-only triggers a PL/pgSQL function.
constexpr const char* kPgMigrations[] = {
    // 1
    R"sql(
CREATE TABLE documents(
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,  -- a purged id is never reused
  direction TEXT NOT NULL CHECK(direction IN ('outgoing','incoming')),
  state TEXT NOT NULL,
  envelope_id TEXT NOT NULL,
  sender TEXT NOT NULL,
  code_number TEXT NOT NULL,
  code_notation TEXT NOT NULL,
  promulgation_date TEXT NOT NULL,
  subject TEXT NOT NULL,
  document_type TEXT NOT NULL,
  priority BIGINT NOT NULL,
  due_date TEXT NOT NULL,
  envelope_sha256 TEXT,
  envelope_size BIGINT,
  signer_summary TEXT NOT NULL,
  submitter TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX documents_incoming_dedup ON documents(sender, envelope_id, envelope_sha256)
  WHERE direction = 'incoming' AND envelope_sha256 IS NOT NULL;
CREATE UNIQUE INDEX documents_idempotency ON documents(submitter, idempotency_key)
  WHERE idempotency_key <> '';
CREATE INDEX documents_state ON documents(direction, state, id);
CREATE INDEX documents_sender ON documents(sender, id);
CREATE INDEX documents_created ON documents(created_ms, id);
CREATE INDEX documents_envelope ON documents(envelope_sha256) WHERE envelope_sha256 IS NOT NULL;
CREATE TABLE recipients(
  document_id BIGINT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  ordinal BIGINT NOT NULL,
  organ_id TEXT NOT NULL,
  PRIMARY KEY(document_id, ordinal));
CREATE TABLE attachments(
  document_id BIGINT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  ordinal BIGINT NOT NULL,
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size BIGINT NOT NULL,
  PRIMARY KEY(document_id, ordinal));
CREATE INDEX attachments_sha256 ON attachments(sha256);
CREATE TABLE transitions(
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  document_id BIGINT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  from_state TEXT,
  to_state TEXT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL,
  at_ms BIGINT NOT NULL);
CREATE INDEX transitions_document ON transitions(document_id, id);
CREATE TABLE outbox(
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  document_id BIGINT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  destination TEXT NOT NULL,
  payload_sha256 TEXT,
  payload_size BIGINT,
  state TEXT NOT NULL CHECK(state IN ('pending','done','cancelled')),
  attempts BIGINT NOT NULL,
  next_attempt_ms BIGINT NOT NULL,
  last_error TEXT NOT NULL,
  lease_owner TEXT NOT NULL,
  lease_token TEXT NOT NULL,
  lease_until_ms BIGINT NOT NULL,
  created_ms BIGINT NOT NULL);
CREATE INDEX outbox_due ON outbox(next_attempt_ms) WHERE state = 'pending';
CREATE INDEX outbox_document ON outbox(document_id);
CREATE INDEX outbox_payload ON outbox(payload_sha256) WHERE payload_sha256 IS NOT NULL;
CREATE TABLE audit_log(
  seq BIGINT PRIMARY KEY,
  at_ms BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  object TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_sha256 TEXT NOT NULL,
  sha256 TEXT NOT NULL);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
)sql",
    // 2 (no backfill of subject_folded: a PostgreSQL store never held
    // version-1 rows, every database is created at the latest version)
    R"sql(
CREATE TABLE status_messages(
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  document_id BIGINT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  direction TEXT NOT NULL CHECK(direction IN ('outgoing','incoming')),
  code TEXT NOT NULL,
  description TEXT NOT NULL,
  staff TEXT NOT NULL,
  envelope_sha256 TEXT,
  envelope_size BIGINT,
  at_ms BIGINT NOT NULL);
CREATE INDEX status_messages_document ON status_messages(document_id, id);
CREATE INDEX status_messages_envelope ON status_messages(envelope_sha256)
  WHERE envelope_sha256 IS NOT NULL;
ALTER TABLE documents ADD COLUMN subject_folded TEXT NOT NULL DEFAULT '';
)sql",
    // 3
    R"sql(
CREATE INDEX documents_envelope_id ON documents(envelope_id, direction);
)sql",
    // 4
    R"sql(
ALTER TABLE attachments ADD COLUMN unzipped_sha256 TEXT;
ALTER TABLE attachments ADD COLUMN unzipped_size BIGINT;
ALTER TABLE attachments ADD COLUMN note TEXT NOT NULL DEFAULT '';
CREATE INDEX attachments_unzipped ON attachments(unzipped_sha256) WHERE unzipped_sha256 IS NOT NULL;
)sql",
    // 5
    R"sql(
ALTER TABLE documents ADD COLUMN lifecycle TEXT NOT NULL DEFAULT '';
CREATE INDEX documents_lifecycle ON documents(direction, lifecycle, id) WHERE lifecycle <> '';
CREATE TABLE lifecycle_events(
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  document_id BIGINT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  lifecycle TEXT NOT NULL,
  related_id BIGINT,
  relation TEXT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL,
  at_ms BIGINT NOT NULL);
CREATE INDEX lifecycle_events_document ON lifecycle_events(document_id, id);
)sql",
    // 6
    R"sql(
CREATE TABLE agencies(
  code TEXT PRIMARY KEY,
  code_folded TEXT NOT NULL,
  name TEXT NOT NULL,
  name_folded TEXT NOT NULL,
  axis_id TEXT NOT NULL,
  pid TEXT NOT NULL,
  mail TEXT NOT NULL,
  old_code TEXT NOT NULL);
CREATE INDEX agencies_code_folded ON agencies(code_folded);
CREATE TABLE agency_directory(
  singleton BIGINT PRIMARY KEY CHECK(singleton = 1),
  entries BIGINT NOT NULL,
  synced_ms BIGINT NOT NULL);
)sql",
    // 7
    R"sql(
CREATE TABLE tracking(
  document_id BIGINT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
  deadline_ms BIGINT,
  deadline_source TEXT NOT NULL CHECK(deadline_source IN ('','due_date','assigned')),
  unit TEXT NOT NULL,
  handler TEXT NOT NULL,
  updated_ms BIGINT NOT NULL);
CREATE INDEX tracking_deadline ON tracking(deadline_ms) WHERE deadline_ms IS NOT NULL;
ALTER TABLE status_messages ADD COLUMN organ_id TEXT NOT NULL DEFAULT '';
ALTER TABLE status_messages ADD COLUMN unit TEXT NOT NULL DEFAULT '';
CREATE INDEX transitions_to_state ON transitions(to_state, document_id);
DO $$
DECLARE d RECORD;
BEGIN
  FOR d IN SELECT id, due_date, updated_ms FROM documents
           WHERE direction = 'incoming' AND due_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' LOOP
    BEGIN
      INSERT INTO tracking(document_id, deadline_ms, deadline_source, unit, handler, updated_ms)
        VALUES(d.id, (extract(epoch FROM d.due_date::date)::bigint + 86400 - 25200) * 1000 - 1,
               'due_date', '', '', d.updated_ms);
    EXCEPTION WHEN others THEN NULL;  -- not a real day (2026-02-30): no deadline
    END;
  END LOOP;
END $$;
UPDATE status_messages SET organ_id = (
    SELECT r.organ_id FROM recipients r WHERE r.document_id = status_messages.document_id)
  WHERE direction = 'incoming'
    AND (SELECT count(*) FROM recipients r WHERE r.document_id = status_messages.document_id) = 1;
)sql",
    // 8
    R"sql(
ALTER TABLE documents ADD COLUMN business_doc_type BIGINT NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN duplicate_id_of BIGINT;
UPDATE documents SET business_doc_type = CASE lifecycle
    WHEN 'revocation' THEN 1 WHEN 'update' THEN 2 WHEN 'replacement' THEN 3 ELSE 0 END
  WHERE direction = 'outgoing';
UPDATE documents d SET duplicate_id_of = k.newest
  FROM (SELECT sender, envelope_id, max(id) AS newest FROM documents
        WHERE direction = 'outgoing' AND envelope_id <> '' AND business_doc_type NOT IN (1, 2)
          AND state NOT IN ('cancelled', 'refused')
        GROUP BY sender, envelope_id HAVING count(*) > 1) k
  WHERE d.direction = 'outgoing' AND d.sender = k.sender AND d.envelope_id = k.envelope_id
    AND d.business_doc_type NOT IN (1, 2) AND d.state NOT IN ('cancelled', 'refused') AND d.id < k.newest;
CREATE UNIQUE INDEX documents_live_document_id ON documents(sender, envelope_id)
  WHERE direction = 'outgoing' AND envelope_id <> '' AND business_doc_type NOT IN (1, 2)
    AND state NOT IN ('cancelled', 'refused') AND duplicate_id_of IS NULL;
ALTER TABLE outbox ADD COLUMN refusals BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox DROP CONSTRAINT outbox_state_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_state_check CHECK(state IN ('pending','done','cancelled','failed'));
)sql",
};
static_assert(std::size(kPgMigrations) == kLatestSchemaVersion);

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

Result<int> read_schema_version(sql::Conn& conn) {
  auto has = conn.prepare(conn.is_postgresql()
                              ? "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
                                " AND table_schema = current_schema()"
                              : "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (!has.ok()) return has.error();
  auto row = has->step();
  if (!row.ok()) return row.error();
  if (has->i64(0) == 0) return 0;
  auto st = conn.prepare("SELECT max(version) FROM schema_version");
  if (!st.ok()) return st.error();
  row = st->step();
  if (!row.ok()) return row.error();
  return *row && !st->is_null(0) ? static_cast<int>(st->i64(0)) : 0;
}

Result<int> migrate(sql::Conn& conn, int target) {
  auto tx = sql::Tx::begin(conn, sql::Tx::Kind::write);
  if (!tx.ok()) return tx.error();
  if (conn.is_postgresql()) {
    auto lock = conn.prepare("SELECT pg_advisory_xact_lock(?)");
    if (!lock.ok()) return lock.error();
    EDX_TRY(lock->bind(1, kMigrationLockKey).run());
  }
  auto current = read_schema_version(conn);
  if (!current.ok()) return current.error();
  int version = *current;
  if (version > kLatestSchemaVersion) {
    return make_error(ErrorKind::conflict, "store.schema_newer",
                      "the database has schema version " + std::to_string(version) +
                          " but this edxgate knows only up to " + std::to_string(kLatestSchemaVersion) +
                          "; run a newer edxgate");
  }
  if (version == 0) {
    EDX_TRY(conn.exec(conn.is_postgresql() ? "CREATE TABLE IF NOT EXISTS schema_version(version BIGINT NOT NULL,"
                                             " applied_ms BIGINT NOT NULL)"
                                           : "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL,"
                                             " applied_ms INTEGER NOT NULL)"));
  }
  for (; version < target; ++version) {
    EDX_TRY(conn.exec(conn.is_postgresql() ? kPgMigrations[version] : kMigrations[version]));
    auto st = conn.prepare("INSERT INTO schema_version(version, applied_ms) VALUES(?, ?)");
    if (!st.ok()) return st.error();
    EDX_TRY(st->bind(1, int64_t{version + 1}).bind(2, wall_ms()).run());
  }
  EDX_TRY(tx->commit());
  return version;
}

}  // namespace edxgate::store
