// The lifecycle markers and links of documents (recall, update, replacement),
// on both engines.
#include "backend_fixture.h"

namespace edxgate::store {
namespace {

struct Lifecycle : testing::BackendTest {};

LifecycleEvent event(DocumentId id, std::string lifecycle, std::optional<DocumentId> related, std::string relation,
                     std::string actor, std::string reason) {
  LifecycleEvent e;
  e.document_id = id;
  e.lifecycle = std::move(lifecycle);
  e.related = related;
  e.relation = std::move(relation);
  e.actor = std::move(actor);
  e.reason = std::move(reason);
  return e;
}

TEST_P(Lifecycle, LinksBothDocumentsAndFiltersByMarker) {
  auto store = testing::open_or_die(base_options());
  ASSERT_TRUE(store);
  auto original = store->create_document(testing::outgoing_doc("Công văn gốc"));
  auto recall = store->create_document(testing::outgoing_doc("Thu hồi công văn"));
  auto other = store->create_document(testing::outgoing_doc("Công văn khác"));
  ASSERT_TRUE(original.ok() && recall.ok() && other.ok());
  LifecycleEvent on_original =
      event(original->id, "recall_requested", recall->id, "revoked_by", "system:qlvb", "sai sót");
  on_original.expected_lifecycle = std::vector<std::string>{""};
  LifecycleEvent on_recall = event(recall->id, "", original->id, "revocation_of", "system:qlvb", "sai sót");
  const LifecycleEvent both[] = {on_original, on_recall};
  ASSERT_TRUE(store->record_lifecycle(both).ok());

  EXPECT_EQ(store->get_document(original->id)->lifecycle, "recall_requested");
  EXPECT_EQ(store->get_document(recall->id)->lifecycle, "");
  auto events = store->lifecycle_events(original->id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].relation, "revoked_by");
  EXPECT_EQ((*events)[0].related, recall->id);
  EXPECT_EQ((*events)[0].reason, "sai sót");
  EXPECT_GT((*events)[0].at_ms, 0);
  auto back = store->lifecycle_events(recall->id);
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].related, original->id);

  DocumentQuery q;
  q.lifecycle = "recall_requested";
  auto page = store->list_documents(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->documents.size(), 1u);
  EXPECT_EQ(page->documents[0].id, original->id);
  EXPECT_EQ(page->documents[0].lifecycle, "recall_requested");
  EXPECT_TRUE(store->verify_audit()->ok);
}

TEST_P(Lifecycle, AnUnexpectedMarkerWritesNothingOfTheBatch) {
  auto store = testing::open_or_die(base_options());
  ASSERT_TRUE(store);
  auto a = store->create_document(testing::outgoing_doc("A"));
  auto b = store->create_document(testing::outgoing_doc("B"));
  ASSERT_TRUE(a.ok() && b.ok());
  LifecycleEvent revoked = event(a->id, "revoked", std::nullopt, "", "organ:x", "");
  ASSERT_TRUE(store->record_lifecycle(std::span<const LifecycleEvent>(&revoked, 1)).ok());
  // B is marked, then A (revoked) is expected to be recall_requested: neither is written.
  LifecycleEvent mark_b = event(b->id, "updated", a->id, "update_of", "x", "");
  LifecycleEvent again = event(a->id, "recall_refused", std::nullopt, "", "x", "");
  again.expected_lifecycle = std::vector<std::string>{"recall_requested"};
  const LifecycleEvent batch[] = {mark_b, again};
  auto r = store->record_lifecycle(batch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store.conflict");
  EXPECT_EQ(store->get_document(b->id)->lifecycle, "");
  EXPECT_TRUE(store->lifecycle_events(b->id)->empty());
  EXPECT_EQ(store->get_document(a->id)->lifecycle, "revoked");

  LifecycleEvent missing = event(999999, "revoked", std::nullopt, "", "x", "");
  auto m = store->record_lifecycle(std::span<const LifecycleEvent>(&missing, 1));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, "store.not_found");
}

EDXGATE_BOTH_BACKENDS(Lifecycle);

}  // namespace
}  // namespace edxgate::store
