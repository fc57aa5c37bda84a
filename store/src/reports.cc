// Processing tracking and reports (reports.h): the tracking row of an
// incoming document, and the two reports, aggregated by the database. The SQL
// is the same text on both engines (CASE, COALESCE, correlated subqueries,
// ON CONFLICT ... DO UPDATE are common to SQLite and PostgreSQL).
#include <algorithm>
#include <charconv>
#include <limits>
#include <string>

#include "sql_store.h"

namespace edxgate::store {
namespace {

constexpr size_t kMaxTrackingText = 1024;  // a unit or a person's name
constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kVietnamOffsetMs = 7 * 3'600'000;  // UTC+7, no daylight saving

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::string tracking_detail(const TrackingUpdate& u) {
  std::string d;
  auto add = [&](const std::string& part) { d += (d.empty() ? "" : ", ") + part; };
  if (u.deadline_ms) add("deadline_ms " + std::to_string(*u.deadline_ms));
  if (!u.unit.empty()) add("unit " + u.unit);
  if (!u.handler.empty()) add("handler " + u.handler);
  return d;
}

uint64_t count_at(const sql::Stmt& st, int col) {
  return st.is_null(col) ? 0 : static_cast<uint64_t>(std::max<int64_t>(0, st.i64(col)));
}

Status check_period(const ReportPeriod& p) {
  if (p.from_ms > p.to_ms) {
    return make_error(ErrorKind::invalid, "report.range", "the report's period starts after it ends (from > to)");
  }
  return {};
}

// One row per incoming document received in [?1, ?2): its state, unit,
// deadline, whether it is still open, and when it was completed.
constexpr const char* kIncomingRows =
    " FROM (SELECT d.state AS state, COALESCE(t.unit, '') AS unit, t.deadline_ms AS deadline_ms,"
    " CASE WHEN d.state IN ('completed', 'refused', 'revoked', 'replaced') THEN 0 ELSE 1 END AS open,"
    " (SELECT min(x.at_ms) FROM transitions x WHERE x.document_id = d.id AND x.to_state = 'completed')"
    " AS completed_ms"
    " FROM documents d LEFT JOIN tracking t ON t.document_id = d.id"
    " WHERE d.direction = 'incoming' AND d.state <> 'quarantined' AND d.created_ms >= ?1 AND d.created_ms < ?2) y";
// ?3 is the report's now.
constexpr const char* kIncomingCounts =
    "count(*),"
    " sum(CASE WHEN open = 1 AND (deadline_ms IS NULL OR deadline_ms >= ?3) THEN 1 ELSE 0 END),"
    " sum(CASE WHEN state = 'completed' AND (deadline_ms IS NULL OR completed_ms <= deadline_ms) THEN 1 ELSE 0 END),"
    " sum(CASE WHEN state = 'completed' AND deadline_ms IS NOT NULL AND completed_ms > deadline_ms THEN 1 ELSE 0 END),"
    " sum(CASE WHEN state = 'refused' THEN 1 ELSE 0 END),"
    " sum(CASE WHEN open = 1 AND deadline_ms < ?3 THEN 1 ELSE 0 END)";

IncomingUnitCounts incoming_counts_at(const sql::Stmt& st, int first) {
  IncomingUnitCounts c;
  c.received = count_at(st, first);
  c.in_progress = count_at(st, first + 1);
  c.done_on_time = count_at(st, first + 2);
  c.done_late = count_at(st, first + 3);
  c.refused = count_at(st, first + 4);
  c.overdue = count_at(st, first + 5);
  return c;
}

// One row per (outgoing document first sent in [?1, ?2), recipient): the
// furthest status of the 01..06 chain that recipient sent, and its refusals.
constexpr const char* kOutgoingRows =
    " FROM (SELECT r.organ_id AS organ_id, s.sent_ms AS sent_ms,"
    " (SELECT max(m.code) FROM status_messages m WHERE m.document_id = d.id AND m.direction = 'incoming'"
    " AND m.organ_id = r.organ_id AND m.code IN ('01', '03', '04', '05', '06')) AS furthest,"
    " (SELECT count(*) FROM status_messages m WHERE m.document_id = d.id AND m.direction = 'incoming'"
    " AND m.organ_id = r.organ_id AND m.code = '02') AS refusals"
    " FROM documents d"
    " JOIN (SELECT document_id, min(at_ms) AS sent_ms FROM transitions WHERE to_state = 'sent'"
    " GROUP BY document_id) s ON s.document_id = d.id"
    " JOIN recipients r ON r.document_id = d.id"
    " WHERE d.direction = 'outgoing' AND s.sent_ms >= ?1 AND s.sent_ms < ?2) y";
// ?3 is the instant before which a send without an answer is "no answer".
constexpr const char* kOutgoingCounts =
    "count(*),"
    " sum(CASE WHEN refusals = 0 AND furthest = '01' AND sent_ms >= ?3 THEN 1 ELSE 0 END),"
    " sum(CASE WHEN refusals = 0 AND furthest = '03' THEN 1 ELSE 0 END),"
    " sum(CASE WHEN refusals = 0 AND furthest IN ('04', '05') THEN 1 ELSE 0 END),"
    " sum(CASE WHEN refusals = 0 AND furthest = '06' THEN 1 ELSE 0 END),"
    " sum(CASE WHEN refusals > 0 THEN 1 ELSE 0 END),"
    " sum(CASE WHEN refusals = 0 AND (furthest IS NULL OR furthest = '01') AND sent_ms < ?3 THEN 1 ELSE 0 END),"
    " sum(CASE WHEN refusals = 0 AND furthest IS NULL AND sent_ms >= ?3 THEN 1 ELSE 0 END)";

OutgoingOrganCounts outgoing_counts_at(const sql::Stmt& st, int first) {
  OutgoingOrganCounts c;
  c.sent = count_at(st, first);
  c.delivered = count_at(st, first + 1);
  c.accepted = count_at(st, first + 2);
  c.in_progress = count_at(st, first + 3);
  c.completed = count_at(st, first + 4);
  c.refused = count_at(st, first + 5);
  c.no_answer = count_at(st, first + 6);
  c.waiting = count_at(st, first + 7);
  return c;
}

}  // namespace

std::string_view deadline_source_name(DeadlineSource s) {
  switch (s) {
    case DeadlineSource::none:
      return "";
    case DeadlineSource::due_date:
      return "due_date";
    case DeadlineSource::assigned:
      return "assigned";
  }
  return "";
}

std::optional<int64_t> deadline_of_day(std::string_view date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return std::nullopt;
  auto number = [&](size_t at, size_t len) -> std::optional<unsigned> {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(date.data() + at, date.data() + at + len, v);
    if (ec != std::errc() || end != date.data() + at + len) return std::nullopt;
    return v;
  };
  auto y = number(0, 4), m = number(5, 2), d = number(8, 2);
  if (!y || !m || !d || *y < 1900 || *m < 1 || *m > 12 || *d < 1) return std::nullopt;
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
  if (*d > kDays[*m - 1] + (*m == 2 && leap ? 1 : 0)) return std::nullopt;
  return (days_from_civil(*y, *m, *d) + 1) * kDayMs - kVietnamOffsetMs - 1;
}

Status SqlStore::insert_due_date(sql::Conn& c, DocumentId id, const NewDocument& d, int64_t at) {
  if (d.direction != Direction::incoming) return {};
  const auto deadline = deadline_of_day(d.due_date);
  if (!deadline) return {};
  auto st = c.prepare(
      "INSERT INTO tracking(document_id, deadline_ms, deadline_source, unit, handler, updated_ms)"
      " VALUES(?, ?, 'due_date', '', '', ?)");
  if (!st.ok()) return st.error();
  return st->bind(1, id).bind(2, *deadline).bind(3, at).run();
}

Status SqlStore::update_tracking(DocumentId id, const TrackingUpdate& u) {
  if (u.unit.size() > kMaxTrackingText || u.handler.size() > kMaxTrackingText || u.actor.size() > kMaxTrackingText) {
    return make_error(ErrorKind::invalid, "store.field_too_long",
                      "a unit, handler or actor is longer than " + std::to_string(kMaxTrackingText) + " bytes");
  }
  if (!u.deadline_ms && u.unit.empty() && u.handler.empty()) return {};
  return write_tx<void>([&](sql::Conn& c) -> Status {
    auto doc = c.prepare("SELECT direction FROM documents WHERE id = ?");
    if (!doc.ok()) return doc.error();
    doc->bind(1, id);
    auto row = doc->step();
    if (!row.ok()) return row.error();
    if (!*row || doc->text(0) != "incoming") {
      return make_error(ErrorKind::not_found, "store.not_found", "no incoming document " + std::to_string(id));
    }
    doc->reset();
    Tracking t;
    auto old = c.prepare("SELECT deadline_ms, deadline_source, unit, handler FROM tracking WHERE document_id = ?");
    if (!old.ok()) return old.error();
    old->bind(1, id);
    row = old->step();
    if (!row.ok()) return row.error();
    std::string source;
    if (*row) {
      if (!old->is_null(0)) t.deadline_ms = old->i64(0);
      source = old->text(1);
      t.unit = old->text(2);
      t.handler = old->text(3);
    }
    old->reset();
    if (u.deadline_ms) {
      t.deadline_ms = u.deadline_ms;
      source = "assigned";
    }
    if (!u.unit.empty()) t.unit = u.unit;
    if (!u.handler.empty()) t.handler = u.handler;
    const int64_t at = now();
    auto st = c.prepare(
        "INSERT INTO tracking(document_id, deadline_ms, deadline_source, unit, handler, updated_ms)"
        " VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(document_id) DO UPDATE SET deadline_ms = excluded.deadline_ms,"
        " deadline_source = excluded.deadline_source, unit = excluded.unit, handler = excluded.handler,"
        " updated_ms = excluded.updated_ms");
    if (!st.ok()) return st.error();
    st->bind(1, id).bind(2, t.deadline_ms).bind(3, source).bind(4, t.unit).bind(5, t.handler).bind(6, at);
    EDX_TRY(st->run());
    return append_audit(c,
                        {u.actor.empty() ? "system" : u.actor, "document.tracking", "document:" + std::to_string(id),
                         "ok", tracking_detail(u)},
                        at);
  });
}

Result<Tracking> SqlStore::tracking(DocumentId id) {
  return read_tx<Tracking>([&](sql::Conn& c) -> Result<Tracking> {
    auto st =
        c.prepare("SELECT deadline_ms, deadline_source, unit, handler, updated_ms FROM tracking WHERE document_id = ?");
    if (!st.ok()) return st.error();
    st->bind(1, id);
    auto row = st->step();
    if (!row.ok()) return row.error();
    Tracking t;
    if (!*row) return t;
    if (!st->is_null(0)) t.deadline_ms = st->i64(0);
    const std::string source = st->text(1);
    t.deadline_source = source == "due_date"   ? DeadlineSource::due_date
                        : source == "assigned" ? DeadlineSource::assigned
                                               : DeadlineSource::none;
    t.unit = st->text(2);
    t.handler = st->text(3);
    t.updated_ms = st->i64(4);
    return t;
  });
}

Result<IncomingReport> SqlStore::incoming_report(const ReportPeriod& period) {
  EDX_TRY(check_period(period));
  const int64_t at = now();
  return read_tx<IncomingReport>([&](sql::Conn& c) -> Result<IncomingReport> {
    IncomingReport report;
    report.now_ms = at;
    const std::string grouped = std::string("SELECT unit, ") + kIncomingCounts + kIncomingRows +
                                " GROUP BY unit ORDER BY count(*) DESC, unit LIMIT " + std::to_string(kMaxReportRows);
    auto st = c.prepare_built(grouped);
    if (!st.ok()) return st.error();
    st->bind(1, period.from_ms).bind(2, period.to_ms).bind(3, at);
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      IncomingUnitCounts u = incoming_counts_at(*st, 1);
      u.unit = st->text(0);
      report.units.push_back(std::move(u));
    }
    st->reset();
    auto total = c.prepare_built(std::string("SELECT ") + kIncomingCounts + kIncomingRows);
    if (!total.ok()) return total.error();
    total->bind(1, period.from_ms).bind(2, period.to_ms).bind(3, at);
    auto row = total->step();
    if (!row.ok()) return row.error();
    if (*row) report.total = incoming_counts_at(*total, 0);
    std::sort(report.units.begin(), report.units.end(),
              [](const IncomingUnitCounts& a, const IncomingUnitCounts& b) { return a.unit < b.unit; });
    return report;
  });
}

