// /healthz, /readyz and /metrics for the plain-HTTP loopback listener.
//
// /healthz answers 200 while the process serves at all. /readyz runs every
// registered readiness check (store open, token reachable, axis reachable,
// ... added by whoever owns them) and answers 200 only when all pass, else
// 503; the JSON body names each check and its outcome (never a secret).
// /metrics renders the registry in Prometheus text format.
//
// A listener's check ("listener:<name>") fails while it is saturated: all its
// connection slots taken, or slots reclaimed from other connections (or
// newcomers refused) in the last seconds (see server.h). /healthz still says
// 200 then: the process serves, but the listener is under a flood or past its
// capacity, and its clients may be cut.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "edxgate/base/metrics.h"
#include "edxgate/base/mutex.h"
#include "edxgate/base/result.h"
#include "edxgate/gateway/router.h"

namespace edxgate::gateway {

class Readiness {
 public:
  using Check = std::function<Status()>;
  void add(std::string name, Check check);
  // Runs every check; {"ready":bool,"checks":{name:{"ok":bool,"error":"..."}}}.
  Response evaluate() const;

 private:
  mutable Mutex mu_;
  std::vector<std::pair<std::string, Check>> checks_ GUARDED_BY(mu_);
};

class Server;

// Adds the check "listener:<name>" of `server`, which must outlive `readiness`'
// evaluations. Fails with ready.listener_saturated and the detail
// "saturated: N connections (max M), E evicted and R refused in the last minute".
void add_listener_check(Readiness& readiness, const Server& server);

// Adds the check "disk": fails (ready.disk) while a filesystem holding one of
// `dirs` (the state directory with its spool, the blob directory) has less
// than `min_free_bytes` free for the gateway's user ([store] min_free_mb), or
// cannot be measured, so that a load balancer or operator sees the gateway
// about to refuse writes (io.disk_full, 503) before it does. 0 adds nothing.
void add_disk_check(Readiness& readiness, std::vector<std::string> dirs, uint64_t min_free_bytes);

// Adds GET /healthz, /readyz, /metrics as public routes.
void add_health_routes(Router& router, const Readiness& readiness, const MetricsRegistry& metrics);

}  // namespace edxgate::gateway
