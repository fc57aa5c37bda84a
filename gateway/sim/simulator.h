// edxgate-axis-sim: an axis (VDXP) simulator for tests and the demo.
//
// It registers systems (system id, secret, organ id, optional push URL of a
// gateway's axis endpoint), accepts sendEdoc (the envelope stored on disk, the
// recipients read from the signed `to` header), routes one item per recipient
// organ id (pushed to the recipient's gateway when it has a push URL, else
// kept for getReceivedEdocList / getEdoc / updateStatus), relays status
// messages the same way, refuses a `from` organ id not registered for the
// calling system id, and checks every call's HMAC and replay window exactly as
// the gateway does (vdxp.h). A control endpoint makes it fail on purpose.
//
// It never parses edXML. State is in memory; envelopes are files under `data`.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "edxgate/base/result.h"
#include "edxgate/base/secret.h"
#include "edxgate/gateway/https_client.h"
#include "edxgate/gateway/router.h"
#include "edxgate/gateway/vdxp.h"

namespace edxgate::sim {

struct SystemEntry {
  std::string system_id;
  std::string organ_id;
  std::shared_ptr<const SecretString> secret;
  std::string push_url;  // "https://HOST:PORT" of a gateway's axis listener, or ""
};

struct SimOptions {
  std::string data_dir;
  std::vector<SystemEntry> systems;
  std::chrono::seconds replay_window{300};
  gateway::ClientOptions push_client;  // CA of the gateways, our client certificate as the axis
  // A push that fails (the gateway down, slow or answering an error) is
  // retried after this delay, doubled each time up to 16x, until it succeeds
  // or push_give_up passes; the item stays listed for a pull meanwhile.
  std::chrono::milliseconds push_retry{5000};
  std::chrono::milliseconds push_give_up{std::chrono::minutes(30)};
  uint64_t max_envelope_bytes = 512ull * 1024 * 1024;
};

// One routed item: what one recipient organ sees.
struct Item {
  std::string doc_id;
  std::string from_system;
  std::string from_organ;
  std::string to_organ;
  std::string message_type;
  std::string file;
  std::string created_time;
  std::string updated_time;
  std::string status = "pending";  // pending | pushed | inbox | acceptance | rejection | processing | done | fail
  std::string status_desc;
  int push_attempts = 0;
};

class Simulator {
 public:
  explicit Simulator(SimOptions options);
  ~Simulator();
  // Adds the VDXP calls and the control endpoint (/_sim/...). `this` must
  // outlive the router.
  void add_routes(gateway::Router& router);

 private:
  struct Fault {
    std::string mode = "none";  // none | refuse | delay | drop
    std::string call;           // only this call (e.g. "sendEdoc"); "" = every axis call
    std::string system;         // only calls of this system id (sendEdoc only); "" = any
    int remaining = 0;          // calls affected; -1 = until reset
    int delay_ms = 0;
  };

  Result<gateway::vdxp::VerifiedCall> authenticate(gateway::Request& req, const std::vector<std::string>& required);
  const SystemEntry* system(std::string_view id) const;
  gateway::Response send_edoc(gateway::Request& req);
  gateway::Response list(gateway::Request& req);
  gateway::Response get(gateway::Request& req);
  gateway::Response update_status(gateway::Request& req);
  gateway::Response count(gateway::Request& req);
  gateway::Response control_fault(gateway::Request& req);
  gateway::Response control_items(gateway::Request& req);
  gateway::Response control_calls(gateway::Request& req);
  // Applies the configured fault to one call; returns a response to give instead.
  std::optional<gateway::Response> inject_fault(std::string_view call, std::string_view system_id = "");
  void push_loop();
  bool push(const Item& item);

  SimOptions opt_;
  gateway::vdxp::ReplayGuard guard_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Item> items_;  // doc_id -> item
  uint64_t next_id_ = 0;
  std::map<std::string, uint64_t> calls_;  // "sendEdoc:<system>" -> authenticated calls begun
  Fault fault_;
  struct PushJob {
    std::string doc_id;
    std::chrono::steady_clock::time_point due;
    std::chrono::steady_clock::time_point first;
    int attempt = 0;
  };
  std::deque<PushJob> push_queue_;
  bool stop_ = false;
  std::thread pusher_;
};

}  // namespace edxgate::sim
