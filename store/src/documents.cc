// Documents: create (with dedup), read, list, set the envelope, purge.
#include <string>

#include "sql_store.h"

namespace edxgate::store {
namespace {

constexpr size_t kMaxTextBytes = 64 * 1024;  // any one text field
constexpr size_t kMaxListItems = 10'000;     // recipients, attachments

Status check_new_document(const NewDocument& d) {
  if (!is_initial(d.direction, d.state)) {
    return make_error(ErrorKind::invalid, "store.bad_initial_state",
                      "a " + std::string(direction_name(d.direction)) + " document cannot start in state " +
                          std::string(state_name(d.state)));
  }
  for (const std::string* f :
       {&d.envelope_id, &d.sender, &d.code_number, &d.code_notation, &d.promulgation_date, &d.subject, &d.document_type,
        &d.due_date, &d.signer_summary, &d.submitter, &d.idempotency_key, &d.actor}) {
    if (f->size() > kMaxTextBytes) {
      return make_error(ErrorKind::too_large, "store.field_too_long",
                        "a document field is longer than " + std::to_string(kMaxTextBytes) + " bytes");
    }
  }
  if (d.recipients.size() > kMaxListItems || d.attachments.size() > kMaxListItems) {
    return make_error(ErrorKind::too_large, "store.too_many",
                      "a document has more than " + std::to_string(kMaxListItems) + " recipients or attachments");
  }
  for (const Attachment& a : d.attachments) {
    if (a.name.size() > kMaxTextBytes || a.content_type.size() > kMaxTextBytes || a.note.size() > kMaxTextBytes) {
      return make_error(ErrorKind::too_large, "store.field_too_long", "an attachment name or type is too long");
    }
  }
  return {};
}

std::string transition_detail(std::optional<State> from, State to, const std::string& reason) {
  std::string d = from ? std::string(state_name(*from)) + " -> " : std::string("created as ");
  d += state_name(to);
  if (!reason.empty()) d += ": " + reason;
  return d;
}

std::optional<BlobRef> blob_at(const sql::Stmt& st, int col) {
  if (st.is_null(col)) return std::nullopt;
  return BlobRef{st.text(col), static_cast<uint64_t>(st.i64(col + 1))};
}

constexpr const char* kDocumentColumns =
    "id, direction, state, envelope_id, sender, code_number, code_notation, promulgation_date,"
    " subject, document_type, priority, due_date, envelope_sha256, envelope_size, signer_summary,"
    " submitter, idempotency_key, created_ms, updated_ms, lifecycle";

Document document_at(const sql::Stmt& st) {
  Document d;
  d.id = st.i64(0);
  d.direction = parse_direction(st.text(1)).value_or(Direction::outgoing);
  d.state = parse_state(st.text(2)).value_or(State::draft);
  d.envelope_id = st.text(3);
  d.sender = st.text(4);
  d.code_number = st.text(5);
  d.code_notation = st.text(6);
  d.promulgation_date = st.text(7);
  d.subject = st.text(8);
  d.document_type = st.text(9);
  d.priority = static_cast<int>(st.i64(10));
  d.due_date = st.text(11);
  d.envelope = blob_at(st, 12);
  d.signer_summary = st.text(14);
  d.submitter = st.text(15);
  d.idempotency_key = st.text(16);
  d.created_ms = st.i64(17);
  d.updated_ms = st.i64(18);
  d.lifecycle = st.text(19);
  return d;
}

Result<std::optional<DocumentId>> find_existing(sql::Conn& c, const NewDocument& d) {
  if (!d.idempotency_key.empty()) {
    // "<> ''" lets the planner use the partial index documents_idempotency
    // (a bound value does not tell it the key is not empty): without it,
    // every submission with a key scanned the whole table.
    auto st =
        c.prepare("SELECT id FROM documents WHERE submitter = ? AND idempotency_key = ? AND idempotency_key <> ''");
    if (!st.ok()) return st.error();
    st->bind(1, d.submitter).bind(2, d.idempotency_key);
    auto row = st->step();
    if (!row.ok()) return row.error();
    if (*row) return std::optional<DocumentId>(st->i64(0));
  }
  if (d.direction == Direction::incoming && d.envelope) {
    auto st = c.prepare(
        "SELECT id FROM documents WHERE direction = 'incoming' AND sender = ? AND envelope_id = ?"
        " AND envelope_sha256 = ?");
    if (!st.ok()) return st.error();
    st->bind(1, d.sender).bind(2, d.envelope_id).bind(3, d.envelope->sha256);
    auto row = st->step();
    if (!row.ok()) return row.error();
    if (*row) return std::optional<DocumentId>(st->i64(0));
  }
  return std::optional<DocumentId>();
}

// True when `e` is the database refusing `d` for the unique index on live
// outgoing DocumentIds (migration 8). The index is the only constraint of an
// outgoing row named by these columns (SQLite) or this name (PostgreSQL); the
// failed transaction cannot be asked further (PostgreSQL aborts it).
bool is_live_document_id_violation(const NewDocument& d, const Error& e) {
  if (e.code != "store.constraint" || d.direction != Direction::outgoing) return false;
  const std::string_view m = e.message;
  return m.find("documents_live_document_id") != std::string_view::npos ||
         m.ends_with("UNIQUE constraint failed: documents.sender, documents.envelope_id");
}

}  // namespace

Status SqlStore::claim_blobs(const NewDocument& doc) const {
  if (doc.envelope) EDX_TRY(blobs_.claim(*doc.envelope));
  for (const Attachment& a : doc.attachments) {
    EDX_TRY(blobs_.claim(a.blob));
    if (a.unzipped) EDX_TRY(blobs_.claim(*a.unzipped));
  }
  return {};
}

Result<Created> SqlStore::insert_document(sql::Conn& c, const NewDocument& d, int64_t at) {
  auto existing = find_existing(c, d);
  if (!existing.ok()) return existing.error();
  if (*existing) return Created{**existing, true};

  auto st = c.prepare(
      "INSERT INTO documents(direction, state, envelope_id, sender, code_number, code_notation,"
      " promulgation_date, subject, document_type, priority, due_date, envelope_sha256,"
      " envelope_size, signer_summary, submitter, idempotency_key, created_ms, updated_ms,"
      " subject_folded, business_doc_type) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id");
  if (!st.ok()) return st.error();
  st->bind(1, direction_name(d.direction)).bind(2, state_name(d.state)).bind(3, d.envelope_id);
  st->bind(4, d.sender).bind(5, d.code_number).bind(6, d.code_notation);
  st->bind(7, d.promulgation_date).bind(8, d.subject).bind(9, d.document_type);
  st->bind(10, int64_t{d.priority}).bind(11, d.due_date);
  if (d.envelope) {
    st->bind(12, d.envelope->sha256).bind(13, static_cast<int64_t>(d.envelope->size));
  }
  st->bind(14, d.signer_summary).bind(15, d.submitter).bind(16, d.idempotency_key);
  st->bind(17, at).bind(18, at).bind(19, sql::fold(d.subject)).bind(20, int64_t{d.business_doc_type});
  auto inserted = st->step();
  if (!inserted.ok()) {
    if (is_live_document_id_violation(d, inserted.error())) {
      return make_error(ErrorKind::conflict, "document.duplicate_id",
                        "organ " + d.sender + " already has a live document with DocumentId '" + d.envelope_id +
                            "'; give the new document another code or date");
    }
    return inserted.error();
  }
  if (!*inserted) return make_error(ErrorKind::internal, "store.db", "the new document got no id");
  const DocumentId id = st->i64(0);
  EDX_TRY(st->run());  // ends the statement

  for (size_t i = 0; i < d.recipients.size(); ++i) {
    auto r = c.prepare("INSERT INTO recipients(document_id, ordinal, organ_id) VALUES(?,?,?)");
    if (!r.ok()) return r.error();
    EDX_TRY(r->bind(1, id).bind(2, static_cast<int64_t>(i)).bind(3, d.recipients[i]).run());
  }
  for (size_t i = 0; i < d.attachments.size(); ++i) {
    const Attachment& a = d.attachments[i];
    auto r = c.prepare(
        "INSERT INTO attachments(document_id, ordinal, name, content_type, sha256, size,"
        " unzipped_sha256, unzipped_size, note) VALUES(?,?,?,?,?,?,?,?,?)");
    if (!r.ok()) return r.error();
    r->bind(1, id).bind(2, static_cast<int64_t>(i)).bind(3, a.name).bind(4, a.content_type);
    r->bind(5, a.blob.sha256).bind(6, static_cast<int64_t>(a.blob.size));
    if (a.unzipped) {
      r->bind(7, a.unzipped->sha256).bind(8, static_cast<int64_t>(a.unzipped->size));
    } else {
      r->bind_null(7).bind_null(8);
    }
    EDX_TRY(r->bind(9, a.note).run());
  }
  auto t = c.prepare(
      "INSERT INTO transitions(document_id, from_state, to_state, actor, reason, at_ms)"
      " VALUES(?, NULL, ?, ?, 'created', ?)");
  if (!t.ok()) return t.error();
  EDX_TRY(t->bind(1, id).bind(2, state_name(d.state)).bind(3, d.actor).bind(4, at).run());
  EDX_TRY(insert_due_date(c, id, d, at));
  EDX_TRY(append_audit(c,
                       {d.actor, "document.create", "document:" + std::to_string(id), "ok",
                        std::string(direction_name(d.direction)) + " " + transition_detail(std::nullopt, d.state, "")},
                       at));
  return Created{id, false};
}

Result<Created> SqlStore::create_document(const NewDocument& doc) {
  EDX_TRY(check_new_document(doc));
  EDX_TRY(claim_blobs(doc));
  return write_tx<Created>([&](sql::Conn& c) { return insert_document(c, doc, now()); });
}

Result<std::vector<Created>> SqlStore::create_documents(std::span<const NewDocument> docs) {
  for (const NewDocument& d : docs) {
    EDX_TRY(check_new_document(d));
    EDX_TRY(claim_blobs(d));
  }
  return write_tx<std::vector<Created>>([&](sql::Conn& c) -> Result<std::vector<Created>> {
    std::vector<Created> out;
    out.reserve(docs.size());
    const int64_t at = now();
    for (const NewDocument& d : docs) {
      auto r = insert_document(c, d, at);
      if (!r.ok()) return r.error();
      out.push_back(*r);
    }
    return out;
  });
}

Result<Document> SqlStore::get_document(DocumentId id) {
  return read_tx<Document>([&](sql::Conn& c) -> Result<Document> {
    auto st = c.prepare_built(std::string("SELECT ") + kDocumentColumns + " FROM documents WHERE id = ?");
    if (!st.ok()) return st.error();
    st->bind(1, id);
    auto row = st->step();
    if (!row.ok()) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, "store.not_found", "no document " + std::to_string(id));
    Document d = document_at(*st);
    auto r = c.prepare("SELECT organ_id FROM recipients WHERE document_id = ? ORDER BY ordinal");
    if (!r.ok()) return r.error();
    r->bind(1, id);
    for (;;) {
      auto more = r->step();
      if (!more.ok()) return more.error();
      if (!*more) break;
      d.recipients.push_back(r->text(0));
    }
    auto a = c.prepare(
        "SELECT name, content_type, sha256, size, unzipped_sha256, unzipped_size, note"
        " FROM attachments WHERE document_id = ?"
        " ORDER BY ordinal");
    if (!a.ok()) return a.error();
    a->bind(1, id);
    for (;;) {
      auto more = a->step();
      if (!more.ok()) return more.error();
      if (!*more) break;
      Attachment att{a->text(0), a->text(1), BlobRef{a->text(2), static_cast<uint64_t>(a->i64(3))}, {}, a->text(6)};
      if (!a->is_null(4)) att.unzipped = BlobRef{a->text(4), static_cast<uint64_t>(a->i64(5))};
      d.attachments.push_back(std::move(att));
    }
    return d;
  });
}

