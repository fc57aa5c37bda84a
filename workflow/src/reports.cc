#include "edxgate/workflow/reports.h"

#include <ctime>
#include <limits>
#include <map>

#include "tracking.h"

namespace edxgate::workflow {

namespace bj = json::bj;

namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kVietnamOffsetMs = 7 * 3'600'000;

std::string utc_time(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bj::object incoming_counts(const store::IncomingUnitCounts& c) {
  return bj::object{{"received", c.received},   {"in_progress", c.in_progress}, {"done_on_time", c.done_on_time},
                    {"done_late", c.done_late}, {"refused", c.refused},         {"overdue", c.overdue}};
}

bj::object outgoing_counts(const store::OutgoingOrganCounts& c) {
  return bj::object{{"sent", c.sent},           {"delivered", c.delivered},
                    {"accepted", c.accepted},   {"in_progress", c.in_progress},
                    {"completed", c.completed}, {"refused", c.refused},
                    {"no_answer", c.no_answer}, {"waiting", c.waiting}};
}

}  // namespace

std::string vietnam_day(int64_t ms) {
  time_t t = static_cast<time_t>((ms + kVietnamOffsetMs) / 1000);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

Result<ReportDays> report_days(std::string_view from, std::string_view to, int64_t now_ms) {
  ReportDays d;
  d.to = to.empty() ? vietnam_day(now_ms) : std::string(to);
  const auto to_end = store::deadline_of_day(d.to);
  if (!to_end) {
    return make_error(ErrorKind::malformed, "report.date", "\"to\" must be a day written YYYY-MM-DD");
  }
  d.from = from.empty() ? vietnam_day(*to_end - (kDefaultReportDays - 1) * kDayMs) : std::string(from);
  const auto from_end = store::deadline_of_day(d.from);
  if (!from_end) {
    return make_error(ErrorKind::malformed, "report.date", "\"from\" must be a day written YYYY-MM-DD");
  }
  if (*from_end > *to_end) {
    return make_error(ErrorKind::invalid, "report.range",
                      "the period starts (" + d.from + ") after it ends (" + d.to + ")");
  }
  d.period.from_ms = *from_end + 1 - kDayMs;
  d.period.to_ms = *to_end + 1;
  return d;
}

bj::object incoming_report_json(const ReportDays& days, const store::IncomingReport& report) {
  bj::array units;
  for (const auto& u : report.units) {
    bj::object o{{"unit", u.unit}};
    for (auto& kv : incoming_counts(u)) o[kv.key()] = kv.value();
    units.push_back(std::move(o));
  }
  return bj::object{{"from", days.from},
                    {"to", days.to},
                    {"generated_at", utc_time(report.now_ms)},
                    {"units", std::move(units)},
                    {"total", incoming_counts(report.total)}};
}

bj::object outgoing_report_json(const ReportDays& days, const store::OutgoingReport& report) {
  bj::array organs;
  for (const auto& r : report.organs) {
    bj::object o{{"organ_id", r.organ_id}};
    for (auto& kv : outgoing_counts(r)) o[kv.key()] = kv.value();
    organs.push_back(std::move(o));
  }
  return bj::object{{"from", days.from},
                    {"to", days.to},
                    {"generated_at", utc_time(report.now_ms)},
                    {"no_answer_days", report.no_answer_days},
                    {"organs", std::move(organs)},
                    {"total", outgoing_counts(report.total)}};
}

OverdueGauges::OverdueGauges(MetricsRegistry& metrics, int no_answer_days)
    : incoming_(metrics.gauge("edxgate_incoming_overdue",
                              "Incoming documents still open past their deadline, by the unit handling them.",
                              {"unit"})),
      outgoing_(metrics.gauge("edxgate_outgoing_no_answer",
                              "Outgoing documents a recipient has not answered beyond 'arrived' after the configured "
                              "days (one per document and recipient).")),
      no_answer_days_(no_answer_days) {}

Status OverdueGauges::refresh(store::Store& store) {
  const store::ReportPeriod always{std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
  auto in = store.incoming_report(always);
  if (!in.ok()) return in.error();
  auto out = store.outgoing_report(always, no_answer_days_);
  if (!out.ok()) return out.error();

  std::lock_guard lock(mu_);
  std::map<std::string, uint64_t> overdue;
  for (const auto& u : in->units) {
    std::string label = u.unit.empty() ? "unassigned" : u.unit;
    if (u.overdue == 0 && !labels_.count(label)) continue;  // no series until it has something to say
    if (!labels_.count(label)) {
      if (labels_.size() < kMaxUnitLabels) {
        labels_.insert(label);
      } else {
        label = "other";
      }
    }
    overdue[label] += u.overdue;
  }
  // Units beyond the report's row cap still count, under "other".
  uint64_t listed = 0;
  for (const auto& [label, n] : overdue) listed += n;
  if (in->total.overdue > listed) overdue["other"] += in->total.overdue - listed;
  if (overdue.count("other")) labels_.insert("other");
  for (const auto& label : labels_) {
    auto it = overdue.find(label);
    incoming_.set({label}, it == overdue.end() ? 0.0 : static_cast<double>(it->second));
  }
  outgoing_.set({}, static_cast<double>(out->total.no_answer));
  return {};
}

namespace detail {

Result<store::TrackingUpdate> tracking_update(const ProcessingReport& r, const std::string& deadline,
                                              const std::string& actor) {
  constexpr size_t kMaxName = 256;  // a unit or a person: a name, not a text
  if (r.department.size() > kMaxName || r.staff.size() > kMaxName) {
    return make_error(ErrorKind::invalid, "report.field_too_long",
                      "a unit or staff name is longer than " + std::to_string(kMaxName) + " bytes");
  }
  store::TrackingUpdate u;
  u.unit = r.department;
  u.handler = r.staff;
  u.actor = actor;
  if (!deadline.empty()) {
    if (r.state != store::State::assigned) {
      return make_error(ErrorKind::invalid, "report.deadline", "a deadline is set when the document is assigned");
    }
    u.deadline_ms = store::deadline_of_day(deadline);
    if (!u.deadline_ms) {
      return make_error(ErrorKind::invalid, "report.deadline", "the deadline must be a day written YYYY-MM-DD");
    }
  }
  return u;
}

}  // namespace detail
}  // namespace edxgate::workflow
