// Documents, deduplication, queries, status messages, garbage collection,
// read-only opening and concurrency of the store, on both engines.
#include <set>
#include <thread>

#include "backend_fixture.h"

namespace edxgate::store {
namespace {

struct Blobs : testing::BackendTest {};
struct Concurrency : testing::BackendTest {};
struct Dedup : testing::BackendTest {};
struct Documents : testing::BackendTest {};
struct Queries : testing::BackendTest {};
struct StatusMessages : testing::BackendTest {};
struct ReadOnlyStore : testing::BackendTest {};

TEST_P(Documents, RoundTripEveryField) {
  testing::FakeClock clock;
  StoreOptions o = base_options();
  o.now_ms = clock.fn();
  auto store = testing::open_or_die(o);
  ASSERT_TRUE(store);
  auto env = store->blobs().put("<edXML>envelope</edXML>");
  auto a1 = store->blobs().put("%PDF-1.7 ...");
  auto a2 = store->blobs().put("PK\x03\x04 docx");
  ASSERT_TRUE(env.ok() && a1.ok() && a2.ok());
  NewDocument d = testing::outgoing_doc("Về việc triển khai chữ ký số");
  d.state = State::pending_signature;
  d.envelope_id = "000.00.00.G06,2026/11/20,251/TMĐT-TTTH";
  d.recipients = {"000.00.00.H41", "000.00.00.H29"};
  d.priority = 2;
  d.due_date = "2026-12-01";
  d.envelope = *env;
  d.attachments = {{"quyet-dinh.pdf", "application/pdf", *a1},
                   {"phu-luc.docx", "application/vnd.openxmlformats-officedocument", *a2}};
  d.signer_summary = "CN=Nguyen Van A";
  d.submitter = "system:qlvb";
  d.idempotency_key = "key-1";
  auto id = store->create_document(d);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_FALSE(id->existing);
  auto got = store->get_document(id->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->direction, Direction::outgoing);
  EXPECT_EQ(got->state, State::pending_signature);
  EXPECT_EQ(got->envelope_id, d.envelope_id);
  EXPECT_EQ(got->sender, d.sender);
  EXPECT_EQ(got->recipients, d.recipients);
  EXPECT_EQ(got->code_number, "251");
  EXPECT_EQ(got->code_notation, "TMĐT-TTTH");
  EXPECT_EQ(got->promulgation_date, "2026-11-20");
  EXPECT_EQ(got->subject, d.subject);
  EXPECT_EQ(got->document_type, "Công văn");
  EXPECT_EQ(got->priority, 2);
  EXPECT_EQ(got->due_date, "2026-12-01");
  ASSERT_TRUE(got->envelope.has_value());
  EXPECT_EQ(*got->envelope, *env);
  ASSERT_EQ(got->attachments.size(), 2u);
  EXPECT_EQ(got->attachments[1].name, "phu-luc.docx");
  EXPECT_EQ(got->attachments[1].blob, *a2);
  EXPECT_EQ(got->signer_summary, "CN=Nguyen Van A");
  EXPECT_EQ(got->created_ms, clock.now());
  EXPECT_EQ(got->updated_ms, clock.now());
  clock.advance(5000);
  ASSERT_TRUE(store->transition(id->id, State::signed_, "leader", "").ok());
  EXPECT_EQ(store->get_document(id->id)->updated_ms, clock.now());
  EXPECT_EQ(store->get_document(999).error().code, "store.not_found");
}

TEST_P(Documents, AZippedAttachmentKeepsTheBytesAsReceivedAndTheFileInside) {
  StoreOptions o = base_options();
  o.gc_grace_ms = 0;
  auto store = testing::open_or_die(o);
  ASSERT_TRUE(store);
  auto zip = store->blobs().put(std::string("PK\x03\x04") + " the zip as signed");
  auto inner = store->blobs().put("the text file inside");
  auto broken = store->blobs().put(std::string("PK\x03\x04") + " two entries");
  ASSERT_TRUE(zip.ok() && inner.ok() && broken.ok());
  NewDocument d = testing::outgoing_doc();
  Attachment a{"bao-cao.txt", "text/plain", *zip, *inner, ""};
  Attachment b{"phu-luc.txt", "text/plain", *broken, std::nullopt, "edxml.zip_entries: the ZIP holds 2 entries"};
  d.attachments = {a, b};
  auto id = store->create_document(d);
  ASSERT_TRUE(id.ok()) << id.error().message;
  auto got = store->get_document(id->id);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->attachments.size(), 2u);
  EXPECT_EQ(got->attachments[0].blob, *zip);
  ASSERT_TRUE(got->attachments[0].unzipped.has_value());
  EXPECT_EQ(*got->attachments[0].unzipped, *inner);
  EXPECT_EQ(got->attachments[0].file(), *inner);
  EXPECT_EQ(got->attachments[0].note, "");
  EXPECT_FALSE(got->attachments[1].unzipped.has_value());
  EXPECT_EQ(got->attachments[1].file(), *broken);
  EXPECT_EQ(got->attachments[1].note, b.note);
  // Both files of the zipped attachment are referenced: GC keeps them.
  EXPECT_EQ(*store->blob_references(inner->sha256), 1u);
  auto gc = store->collect_garbage();
  ASSERT_TRUE(gc.ok());
  EXPECT_TRUE(store->blobs().verify(*inner).ok());
  EXPECT_TRUE(store->blobs().verify(*zip).ok());
  // An unzipped blob must exist like any other.
  NewDocument bad = testing::outgoing_doc();
  bad.attachments = {{"x.txt", "text/plain", *zip, BlobRef{std::string(64, 'a'), 3}, ""}};
  EXPECT_FALSE(store->create_document(bad).ok());
}

TEST_P(Documents, TheEnvelopeIsFixedOnceTheDocumentIsQueued) {
  auto store = testing::open_or_die(base_options());
  ASSERT_TRUE(store);
  auto signed_env = store->blobs().put("<edXML><Signature/></edXML>");
  auto other = store->blobs().put("<edXML>swapped</edXML>");
  ASSERT_TRUE(signed_env.ok() && other.ok());
  auto id = store->create_document(testing::outgoing_doc());
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(store->transition(id->id, State::pending_signature, "t", "").ok());
  ASSERT_TRUE(store->set_envelope(id->id, *signed_env, "CN=Leader", "signer").ok());
  ASSERT_TRUE(store->transition(id->id, State::signed_, "t", "").ok());
  ASSERT_TRUE(store->transition(id->id, State::queued, "t", "").ok());
  auto r = store->set_envelope(id->id, *other, "CN=Mallory", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store.conflict");
  EXPECT_EQ(*store->get_document(id->id)->envelope, *signed_env);
  EXPECT_EQ(store->get_document(id->id)->signer_summary, "CN=Leader");
  EXPECT_EQ(store->set_envelope(999, *other, "", "x").error().code, "store.not_found");
}

TEST_P(Documents, RefuseAReferenceToAMissingOrMisSizedBlob) {
  auto store = testing::open_or_die(base_options());
  ASSERT_TRUE(store);
  NewDocument d = testing::outgoing_doc();
  d.attachments = {{"a.pdf", "application/pdf", BlobRef{std::string(64, 'e'), 3}}};
  auto r = store->create_document(d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store.blob_missing");
  auto real = store->blobs().put("abc");
  ASSERT_TRUE(real.ok());
  d.attachments[0].blob = BlobRef{real->sha256, 4};
  EXPECT_EQ(store->create_document(d).error().code, "store.blob_corrupt");
  d.attachments[0].blob = BlobRef{"../../etc/passwd", 3};
  EXPECT_EQ(store->create_document(d).error().code, "store.blob_name");
  DocumentQuery all;
  EXPECT_TRUE(store->list_documents(all)->documents.empty());
}

TEST_P(Dedup, TheSameIncomingEnvelopeIsStoredOnce) {
  auto store = testing::open_or_die(base_options());
  ASSERT_TRUE(store);
  auto env = store->blobs().put("<edXML>one</edXML>");
  auto other = store->blobs().put("<edXML>one, corrected</edXML>");
  ASSERT_TRUE(env.ok() && other.ok());
  auto first = store->create_document(testing::incoming_doc(*env, "H41,2026/11/20,12/QĐ"));
  auto again = store->create_document(testing::incoming_doc(*env, "H41,2026/11/20,12/QĐ"));
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_FALSE(first->existing);
  EXPECT_TRUE(again->existing);
  EXPECT_EQ(again->id, first->id);
  // Different bytes, another sender or another document id are new documents.
  auto changed = store->create_document(testing::incoming_doc(*other, "H41,2026/11/20,12/QĐ"));
  auto sender = store->create_document(testing::incoming_doc(*env, "H41,2026/11/20,12/QĐ", "000.00.00.H29"));
  auto docid = store->create_document(testing::incoming_doc(*env, "H41,2026/11/20,13/QĐ"));
  ASSERT_TRUE(changed.ok() && sender.ok() && docid.ok());
  std::set<DocumentId> ids{first->id, changed->id, sender->id, docid->id};
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_FALSE(changed->existing || sender->existing || docid->existing);
  // Within one group commit too.
  std::vector<NewDocument> batch{testing::incoming_doc(*env, "batch"), testing::incoming_doc(*env, "batch")};
  auto created = store->create_documents(batch);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ((*created)[0].id, (*created)[1].id);
  EXPECT_TRUE((*created)[1].existing);
}

TEST_P(Dedup, ARetriedSubmissionReturnsTheFirstDocument) {
  auto store = testing::open_or_die(base_options());
  ASSERT_TRUE(store);
  NewDocument d = testing::outgoing_doc();
  d.submitter = "system:qlvb";
  d.idempotency_key = "5f0c7a5e-retry";
  auto first = store->create_document(d);
  d.subject = "a retry may differ; the first document wins";
  auto retry = store->create_document(d);
  ASSERT_TRUE(first.ok() && retry.ok());
  EXPECT_EQ(retry->id, first->id);
  EXPECT_TRUE(retry->existing);
  EXPECT_EQ(store->get_document(first->id)->subject, testing::outgoing_doc().subject);
  // Keys belong to their submitter.
  d.submitter = "system:other";
  auto other = store->create_document(d);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->id, first->id);
  // No key, no dedup.
  NewDocument plain = testing::outgoing_doc();
  EXPECT_NE(store->create_document(plain)->id, store->create_document(plain)->id);
}

TEST_P(Dedup, ConcurrentSubmissionsWithOneKeyCreateOneDocument) {
  auto store = testing::open_or_die(base_options());
  ASSERT_TRUE(store);
  // A second Store on the same database, as a second process would be.
  auto store2 = testing::open_or_die(base_options());
  ASSERT_TRUE(store2);
  std::vector<DocumentId> ids(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      NewDocument d = testing::outgoing_doc();
      d.submitter = "system:qlvb";
      d.idempotency_key = "same";
      auto r = (i % 2 ? store : store2)->create_document(d);
      ids[static_cast<size_t>(i)] = r.ok() ? r->id : -1;
    });
  }
  for (auto& t : threads) t.join();
  for (DocumentId id : ids) {
    EXPECT_EQ(id, ids[0]);
  }
  EXPECT_GT(ids[0], 0);
  EXPECT_EQ(store->list_documents({})->documents.size(), 1u);
}