Result<DocumentPage> SqlStore::list_documents(const DocumentQuery& q) {
  // The WHERE clause is built from fixed fragments; every value is bound.
  const bool postgresql = db_->dialect() == sql::Dialect::postgresql;
  std::string sql = std::string("SELECT ") + kDocumentColumns + " FROM documents WHERE 1 = 1";
  if (q.direction) sql += " AND direction = ?1";
  if (q.state) sql += " AND state = ?2";
  if (!q.sender.empty()) sql += " AND sender = ?3";
  if (q.created_from_ms) sql += " AND created_ms >= ?4";
  if (q.created_until_ms) sql += " AND created_ms < ?5";
  if (!q.subject_contains.empty()) {
    sql += postgresql ? " AND strpos(subject_folded, ?6) > 0" : " AND instr(subject_folded, ?6) > 0";
  }
  if (q.before_id) sql += " AND id < ?7";
  if (!q.envelope_id.empty()) sql += " AND envelope_id = ?9";
  // "<> ''": the partial indexes documents_lifecycle and
  // documents_idempotency are usable only when the query says so.
  if (!q.lifecycle.empty()) sql += " AND lifecycle = ?10 AND lifecycle <> ''";
  if (!q.idempotency_key.empty()) sql += " AND submitter = ?11 AND idempotency_key = ?12 AND idempotency_key <> ''";
  sql += " ORDER BY id DESC LIMIT ?8";
  const uint32_t limit = q.limit == 0 ? 50 : std::min<uint32_t>(q.limit, 1000);
  return read_tx<DocumentPage>([&](sql::Conn& c) -> Result<DocumentPage> {
    auto st = c.prepare_built(sql);
    if (!st.ok()) return st.error();
    if (q.direction) st->bind(1, direction_name(*q.direction));
    if (q.state) st->bind(2, state_name(*q.state));
    if (!q.sender.empty()) st->bind(3, q.sender);
    if (q.created_from_ms) st->bind(4, *q.created_from_ms);
    if (q.created_until_ms) st->bind(5, *q.created_until_ms);
    if (!q.subject_contains.empty()) st->bind(6, sql::fold(q.subject_contains));
    if (q.before_id) st->bind(7, *q.before_id);
    if (!q.envelope_id.empty()) st->bind(9, q.envelope_id);
    if (!q.lifecycle.empty()) st->bind(10, q.lifecycle);
    if (!q.idempotency_key.empty()) st->bind(11, q.submitter).bind(12, q.idempotency_key);
    st->bind(8, int64_t{limit} + 1);  // one more tells whether a next page exists
    DocumentPage page;
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      if (page.documents.size() == limit) {
        page.next_before_id = page.documents.back().id;
        break;
      }
      page.documents.push_back(document_at(*st));
    }
    return page;
  });
}

