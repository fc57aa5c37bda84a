// The audit log: append-only rows, each chained to the previous by SHA-256.
#include <string>

#include "edxgate/base/digest.h"
#include "sql_store.h"

namespace edxgate::store {
namespace {

const std::string kGenesis(64, '0');
constexpr size_t kMaxFieldBytes = 16 * 1024;

void put_field(std::string& out, std::string_view v) {
  out += std::to_string(v.size());
  out += ':';
  out += v;
  out += ';';
}

}  // namespace

std::string audit_row_hash(const std::string& prev_sha256, int64_t seq, int64_t at_ms, const AuditEvent& e) {
  std::string buf = "edxgate-audit-v1;";
  put_field(buf, prev_sha256);
  put_field(buf, std::to_string(seq));
  put_field(buf, std::to_string(at_ms));
  put_field(buf, e.actor);
  put_field(buf, e.action);
  put_field(buf, e.object);
  put_field(buf, e.outcome);
  put_field(buf, e.detail);
  return sha256_hex(buf);
}

Status SqlStore::append_audit(sql::Conn& c, const AuditEvent& event, int64_t at) {
  AuditEvent e = event;
  for (std::string* f : {&e.actor, &e.action, &e.object, &e.outcome, &e.detail}) {
    if (f->size() > kMaxFieldBytes) f->resize(kMaxFieldBytes);  // bounded rows; never refuse to audit
  }
  auto last = c.prepare("SELECT seq, sha256 FROM audit_log ORDER BY seq DESC LIMIT 1");
  if (!last.ok()) return last.error();
  auto row = last->step();
  if (!row.ok()) return row.error();
  const int64_t seq = *row ? last->i64(0) + 1 : 1;
  const std::string prev = *row ? last->text(1) : kGenesis;
  const std::string hash = audit_row_hash(prev, seq, at, e);
  auto st = c.prepare(
      "INSERT INTO audit_log(seq, at_ms, actor, action, object, outcome, detail, prev_sha256, sha256)"
      " VALUES(?,?,?,?,?,?,?,?,?)");
  if (!st.ok()) return st.error();
  st->bind(1, seq).bind(2, at).bind(3, e.actor).bind(4, e.action).bind(5, e.object);
  return st->bind(6, e.outcome).bind(7, e.detail).bind(8, prev).bind(9, hash).run();
}

Status SqlStore::append(const AuditEvent& event) {
  return write_tx<void>([&](sql::Conn& c) { return append_audit(c, event, now()); });
}

Result<AuditCheck> SqlStore::verify_audit() {
  // One snapshot, read in pages: PostgreSQL hands a query's whole result to
  // the client at once, and the chain may hold millions of rows.
  static constexpr int64_t kPage = 2000;
  return read_tx<AuditCheck>([&](sql::Conn& c) -> Result<AuditCheck> {
    auto st = c.prepare(
        "SELECT seq, at_ms, actor, action, object, outcome, detail, prev_sha256, sha256"
        " FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?");
    if (!st.ok()) return st.error();
    AuditCheck check;
    std::string prev = kGenesis;
    int64_t expected_seq = 1;
    int64_t last_seq = 0;
    auto broken = [&](int64_t seq, std::string problem) {
      check.ok = false;
      check.first_bad_seq = seq;
      check.problem = std::move(problem);
      return check;
    };
    for (;;) {
      st->bind(1, last_seq).bind(2, kPage);
      int64_t in_page = 0;
      for (;;) {
        auto row = st->step();
        if (!row.ok()) return row.error();
        if (!*row) break;
        ++in_page;
        const int64_t seq = st->i64(0);
        last_seq = seq;
        AuditEvent e{st->text(2), st->text(3), st->text(4), st->text(5), st->text(6)};
        const std::string stored_prev = st->text(7);
        const std::string stored = st->text(8);
        if (seq != expected_seq) {
          return broken(expected_seq, "row " + std::to_string(expected_seq) + " is missing (the next row is " +
                                          std::to_string(seq) + ")");
        }
        if (stored_prev != prev) {
          return broken(seq,
                        "row " + std::to_string(seq) + " does not chain to the previous row (its prev_sha256 differs)");
        }
        if (audit_row_hash(prev, seq, st->i64(1), e) != stored) {
          return broken(seq, "row " + std::to_string(seq) + " was altered (its content does not match its sha256)");
        }
        prev = stored;
        ++expected_seq;
        ++check.rows;
      }
      if (in_page < kPage) break;
      st->reset();  // for the next page's bindings
    }
    check.head_sha256 = prev;
    return check;
  });
}

Result<std::vector<AuditRow>> SqlStore::audit_rows(int64_t after_seq, uint32_t limit) {
  limit = limit == 0 ? 100 : std::min<uint32_t>(limit, 1000);
  return read_tx<std::vector<AuditRow>>([&](sql::Conn& c) -> Result<std::vector<AuditRow>> {
    auto st = c.prepare(
        "SELECT seq, at_ms, actor, action, object, outcome, detail, prev_sha256, sha256"
        " FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?");
    if (!st.ok()) return st.error();
    st->bind(1, after_seq).bind(2, int64_t{limit});
    std::vector<AuditRow> out;
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      out.push_back({st->i64(0), st->i64(1),
                     AuditEvent{st->text(2), st->text(3), st->text(4), st->text(5), st->text(6)}, st->text(7),
                     st->text(8)});
    }
    return out;
  });
}

}  // namespace edxgate::store
