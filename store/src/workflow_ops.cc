// Workflow transitions, their history, and the status messages of a document.
#include <string>

#include "sql_store.h"

namespace edxgate::store {
namespace {

constexpr size_t kMaxTextBytes = 64 * 1024;

std::string doc_object(DocumentId id) { return "document:" + std::to_string(id); }

}  // namespace

Status SqlStore::move_document(sql::Conn& c, DocumentId id, State to, const std::string& actor,
                               const std::string& reason, std::optional<State> expected_from, int64_t at) {
  auto st = c.prepare("SELECT direction, state FROM documents WHERE id = ?");
  if (!st.ok()) return st.error();
  st->bind(1, id);
  auto row = st->step();
  if (!row.ok()) return row.error();
  if (!*row) return make_error(ErrorKind::not_found, "store.not_found", "no document " + std::to_string(id));
  auto direction = parse_direction(st->text(0));
  auto from = parse_state(st->text(1));
  if (!direction || !from) {
    return make_error(ErrorKind::io, "store.corrupt", "document " + std::to_string(id) + " has an unknown state");
  }
  if (expected_from && *expected_from != *from) {
    return make_error(ErrorKind::conflict, "store.conflict",
                      "document " + std::to_string(id) + " is in state " + std::string(state_name(*from)) + ", not " +
                          std::string(state_name(*expected_from)));
  }
  if (!is_legal(*direction, *from, to)) {
    return make_error(ErrorKind::conflict, "store.illegal_transition",
                      "an " + std::string(direction_name(*direction)) + " document cannot move from " +
                          std::string(state_name(*from)) + " to " + std::string(state_name(to)));
  }
  auto up = c.prepare("UPDATE documents SET state = ?, updated_ms = ? WHERE id = ?");
  if (!up.ok()) return up.error();
  EDX_TRY(up->bind(1, state_name(to)).bind(2, at).bind(3, id).run());
  auto t = c.prepare(
      "INSERT INTO transitions(document_id, from_state, to_state, actor, reason, at_ms)"
      " VALUES(?,?,?,?,?,?)");
  if (!t.ok()) return t.error();
  t->bind(1, id).bind(2, state_name(*from)).bind(3, state_name(to));
  EDX_TRY(t->bind(4, actor).bind(5, reason).bind(6, at).run());
  if (to == State::cancelled) {
    // A cancelled document is never sent: its pending (or failed, so that
    // no re-queue revives them) outbox items go with it.
    auto ob = c.prepare(
        "UPDATE outbox SET state = 'cancelled', lease_owner = '', lease_token = '',"
        " lease_until_ms = 0 WHERE document_id = ? AND state IN ('pending', 'failed')");
    if (!ob.ok()) return ob.error();
    EDX_TRY(ob->bind(1, id).run());
  }
  std::string detail = std::string(state_name(*from)) + " -> " + std::string(state_name(to));
  if (!reason.empty()) detail += ": " + reason;
  return append_audit(c, {actor, "document.transition", doc_object(id), "ok", detail}, at);
}

Result<std::optional<OutboxId>> SqlStore::transition(DocumentId id, State to, const std::string& actor,
                                                     const std::string& reason, std::optional<State> expected_from,
                                                     const std::optional<OutboxRequest>& enqueue) {
  if (actor.size() > kMaxTextBytes || reason.size() > kMaxTextBytes) {
    return make_error(ErrorKind::too_large, "store.field_too_long", "the actor or reason is too long");
  }
  if (enqueue && enqueue->payload) EDX_TRY(blobs_.claim(*enqueue->payload));
  if (enqueue && enqueue->record) EDX_TRY(check_status_message(*enqueue->record));
  return write_tx<std::optional<OutboxId>>([&](sql::Conn& c) -> Result<std::optional<OutboxId>> {
    const int64_t at = now();
    EDX_TRY(move_document(c, id, to, actor, reason, expected_from, at));
    if (!enqueue) return std::optional<OutboxId>();
    auto item = insert_outbox(c, id, *enqueue, at);
    if (!item.ok()) return item.error();
    return std::optional<OutboxId>(*item);
  });
}

Result<std::vector<Transition>> SqlStore::history(DocumentId id) {
  return read_tx<std::vector<Transition>>([&](sql::Conn& c) -> Result<std::vector<Transition>> {
    auto st = c.prepare(
        "SELECT from_state, to_state, actor, reason, at_ms FROM transitions"
        " WHERE document_id = ? ORDER BY id");
    if (!st.ok()) return st.error();
    st->bind(1, id);
    std::vector<Transition> out;
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      Transition t;
      if (!st->is_null(0)) t.from = parse_state(st->text(0));
      t.to = parse_state(st->text(1)).value_or(State::draft);
      t.actor = st->text(2);
      t.reason = st->text(3);
      t.at_ms = st->i64(4);
      out.push_back(std::move(t));
    }
    return out;
  });
}