TEST_P(Queries, FilterByDirectionStateSenderDateAndSubject) {
  testing::FakeClock clock;
  StoreOptions o = base_options();
  o.now_ms = clock.fn();
  auto store = testing::open_or_die(o);
  ASSERT_TRUE(store);
  auto env = store->blobs().put("<edXML/>");
  ASSERT_TRUE(env.ok());
  const int64_t t0 = clock.now();
  for (int i = 0; i < 30; ++i) {
    clock.advance(60'000);
    if (i % 3 == 0) {
      NewDocument d = testing::incoming_doc(*env, "in-" + std::to_string(i), i % 2 ? "000.00.00.H41" : "000.00.00.H29");
      d.subject = i == 9 ? "Báo cáo KHẨN về bão lũ" : "Thông báo";
      ASSERT_TRUE(store->create_document(d).ok());
    } else {
      auto id = store->create_document(testing::outgoing_doc("Công văn số " + std::to_string(i)));
      ASSERT_TRUE(id.ok());
      if (i % 2) {
        ASSERT_TRUE(store->transition(id->id, State::pending_signature, "t", "").ok());
      }
    }
  }
  DocumentQuery q;
  q.direction = Direction::incoming;
  EXPECT_EQ(store->list_documents(q)->documents.size(), 10u);
  q.sender = "000.00.00.H41";
  EXPECT_EQ(store->list_documents(q)->documents.size(), 5u);
  q = {};
  q.direction = Direction::outgoing;
  q.state = State::pending_signature;
  auto pending = store->list_documents(q);
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->documents.size(), 10u);
  for (const Document& d : pending->documents) {
    EXPECT_EQ(d.state, State::pending_signature);
  }
  q = {};
  q.created_from_ms = t0 + 60'000 * 5;
  q.created_until_ms = t0 + 60'000 * 10;  // documents 4..8
  EXPECT_EQ(store->list_documents(q)->documents.size(), 5u);
  q = {};
  q.subject_contains = "khẩn";  // case-insensitive, Vietnamese letters
  auto urgent = store->list_documents(q);
  ASSERT_TRUE(urgent.ok());
  ASSERT_EQ(urgent->documents.size(), 1u);
  EXPECT_EQ(urgent->documents[0].subject, "Báo cáo KHẨN về bão lũ");
  // Decomposed (NFD) input finds the precomposed subject.
  q.subject_contains = "kha\xcc\x82\xcc\x89n";  // k h a + combining circumflex + hook above + n
  EXPECT_EQ(store->list_documents(q)->documents.size(), 1u);
  q.subject_contains = "100% _";  // LIKE metacharacters are plain text
  EXPECT_TRUE(store->list_documents(q)->documents.empty());
}

