// edxgate-axis-sim: an axis (VDXP) simulator for tests and the demo.
//
// It speaks the VXP SDK's dialect both ways (vdxp.h), so that what a gateway
// does against it is what it would do against the real axis with real SDK
// peers:
//  - it accepts sendEdoc, getReceivedEdocList, getEdoc, updateStatus and
//    countReceiveEdoc signed as the SDK signs them, and getAgenciesList (the
//    directory of agencies, from a file), (bare key list, older
//    peers' prefixed list too), with no timestamp check unless a window is
//    set (the SDK reuses one timestamp for its life);
//  - sendEdoc: `from`, `messagetype` (edoc | status only) and `hash-file`
//    must be signed; `from` must be the organ registered for the calling
//    system (case-insensitively); the body is the file followed by CRLF (or
//    the file alone); there is no `to`: the envelope is read with the
//    hardened edXML reader and routed by its To (a document) or its
//    ResponseFor organ (a status message), one item per recipient organ;
//  - the same file sent again by the same system (same SHA-256) is the same
//    document: answered OK with the first DocId, routed once;
//  - items are pushed to the recipient's gateway when it has a push URL
//    (POST URL/vdxp/sendEdoc, signed with the recipient system's secret in
//    the same dialect, one timestamp for the simulator's life), else kept for
//    getReceivedEdocList / getEdoc / updateStatus.
// A control endpoint makes it fail on purpose and shows what it holds and
// every axis call it received (headers, body form), for dialect tests.
//
// State is in memory; envelopes are files under `data`.
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
#include <utility>
#include <vector>

#include "edxgate/base/mutex.h"
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
  // Largest accepted age of a call's signed timestamp; 0 = no check (as the
  // real axis must, for SDK clients).
  std::chrono::seconds timestamp_window{0};
  gateway::ClientOptions push_client;  // CA of the gateways, our client certificate as the axis
  // A push that fails (the gateway down, slow or answering an error) is
  // retried after this delay, doubled each time up to 16x, until it succeeds
  // or push_give_up passes; the item stays listed for a pull meanwhile.
  std::chrono::milliseconds push_retry{5000};
  std::chrono::milliseconds push_give_up{std::chrono::minutes(30)};
  uint64_t max_envelope_bytes = 512ull * 1024 * 1024;
  // The agency directory getAgenciesList serves: a JSON array of entries in
  // the axis' fields, read at each call ("" = an empty directory).
  std::string directory_file;
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

// One axis call as received, for GET /_sim/requests.
struct LoggedCall {
  std::string call;  // the path, e.g. "/sendEdoc"
  std::string method;
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t body_bytes = -1;  // -1: refused before the body was read
  bool body_ends_crlf = false;
  std::string body;     // the body itself when it is at most 16 printable bytes
  unsigned status = 0;  // the HTTP status answered
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
    unsigned http_status = 503;  // refuse: the HTTP status of the FAIL answer (200: the axis' verdict)
  };

  Result<gateway::vdxp::VerifiedCall> authenticate(const gateway::Request& req,
                                                   const std::vector<std::string>& required) const;
  const SystemEntry* system(std::string_view id) const;
  const SystemEntry* organ(std::string_view organ_id) const;
  gateway::Response send_edoc(gateway::Request& req);
  gateway::Response list(gateway::Request& req);
  gateway::Response get(gateway::Request& req);
  gateway::Response update_status(gateway::Request& req);
  gateway::Response count(gateway::Request& req);
  gateway::Response agencies(gateway::Request& req);
  gateway::Response control_fault(gateway::Request& req);
  gateway::Response control_items(gateway::Request& req);
  gateway::Response control_calls(gateway::Request& req);
  gateway::Response control_requests(gateway::Request& req);
  // Applies the configured fault to one call; returns a response to give instead.
  std::optional<gateway::Response> inject_fault(std::string_view call, std::string_view system_id = "");
  void record(LoggedCall call);
  void push_loop();
  bool push(const Item& item);

  SimOptions opt_;
  // The timestamp the simulator signs its pushes with: fixed when it starts,
  // as the SDK fixes one per process.
  const gateway::vdxp::Clock::time_point push_timestamp_;
  mutable Mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Item> items_ GUARDED_BY(mu_);        // doc_id -> item
  std::map<std::string, std::string> sent_ GUARDED_BY(mu_);  // "<system>:<sha256>" -> the DocId answered first
  uint64_t next_id_ GUARDED_BY(mu_) = 0;
  std::map<std::string, uint64_t> calls_ GUARDED_BY(mu_);  // "sendEdoc:<system>" -> authenticated calls begun
  std::deque<LoggedCall> log_ GUARDED_BY(mu_);             // the last kMaxLogged calls received
  Fault fault_ GUARDED_BY(mu_);
  struct PushJob {
    std::string doc_id;
    std::chrono::steady_clock::time_point due;
    std::chrono::steady_clock::time_point first;
    int attempt = 0;
  };
  std::deque<PushJob> push_queue_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread pusher_;
};

}  // namespace edxgate::sim
