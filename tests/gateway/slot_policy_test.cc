// The slot policy alone (gateway/src/connection_slots.h), without sockets:
// which connection gives up its slot, when a newcomer is refused, and what
// the listener's load says. The same through real TLS is in
// connection_slots_test.cc and against a flooded edxgated in flood_test.cc.
#include <gtest/gtest.h>

#include "../../gateway/src/connection_slots.h"

namespace edxgate::gateway {
namespace {

struct FakeSession : SessionBase {
  void start() override {}
  void on_server_stop() override {}
  void force_close() override { ++closed; }
  int closed = 0;
};

struct SlotPolicy : ::testing::Test {
  config::Limits limits() {
    config::Limits l;
    l.max_connections = 3;
    l.max_connections_per_client = 2;
    return l;
  }
  ConnectionSlots slots{"internal", limits(), nullptr};
  SteadyClock::time_point t0 = SteadyClock::now();

  // Admits and attaches a session; returns its id (0 if not admitted).
  std::pair<uint64_t, std::shared_ptr<FakeSession>> open(const std::string& address, bool sent = true,
                                                         SteadyClock::time_point at = {}) {
    if (at == SteadyClock::time_point{}) at = t0;
    auto a = slots.admit(address, true, sent, at);
    if (a.victim) a.victim->force_close();
    auto s = std::make_shared<FakeSession>();
    if (a.id != 0 && a.refuse == 0) slots.attach(a.id, s, at);
    return {a.refuse == 0 ? a.id : 0, s};
  }
};

TEST_F(SlotPolicy, ANewcomerTakesTheSlotOfAnUnauthenticatedIdleConnectionNotOfAnAuthenticatedRequest) {
  auto [busy, busy_s] = open("10.0.0.1");
  auto [idle, idle_s] = open("10.0.0.2");
  auto [auth_idle, auth_idle_s] = open("10.0.0.3");
  ASSERT_TRUE(busy && idle && auth_idle);
  slots.set_phase(busy, Phase::in_flight, true);
  slots.set_phase(idle, Phase::waiting, false);
  slots.set_phase(auth_idle, Phase::waiting, true);
  EXPECT_TRUE(slots.load(t0).open == 3);

  auto [fresh, fresh_s] = open("10.0.0.4");
  EXPECT_NE(fresh, 0u);
  EXPECT_EQ(idle_s->closed, 1);  // the unauthenticated idle one went first
  EXPECT_EQ(auth_idle_s->closed, 0);
  EXPECT_EQ(busy_s->closed, 0);
  slots.release(idle);

  slots.set_phase(fresh, Phase::in_flight, true);
  auto [second, second_s] = open("10.0.0.5");
  EXPECT_NE(second, 0u);
  EXPECT_EQ(auth_idle_s->closed, 1);  // then the authenticated idle one
  slots.release(auth_idle);
  slots.set_phase(second, Phase::in_flight, true);

  // Only authenticated requests in flight are left: a newcomer is refused 503.
  auto refused = slots.admit("10.0.0.6", true, true, t0);
  EXPECT_EQ(refused.refuse, 503u);
  EXPECT_NE(refused.id, 0u);  // answered, then released
  EXPECT_FALSE(refused.victim);
  const ListenerLoad l = slots.load(t0);
  EXPECT_TRUE(l.saturated);
  EXPECT_EQ(l.evicted_last_minute, 2u);
  EXPECT_EQ(l.refused_last_minute, 1u);
  slots.release(refused.id);
  EXPECT_EQ(slots.connections(), 3u);
  // The minute passes: the counts fall back to zero, saturation only while full.
  EXPECT_EQ(slots.load(t0 + std::chrono::seconds(61)).evicted_last_minute, 0u);
}

TEST_F(SlotPolicy, OneAddressGetsAtMostItsShareAnd429) {
  EXPECT_NE(open("10.0.0.9").first, 0u);
  EXPECT_NE(open("10.0.0.9").first, 0u);
  auto third = slots.admit("10.0.0.9", true, true, t0);
  EXPECT_EQ(third.refuse, 429u);
  slots.release(third.id);
  EXPECT_NE(open("10.0.0.10").first, 0u);  // another address still gets the last slot
}

TEST_F(SlotPolicy, ASilentConnectionIsSparedBrieflyThenGoesFirst) {
  auto [silent, silent_s] = open("10.0.1.1", /*sent=*/false);
  auto [idle, idle_s] = open("10.0.1.2");
  auto [hs, hs_s] = open("10.0.1.3");
  slots.set_phase(idle, Phase::waiting, false);
  slots.set_phase(hs, Phase::handshake, false);
  // Within its grace, the silent one is spared for the unauthenticated idle one.
  open("10.0.1.4", true, t0 + std::chrono::milliseconds(100));
  EXPECT_EQ(idle_s->closed, 1);
  EXPECT_EQ(silent_s->closed, 0);
  slots.release(idle);
  // Past it, the silent one goes before a handshake in progress.
  open("10.0.1.5", true, t0 + std::chrono::seconds(3));
  EXPECT_EQ(silent_s->closed, 1);
  EXPECT_EQ(hs_s->closed, 0);
}

TEST_F(SlotPolicy, PastTheRefusalBoundNewcomersAreClosedUnanswered) {
  for (int i = 0; i < 3; ++i) {
    auto [id, s] = open("10.0.2." + std::to_string(i));
    slots.set_phase(id, Phase::in_flight, true);
  }
  std::vector<uint64_t> answered;
  for (size_t i = 0; i < ConnectionSlots::kMaxRefusing; ++i) {
    auto a = slots.admit("10.0.3." + std::to_string(i), true, true, t0);
    ASSERT_EQ(a.refuse, 503u);
    answered.push_back(a.id);
  }
  auto overflow = slots.admit("10.0.4.1", true, true, t0);
  EXPECT_EQ(overflow.id, 0u);  // close it, no answer
  EXPECT_EQ(slots.connections(), 3u + ConnectionSlots::kMaxRefusing);
  for (uint64_t id : answered) slots.release(id);
  EXPECT_TRUE(slots.wait_empty(std::chrono::milliseconds(0)) == false);
  EXPECT_EQ(slots.connections(), 3u);
}

}  // namespace
}  // namespace edxgate::gateway