Status SqlStore::set_envelope(DocumentId id, const BlobRef& envelope, const std::string& signer_summary,
                              const std::string& actor) {
  if (signer_summary.size() > kMaxTextBytes) {
    return make_error(ErrorKind::too_large, "store.field_too_long", "the signer summary is too long");
  }
  EDX_TRY(blobs_.claim(envelope));
  return write_tx<void>(
      [&](sql::Conn& c) -> Status { return update_envelope(c, id, envelope, signer_summary, actor, now()); });
}

Status SqlStore::update_envelope(sql::Conn& c, DocumentId id, const BlobRef& envelope,
                                 const std::string& signer_summary, const std::string& actor, int64_t at) {
  // Only an outgoing document that has not left may get a new envelope.
  auto st = c.prepare(
      "UPDATE documents SET envelope_sha256 = ?, envelope_size = ?, signer_summary = ?,"
      " updated_ms = ? WHERE id = ? AND direction = 'outgoing'"
      " AND state IN ('draft', 'pending_signature', 'signed')");
  if (!st.ok()) return st.error();
  st->bind(1, envelope.sha256).bind(2, static_cast<int64_t>(envelope.size));
  EDX_TRY(st->bind(3, signer_summary).bind(4, at).bind(5, id).run());
  if (c.changes() == 0) {
    auto exists = c.prepare("SELECT state FROM documents WHERE id = ?");
    if (!exists.ok()) return exists.error();
    exists->bind(1, id);
    auto row = exists->step();
    if (!row.ok()) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, "store.not_found", "no document " + std::to_string(id));
    return make_error(ErrorKind::conflict, "store.conflict",
                      "the envelope of document " + std::to_string(id) + " can no longer change (state " +
                          exists->text(0) + " or incoming)");
  }
  return append_audit(
      c, {actor, "document.envelope", "document:" + std::to_string(id), "ok", "envelope sha256 " + envelope.sha256},
      at);
}