Result<OutgoingReport> SqlStore::outgoing_report(const ReportPeriod& period, int no_answer_days) {
  EDX_TRY(check_period(period));
  if (no_answer_days < 1 || no_answer_days > 3650) {
    return make_error(ErrorKind::invalid, "report.no_answer_days", "no_answer_days must be 1..3650");
  }
  const int64_t at = now();
  const int64_t answer_by = at - int64_t{no_answer_days} * kDayMs;
  return read_tx<OutgoingReport>([&](sql::Conn& c) -> Result<OutgoingReport> {
    OutgoingReport report;
    report.now_ms = at;
    report.no_answer_days = no_answer_days;
    const std::string grouped = std::string("SELECT organ_id, ") + kOutgoingCounts + kOutgoingRows +
                                " GROUP BY organ_id ORDER BY count(*) DESC, organ_id LIMIT " +
                                std::to_string(kMaxReportRows);
    auto st = c.prepare_built(grouped);
    if (!st.ok()) return st.error();
    st->bind(1, period.from_ms).bind(2, period.to_ms).bind(3, answer_by);
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      OutgoingOrganCounts o = outgoing_counts_at(*st, 1);
      o.organ_id = st->text(0);
      report.organs.push_back(std::move(o));
    }
    st->reset();
    auto total = c.prepare_built(std::string("SELECT ") + kOutgoingCounts + kOutgoingRows);
    if (!total.ok()) return total.error();
    total->bind(1, period.from_ms).bind(2, period.to_ms).bind(3, answer_by);
    auto row = total->step();
    if (!row.ok()) return row.error();
    if (*row) report.total = outgoing_counts_at(*total, 0);
    std::sort(report.organs.begin(), report.organs.end(),
              [](const OutgoingOrganCounts& a, const OutgoingOrganCounts& b) { return a.organ_id < b.organ_id; });
    return report;
  });
}

}  // namespace edxgate::store
