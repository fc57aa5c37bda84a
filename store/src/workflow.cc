#include "edxgate/store/workflow.h"

#include <algorithm>
#include <array>

namespace edxgate::store {
namespace {

struct Edge {
  Direction direction;
  State from;
  State to;
};

using enum State;
constexpr Direction kOut = Direction::outgoing;
constexpr Direction kIn = Direction::incoming;

// THE transition table. Anything not listed is illegal.
constexpr Edge kEdges[] = {
    // Outgoing: preparation and signing.
    {kOut, draft, pending_signature},
    {kOut, draft, cancelled},
    {kOut, pending_signature, signed_},
    {kOut, pending_signature, draft},  // the signer sends it back for changes
    {kOut, pending_signature, cancelled},
    {kOut, signed_, queued},
    {kOut, signed_, cancelled},
    {kOut, queued, sent},
    {kOut, queued, cancelled},  // an operator stops the retries
    {kOut, queued, failed},     // the axis refused it permanently, max_permanent_failures times
    {kOut, failed, queued},     // an officer re-queues it (Store::requeue_failed)
    {kOut, failed, cancelled},
    // Outgoing: the recipient's status messages (01..06) move it forward;
    // one may be skipped or arrive late, so forward jumps are legal.
    {kOut, sent, delivered},
    {kOut, sent, refused},
    {kOut, sent, accepted},
    {kOut, sent, assigned},
    {kOut, sent, processing},
    {kOut, sent, completed},
    {kOut, delivered, refused},
    {kOut, delivered, accepted},
    {kOut, delivered, assigned},
    {kOut, delivered, processing},
    {kOut, delivered, completed},
    {kOut, accepted, assigned},
    {kOut, accepted, processing},
    {kOut, accepted, completed},
    {kOut, assigned, processing},
    {kOut, assigned, completed},
    {kOut, processing, completed},
    // Incoming.
    {kIn, received, verified},
    {kIn, received, quarantined},
    {kIn, received, refused},
    {kIn, quarantined, verified},  // re-verified once the cause is fixed (e.g. a CRL came back)
    {kIn, quarantined, refused},
    {kIn, verified, registered},
    {kIn, verified, refused},
    {kIn, registered, assigned},
    {kIn, registered, processing},
    {kIn, registered, completed},
    {kIn, assigned, processing},
    {kIn, assigned, completed},
    {kIn, processing, completed},
};

constexpr std::array<State, 17> kAll = {draft,    pending_signature, signed_,    queued,    sent,        delivered,
                                        accepted, cancelled,         received,   verified,  quarantined, registered,
                                        refused,  assigned,          processing, completed, failed};

constexpr std::string_view kNames[] = {
    "draft",    "pending_signature", "signed",     "queued",    "sent",        "delivered",
    "accepted", "cancelled",         "received",   "verified",  "quarantined", "registered",
    "refused",  "assigned",          "processing", "completed", "failed"};
static_assert(std::size(kNames) == kAll.size());

}  // namespace

std::span<const State> all_states() { return kAll; }

std::string_view direction_name(Direction d) { return d == Direction::outgoing ? "outgoing" : "incoming"; }

std::optional<Direction> parse_direction(std::string_view text) {
  if (text == "outgoing" || text == "out") return Direction::outgoing;
  if (text == "incoming" || text == "in") return Direction::incoming;
  return std::nullopt;
}

std::string_view state_name(State s) { return kNames[static_cast<size_t>(s)]; }

std::optional<State> parse_state(std::string_view text) {
  for (size_t i = 0; i < kAll.size(); ++i) {
    if (kNames[i] == text) return kAll[i];
  }
  return std::nullopt;
}

bool is_initial(Direction direction, State state) {
  if (direction == Direction::outgoing) return state == draft || state == pending_signature;
  return state == received || state == verified || state == quarantined;
}

bool is_legal(Direction direction, State from, State to) {
  return std::any_of(std::begin(kEdges), std::end(kEdges),
                     [&](const Edge& e) { return e.direction == direction && e.from == from && e.to == to; });
}

bool is_terminal(Direction direction, State state) {
  return std::none_of(std::begin(kEdges), std::end(kEdges),
                      [&](const Edge& e) { return e.direction == direction && e.from == state; });
}

bool belongs_to(Direction direction, State state) {
  if (is_initial(direction, state)) return true;
  return std::any_of(std::begin(kEdges), std::end(kEdges),
                     [&](const Edge& e) { return e.direction == direction && (e.from == state || e.to == state); });
}

}  // namespace edxgate::store
