// The outbox: durable send queue with leases and capped, jittered backoff.
#include <algorithm>
#include <string>

#include "sql_store.h"

namespace edxgate::store {
namespace {

constexpr size_t kMaxErrorBytes = 2000;
constexpr size_t kMaxReasonBytes = 64 * 1024;  // an actor or reason, as for transitions

constexpr const char* kOutboxColumns =
    "id, document_id, kind, destination, payload_sha256, payload_size, state, attempts,"
    " next_attempt_ms, last_error, lease_owner, lease_until_ms, created_ms, lease_token, refusals";

OutboxState parse_outbox_state(const std::string& s) {
  if (s == "done") return OutboxState::done;
  if (s == "cancelled") return OutboxState::cancelled;
  if (s == "failed") return OutboxState::failed;
  return OutboxState::pending;
}

OutboxItem item_at(const sql::Stmt& st, bool with_token) {
  OutboxItem it;
  it.id = st.i64(0);
  it.document_id = st.i64(1);
  it.kind = st.text(2);
  it.destination = st.text(3);
  if (!st.is_null(4)) it.payload = BlobRef{st.text(4), static_cast<uint64_t>(st.i64(5))};
  it.state = parse_outbox_state(st.text(6));
  it.attempts = static_cast<int>(st.i64(7));
  it.next_attempt_ms = st.i64(8);
  it.last_error = st.text(9);
  it.lease_owner = st.text(10);
  it.lease_until_ms = st.i64(11);
  it.created_ms = st.i64(12);
  if (with_token) it.lease_token = st.text(13);
  it.refusals = static_cast<int>(st.i64(14));
  return it;
}

// Why an UPDATE guarded by (id, lease_token, pending) changed nothing.
Error lease_problem(sql::Conn& c, OutboxId id) {
  auto st = c.prepare("SELECT state FROM outbox WHERE id = ?");
  if (!st.ok()) return st.error();
  st->bind(1, id);
  auto row = st->step();
  if (!row.ok()) return row.error();
  if (!*row) return make_error(ErrorKind::not_found, "store.not_found", "no outbox item " + std::to_string(id));
  if (st->text(0) != "pending") {
    return make_error(ErrorKind::conflict, "store.conflict",
                      "outbox item " + std::to_string(id) + " is already " + st->text(0));
  }
  return make_error(ErrorKind::conflict, "store.lease_lost",
                    "the lease on outbox item " + std::to_string(id) + " expired and another worker holds it now");
}

// What a worker reads of the item it holds before it records the outcome of
// a send. The UPDATE that follows is guarded by the same lease and attempt
// count, so what was read here is what it changes.
struct LeasedItem {
  int64_t attempts = 0;
  int64_t refusals = 0;
  DocumentId document = 0;
  std::string kind;
};

// The pending item `id` while `lease_token` still holds it; otherwise the
// lease_problem (gone, finished, or leased to another worker since).
Result<LeasedItem> leased_item(sql::Conn& c, OutboxId id, const std::string& lease_token) {
  auto cur = c.prepare(
      "SELECT attempts, refusals, document_id, kind FROM outbox WHERE id = ? AND lease_token = ?"
      " AND state = 'pending' AND ? <> ''");
  if (!cur.ok()) return cur.error();
  cur->bind(1, id).bind(2, lease_token).bind(3, lease_token);
  auto row = cur->step();
  if (!row.ok()) return row.error();
  if (!*row) return lease_problem(c, id);
  LeasedItem item;
  item.attempts = cur->i64(0);
  item.refusals = cur->i64(1);
  item.document = cur->i64(2);
  item.kind = cur->text(3);
  EDX_TRY(cur->run());  // ends the statement
  return item;
}

}  // namespace

std::string_view outbox_state_name(OutboxState s) {
  switch (s) {
    case OutboxState::pending:
      return "pending";
    case OutboxState::done:
      return "done";
    case OutboxState::cancelled:
      return "cancelled";
    case OutboxState::failed:
      return "failed";
  }
  return "pending";
}

int64_t backoff_delay_ms(const BackoffPolicy& p, int failures, uint64_t random) {
  const int64_t base = std::max<int64_t>(p.base_ms, 1);
  const int64_t cap = std::max<int64_t>(p.cap_ms, p.min_delay_ms);
  int64_t ceiling = base;
  for (int i = 1; i < failures && ceiling < cap; ++i) ceiling *= 2;  // no overflow: stops at cap
  ceiling = std::min(ceiling, cap);
  const int64_t floor = std::min(p.min_delay_ms, ceiling);
  // Scale a 64-bit random number onto [floor, ceiling] (no modulo bias).
  __extension__ using u128 = unsigned __int128;
  const auto span = static_cast<u128>(ceiling - floor) + 1;
  return floor + static_cast<int64_t>((static_cast<u128>(random) * span) >> 64);
}

Result<OutboxId> SqlStore::insert_outbox(sql::Conn& c, DocumentId id, const OutboxRequest& r, int64_t at) {
  if (r.kind.size() > 64 || r.destination.size() > 64 * 1024) {
    return make_error(ErrorKind::too_large, "store.field_too_long", "the outbox kind or destination is too long");
  }
  auto st = c.prepare(
      "INSERT INTO outbox(document_id, kind, destination, payload_sha256, payload_size, state,"
      " attempts, next_attempt_ms, last_error, lease_owner, lease_token, lease_until_ms, created_ms)"
      " VALUES(?,?,?,?,?,'pending',0,?,'','','',0,?) RETURNING id");
  if (!st.ok()) return st.error();
  st->bind(1, id).bind(2, r.kind).bind(3, r.destination).bind(6, at).bind(7, at);
  if (r.payload) st->bind(4, r.payload->sha256).bind(5, static_cast<int64_t>(r.payload->size));
  auto inserted = st->step();
  if (!inserted.ok()) {
    if (inserted.error().code == "store.constraint") {
      return make_error(ErrorKind::not_found, "store.not_found", "no document " + std::to_string(id));
    }
    return inserted.error();
  }
  if (!*inserted) return make_error(ErrorKind::internal, "store.db", "the new outbox item got no id");
  const OutboxId item = st->i64(0);
  EDX_TRY(st->run());  // ends the statement
  if (r.record) EDX_TRY(insert_status_message(c, id, *r.record, at));
  EDX_TRY(append_audit(c,
                       {"system", "outbox.enqueue", "document:" + std::to_string(id), "ok",
                        "item " + std::to_string(item) + " " + r.kind + " to " + r.destination},
                       at));
  return item;
}

Result<OutboxId> SqlStore::enqueue(DocumentId id, const OutboxRequest& request) {
  if (request.payload) EDX_TRY(blobs_.claim(*request.payload));
  if (request.record) EDX_TRY(check_status_message(*request.record));
  return write_tx<OutboxId>([&](sql::Conn& c) { return insert_outbox(c, id, request, now()); });
}

Result<std::vector<OutboxItem>> SqlStore::claim_outbox(const std::string& worker, int64_t lease_ms,
                                                       uint32_t max_items) {
  if (lease_ms <= 0 || max_items == 0) return std::vector<OutboxItem>{};
  max_items = std::min<uint32_t>(max_items, 1000);
  return write_tx<std::vector<OutboxItem>>(
      [&](sql::Conn& c) -> Result<std::vector<OutboxItem>> {
        const int64_t at = now();
        std::vector<OutboxId> due;
        {
          // PostgreSQL: nodes claiming at once each lock and take distinct items
          // (SKIP LOCKED passes over rows another claim holds); SQLite has one writer.
          static constexpr const char* kDue =
              "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_ms <= ?1"
              " AND lease_until_ms <= ?1 ORDER BY next_attempt_ms, id LIMIT ?2";
          static constexpr const char* kDueSkipLocked =
              "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_ms <= ?1"
              " AND lease_until_ms <= ?1 ORDER BY next_attempt_ms, id LIMIT ?2 FOR UPDATE SKIP LOCKED";
          auto st = c.prepare(c.is_postgresql() ? kDueSkipLocked : kDue);
          if (!st.ok()) return st.error();
          st->bind(1, at).bind(2, int64_t{max_items});
          for (;;) {
            auto row = st->step();
            if (!row.ok()) return row.error();
            if (!*row) break;
            due.push_back(st->i64(0));
          }
        }
        std::vector<OutboxItem> out;
        for (OutboxId id : due) {
          auto up = c.prepare("UPDATE outbox SET lease_owner = ?, lease_token = ?, lease_until_ms = ? WHERE id = ?");
          if (!up.ok()) return up.error();
          EDX_TRY(up->bind(1, worker).bind(2, new_token()).bind(3, at + lease_ms).bind(4, id).run());
          auto st = c.prepare_built(std::string("SELECT ") + kOutboxColumns + " FROM outbox WHERE id = ?");
          if (!st.ok()) return st.error();
          st->bind(1, id);
          auto row = st->step();
          if (!row.ok()) return row.error();
          if (*row) out.push_back(item_at(*st, /*with_token=*/true));
        }
        return out;
      },
      /*lock_audit=*/false);
}

Status SqlStore::complete_outbox(OutboxId id, const std::string& lease_token, std::optional<State> advance_to,
                                 const std::string& actor) {
  return write_tx<void>([&](sql::Conn& c) -> Status {
    const int64_t at = now();
    auto st = c.prepare(
        "UPDATE outbox SET state = 'done', lease_owner = '', lease_token = '', lease_until_ms = 0,"
        " last_error = '' WHERE id = ? AND lease_token = ? AND state = 'pending' AND ? <> ''");
    if (!st.ok()) return st.error();
    EDX_TRY(st->bind(1, id).bind(2, lease_token).bind(3, lease_token).run());
    if (c.changes() == 0) return lease_problem(c, id);
    auto doc = c.prepare("SELECT document_id FROM outbox WHERE id = ?");
    if (!doc.ok()) return doc.error();
    doc->bind(1, id);
    auto row = doc->step();
    if (!row.ok()) return row.error();
    const DocumentId document = doc->i64(0);
    EDX_TRY(append_audit(
        c, {actor, "outbox.sent", "document:" + std::to_string(document), "ok", "item " + std::to_string(id)}, at));
    if (advance_to) EDX_TRY(move_document(c, document, *advance_to, actor, "outbox item sent", {}, at));
    return {};
  });
}

Status SqlStore::fail_outbox(OutboxId id, const std::string& lease_token, const std::string& error) {
  return write_tx<void>(
      [&](sql::Conn& c) -> Status {
        const int64_t at = now();
        auto item = leased_item(c, id, lease_token);
        if (!item.ok()) return item.error();
        const int64_t attempts = item->attempts;
        const int failures = static_cast<int>(attempts) + 1;
        const int64_t next = at + backoff_delay_ms(options_.backoff, failures, random64());
        // Guarded by the lease again: without the audit lock, another node may
        // have taken the item over (or completed it) since the SELECT.
        auto st = c.prepare(
            "UPDATE outbox SET attempts = ?, next_attempt_ms = ?, last_error = ?, lease_owner = '',"
            " lease_token = '', lease_until_ms = 0 WHERE id = ? AND lease_token = ? AND state = 'pending'"
            " AND attempts = ?");
        if (!st.ok()) return st.error();
        const std::string err = error.substr(0, kMaxErrorBytes);
        st->bind(1, int64_t{failures}).bind(2, next).bind(3, err).bind(4, id);
        EDX_TRY(st->bind(5, lease_token).bind(6, attempts).run());
        if (c.changes() == 0) return lease_problem(c, id);
        return {};
      },
      /*lock_audit=*/false);
}

Result<bool> SqlStore::refuse_outbox(OutboxId id, const std::string& lease_token, const std::string& error,
                                     int max_refusals) {
  return write_tx<bool>([&](sql::Conn& c) -> Result<bool> {
    const int64_t at = now();
    auto item = leased_item(c, id, lease_token);
    if (!item.ok()) return item.error();
    const int64_t attempts = item->attempts;
    const int64_t refusals = item->refusals + 1;
    const DocumentId document = item->document;
    const std::string& kind = item->kind;
    const bool failed = refusals >= std::max(max_refusals, 1);
    const int64_t next =
        failed ? at : at + backoff_delay_ms(options_.backoff, static_cast<int>(attempts) + 1, random64());
    const std::string err = error.substr(0, kMaxErrorBytes);
    auto st = c.prepare(
        "UPDATE outbox SET state = ?, attempts = ?, refusals = ?, next_attempt_ms = ?, last_error = ?,"
        " lease_owner = '', lease_token = '', lease_until_ms = 0 WHERE id = ? AND lease_token = ?"
        " AND state = 'pending' AND attempts = ?");
    if (!st.ok()) return st.error();
    st->bind(1, failed ? "failed" : "pending").bind(2, attempts + 1).bind(3, refusals).bind(4, next);
    EDX_TRY(st->bind(5, err).bind(6, id).bind(7, lease_token).bind(8, attempts).run());
    if (c.changes() == 0) return lease_problem(c, id);
    if (!failed) return false;
    const std::string why = "refused by the axis " + std::to_string(refusals) + " time(s): " + err;
    EDX_TRY(append_audit(c,
                         {"system:outbox", "outbox.failed", "document:" + std::to_string(document), "refused",
                          "item " + std::to_string(id) + " " + kind + ": " + why},
                         at));
    if (kind == "edoc") {
      auto doc = c.prepare("SELECT state FROM documents WHERE id = ? AND direction = 'outgoing'");
      if (!doc.ok()) return doc.error();
      doc->bind(1, document);
      auto found = doc->step();
      if (!found.ok()) return found.error();
      const bool queued = *found && doc->text(0) == state_name(State::queued);
      EDX_TRY(doc->run());
      if (queued) EDX_TRY(move_document(c, document, State::failed, "system:outbox", why, State::queued, at));
    }
    return true;
  });
}

Status SqlStore::requeue_failed(DocumentId id, const std::string& actor, const std::string& reason) {
  if (actor.size() > kMaxReasonBytes || reason.size() > kMaxReasonBytes) {
    return make_error(ErrorKind::too_large, "store.field_too_long", "the actor or reason is too long");
  }
  return write_tx<void>([&](sql::Conn& c) -> Status {
    const int64_t at = now();
    auto doc = c.prepare("SELECT state FROM documents WHERE id = ? AND direction = 'outgoing'");
    if (!doc.ok()) return doc.error();
    doc->bind(1, id);
    auto found = doc->step();
    if (!found.ok()) return found.error();
    if (!*found)
      return make_error(ErrorKind::not_found, "store.not_found", "no outgoing document " + std::to_string(id));
    const std::string state = doc->text(0);
    EDX_TRY(doc->run());
    if (state != state_name(State::failed)) {
      return make_error(ErrorKind::conflict, "store.conflict",
                        "document " + std::to_string(id) + " is " + state + ": only a failed document is re-queued");
    }
    EDX_TRY(move_document(c, id, State::queued, actor, reason.empty() ? "re-queued" : reason, State::failed, at));
    auto up = c.prepare(
        "UPDATE outbox SET state = 'pending', refusals = 0, next_attempt_ms = ?, lease_owner = '',"
        " lease_token = '', lease_until_ms = 0 WHERE document_id = ? AND state = 'failed'");
    if (!up.ok()) return up.error();
    EDX_TRY(up->bind(1, at).bind(2, id).run());
    const int64_t items = c.changes();
    return append_audit(c,
                        {actor, "outbox.requeue", "document:" + std::to_string(id), "ok",
                         std::to_string(items) + " item(s) pending again" + (reason.empty() ? "" : ": " + reason)},
                        at);
  });
}

Status SqlStore::cancel_outbox(OutboxId id, const std::string& actor, const std::string& reason) {
  return write_tx<void>([&](sql::Conn& c) -> Status {
    auto st = c.prepare(
        "UPDATE outbox SET state = 'cancelled', lease_owner = '', lease_token = '',"
        " lease_until_ms = 0 WHERE id = ? AND state = 'pending'");
    if (!st.ok()) return st.error();
    EDX_TRY(st->bind(1, id).run());
    if (c.changes() == 0) return lease_problem(c, id);
    return append_audit(c, {actor, "outbox.cancel", "outbox:" + std::to_string(id), "ok", reason}, now());
  });
}

Result<uint64_t> SqlStore::release_leases(const std::string& worker) {
  return write_tx<uint64_t>([&](sql::Conn& c) -> Result<uint64_t> {
    auto st = c.prepare(
        "UPDATE outbox SET lease_owner = '', lease_token = '', lease_until_ms = 0"
        " WHERE lease_owner = ? AND state = 'pending' AND lease_until_ms > ?");
    if (!st.ok()) return st.error();
    const int64_t at = now();
    EDX_TRY(st->bind(1, worker).bind(2, at).run());
    const uint64_t n = static_cast<uint64_t>(c.changes());
    if (n > 0) {
      EDX_TRY(append_audit(
          c, {worker, "outbox.release", "outbox", "ok", std::to_string(n) + " lease(s) of a previous run released"},
          at));
    }
    return n;
  });
}

Result<StoreStats> SqlStore::stats() {
  return read_tx<StoreStats>([&](sql::Conn& c) -> Result<StoreStats> {
    StoreStats s;
    auto st = c.prepare("SELECT direction, state, count(*) FROM documents GROUP BY direction, state");
    if (!st.ok()) return st.error();
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      auto d = parse_direction(st->text(0));
      auto state = parse_state(st->text(1));
      if (d && state) s.documents.push_back({*d, *state, static_cast<uint64_t>(st->i64(2))});
    }
    auto ob = c.prepare("SELECT count(*), coalesce(min(created_ms), 0) FROM outbox WHERE state = 'pending'");
    if (!ob.ok()) return ob.error();
    auto row = ob->step();
    if (!row.ok()) return row.error();
    if (*row) {
      s.outbox_pending = static_cast<uint64_t>(ob->i64(0));
      s.outbox_oldest_created_ms = ob->i64(1);
    }
    return s;
  });
}

Result<std::vector<OutboxItem>> SqlStore::list_outbox(const OutboxQuery& q) {
  std::string sql = std::string("SELECT ") + kOutboxColumns + " FROM outbox WHERE 1 = 1";
  if (q.state) sql += " AND state = ?1";
  if (q.document_id) sql += " AND document_id = ?2";
  if (q.after_id) sql += " AND id > ?3";
  sql += " ORDER BY id LIMIT ?4";
  const uint32_t limit = q.limit == 0 ? 100 : std::min<uint32_t>(q.limit, 1000);
  return read_tx<std::vector<OutboxItem>>([&](sql::Conn& c) -> Result<std::vector<OutboxItem>> {
    auto st = c.prepare_built(sql);
    if (!st.ok()) return st.error();
    if (q.state) st->bind(1, outbox_state_name(*q.state));
    if (q.document_id) st->bind(2, *q.document_id);
    if (q.after_id) st->bind(3, *q.after_id);
    st->bind(4, int64_t{limit});
    std::vector<OutboxItem> out;
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      out.push_back(item_at(*st, /*with_token=*/false));
    }
    return out;
  });
}

}  // namespace edxgate::store
