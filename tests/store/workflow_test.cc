// The workflow table, and the store enforcing it for every pair of states.
#include <deque>
#include <map>

#include "store_test_util.h"

namespace edxgate::store {
namespace {

using testing::TempDir;

// Shortest legal path from an initial state to `target` (initial first), or empty.
std::vector<State> path_to(Direction dir, State target) {
  std::map<State, State> parent;
  std::deque<State> queue;
  for (State s : all_states()) {
    if (is_initial(dir, s)) {
      parent[s] = s;
      queue.push_back(s);
    }
  }
  while (!queue.empty()) {
    State s = queue.front();
    queue.pop_front();
    if (s == target) {
      std::vector<State> path{s};
      while (parent[path.back()] != path.back()) path.push_back(parent[path.back()]);
      return {path.rbegin(), path.rend()};
    }
    for (State n : all_states()) {
      if (is_legal(dir, s, n) && !parent.count(n)) {
        parent[n] = s;
        queue.push_back(n);
      }
    }
  }
  return {};
}

TEST(Workflow, EveryStateHasAStableNameThatParsesBack) {
  for (State s : all_states()) {
    auto back = parse_state(state_name(s));
    ASSERT_TRUE(back.has_value()) << state_name(s);
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(state_name(State::signed_), "signed");
  EXPECT_FALSE(parse_state("Signed").has_value());
  EXPECT_FALSE(parse_state("").has_value());
}

TEST(Workflow, EveryStateOfADirectionIsReachableFromAnInitialState) {
  for (Direction dir : {Direction::outgoing, Direction::incoming}) {
    for (State s : all_states()) {
      if (!belongs_to(dir, s)) continue;
      EXPECT_FALSE(path_to(dir, s).empty()) << direction_name(dir) << " " << state_name(s);
    }
  }
}

TEST(Workflow, NoTransitionCrossesBetweenTheTwoDirections) {
  for (State from : all_states()) {
    for (State to : all_states()) {
      if (is_legal(Direction::outgoing, from, to)) {
        EXPECT_TRUE(belongs_to(Direction::outgoing, from) && belongs_to(Direction::outgoing, to));
      }
      if (is_legal(Direction::incoming, from, to)) {
        EXPECT_TRUE(belongs_to(Direction::incoming, from) && belongs_to(Direction::incoming, to));
      }
      EXPECT_FALSE(is_legal(Direction::outgoing, from, from)) << "self-loop " << state_name(from);
    }
  }
  EXPECT_FALSE(belongs_to(Direction::outgoing, State::quarantined));
  EXPECT_FALSE(belongs_to(Direction::incoming, State::queued));
}

TEST(Workflow, TerminalStatesAreTheExpectedOnes) {
  for (State s : {State::cancelled, State::refused, State::completed}) {
    EXPECT_TRUE(is_terminal(Direction::outgoing, s)) << state_name(s);
  }
  for (State s : {State::refused, State::completed}) {
    EXPECT_TRUE(is_terminal(Direction::incoming, s)) << state_name(s);
  }
  EXPECT_FALSE(is_terminal(Direction::outgoing, State::sent));
  EXPECT_FALSE(is_terminal(Direction::incoming, State::quarantined));
}

// The store allows exactly the table's transitions, for every (from, to)
// pair of every direction, and a refused one changes nothing.
TEST(StoreWorkflow, EveryPairOfStatesIsLegalExactlyWhenTheTableSaysSo) {
  TempDir dir;
  auto store = testing::open_or_die(testing::options_for(dir.path()));
  ASSERT_TRUE(store);
  auto envelope = store->blobs().put("<edXML/>");
  ASSERT_TRUE(envelope.ok());
  int legal = 0, refused = 0, n = 0;
  for (Direction dir_ : {Direction::outgoing, Direction::incoming}) {
    for (State from : all_states()) {
      if (!belongs_to(dir_, from)) continue;
      std::vector<State> path = path_to(dir_, from);
      ASSERT_FALSE(path.empty());
      for (State to : all_states()) {
        NewDocument d = dir_ == Direction::outgoing ? testing::outgoing_doc()
                                                    : testing::incoming_doc(*envelope, "doc-" + std::to_string(++n));
        d.state = path.front();
        auto created = store->create_document(d);
        ASSERT_TRUE(created.ok()) << created.error().message;
        const DocumentId id = created->id;
        for (size_t i = 1; i < path.size(); ++i) {
          ASSERT_TRUE(store->transition(id, path[i], "test", "setup").ok());
        }
        auto before = store->history(id);
        ASSERT_TRUE(before.ok());
        auto r = store->transition(id, to, "officer:a", "pair test");
        auto doc = store->get_document(id);
        ASSERT_TRUE(doc.ok());
        auto after = store->history(id);
        ASSERT_TRUE(after.ok());
        if (is_legal(dir_, from, to)) {
          ++legal;
          EXPECT_TRUE(r.ok()) << state_name(from) << " -> " << state_name(to);
          EXPECT_EQ(doc->state, to);
          ASSERT_EQ(after->size(), before->size() + 1);
          EXPECT_EQ(after->back().from, from);
          EXPECT_EQ(after->back().to, to);
          EXPECT_EQ(after->back().actor, "officer:a");
          EXPECT_EQ(after->back().reason, "pair test");
        } else {
          ++refused;
          ASSERT_FALSE(r.ok()) << direction_name(dir_) << " " << state_name(from) << " -> " << state_name(to)
                               << " was accepted";
          EXPECT_EQ(r.error().code, "store.illegal_transition");
          EXPECT_EQ(r.error().kind, ErrorKind::conflict);
          EXPECT_NE(r.error().message.find(std::string(state_name(from))), std::string::npos);
          EXPECT_NE(r.error().message.find(std::string(state_name(to))), std::string::npos);
          EXPECT_EQ(doc->state, from);
          EXPECT_EQ(after->size(), before->size());
        }
      }
    }
  }
  EXPECT_GT(legal, 30);
  EXPECT_GT(refused, 250);
  auto audit = store->verify_audit();
  ASSERT_TRUE(audit.ok());
  EXPECT_TRUE(audit->ok) << audit->problem;
}

TEST(StoreWorkflow, ATransitionWritesStateHistoryAndAuditRowTogether) {
  TempDir dir;
  auto store = testing::open_or_die(testing::options_for(dir.path()));
  ASSERT_TRUE(store);
  auto id = store->create_document(testing::outgoing_doc());
  ASSERT_TRUE(id.ok());
  auto rows_before = store->audit_rows(0, 1000);
  ASSERT_TRUE(rows_before.ok());
  ASSERT_TRUE(store->transition(id->id, State::pending_signature, "clerk:lan", "ready").ok());
  auto rows = store->audit_rows(0, 1000);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), rows_before->size() + 1);
  const AuditRow& last = rows->back();
  EXPECT_EQ(last.event.actor, "clerk:lan");
  EXPECT_EQ(last.event.action, "document.transition");
  EXPECT_EQ(last.event.object, "document:" + std::to_string(id->id));
  EXPECT_EQ(last.event.detail, "draft -> pending_signature: ready");
  auto h = store->history(id->id);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_FALSE(h->front().from.has_value());
  EXPECT_EQ(h->front().to, State::draft);
}

TEST(StoreWorkflow, AStaleExpectedStateIsAConflictAndChangesNothing) {
  TempDir dir;
  auto store = testing::open_or_die(testing::options_for(dir.path()));
  ASSERT_TRUE(store);
  auto id = store->create_document(testing::outgoing_doc());
  ASSERT_TRUE(id.ok());
  auto r = store->transition(id->id, State::signed_, "signer", "", State::pending_signature);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store.conflict");
  EXPECT_EQ(store->get_document(id->id)->state, State::draft);
}

TEST(StoreWorkflow, RefusesToCreateADocumentInANonInitialState) {
  TempDir dir;
  auto store = testing::open_or_die(testing::options_for(dir.path()));
  ASSERT_TRUE(store);
  NewDocument d = testing::outgoing_doc();
  d.state = State::sent;
  auto r = store->create_document(d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store.bad_initial_state");
  d.state = State::received;  // an incoming state
  EXPECT_FALSE(store->create_document(d).ok());
}

TEST(StoreWorkflow, TransitionOfAnUnknownDocumentIsNotFound) {
  TempDir dir;
  auto store = testing::open_or_die(testing::options_for(dir.path()));
  ASSERT_TRUE(store);
  auto r = store->transition(12345, State::sent, "x", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store.not_found");
  EXPECT_EQ(r.error().kind, ErrorKind::not_found);
}

}  // namespace
}  // namespace edxgate::store
