// What every route file of the internal API (api.cc, api_lifecycle.cc,
// api_directory.cc, api_reports.cc) answers and checks the same way: errors
// as problem responses, the refusal of cross-site requests, query parameters.
// Internal to the gateway library.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "edxgate/base/result.h"
#include "edxgate/gateway/http.h"

namespace edxgate::gateway {

// The problem response for `e`, its status from e.kind (http_status). A 5xx
// is logged with its code and message, and answered with `internal_message`
// instead: what failed, not the internals (paths) behind it.
Response error_response(const Error& e,
                        std::string_view internal_message = "the gateway could not complete the request");

// Whether a browser sent `req` for a page of another site (Sec-Fetch-Site
// other than same-origin/none, or an Origin other than https://Host): such a
// request must not act with the client certificate the browser holds. See api.h.
bool cross_site(const Request& req);

// The 403 every POST route answers to a cross-site request.
Response cross_site_refusal();

// The value of query parameter `name` (its first occurrence), URL-decoded
// ('+' is a space, %XX a byte; a malformed % escape is kept as it is).
std::optional<std::string> query_param(std::string_view query, std::string_view name);

// The Idempotency-Key header: "" when absent; at most 128 visible ASCII
// characters, given once ("api.idempotency_key", 400, otherwise). A retry
// with the same key answers as the first request did.
Result<std::string> idempotency_key(const Request& req);

}  // namespace edxgate::gateway
