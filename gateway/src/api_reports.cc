// The report routes of the internal API (api.h): GET /v1/reports/incoming and
// GET /v1/reports/outgoing, for officers. The store counts, the workflow
// shapes the JSON; this file only reads the query and maps errors.
#include <chrono>
#include <string>
#include <string_view>

#include "api_common.h"
#include "edxgate/base/log.h"
#include "edxgate/gateway/api.h"
#include "edxgate/workflow/reports.h"

namespace edxgate::gateway {
namespace {

constexpr std::string_view kReportFailed = "the gateway could not compute the report";

// The raw value of `name` in a query string ("" when absent). Days need no
// decoding; anything encoded is refused as a malformed day.
std::string_view raw_param(std::string_view query, std::string_view name) {
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view kv = query.substr(start, end - start);
    const size_t eq = kv.find('=');
    if (eq != std::string_view::npos && kv.substr(0, eq) == name) return kv.substr(eq + 1);
    start = end + 1;
  }
  return {};
}

// The days asked for; "today" (the default end) by the wall clock. What is
// overdue is judged at the store's clock.
Result<workflow::ReportDays> days_of(const Request& req) {
  using namespace std::chrono;
  const int64_t now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  return workflow::report_days(raw_param(req.query, "from"), raw_param(req.query, "to"), now);
}

}  // namespace

void add_report_routes(Router& router, store::Store& store, int no_answer_days) {
  const Access officers = Access::only({config::Role::officer});
  store::Store* s = &store;
  router.add({"GET", "/v1/reports/incoming", officers, [s](Request& q, const Caller&, const PathParams&) {
                auto days = days_of(q);
                if (!days.ok()) return error_response(days.error(), kReportFailed);
                auto report = s->incoming_report(days->period);
                if (!report.ok()) return error_response(report.error(), kReportFailed);
                return Response::json(200, workflow::incoming_report_json(*days, *report));
              }});
  router.add(
      {"GET", "/v1/reports/outgoing", officers, [s, no_answer_days](Request& q, const Caller&, const PathParams&) {
         auto days = days_of(q);
         if (!days.ok()) return error_response(days.error(), kReportFailed);
         auto report = s->outgoing_report(days->period, no_answer_days);
         if (!report.ok()) return error_response(report.error(), kReportFailed);
         return Response::json(200, workflow::outgoing_report_json(*days, *report));
       }});
}

}  // namespace edxgate::gateway
