// The connection slots of one listener: who holds one, who gives theirs up
// to a newcomer when the listener is full, and how loaded it is. Beast-free
// (the server's sessions reach it through SessionBase), so the policy is
// compiled once and tested without sockets.
//
// Policy (see server.h): a global cap of slots and a cap per
// client address; when the listener is full a newcomer takes the slot of the
// connection with the lowest eviction rank (silent, closing and idle
// unauthenticated first, authenticated idle last, authenticated requests in
// flight never), the oldest within a rank; with none to take it is answered
// 503 (or 429 past its address's cap), and past kMaxRefusing refusals in
// progress it is closed unanswered.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "edxgate/base/mutex.h"
#include "edxgate/gateway/server.h"

namespace edxgate::gateway {

using SteadyClock = std::chrono::steady_clock;

// What the slot table needs of a live session.
struct SessionBase {
  virtual ~SessionBase() = default;
  virtual void start() = 0;
  virtual void on_server_stop() = 0;  // close if idle (posted to its strand)
  virtual void force_close() = 0;
};

// What a connection is doing, as far as reclaiming its slot is concerned.
enum class Phase {
  silent,     // TLS listener: accepted, not a byte received yet
  handshake,  // TLS handshake in progress
  waiting,    // no request in progress (before the first, or between keep-alive requests)
  in_flight,  // a request is being read, handled or answered
  closing,    // answered for the last time, closing
};

// Which connection gives up its slot to a newcomer: the lowest rank, the
// oldest within a rank; -1 = never.
int eviction_rank(Phase phase, bool authenticated);
// The metric reason of an eviction.
const char* eviction_reason(Phase phase, bool authenticated);

// Events of the last minute, in one-second buckets.
class MinuteCount {
 public:
  void add(SteadyClock::time_point t);
  uint64_t sum(SteadyClock::time_point now) const;

 private:
  std::array<std::pair<int64_t, uint64_t>, 60> buckets_{};
};

class ConnectionSlots {
 public:
  // Connections being answered 503/429 at once; past it, newcomers are closed unanswered.
  static constexpr size_t kMaxRefusing = 64;

  // `metrics` may be null. `limits` and `name` are the listener's.
  ConnectionSlots(std::string name, config::Limits limits, HttpMetrics* metrics);

  // The decision on a newcomer from `address`. id 0: close it unanswered.
  // refuse: 0 (admitted), 503 or 429 (answer that, then close). victim: a
  // session whose slot was taken, to force_close() by the caller.
  struct Admission {
    uint64_t id = 0;
    unsigned refuse = 0;
    std::shared_ptr<SessionBase> victim;
  };
  // `tls`: the listener speaks TLS; `sent_something`: bytes already wait on the socket.
  Admission admit(const std::string& address, bool tls, bool sent_something, SteadyClock::time_point now);
  // The session of an admitted connection: evictable from now on.
  void attach(uint64_t id, const std::shared_ptr<SessionBase>& session, SteadyClock::time_point now);
  // A session reports what it is doing; it moves in the eviction order.
  void set_phase(uint64_t id, Phase phase, bool authenticated);
  // The connection is gone.
  void release(uint64_t id);
  // A metric reason for a connection refused or cut outside the table's decisions.
  void refused(const char* reason);

  size_t connections() const;  // holding a slot or being refused
  ListenerLoad load(SteadyClock::time_point now) const;
  // Calls fn on every live session (outside the lock).
  void for_each_session(const std::function<void(SessionBase&)>& fn) const;
  // Waits up to `limit` for every connection to be released; true if they were.
  bool wait_empty(std::chrono::milliseconds limit) const;

 private:
  // One connection in the table, from accept to its last handler.
  struct Conn {
    std::weak_ptr<SessionBase> session;  // set by attach(), before the session starts
    std::string address;
    bool holds_slot = false;  // admitted, and not evicted since
    bool refusing = false;    // admitted only to be answered 503/429
    bool authenticated = false;
    Phase phase = Phase::silent;
    int rank = -1;                    // its eviction rank while it holds a slot, else -1
    SteadyClock::time_point since{};  // when it entered that rank
  };

  bool evict_one(SteadyClock::time_point now, std::shared_ptr<SessionBase>& victim) REQUIRES(mu_);
  void drop_address(const std::string& address) REQUIRES(mu_);
  void metric_connections() REQUIRES(mu_);

  const std::string name_;
  const config::Limits limits_;
  HttpMetrics* const metrics_;

  mutable Mutex mu_;                                           // guards the fields below
  mutable std::condition_variable cv_;                         // signalled when a connection is released
  size_t active_ GUARDED_BY(mu_) = 0;                          // connections holding a slot
  size_t refusing_ GUARDED_BY(mu_) = 0;                        // connections being answered 503/429
  std::map<std::string, size_t> per_address_ GUARDED_BY(mu_);  // slots held, by client address
  // Every live session (holding a slot, refused, or evicted and closing).
  std::map<uint64_t, Conn> conns_ GUARDED_BY(mu_);
  // The slot holders that may be evicted: (rank, since, id), the first goes first.
  // Only the accept loop evicts, so a Conn always has its session when chosen.
  std::set<std::tuple<int, SteadyClock::time_point, uint64_t>> evictable_ GUARDED_BY(mu_);
  uint64_t next_id_ GUARDED_BY(mu_) = 0;
  MinuteCount evictions_ GUARDED_BY(mu_);
  MinuteCount refusals_ GUARDED_BY(mu_);
  std::optional<SteadyClock::time_point> last_pressure_ GUARDED_BY(mu_);  // last eviction or 503 refusal
  std::optional<SteadyClock::time_point> last_saturation_log_ GUARDED_BY(mu_);
};

}  // namespace edxgate::gateway
