#include "edxgate/gateway/health.h"

#include <sys/statvfs.h>

#include "edxgate/gateway/server.h"

namespace edxgate::gateway {

void Readiness::add(std::string name, Check check) {
  MutexLock lock(mu_);
  checks_.emplace_back(std::move(name), std::move(check));
}

Response Readiness::evaluate() const {
  std::vector<std::pair<std::string, Check>> checks;
  {
    MutexLock lock(mu_);
    checks = checks_;
  }
  json::bj::object results;
  bool ready = true;
  for (const auto& [name, check] : checks) {
    json::bj::object r;
    Status st = check ? check() : Status(make_error(ErrorKind::unavailable, "ready.missing", "no check"));
    r["ok"] = st.ok();
    if (!st.ok()) {
      r["error"] = st.error().code;
      r["detail"] = st.error().message;
      ready = false;
    }
    results[name] = std::move(r);
  }
  json::bj::object body;
  body["ready"] = ready;
  body["checks"] = std::move(results);
  return Response::json(ready ? 200 : 503, body);
}

void add_disk_check(Readiness& readiness, std::vector<std::string> dirs, uint64_t min_free_bytes) {
  if (min_free_bytes == 0) return;
  readiness.add("disk", [dirs = std::move(dirs), min_free_bytes]() -> Status {
    for (const auto& dir : dirs) {
      struct statvfs v {};
      if (::statvfs(dir.c_str(), &v) != 0) {
        return make_error(ErrorKind::unavailable, "ready.disk", "cannot read the free space of " + dir);
      }
      const uint64_t free_bytes = uint64_t{v.f_bavail} * v.f_frsize;
      if (free_bytes < min_free_bytes) {
        return make_error(ErrorKind::unavailable, "ready.disk",
                          dir + " has " + std::to_string(free_bytes >> 20) + " MiB free, below [store] min_free_mb (" +
                              std::to_string(min_free_bytes >> 20) + ")");
      }
    }
    return {};
  });
}

void add_listener_check(Readiness& readiness, const Server& server) {
  const Server* s = &server;
  readiness.add("listener:" + server.load().name, [s]() -> Status {
    const ListenerLoad l = s->load();
    if (!l.saturated) return {};
    return make_error(ErrorKind::unavailable, "ready.listener_saturated",
                      "saturated: " + std::to_string(l.open) + " connections (max " + std::to_string(l.max) + "), " +
                          std::to_string(l.evicted_last_minute) + " evicted and " +
                          std::to_string(l.refused_last_minute) + " refused in the last minute");
  });
}

void add_health_routes(Router& router, const Readiness& readiness, const MetricsRegistry& metrics) {
  router.add({"GET", "/healthz", Access::public_route(),
              [](Request&, const Caller&, const PathParams&) { return Response::text(200, "ok\n"); }});
  router.add({"GET", "/readyz", Access::public_route(),
              [&readiness](Request&, const Caller&, const PathParams&) { return readiness.evaluate(); }});
  router.add({"GET", "/metrics", Access::public_route(), [&metrics](Request&, const Caller&, const PathParams&) {
                return Response::text(200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
              }});
}

}  // namespace edxgate::gateway
