#include "connection_slots.h"

#include "edxgate/base/log.h"

namespace edxgate::gateway {
namespace {

// A connection that has not sent its first byte for this long is no client
// (a ClientHello follows the TCP handshake within a round trip); a younger one
// may be one whose ClientHello is on its way, and is spared longer.
constexpr auto kSilentGrace = std::chrono::seconds(1);
// A listener counts as saturated this long after it last reclaimed or refused a slot.
constexpr auto kSaturationHold = std::chrono::seconds(5);

int64_t seconds(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

int eviction_rank(Phase phase, bool authenticated) {
  switch (phase) {
    case Phase::silent:
      return 0;
    case Phase::closing:
      return 1;
    case Phase::waiting:
      return authenticated ? 4 : 1;
    case Phase::handshake:
      return 2;
    case Phase::in_flight:
      return authenticated ? -1 : 3;
  }
  return -1;
}

const char* eviction_reason(Phase phase, bool authenticated) {
  switch (phase) {
    case Phase::silent:
      return "evicted_silent";
    case Phase::handshake:
      return "evicted_handshake";
    case Phase::closing:
      return "evicted_closing";
    default:
      return authenticated ? "evicted_idle" : "evicted_unauthenticated";
  }
}

void MinuteCount::add(SteadyClock::time_point t) {
  const int64_t sec = seconds(t);
  auto& b = buckets_[static_cast<size_t>(sec % 60)];
  if (b.first != sec) b = {sec, 0};
  ++b.second;
}

uint64_t MinuteCount::sum(SteadyClock::time_point now) const {
  const int64_t sec = seconds(now);
  uint64_t n = 0;
  for (const auto& [s, count] : buckets_)
    if (s > sec - 60 && s <= sec) n += count;
  return n;
}

ConnectionSlots::ConnectionSlots(std::string name, config::Limits limits, HttpMetrics* metrics)
    : name_(std::move(name)), limits_(limits), metrics_(metrics) {}

void ConnectionSlots::metric_connections() {
  if (metrics_) metrics_->connections.set({name_}, static_cast<double>(active_ + refusing_));
}

void ConnectionSlots::refused(const char* reason) {
  if (metrics_) metrics_->refused.inc({name_, reason});
}

void ConnectionSlots::drop_address(const std::string& address) {
  auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

ConnectionSlots::Admission ConnectionSlots::admit(const std::string& address, bool tls, bool sent_something,
                                                  SteadyClock::time_point now) {
  Admission a;
  MutexLock lock(mu_);
  auto held = per_address_.find(address);
  if (held != per_address_.end() && held->second >= limits_.max_connections_per_client)
    a.refuse = 429;
  else if (active_ >= limits_.max_connections && !evict_one(now, a.victim))
    a.refuse = 503;
  if (a.refuse == 503) {
    refusals_.add(now);
    last_pressure_ = now;
  }
  if (a.refuse && refusing_ >= kMaxRefusing) {
    // Answering refusals costs a handshake each; past a bound, just close.
    refused("overflow");
    a.refuse = 0;
  } else {
    if (a.refuse) {
      ++refusing_;
    } else {
      ++active_;
      ++per_address_[address];
    }
    a.id = ++next_id_;
    Conn c;
    c.address = address;
    c.holds_slot = a.refuse == 0;
    c.refusing = a.refuse != 0;
    // Under a flood a connection waits in the backlog, and a real client's
    // ClientHello is already here when it is accepted: it is not "silent" (the
    // first kind evicted) even before its session gets to look.
    c.phase = !tls ? Phase::waiting : sent_something ? Phase::handshake : Phase::silent;
    conns_.emplace(a.id, std::move(c));
  }
  metric_connections();
  return a;
}

void ConnectionSlots::attach(uint64_t id, const std::shared_ptr<SessionBase>& session, SteadyClock::time_point now) {
  MutexLock lock(mu_);
  Conn& c = conns_.at(id);
  c.session = session;
  if (c.holds_slot) {
    c.rank = eviction_rank(c.phase, false);
    c.since = now;
    evictable_.insert({c.rank, c.since, id});
  }
}

void ConnectionSlots::set_phase(uint64_t id, Phase phase, bool authenticated) {
  MutexLock lock(mu_);
  auto it = conns_.find(id);
  if (it == conns_.end() || !it->second.holds_slot) return;
  Conn& c = it->second;
  c.phase = phase;
  c.authenticated = authenticated;
  const int rank = eviction_rank(phase, authenticated);
  if (rank == c.rank) return;  // keeps its age within the rank
  if (c.rank >= 0) evictable_.erase({c.rank, c.since, id});
  c.rank = rank;
  c.since = SteadyClock::now();
  if (rank >= 0) evictable_.insert({rank, c.since, id});
}

bool ConnectionSlots::evict_one(SteadyClock::time_point now, std::shared_ptr<SessionBase>& victim) {
  if (evictable_.empty()) return false;
  auto first = evictable_.begin();
  // Silent connections younger than kSilentGrace go after the unauthenticated idle ones.
  if (std::get<0>(*first) == 0 && now - std::get<1>(*first) < kSilentGrace) {
    auto idle = evictable_.lower_bound({1, SteadyClock::time_point::min(), 0});
    if (idle != evictable_.end() && std::get<0>(*idle) == 1) first = idle;
  }
  const uint64_t id = std::get<2>(*first);
  evictable_.erase(first);
  Conn& c = conns_.at(id);
  c.rank = -1;
  c.holds_slot = false;
  --active_;
  drop_address(c.address);
  refused(eviction_reason(c.phase, c.authenticated));
  evictions_.add(now);
  last_pressure_ = now;
  victim = c.session.lock();
  if (!last_saturation_log_ || now - *last_saturation_log_ >= std::chrono::minutes(1)) {
    last_saturation_log_ = now;
    log::warn("listener saturated: new connections take the slots of unauthenticated and idle ones",
              {{"listener", name_}, {"max_connections", std::to_string(limits_.max_connections)}});
  }
  return true;
}

void ConnectionSlots::release(uint64_t id) {
  MutexLock lock(mu_);
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Conn& c = it->second;
  if (c.rank >= 0) evictable_.erase({c.rank, c.since, id});
  if (c.holds_slot) {
    --active_;
    drop_address(c.address);
  } else if (c.refusing) {
    --refusing_;
  }
  conns_.erase(it);
  metric_connections();
  cv_.notify_all();
}

size_t ConnectionSlots::connections() const {
  MutexLock lock(mu_);
  return active_ + refusing_;
}

ListenerLoad ConnectionSlots::load(SteadyClock::time_point now) const {
  MutexLock lock(mu_);
  ListenerLoad l;
  l.name = name_;
  l.open = active_;
  l.max = limits_.max_connections;
  l.evicted_last_minute = evictions_.sum(now);
  l.refused_last_minute = refusals_.sum(now);
  l.saturated = active_ >= l.max || (last_pressure_ && now - *last_pressure_ < kSaturationHold);
  return l;
}

void ConnectionSlots::for_each_session(const std::function<void(SessionBase&)>& fn) const {
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    MutexLock lock(mu_);
    for (const auto& [id, c] : conns_)
      if (auto p = c.session.lock()) live.push_back(std::move(p));
  }
  for (auto& p : live) fn(*p);
}

bool ConnectionSlots::wait_empty(std::chrono::milliseconds limit) const {
  const auto deadline = SteadyClock::now() + limit;
  MutexLock lock(mu_);
  // A loop rather than a predicate: the analysis sees the fields read under the lock.
  while (active_ + refusing_ != 0) {
    if (lock.wait_until(cv_, deadline) == std::cv_status::timeout) return active_ + refusing_ == 0;
  }
  return true;
}

}  // namespace edxgate::gateway
