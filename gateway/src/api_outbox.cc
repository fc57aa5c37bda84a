#include "api_outbox.h"

#include <charconv>

#include "edxgate/base/json.h"
#include "edxgate/base/log.h"

namespace edxgate::gateway {
namespace {

Response retry(workflow::Engine& engine, const Caller& c, const PathParams& p) {
  auto it = p.find("id");
  store::DocumentId id = 0;
  if (it != p.end() && !it->second.empty() && it->second.size() <= 18) {
    const char* end = it->second.data() + it->second.size();
    auto [at, ec] = std::from_chars(it->second.data(), end, id);
    if (ec != std::errc() || at != end) id = 0;
  }
  if (id <= 0) return Response::problem(404, "store.not_found", "no such document");
  Status s = engine.retry_failed(id, c.name);
  if (!s.ok()) {
    const unsigned status = http_status(s.error().kind);
    if (status >= 500) log::error("request failed", {{"code", s.error().code}, {"error", s.error().message}});
    return Response::problem(status, s.error().code,
                             status >= 500 ? "the gateway could not complete the request" : s.error().message);
  }
  log::info("failed document re-queued", {{"document", std::to_string(id)}, {"by", c.name}});
  return Response::json(200, json::bj::object{{"id", std::to_string(id)},
                                              {"state", std::string(store::state_name(store::State::queued))}});
}

}  // namespace

void add_outbox_routes(const std::function<void(Route)>& add, workflow::Engine& engine) {
  add({"POST", "/v1/outgoing/{id}/retry", Access::only({config::Role::officer}),
       [&engine](Request&, const Caller& c, const PathParams& p) { return retry(engine, c, p); }, 1024});
}

}  // namespace edxgate::gateway
