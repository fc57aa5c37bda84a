// The outbox: leases, expiry, backoff, and atomicity with the workflow, on
// both engines; two Store instances on one database stand for two nodes.
#include <map>
#include <mutex>
#include <thread>

#include "backend_fixture.h"

namespace edxgate::store {
namespace {

using testing::FakeClock;

struct OutboxFixture : testing::BackendTest {
  FakeClock clock;
  std::shared_ptr<std::atomic<uint64_t>> rnd = std::make_shared<std::atomic<uint64_t>>(0);
  std::unique_ptr<Store> store;

  StoreOptions options() {
    StoreOptions o = base_options();
    o.now_ms = clock.fn();
    auto r = rnd;
    o.random = [r] { return r->load(); };
    o.backoff = {5'000, 60'000, 1'000};
    return o;
  }
  void SetUp() override {
    BackendTest::SetUp();
    if (HasFatalFailure()) return;
    store = testing::open_or_die(options());
    ASSERT_TRUE(store);
  }
  // A signed outgoing document moved to queued with its outbox item.
  OutboxId queued_item() {
    auto id = store->create_document(testing::outgoing_doc());
    EXPECT_TRUE(id.ok());
    EXPECT_TRUE(store->transition(id->id, State::pending_signature, "t", "").ok());
    EXPECT_TRUE(store->transition(id->id, State::signed_, "t", "").ok());
    auto item = store->transition(id->id, State::queued, "t", "", State::signed_,
                                  OutboxRequest{"edoc", "000.00.00.H41", std::nullopt});
    EXPECT_TRUE(item.ok() && item->has_value());
    return item.ok() && item->has_value() ? **item : 0;
  }
};

TEST_P(OutboxFixture, AClaimedItemIsLeasedToOneWorkerOnly) {
  OutboxId id = queued_item();
  auto a = store->claim_outbox("worker-a", 30'000, 10);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].id, id);
  EXPECT_EQ((*a)[0].lease_owner, "worker-a");
  EXPECT_EQ((*a)[0].lease_until_ms, clock.now() + 30'000);
  EXPECT_EQ((*a)[0].lease_token.size(), 32u);
  auto b = store->claim_outbox("worker-b", 30'000, 10);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->empty());
  clock.advance(29'999);
  EXPECT_TRUE(store->claim_outbox("worker-b", 30'000, 10)->empty());
  ASSERT_TRUE(store->complete_outbox(id, (*a)[0].lease_token).ok());
  clock.advance(3'600'000);
  EXPECT_TRUE(store->claim_outbox("worker-b", 30'000, 10)->empty());  // done items never return
  auto listed = store->list_outbox({});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].state, OutboxState::done);
  EXPECT_TRUE((*listed)[0].lease_token.empty());  // tokens are never listed
}

TEST_P(OutboxFixture, AnExpiredLeaseMakesTheItemClaimableAndTheOldTokenUseless) {
  OutboxId id = queued_item();
  auto a = store->claim_outbox("crashed-worker", 10'000, 1);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 1u);
  clock.advance(10'000);
  auto b = store->claim_outbox("worker-b", 10'000, 1);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ((*b)[0].id, id);
  EXPECT_NE((*b)[0].lease_token, (*a)[0].lease_token);
  auto late = store->complete_outbox(id, (*a)[0].lease_token);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, "store.lease_lost");
  EXPECT_EQ(store->fail_outbox(id, (*a)[0].lease_token, "x").error().code, "store.lease_lost");
  EXPECT_EQ(store->complete_outbox(id, "").error().code, "store.lease_lost");
  EXPECT_TRUE(store->complete_outbox(id, (*b)[0].lease_token).ok());
  EXPECT_EQ(store->complete_outbox(id, (*b)[0].lease_token).error().code, "store.conflict");
}

TEST_P(OutboxFixture, ARestartedWorkerReleasesOnlyItsOwnLiveLeases) {
  OutboxId mine = queued_item();
  OutboxId theirs = queued_item();
  auto a = store->claim_outbox("engine@a", 600'000, 1);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].id, mine);
  auto b = store->claim_outbox("engine@b", 600'000, 1);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ((*b)[0].id, theirs);
  auto released = store->release_leases("engine@a");
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(*released, 1u);
  // Claimable at once by the restarted worker; the other worker's item is not.
  auto again = store->claim_outbox("engine@a", 600'000, 10);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].id, mine);
  // The previous life's token is useless now.
  EXPECT_EQ(store->complete_outbox(mine, (*a)[0].lease_token).error().code, "store.lease_lost");
  EXPECT_EQ(*store->release_leases("nobody"), 0u);
}

TEST_P(OutboxFixture, StatsCountDocumentsByStateAndThePendingOutbox) {
  clock.advance(1'000);
  queued_item();
  const int64_t first = clock.now();
  clock.advance(5'000);
  queued_item();
  ASSERT_TRUE(store->create_document(testing::outgoing_doc()).ok());
  auto s = store->stats();
  ASSERT_TRUE(s.ok());
  std::map<std::string, uint64_t> by_state;
  for (const auto& c : s->documents) by_state[std::string(state_name(c.state))] += c.count;
  EXPECT_EQ(by_state["queued"], 2u);
  EXPECT_EQ(by_state["draft"], 1u);
  EXPECT_EQ(s->outbox_pending, 2u);
  EXPECT_EQ(s->outbox_oldest_created_ms, first);
}

TEST_P(OutboxFixture, AFailureSchedulesTheNextAttemptWithCappedBackoff) {
  OutboxId id = queued_item();
  *rnd = ~uint64_t{0};  // the top of every range
  std::vector<int64_t> delays;
  for (int attempt = 1; attempt <= 7; ++attempt) {
    auto c = store->claim_outbox("w", 5'000, 1);
    ASSERT_TRUE(c.ok());
    ASSERT_EQ(c->size(), 1u) << "attempt " << attempt;
    ASSERT_TRUE(
        store->fail_outbox(id, (*c)[0].lease_token, "axis said 503 at attempt " + std::to_string(attempt)).ok());
    auto item = store->list_outbox({});
    ASSERT_TRUE(item.ok());
    const OutboxItem& it = (*item)[0];
    EXPECT_EQ(it.attempts, attempt);
    EXPECT_EQ(it.last_error, "axis said 503 at attempt " + std::to_string(attempt));
    EXPECT_TRUE(it.lease_owner.empty());
    const int64_t delay = it.next_attempt_ms - clock.now();
    delays.push_back(delay);
    // Not claimable before its time, claimable at it.
    clock.advance(delay - 1);
    EXPECT_TRUE(store->claim_outbox("w", 5'000, 1)->empty());
    clock.advance(1);
  }
  for (size_t i = 0; i < delays.size(); ++i) {
    EXPECT_GE(delays[i], 1'000);
    EXPECT_LE(delays[i], 60'000);
  }
  EXPECT_EQ(delays[0], 5'000);   // base
  EXPECT_EQ(delays[1], 10'000);  // doubles...
  EXPECT_EQ(delays[3], 40'000);
  EXPECT_EQ(delays[4], 60'000);  // ...up to the cap
  EXPECT_EQ(delays[6], 60'000);
}

TEST(Backoff, DelaysStayBetweenTheFloorAndTheGrowingCappedCeiling) {
  BackoffPolicy p{5'000, 3'600'000, 1'000};
  for (int failures = 1; failures < 200; ++failures) {
    int64_t ceiling = std::min<int64_t>(3'600'000, failures > 30 ? 3'600'000 : 5'000ll << (failures - 1));
    for (uint64_t r : {uint64_t{0}, uint64_t{1}, uint64_t{12345}, ~uint64_t{0}}) {
      int64_t d = backoff_delay_ms(p, failures, r);
      EXPECT_GE(d, 1'000);
      EXPECT_LE(d, ceiling) << failures;
    }
  }
  EXPECT_EQ(backoff_delay_ms(p, 1, 0), 1'000);
  EXPECT_EQ(backoff_delay_ms(p, 1, ~uint64_t{0}), 5'000);
  EXPECT_EQ(backoff_delay_ms(p, 3, ~uint64_t{0}), 20'000);
  EXPECT_EQ(backoff_delay_ms(p, 1000, ~uint64_t{0}), 3'600'000);  // no overflow at huge counts
  // Jitter spreads a crowd of retries over the whole window.
  int64_t lo = INT64_MAX, hi = 0;
  for (uint64_t r = 0; r < 100'000; r += 997) {
    int64_t d = backoff_delay_ms(p, 6, r * 0x9E3779B97F4A7C15ull);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, 20'000);
  EXPECT_GT(hi, 140'000);
}

TEST_P(OutboxFixture, CompletingCanAdvanceTheDocumentInTheSameTransaction) {
  OutboxId id = queued_item();
  auto c = store->claim_outbox("w", 5'000, 1);
  ASSERT_TRUE(c.ok() && c->size() == 1);
  ASSERT_TRUE(store->complete_outbox(id, (*c)[0].lease_token, State::sent, "system:outbox").ok());
  auto doc = store->get_document((*c)[0].document_id);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->state, State::sent);
}

TEST_P(OutboxFixture, AnIllegalAdvanceLeavesTheItemPending) {
  OutboxId id = queued_item();
  auto c = store->claim_outbox("w", 5'000, 1);
  ASSERT_TRUE(c.ok() && c->size() == 1);
  auto r = store->complete_outbox(id, (*c)[0].lease_token, State::completed, "system:outbox");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store.illegal_transition");
  EXPECT_EQ((*store->list_outbox({}))[0].state, OutboxState::pending);
  EXPECT_EQ(store->get_document((*c)[0].document_id)->state, State::queued);
}

TEST_P(OutboxFixture, AnIllegalTransitionEnqueuesNothing) {
  auto id = store->create_document(testing::outgoing_doc());
  ASSERT_TRUE(id.ok());
  auto r = store->transition(id->id, State::queued, "t", "", std::nullopt,
                             OutboxRequest{"edoc", "000.00.00.H41", std::nullopt});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(store->list_outbox({})->empty());
}

TEST_P(OutboxFixture, AStatusMessageIsQueuedAndRecordedTogetherOrNotAtAll) {
  auto id = store->create_document(testing::outgoing_doc());
  ASSERT_TRUE(id.ok());
  auto blob = store->blobs().put("<edXMLEnvelope>01</edXMLEnvelope>");
  ASSERT_TRUE(blob.ok());
  StatusMessage sm;
  sm.direction = Direction::outgoing;
  sm.code = "01";
  sm.description = "Đã đến";
  sm.organ_id = "000.00.00.G06";
  sm.envelope = *blob;
  auto item = store->enqueue(id->id, OutboxRequest{"status", "000.00.00.H41", *blob, sm});
  ASSERT_TRUE(item.ok()) << item.error().to_string();
  auto listed = store->status_messages(id->id);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].code, "01");
  EXPECT_EQ((*listed)[0].description, "Đã đến");
  EXPECT_EQ((*listed)[0].envelope->sha256, blob->sha256);
  EXPECT_EQ(store->list_outbox({})->size(), 1u);
  // A record the store refuses queues nothing; an item for no document
  // records nothing.
  sm.code = std::string(17, '0');
  EXPECT_EQ(store->enqueue(id->id, OutboxRequest{"status", "000.00.00.H41", *blob, sm}).error().code,
            "store.field_too_long");
  sm.code = "02";
  EXPECT_EQ(store->enqueue(id->id + 1000, OutboxRequest{"status", "000.00.00.H41", *blob, sm}).error().code,
            "store.not_found");
  EXPECT_EQ(store->list_outbox({})->size(), 1u);
  EXPECT_EQ(store->status_messages(id->id)->size(), 1u);
  // With a transition, in its transaction too.
  ASSERT_TRUE(store->transition(id->id, State::pending_signature, "t", "").ok());
  ASSERT_TRUE(store->transition(id->id, State::signed_, "t", "").ok());
  auto moved = store->transition(id->id, State::queued, "t", "", State::signed_,
                                 OutboxRequest{"status", "000.00.00.H41", *blob, sm});
  ASSERT_TRUE(moved.ok()) << moved.error().to_string();
  EXPECT_EQ(store->status_messages(id->id)->size(), 2u);
  EXPECT_EQ(store->list_outbox({})->size(), 2u);
}

TEST_P(OutboxFixture, ASignedDocumentIsStoredMovedAndQueuedInOneTransaction) {
  auto blob = store->blobs().put("<edXMLEnvelope>signed</edXMLEnvelope>");
  ASSERT_TRUE(blob.ok());
  // From pending_signature, and from draft (moved through pending_signature).
  for (State start : {State::pending_signature, State::draft}) {
    auto id = store->create_document(testing::outgoing_doc());
    ASSERT_TRUE(id.ok());
    if (start == State::pending_signature) {
      ASSERT_TRUE(store->transition(id->id, State::pending_signature, "t", "").ok());
    }
    auto q = store->queue_signed(id->id, *blob, "CN=Signer",
                                 {"clerk", "signed by clerk", OutboxRequest{"edoc", "000.00.00.H41", *blob},
                                  start == State::draft ? "personal signature" : ""});
    ASSERT_TRUE(q.ok()) << q.error().to_string();
    auto doc = store->get_document(id->id);
    EXPECT_EQ(doc->state, State::queued);
    EXPECT_EQ(doc->envelope->sha256, blob->sha256);
    EXPECT_EQ(doc->signer_summary, "CN=Signer");
    auto h = store->history(id->id);
    ASSERT_TRUE(h.ok());
    ASSERT_GE(h->size(), 3u);
    const auto& last = h->back();
    EXPECT_EQ(last.to, State::queued);
    EXPECT_EQ((*h)[h->size() - 2].to, State::signed_);
    EXPECT_EQ((*h)[h->size() - 2].reason, "signed by clerk");
  }
  EXPECT_EQ(store->list_outbox({})->size(), 2u);
  // The signature's audit row only where one was asked for, in the same
  // transaction.
  int signs = 0;
  auto rows = store->audit_rows(0, 1000);
  ASSERT_TRUE(rows.ok());
  for (const auto& r : *rows) {
    if (r.event.action != "document.sign") continue;
    ++signs;
    EXPECT_EQ(r.event.actor, "clerk");
    EXPECT_EQ(r.event.detail, "personal signature");
  }
  EXPECT_EQ(signs, 1);
  // A document already queued: nothing changes, nothing more is queued.
  auto other = store->blobs().put("<edXMLEnvelope>other</edXMLEnvelope>");
  ASSERT_TRUE(other.ok());
  OutboxId queued = queued_item();
  auto item = store->list_outbox({});
  DocumentId queued_doc = 0;
  for (const auto& i : *item) {
    if (i.id == queued) queued_doc = i.document_id;
  }
  ASSERT_NE(queued_doc, 0);
  const size_t audited = store->audit_rows(0, 1000)->size();
  auto again = store->queue_signed(queued_doc, *other, "CN=Other",
                                   {"clerk", "again", OutboxRequest{"edoc", "000.00.00.H41", *other}, "again"});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "store.conflict");
  EXPECT_FALSE(store->get_document(queued_doc)->envelope.has_value() &&
               store->get_document(queued_doc)->envelope->sha256 == other->sha256);
  EXPECT_EQ(store->list_outbox({})->size(), 3u);
  EXPECT_EQ(store->audit_rows(0, 1000)->size(), audited) << "a refused signature leaves no audit row of its own";
}

TEST_P(OutboxFixture, ADocumentSignedBeforeItIsStoredIsCreatedQueuedInOneTransaction) {
  auto blob = store->blobs().put("<edXMLEnvelope>signed first</edXMLEnvelope>");
  ASSERT_TRUE(blob.ok());
  NewDocument nd = testing::outgoing_doc();
  nd.state = State::pending_signature;
  nd.envelope = *blob;
  nd.signer_summary = "CN=Agency";
  nd.envelope_id = "251/TMĐT-TTTH";
  nd.submitter = "eoffice";
  nd.idempotency_key = "k-1";
  const SignedStart how{"system:organization", "signed by the organization",
                        OutboxRequest{"edoc", "000.00.00.H41", *blob}, "signed for eoffice"};
  auto created = store->create_signed(nd, how);
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  EXPECT_FALSE(created->existing);
  auto doc = store->get_document(created->id);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->state, State::queued);
  EXPECT_EQ(doc->envelope->sha256, blob->sha256);
  EXPECT_EQ(doc->signer_summary, "CN=Agency");
  auto h = store->history(created->id);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 3u);
  EXPECT_FALSE((*h)[0].from.has_value());
  EXPECT_EQ((*h)[0].to, State::pending_signature);
  EXPECT_EQ((*h)[0].actor, "test");
  EXPECT_EQ((*h)[1].to, State::signed_);
  EXPECT_EQ((*h)[1].actor, "system:organization");
  EXPECT_EQ((*h)[1].reason, "signed by the organization");
  EXPECT_EQ((*h)[2].to, State::queued);
  auto items = store->list_outbox({});
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].document_id, created->id);
  EXPECT_EQ((*items)[0].payload->sha256, blob->sha256);
  auto rows = store->audit_rows(0, 100);
  ASSERT_TRUE(rows.ok());
  int signs = 0;
  for (const auto& r : *rows) {
    if (r.event.action != "document.sign") continue;
    ++signs;
    EXPECT_EQ(r.event.actor, "system:organization");
    EXPECT_EQ(r.event.detail, "signed for eoffice");
    EXPECT_EQ(r.event.outcome, "ok");
  }
  EXPECT_EQ(signs, 1);

  // The retried submission gets the first document and writes nothing.
  auto other = store->blobs().put("<edXMLEnvelope>signed again</edXMLEnvelope>");
  ASSERT_TRUE(other.ok());
  NewDocument retry = nd;
  retry.envelope = *other;
  auto again = store->create_signed(retry, {"system:organization", "again", OutboxRequest{"edoc", "x", *other}, "x"});
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_TRUE(again->existing);
  EXPECT_EQ(again->id, created->id);
  EXPECT_EQ(store->get_document(created->id)->envelope->sha256, blob->sha256);
  EXPECT_EQ(store->history(created->id)->size(), 3u);
  EXPECT_EQ(store->list_outbox({})->size(), 1u);
  EXPECT_EQ(store->audit_rows(0, 100)->size(), rows->size());

  // Another live document with the same DocumentId is refused whole: no row,
  // no outbox item.
  NewDocument twin = nd;
  twin.idempotency_key = "k-2";
  auto dup = store->create_signed(twin, how);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, "document.duplicate_id");
  EXPECT_EQ(store->list_outbox({})->size(), 1u);
  EXPECT_EQ(store->list_documents({})->documents.size(), 1u);

  // Only an outgoing document waiting for its signature, with its envelope.
  NewDocument draft = testing::outgoing_doc("draft");
  draft.envelope = *blob;
  EXPECT_EQ(store->create_signed(draft, how).error().code, "store.bad_initial_state");
  NewDocument bare = testing::outgoing_doc("bare");
  bare.state = State::pending_signature;
  EXPECT_EQ(store->create_signed(bare, how).error().code, "store.bad_initial_state");
  // A blob the store does not hold is refused before anything is written.
  NewDocument missing = testing::outgoing_doc("missing");
  missing.state = State::pending_signature;
  missing.envelope = BlobRef{std::string(64, 'a'), 10};
  EXPECT_EQ(store->create_signed(missing, how).error().code, "store.blob_missing");
  EXPECT_EQ(store->list_documents({})->documents.size(), 1u);
}

TEST_P(OutboxFixture, ACancelledItemIsNeverClaimed) {
  OutboxId id = queued_item();
  ASSERT_TRUE(store->cancel_outbox(id, "officer:b", "recipient withdrawn").ok());
  clock.advance(86'400'000);
  EXPECT_TRUE(store->claim_outbox("w", 5'000, 10)->empty());
  OutboxQuery q;
  q.state = OutboxState::cancelled;
  EXPECT_EQ(store->list_outbox(q)->size(), 1u);
  EXPECT_EQ(store->cancel_outbox(id, "officer:b", "again").error().code, "store.conflict");
}

TEST_P(OutboxFixture, CancellingTheDocumentCancelsItsPendingItems) {
  OutboxId id = queued_item();
  auto item = (*store->list_outbox({}))[0];
  ASSERT_EQ(item.id, id);
  auto lease = store->claim_outbox("w", 60'000, 1);
  ASSERT_TRUE(lease.ok() && lease->size() == 1);
  ASSERT_TRUE(store->transition(item.document_id, State::cancelled, "officer:b", "wrong recipient").ok());
  EXPECT_EQ((*store->list_outbox({}))[0].state, OutboxState::cancelled);
  EXPECT_EQ(store->complete_outbox(id, (*lease)[0].lease_token).error().code, "store.conflict");
  clock.advance(86'400'000);
  EXPECT_TRUE(store->claim_outbox("w", 5'000, 10)->empty());
}

TEST_P(OutboxFixture, ClaimsComeInDueOrderAndRespectTheBatchSize) {
  std::vector<OutboxId> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(queued_item());
    clock.advance(10);
  }
  auto first = store->claim_outbox("w", 60'000, 3);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ((*first)[i].id, ids[i]);
  auto rest = store->claim_outbox("w2", 60'000, 10);
  ASSERT_EQ(rest->size(), 2u);
}

// Two stores on one database (two nodes), two workers each, hammer the
// outbox: no item is ever held by two workers at once, and every item is
// sent exactly once.
TEST_P(OutboxFixture, TwoNodesOnOneDatabaseNeverHoldTheSameItem) {
  StoreOptions o = base_options();  // the real clock: leases must not expire here
  auto s1 = testing::open_or_die(o);
  auto s2 = testing::open_or_die(o);
  ASSERT_TRUE(s1 && s2);
  auto doc = s1->create_document(testing::outgoing_doc());
  ASSERT_TRUE(doc.ok());
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(s1->enqueue(doc->id, {"status", "000.00.00.H41", std::nullopt}).ok());
  }
  std::mutex mu;
  std::map<OutboxId, int> sent;
  std::atomic<int> errors{0};
  auto worker = [&](Store* s, std::string name) {
    for (;;) {
      auto items = s->claim_outbox(name, 60'000, 4);
      if (!items.ok()) {
        ++errors;
        continue;
      }
      if (items->empty()) return;
      for (const OutboxItem& it : *items) {
        {
          std::lock_guard lock(mu);
          ++sent[it.id];
        }
        if (!s->complete_outbox(it.id, it.lease_token).ok()) ++errors;
      }
    }
  };
  std::thread a(worker, s1.get(), "a1"), b(worker, s2.get(), "b1");
  std::thread c(worker, s1.get(), "a2"), d(worker, s2.get(), "b2");
  a.join();
  b.join();
  c.join();
  d.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(sent.size(), 60u);
  for (auto& [id, n] : sent) EXPECT_EQ(n, 1) << "item " << id;
  OutboxQuery q;
  q.state = OutboxState::done;
  q.limit = 1000;
  EXPECT_EQ(s2->list_outbox(q)->size(), 60u);
  auto audit = s1->verify_audit();
  ASSERT_TRUE(audit.ok());
  EXPECT_TRUE(audit->ok) << audit->problem;
}

// A node that crashed holding leases: the other node takes its items over
// once the leases expire, not before; the crashed node's late completion is
// refused.
TEST_P(OutboxFixture, ACrashedNodesItemsAreTakenOverWhenTheLeaseExpires) {
  auto node_b = testing::open_or_die(options());
  ASSERT_TRUE(node_b);
  std::vector<OutboxId> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(queued_item());
  auto held = store->claim_outbox("engine@a", 30'000, 10);
  ASSERT_TRUE(held.ok());
  ASSERT_EQ(held->size(), 3u);
  store.reset();  // node a dies (its leases stay in the database)
  EXPECT_TRUE(node_b->claim_outbox("engine@b", 30'000, 10)->empty());
  clock.advance(30'000);
  auto taken = node_b->claim_outbox("engine@b", 30'000, 10);
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*taken)[i].id, ids[i]);
    EXPECT_EQ((*taken)[i].lease_owner, "engine@b");
    EXPECT_EQ(node_b->complete_outbox(ids[i], (*held)[i].lease_token).error().code, "store.lease_lost");
    EXPECT_TRUE(node_b->complete_outbox(ids[i], (*taken)[i].lease_token, State::sent).ok());
  }
}

EDXGATE_BOTH_BACKENDS(OutboxFixture);

}  // namespace
}  // namespace edxgate::store
