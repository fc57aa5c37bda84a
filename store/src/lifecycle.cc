// The lifecycle of a document beside its workflow (issue 16): the current
// marker on the document row and the events, with the links between the
// original and the recall, update or replacement that concerns it.
#include <algorithm>
#include <string>

#include "sql_store.h"

namespace edxgate::store {
namespace {

constexpr size_t kMaxTextBytes = 64 * 1024;
constexpr size_t kMaxNameBytes = 64;  // markers and relations are short words

}  // namespace

Status SqlStore::record_lifecycle(std::span<const LifecycleEvent> events) {
  for (const LifecycleEvent& e : events) {
    if (e.lifecycle.size() > kMaxNameBytes || e.relation.size() > kMaxNameBytes || e.actor.size() > kMaxTextBytes ||
        e.reason.size() > kMaxTextBytes) {
      return make_error(ErrorKind::invalid, "store.field_too_long", "a lifecycle event field is too long");
    }
  }
  return write_tx<void>([&](sql::Conn& c) -> Status {
    const int64_t at = now();
    for (const LifecycleEvent& e : events) {
      const std::string which = "document " + std::to_string(e.document_id);
      auto cur = c.prepare("SELECT lifecycle FROM documents WHERE id = ?");
      if (!cur.ok()) return cur.error();
      cur->bind(1, e.document_id);
      auto row = cur->step();
      if (!row.ok()) return row.error();
      if (!*row) return make_error(ErrorKind::not_found, "store.not_found", "no " + which);
      const std::string current = cur->text(0);
      if (e.expected_lifecycle && std::find(e.expected_lifecycle->begin(), e.expected_lifecycle->end(), current) ==
                                      e.expected_lifecycle->end()) {
        return make_error(
            ErrorKind::conflict, "store.conflict",
            which + " is " + (current.empty() ? std::string("in no lifecycle step") : current) + " in its lifecycle");
      }
      if (!e.lifecycle.empty()) {
        auto up = c.prepare("UPDATE documents SET lifecycle = ?, updated_ms = ? WHERE id = ?");
        if (!up.ok()) return up.error();
        EDX_TRY(up->bind(1, e.lifecycle).bind(2, at).bind(3, e.document_id).run());
      }
      auto ins = c.prepare(
          "INSERT INTO lifecycle_events(document_id, lifecycle, related_id, relation, actor, reason, at_ms)"
          " VALUES(?,?,?,?,?,?,?)");
      if (!ins.ok()) return ins.error();
      ins->bind(1, e.document_id).bind(2, e.lifecycle).bind(3, e.related).bind(4, e.relation);
      EDX_TRY(ins->bind(5, e.actor).bind(6, e.reason).bind(7, at).run());
      std::string detail = e.lifecycle.empty() ? current : e.lifecycle;
      if (e.related) detail += " " + e.relation + " document:" + std::to_string(*e.related);
      if (!e.reason.empty()) detail += ": " + e.reason;
      EDX_TRY(append_audit(
          c, {e.actor, "document.lifecycle", "document:" + std::to_string(e.document_id), "ok", detail}, at));
    }
    return {};
  });
}

Result<std::vector<LifecycleEvent>> SqlStore::lifecycle_events(DocumentId id) {
  return read_tx<std::vector<LifecycleEvent>>([&](sql::Conn& c) -> Result<std::vector<LifecycleEvent>> {
    auto st = c.prepare(
        "SELECT lifecycle, related_id, relation, actor, reason, at_ms FROM lifecycle_events"
        " WHERE document_id = ? ORDER BY id");
    if (!st.ok()) return st.error();
    st->bind(1, id);
    std::vector<LifecycleEvent> out;
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      LifecycleEvent e;
      e.document_id = id;
      e.lifecycle = st->text(0);
      if (!st->is_null(1)) e.related = st->i64(1);
      e.relation = st->text(2);
      e.actor = st->text(3);
      e.reason = st->text(4);
      e.at_ms = st->i64(5);
      out.push_back(std::move(e));
    }
    return out;
  });
}

}  // namespace edxgate::store
