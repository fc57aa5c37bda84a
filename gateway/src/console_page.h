// What the console's pages share (console.cc defines it): the API called as
// the caller, the frame of every page, and the reports page
// (console_reports.cc). Internal to the gateway.
#pragma once

#include <string>
#include <string_view>

#include "console_text.h"
#include "edxgate/base/json.h"
#include "edxgate/gateway/router.h"

namespace edxgate::gateway::console {

struct ApiAnswer {
  unsigned status = 0;
  json::bj::value json;
  std::string detail;  // the problem's detail when status is not 2xx
  bool ok() const { return status >= 200 && status < 300; }
};

// GET `path`?`query` through the same match, role check and handler as the
// request from outside, as `caller`.
ApiAnswer call_api(const Router& router, const Caller& caller, const std::string& path, const std::string& query);
// The decoded value of query parameter `name`, "" when absent.
std::string query_value(const std::string& query, std::string_view name);
// A whole page: the navigation of the caller's role (`section` marked), the
// title and `body`; with the console's security headers.
Response page(const Caller& caller, unsigned status, std::string_view section, std::string_view title,
              const Html& body);
Response error_page(const Caller& caller, const ApiAnswer& a);

// GET /console/reports?kind=incoming|outgoing&from=&to= (officers): the
// report of GET /v1/reports/<kind> as a table and a bar chart (inline SVG).
Response reports_page(const Router& router, const Caller& caller, const Request& req);

}  // namespace edxgate::gateway::console