TEST_P(Queries, PagingVisitsEveryDocumentOnceNewestFirst) {
  auto store = testing::open_or_die(base_options());
  ASSERT_TRUE(store);
  std::vector<NewDocument> batch(23, testing::outgoing_doc());
  ASSERT_TRUE(store->create_documents(batch).ok());
  DocumentQuery q;
  q.limit = 5;
  std::vector<DocumentId> seen;
  int pages = 0;
  for (;;) {
    auto page = store->list_documents(q);
    ASSERT_TRUE(page.ok());
    ++pages;
    for (const Document& d : page->documents) seen.push_back(d.id);
    if (!page->next_before_id) break;
    q.before_id = page->next_before_id;
  }
  EXPECT_EQ(pages, 5);
  ASSERT_EQ(seen.size(), 23u);
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_LT(seen[i], seen[i - 1]);
  }
}

TEST_P(StatusMessages, AreKeptInOrderPerDocument) {
  auto store = testing::open_or_die(base_options());
  ASSERT_TRUE(store);
  auto id = store->create_document(testing::outgoing_doc());
  auto other = store->create_document(testing::outgoing_doc());
  auto env = store->blobs().put("<edXML><MessageStatus/></edXML>");
  ASSERT_TRUE(id.ok() && other.ok() && env.ok());
  ASSERT_TRUE(store->add_status_message(id->id, {Direction::incoming, "01", "đã đến", "", {}, 10, "", ""}).ok());
  ASSERT_TRUE(
      store->add_status_message(id->id, {Direction::incoming, "03", "vào sổ", "Văn thư", *env, 20, "", ""}).ok());
  ASSERT_TRUE(store->add_status_message(other->id, {Direction::incoming, "02", "từ chối", "", {}, 15, "", ""}).ok());
  auto list = store->status_messages(id->id);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].code, "01");
  EXPECT_EQ((*list)[1].code, "03");
  EXPECT_EQ((*list)[1].staff, "Văn thư");
  EXPECT_EQ((*list)[1].envelope, *env);
  EXPECT_EQ((*list)[1].at_ms, 20);
  EXPECT_EQ(store->add_status_message(777, {Direction::incoming, "01", "", "", {}, 0, "", ""}).error().code,
            "store.not_found");
}

