// Processing reports as users ask for them: a period given as days, the
// reports as JSON (the same shape for the HTTP routes and `edxgate report
// --json`), and the overdue gauges. The counting itself is the store's
// (store/reports.h); nothing here knows HTTP.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "edxgate/base/json.h"
#include "edxgate/base/metrics.h"
#include "edxgate/base/result.h"
#include "edxgate/store/store.h"

namespace edxgate::workflow {

// The day of an instant in Vietnam time, "YYYY-MM-DD".
std::string vietnam_day(int64_t ms);

// A period of whole days in Vietnam time, both ends included.
struct ReportDays {
  std::string from;  // "YYYY-MM-DD"
  std::string to;
  store::ReportPeriod period;  // [start of `from`, end of `to`)
};

inline constexpr int kDefaultReportDays = 30;

// Resolves the days a user gave (either may be empty: `to` defaults to today,
// `from` to kDefaultReportDays days up to `to`). Errors: "report.date"
// (malformed: not a real YYYY-MM-DD day), "report.range" (invalid: from > to).
Result<ReportDays> report_days(std::string_view from, std::string_view to, int64_t now_ms);

// The reports as JSON: {"from", "to", "generated_at", "units"|"organs": [...],
// "total": {...}} with every count of store/reports.h by its name there.
json::bj::object incoming_report_json(const ReportDays& days, const store::IncomingReport& report);
json::bj::object outgoing_report_json(const ReportDays& days, const store::OutgoingReport& report);

// The Prometheus gauges of what is late: edxgate_incoming_overdue{unit} (the
// incoming documents open past their deadline, per unit, whenever received)
// and edxgate_outgoing_no_answer (outgoing documents x recipients without an
// answer after no_answer_days). The label set is bounded: the first
// kMaxUnitLabels units seen get a series of their own for the life of the
// process, any later one counts under "other"; documents no report has
// placed count under "unassigned". Thread-safe.
class OverdueGauges {
 public:
  static constexpr size_t kMaxUnitLabels = 20;

  OverdueGauges(MetricsRegistry& metrics, int no_answer_days);
  // Recomputes from the store (two aggregate queries).
  Status refresh(store::Store& store);

 private:
  Gauge& incoming_;
  Gauge& outgoing_;
  const int no_answer_days_;
  std::mutex mu_;
  std::set<std::string> labels_;  // guarded by mu_; every label ever set
};

}  // namespace edxgate::workflow