Status SqlStore::queue_signed(DocumentId id, const BlobRef& envelope, const std::string& signer_summary,
                              const SignedStart& how) {
  if (signer_summary.size() > kMaxTextBytes) {
    return make_error(ErrorKind::too_large, "store.field_too_long", "the signer summary is too long");
  }
  EDX_TRY(check_signed_start(how));
  EDX_TRY(blobs_.claim(envelope));
  return write_tx<void>([&](sql::Conn& c) -> Status {
    const int64_t at = now();
    EDX_TRY(update_envelope(c, id, envelope, signer_summary, how.actor, at));
    // A draft is first waiting for its signature, as transition() would move it.
    auto st = c.prepare("SELECT state FROM documents WHERE id = ?");
    if (!st.ok()) return st.error();
    st->bind(1, id);
    auto row = st->step();
    if (!row.ok()) return row.error();
    const bool draft = *row && st->text(0) == state_name(State::draft);
    EDX_TRY(st->run());  // ends the statement
    if (draft) EDX_TRY(move_document(c, id, State::pending_signature, how.actor, "", State::draft, at));
    return sign_and_queue(c, id, how, at);
  });
}

Status SqlStore::check_signed_start(const SignedStart& how) {
  if (how.actor.size() > kMaxTextBytes || how.signed_reason.size() > kMaxTextBytes ||
      how.audit_detail.size() > kMaxTextBytes) {
    return make_error(ErrorKind::too_large, "store.field_too_long", "the actor, reason or audit detail is too long");
  }
  if (how.item.payload) EDX_TRY(blobs_.claim(*how.item.payload));
  if (how.item.record) EDX_TRY(check_status_message(*how.item.record));
  return {};
}

