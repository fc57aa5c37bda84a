// /healthz, /readyz and /metrics for the plain-HTTP loopback listener.
//
// /healthz answers 200 while the process serves at all. /readyz runs every
// registered readiness check (store open, token reachable, axis reachable,
// ... added by whoever owns them) and answers 200 only when all pass, else
// 503; the JSON body names each check and its outcome (never a secret).
// /metrics renders the registry in Prometheus text format.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "edxgate/base/result.h"
#include "edxgate/base/metrics.h"
#include "edxgate/gateway/router.h"

namespace edxgate::gateway {

class Readiness {
 public:
  using Check = std::function<Status()>;
  void add(std::string name, Check check);
  // Runs every check; {"ready":bool,"checks":{name:{"ok":bool,"error":"..."}}}.
  Response evaluate() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, Check>> checks_;
};

// Adds GET /healthz, /readyz, /metrics as public routes.
void add_health_routes(Router& router, const Readiness& readiness, const MetricsRegistry& metrics);

}  // namespace edxgate::gateway
