// The route table: deny by default.
//
// Every route names the roles it allows. A caller whose role is not listed
// gets 403 before the request body is read; an anonymous or unknown caller
// gets 403 on every route that is not explicitly public; a known caller gets
// 404 for an unknown path and 405 for a known path with another method.
// Patterns are literal segments and `{name}` captures ("/v1/outgoing/{id}").
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edxgate/gateway/http.h"

namespace edxgate::gateway {

using PathParams = std::map<std::string, std::string>;
using Handler = std::function<Response(Request& req, const Caller& caller, const PathParams& params)>;

// Who may call a route.
struct Access {
  std::vector<config::Role> roles;
  bool anonymous = false;  // anyone, certificate or not (health listener only)

  static Access public_route() { return Access{{}, true}; }
  static Access only(std::initializer_list<config::Role> r) { return Access{r, false}; }
  static Access any_role() {
    return only({config::Role::system, config::Role::axis, config::Role::officer, config::Role::leader});
  }
};

struct Route {
  std::string method;
  std::string pattern;
  Access access;
  Handler handler;
  uint64_t max_body_bytes = 0;  // 0: the listener's limit; else the smaller of both
  // Optional: looks at the request head (method, path, headers; no body yet)
  // once the route is allowed, before the body is read. A response it returns
  // is sent instead, and the connection closed: a signed axis call with a
  // wrong MAC is refused before its (maybe large) body arrives. Runs on an
  // I/O thread, so it must be cheap and never block.
  std::function<std::optional<Response>(const Request& head, const Caller& caller)> check_head = nullptr;
};

// The outcome of matching one request line against the table.
struct RouteMatch {
  const Route* route = nullptr;  // set when status == 0
  PathParams params;
  unsigned status = 0;  // 0 = allowed, else 403 / 404 / 405
  std::string label;    // metrics label: the pattern, or "unmatched"
};

// Built once before the server starts; read-only (and so thread-safe) after.
class Router {
 public:
  Router& add(Route route);
  RouteMatch match(std::string_view method, std::string_view path, const Caller& caller) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace edxgate::gateway