TEST_P(Blobs, GarbageCollectionRemovesOnlyUnreferencedBlobsAndStaleTemps) {
  StoreOptions o = base_options();
  o.gc_grace_ms = 0;
  auto store = testing::open_or_die(o);
  ASSERT_TRUE(store);
  auto shared = store->blobs().put("shared attachment");
  auto lone = store->blobs().put("only in document 1");
  auto orphan = store->blobs().put("never referenced");
  ASSERT_TRUE(shared.ok() && lone.ok() && orphan.ok());
  NewDocument d1 = testing::outgoing_doc();
  d1.attachments = {{"a", "text/plain", *shared}, {"b", "text/plain", *lone}};
  NewDocument d2 = testing::outgoing_doc();
  d2.attachments = {{"a", "text/plain", *shared}};
  auto id1 = store->create_document(d1);
  auto id2 = store->create_document(d2);
  ASSERT_TRUE(id1.ok() && id2.ok());
  EXPECT_EQ(*store->blob_references(shared->sha256), 2u);
  {
    auto w = store->blobs().begin();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->write("x").ok());
    (void)w->commit();
  }
  auto leftover = store->blobs().begin();  // a temp file, as a crash would leave
  ASSERT_TRUE(leftover.ok());
  ASSERT_TRUE(leftover->write("half").ok());

  auto gc = store->collect_garbage();
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->blobs_removed, 2u);  // orphan and "x"
  EXPECT_EQ(gc->temps_removed, 1u);
  EXPECT_EQ(store->blobs().stat(orphan->sha256).error().code, "store.blob_missing");
  EXPECT_TRUE(store->blobs().verify(*shared).ok());
  EXPECT_TRUE(store->blobs().verify(*lone).ok());

  // Purging a finished document frees what only it used.
  ASSERT_TRUE(store->transition(id1->id, State::cancelled, "officer", "withdrawn").ok());
  EXPECT_EQ(store->purge_document(id2->id, "officer", "x").error().code, "store.not_terminal");
  ASSERT_TRUE(store->purge_document(id1->id, "officer", "retention").ok());
  EXPECT_EQ(*store->blob_references(shared->sha256), 1u);
  gc = store->collect_garbage();
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->blobs_removed, 1u);
  EXPECT_EQ(store->blobs().stat(lone->sha256).error().code, "store.blob_missing");
  EXPECT_TRUE(store->blobs().verify(*shared).ok());
  EXPECT_EQ(store->get_document(id1->id).error().code, "store.not_found");
  EXPECT_TRUE(store->verify_audit()->ok);
}