Status SqlStore::sign_and_queue(sql::Conn& c, DocumentId id, const SignedStart& how, int64_t at) {
  EDX_TRY(move_document(c, id, State::signed_, how.actor, how.signed_reason, State::pending_signature, at));
  EDX_TRY(move_document(c, id, State::queued, how.actor, "", State::signed_, at));
  auto queued = insert_outbox(c, id, how.item, at);
  if (!queued.ok()) return queued.error();
  if (how.audit_detail.empty()) return {};
  // As the workflow audits a signature that failed (outgoing.cc).
  return append_audit(c, {how.actor, "document.sign", "document " + std::to_string(id), "ok", how.audit_detail}, at);
}

Result<Created> SqlStore::create_signed(const NewDocument& doc, const SignedStart& how) {
  if (doc.direction != Direction::outgoing || doc.state != State::pending_signature || !doc.envelope) {
    return make_error(ErrorKind::invalid, "store.bad_initial_state",
                      "a signed document starts outgoing, waiting for its signature, with its envelope");
  }
  EDX_TRY(check_new_document(doc));
  EDX_TRY(check_signed_start(how));
  EDX_TRY(claim_blobs(doc));
  return write_tx<Created>([&](sql::Conn& c) -> Result<Created> {
    const int64_t at = now();
    auto created = insert_document(c, doc, at);
    if (!created.ok() || created->existing) return created;
    EDX_TRY(sign_and_queue(c, created->id, how, at));
    return created;
  });
}

Status SqlStore::purge_document(DocumentId id, const std::string& actor, const std::string& reason) {
  return write_tx<void>([&](sql::Conn& c) -> Status {
    auto st = c.prepare("SELECT direction, state FROM documents WHERE id = ?");
    if (!st.ok()) return st.error();
    st->bind(1, id);
    auto row = st->step();
    if (!row.ok()) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, "store.not_found", "no document " + std::to_string(id));
    auto dir = parse_direction(st->text(0));
    auto state = parse_state(st->text(1));
    if (!dir || !state || !is_terminal(*dir, *state)) {
      return make_error(ErrorKind::conflict, "store.not_terminal",
                        "document " + std::to_string(id) + " is in state " + st->text(1) +
                            "; only a finished document can be purged");
    }
    auto del = c.prepare("DELETE FROM documents WHERE id = ?");  // rows of it cascade
    if (!del.ok()) return del.error();
    EDX_TRY(del->bind(1, id).run());
    return append_audit(c, {actor, "document.purge", "document:" + std::to_string(id), "ok", reason}, now());
  });
}

}  // namespace edxgate::store
