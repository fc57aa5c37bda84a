#include "api_common.h"

#include <algorithm>

#include "edxgate/base/log.h"
#include "edxgate/base/url.h"

namespace edxgate::gateway {

Response error_response(const Error& e, std::string_view internal_message) {
  const unsigned status = http_status(e.kind);
  if (status >= 500) log::error("request failed", {{"code", e.code}, {"error", e.message}});
  return Response::problem(status, e.code, status >= 500 ? std::string(internal_message) : e.message);
}

bool cross_site(const Request& req) {
  if (req.headers.count("Sec-Fetch-Site") > 0) {
    auto site = req.headers.get("Sec-Fetch-Site");
    if (!site || (*site != "same-origin" && *site != "none")) return true;
  }
  if (req.headers.count("Origin") > 0) {
    auto origin = req.headers.get("Origin");
    auto host = req.headers.get("Host");
    if (!origin || !host || *origin != "https://" + *host) return true;
  }
  return false;
}

Response cross_site_refusal() {
  return Response::problem(403, "api.cross_site", "a request sent for a page of another site is refused");
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const size_t eq = kv.find('=');
    if (kv.substr(0, eq) != name) continue;
    return form_decode(eq == std::string_view::npos ? std::string_view{} : kv.substr(eq + 1));
  }
  return std::nullopt;
}

Result<std::string> idempotency_key(const Request& req) {
  if (req.headers.count("Idempotency-Key") == 0) return std::string();
  auto k = req.headers.get("Idempotency-Key");
  if (!k || k->empty() || k->size() > 128 ||
      !std::all_of(k->begin(), k->end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return make_error(ErrorKind::malformed, "api.idempotency_key",
                      "Idempotency-Key must be 1 to 128 visible ASCII characters, given once");
  }
  return *k;
}

}  // namespace edxgate::gateway
