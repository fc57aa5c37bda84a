// The document workflows: the states a document goes through and the one
// table of legal transitions, for outgoing and incoming documents.
//
// Outgoing: draft -> pending_signature -> signed -> queued -> sent, then the
// recipient's status messages move it on (delivered 01, refused 02, accepted
// 03, assigned 04, processing 05, completed 06). Status messages may arrive
// late or be skipped by the recipient's system, so a forward jump along that
// chain is legal; a step back is not. An operator may cancel before `sent`.
// A document the axis refuses permanently ([axis] max_permanent_failures
// times) leaves the outbox as `failed`; an officer re-queues or cancels it.
// Incoming: received -> verified | quarantined -> registered -> assigned ->
// processing -> completed, or refused before registration.
//
// The table lives in workflow.cc and is the only place that knows it; the
// store refuses any transition that is not in it.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace edxgate::store {

enum class Direction { outgoing, incoming };

enum class State {
  // outgoing
  draft,
  pending_signature,
  signed_,  // "signed" (a keyword-adjacent name; spelled with _ in C++ only)
  queued,
  sent,
  delivered,
  accepted,
  cancelled,
  // incoming
  received,
  verified,
  quarantined,
  registered,
  // both
  refused,
  assigned,
  processing,
  completed,
  // outgoing, appended: the axis refused it permanently (see the outbox)
  failed,
};

// Every state, in declaration order (for exhaustive tests and listings).
std::span<const State> all_states();

std::string_view direction_name(Direction d);  // "outgoing" | "incoming"
std::optional<Direction> parse_direction(std::string_view text);
std::string_view state_name(State s);  // the stable name stored and shown
std::optional<State> parse_state(std::string_view text);

// True when a document of `direction` may be created in `state`
// (outgoing: draft, pending_signature; incoming: received, verified, quarantined).
bool is_initial(Direction direction, State state);
// True when the table holds from -> to for `direction`.
bool is_legal(Direction direction, State from, State to);
// True when no transition leaves `state` for `direction`.
bool is_terminal(Direction direction, State state);
// True when `state` belongs to the workflow of `direction`.
bool belongs_to(Direction direction, State state);

}  // namespace edxgate::store
