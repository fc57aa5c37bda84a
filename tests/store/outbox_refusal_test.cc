// Issue 13: permanent refusals by the axis, counted apart from other
// failures; at the maximum the item and its document are failed, and an
// officer re-queues them; on both engines.
#include "backend_fixture.h"

namespace edxgate::store {
namespace {

using testing::FakeClock;

struct OutboxRefusal : testing::BackendTest {
  FakeClock clock;
  std::unique_ptr<Store> store;

  void SetUp() override {
    BackendTest::SetUp();
    if (HasFatalFailure()) return;
    StoreOptions o = base_options();
    o.now_ms = clock.fn();
    o.backoff = {5'000, 60'000, 1'000};
    store = testing::open_or_die(o);
    ASSERT_TRUE(store);
  }
  DocumentId queued_document() {
    auto id = store->create_document(testing::outgoing_doc());
    EXPECT_TRUE(id.ok());
    EXPECT_TRUE(store->transition(id->id, State::pending_signature, "t", "").ok());
    EXPECT_TRUE(store->transition(id->id, State::signed_, "t", "").ok());
    EXPECT_TRUE(store
                    ->transition(id->id, State::queued, "t", "", State::signed_,
                                 OutboxRequest{"edoc", "000.00.00.H41", std::nullopt})
                    .ok());
    return id->id;
  }
  // Claims the due item (moving the clock past its backoff) and refuses it.
  Result<bool> refuse(int max) {
    clock.advance(120'000);
    auto c = store->claim_outbox("w", 5'000, 1);
    if (!c.ok() || c->size() != 1) return make_error(ErrorKind::internal, "test.claim", "nothing claimed");
    return store->refuse_outbox((*c)[0].id, (*c)[0].lease_token, "axis.refused: ErrorCode 5, unknown organ", max);
  }
  OutboxItem item() { return store->list_outbox({})->front(); }
  State state(DocumentId id) { return store->get_document(id)->state; }
};

TEST_P(OutboxRefusal, TheItemAndItsDocumentFailAtTheMaximumInOneStep) {
  const DocumentId id = queued_document();
  for (int i = 1; i <= 2; ++i) {
    auto r = refuse(3);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_FALSE(*r);
    EXPECT_EQ(item().refusals, i);
    EXPECT_EQ(item().state, OutboxState::pending);
    EXPECT_GT(item().next_attempt_ms, clock.now());  // backoff as for any failure
    EXPECT_EQ(state(id), State::queued);
  }
  // A transient failure between them is not counted.
  clock.advance(120'000);
  auto c = store->claim_outbox("w", 5'000, 1);
  ASSERT_TRUE(c.ok() && c->size() == 1u);
  ASSERT_TRUE(store->fail_outbox((*c)[0].id, (*c)[0].lease_token, "axis.unreachable").ok());
  EXPECT_EQ(item().refusals, 2);
  auto last = refuse(3);
  ASSERT_TRUE(last.ok()) << last.error().message;
  EXPECT_TRUE(*last);
  EXPECT_EQ(item().state, OutboxState::failed);
  EXPECT_EQ(item().attempts, 4);
  EXPECT_EQ(state(id), State::failed);
  clock.advance(3'600'000);
  EXPECT_TRUE(store->claim_outbox("w", 5'000, 10)->empty());  // it left the outbox
  EXPECT_EQ(store->stats()->outbox_pending, 0u);
  OutboxQuery failed;
  failed.state = OutboxState::failed;
  EXPECT_EQ(store->list_outbox(failed)->size(), 1u);
  EXPECT_EQ(raw_value("SELECT count(*) FROM audit_log WHERE action = 'outbox.failed'"), "1");
}

TEST_P(OutboxRefusal, ReQueueingPutsTheItemBackDueNowWithItsRefusalsForgotten) {
  const DocumentId id = queued_document();
  EXPECT_EQ(store->requeue_failed(id, "officer", "").error().code, "store.conflict");
  ASSERT_TRUE(refuse(1).ok());
  ASSERT_EQ(state(id), State::failed);
  ASSERT_TRUE(store->requeue_failed(id, "officer", "organ id fixed").ok());
  EXPECT_EQ(state(id), State::queued);
  EXPECT_EQ(item().state, OutboxState::pending);
  EXPECT_EQ(item().refusals, 0);
  EXPECT_EQ(store->claim_outbox("w", 5'000, 1)->size(), 1u);  // due at once
  EXPECT_EQ(raw_value("SELECT count(*) FROM audit_log WHERE action = 'outbox.requeue'"), "1");
  EXPECT_EQ(store->requeue_failed(987654, "officer", "").error().code, "store.not_found");
}

INSTANTIATE_TEST_SUITE_P(Engines, OutboxRefusal, ::testing::Values(Backend::sqlite, Backend::postgresql),
                         testing::backend_test_name);

}  // namespace
}  // namespace edxgate::store