Status SqlStore::check_status_message(const StatusMessage& m) {
  if (m.code.size() > 16 || m.description.size() > kMaxTextBytes || m.staff.size() > kMaxTextBytes ||
      m.unit.size() > kMaxTextBytes || m.organ_id.size() > kMaxTextBytes) {
    return make_error(ErrorKind::too_large, "store.field_too_long", "a status message field is too long");
  }
  if (m.envelope) EDX_TRY(blobs_.claim(*m.envelope));
  return {};
}

Status SqlStore::add_status_message(DocumentId id, const StatusMessage& m) {
  EDX_TRY(check_status_message(m));
  return write_tx<void>([&](sql::Conn& c) -> Status { return insert_status_message(c, id, m, now()); });
}

Status SqlStore::insert_status_message(sql::Conn& c, DocumentId id, const StatusMessage& m, int64_t now_ms) {
  const int64_t at = m.at_ms ? m.at_ms : now_ms;
  auto st = c.prepare(
      "INSERT INTO status_messages(document_id, direction, code, description, staff,"
      " envelope_sha256, envelope_size, at_ms, unit, organ_id) VALUES(?,?,?,?,?,?,?,?,?,?)");
  if (!st.ok()) return st.error();
  st->bind(1, id).bind(2, direction_name(m.direction)).bind(3, m.code);
  st->bind(4, m.description).bind(5, m.staff).bind(8, at).bind(9, m.unit).bind(10, m.organ_id);
  if (m.envelope) st->bind(6, m.envelope->sha256).bind(7, static_cast<int64_t>(m.envelope->size));
  Status s = st->run();
  if (!s.ok()) {
    if (s.error().code == "store.constraint") {
      return make_error(ErrorKind::not_found, "store.not_found", "no document " + std::to_string(id));
    }
    return s;
  }
  return append_audit(c,
                      {"system", m.direction == Direction::incoming ? "status.received" : "status.sent", doc_object(id),
                       "ok", "status " + m.code},
                      now_ms);
}

Result<std::vector<StatusMessage>> SqlStore::status_messages(DocumentId id) {
  return read_tx<std::vector<StatusMessage>>([&](sql::Conn& c) -> Result<std::vector<StatusMessage>> {
    auto st = c.prepare(
        "SELECT direction, code, description, staff, envelope_sha256, envelope_size, at_ms, unit, organ_id"
        " FROM status_messages WHERE document_id = ? ORDER BY id");
    if (!st.ok()) return st.error();
    st->bind(1, id);
    std::vector<StatusMessage> out;
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      StatusMessage m;
      m.direction = parse_direction(st->text(0)).value_or(Direction::incoming);
      m.code = st->text(1);
      m.description = st->text(2);
      m.staff = st->text(3);
      if (!st->is_null(4)) m.envelope = BlobRef{st->text(4), static_cast<uint64_t>(st->i64(5))};
      m.at_ms = st->i64(6);
      m.unit = st->text(7);
      m.organ_id = st->text(8);
      out.push_back(std::move(m));
    }
    return out;
  });
}

}  // namespace edxgate::store