TEST_P(Blobs, AYoungUnreferencedBlobIsSparedByTheGracePeriod) {
  auto store = testing::open_or_die(base_options());  // default grace: 1 h
  ASSERT_TRUE(store);
  auto fresh = store->blobs().put("uploaded, its document not yet committed");
  ASSERT_TRUE(fresh.ok());
  auto gc = store->collect_garbage();
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->blobs_removed, 0u);
  EXPECT_TRUE(store->blobs().verify(*fresh).ok());
}

TEST_P(ReadOnlyStore, ReadsButRefusesWrites) {
  auto store = testing::open_or_die(base_options());
  ASSERT_TRUE(store);
  auto id = store->create_document(testing::outgoing_doc());
  ASSERT_TRUE(id.ok());
  StoreOptions ro = base_options();
  ro.read_only = true;
  auto reader = testing::open_or_die(ro);
  ASSERT_TRUE(reader);
  EXPECT_TRUE(reader->get_document(id->id).ok());
  EXPECT_EQ(reader->create_document(testing::outgoing_doc()).error().code, "store.read_only");
  EXPECT_EQ(reader->append({"a", "b", "c", "ok", ""}).error().code, "store.read_only");
  EXPECT_EQ(reader->collect_garbage().error().code, "store.read_only");
}

TEST_P(Concurrency, ParallelWritersAndReadersSeeWholeDocuments) {
  auto store = testing::open_or_die(base_options());
  ASSERT_TRUE(store);
  auto blob = store->blobs().put("attachment");
  ASSERT_TRUE(blob.ok());
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 3; ++w) {
    threads.emplace_back([&] {
      for (int i = 0; i < 40; ++i) {
        NewDocument d = testing::outgoing_doc();
        d.recipients = {"a", "b", "c"};
        d.attachments = {{"x", "t", *blob}, {"y", "t", *blob}};
        auto id = store->create_document(d);
        if (!id.ok() || !store->transition(id->id, State::pending_signature, "w", "").ok()) ++bad;
      }
    });
  }
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&] {
      while (!done) {
        auto page = store->list_documents({});
        if (!page.ok()) {
          ++bad;
          continue;
        }
        for (const Document& d : page->documents) {
          auto full = store->get_document(d.id);
          if (!full.ok() || full->recipients.size() != 3 || full->attachments.size() != 2) ++bad;
        }
      }
    });
  }
  for (size_t i = 0; i < 3; ++i) threads[i].join();
  done = true;
  for (size_t i = 3; i < threads.size(); ++i) threads[i].join();
  EXPECT_EQ(bad.load(), 0);
  DocumentQuery q;
  q.state = State::pending_signature;
  q.limit = 1000;
  EXPECT_EQ(store->list_documents(q)->documents.size(), 120u);
  EXPECT_TRUE(store->verify_audit()->ok);
}

EDXGATE_BOTH_BACKENDS(Blobs);
EDXGATE_BOTH_BACKENDS(Concurrency);
EDXGATE_BOTH_BACKENDS(Dedup);
EDXGATE_BOTH_BACKENDS(Documents);
EDXGATE_BOTH_BACKENDS(Queries);
EDXGATE_BOTH_BACKENDS(StatusMessages);
EDXGATE_BOTH_BACKENDS(ReadOnlyStore);

}  // namespace
}  // namespace edxgate::store
