// Recall, update and replacement of a sent document, in process: two
// ministries (two engines, two stores) joined by recording transports, as in
// engine_test.cc. A sends, B receives; what A asks, B applies and answers.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "../support/ministry.h"
#include "../support/temp_dir.h"
#include "../support/workflow_doubles.h"
#include "edxgate/base/json.h"
#include "edxgate/base/metrics.h"
#include "edxgate/edxml/reader.h"
#include "edxgate/edxml/writer.h"
#include "edxgate/store/store.h"
#include "edxgate/workflow/engine.h"

namespace edxgate::workflow {
namespace {

namespace bj = json::bj;
using store::Direction;
using store::State;
using test::TempDir;
using test::write_file;

constexpr const char* kA = "000.00.00.G01";
constexpr const char* kB = "000.00.00.G02";
constexpr const char* kC = "000.00.00.G03";

// A ministry (tests/support/ministry.h) that also builds submissions to B,
// signs and sends, and lists the lifecycle links of a document.
struct Ministry : test::Ministry {
  using test::Ministry::Ministry;

  Submission submission(const std::string& code, const std::string& subject,
                        const std::map<std::string, std::string>& files) {
    bj::object message{{"from", bj::object{{"organ_id", organ}}},
                       {"to", bj::array{bj::object{{"organ_id", kB}}}},
                       {"code", code},
                       {"promulgation_date", "2026/11/23"},
                       {"subject", subject}};
    Submission s;
    s.header = bj::object{{"message", std::move(message)}};
    for (const auto& [name, bytes] : files) {
      std::string path = root + "/upload-" + std::to_string(++uploads);
      write_file(path, bytes);
      s.files.push_back(path);
      s.names.push_back(name);
    }
    s.submitter = "eoffice";
    s.allowed_senders = {organ};
    return s;
  }

  // Signs `id` on the token and sends it; returns the bytes the axis got.
  std::string sign_and_send(store::DocumentId id) {
    SecretString pin("1234");
    auto st = engine->sign(id, "", &pin, "leader");
    EXPECT_TRUE(st.ok()) << st.error().message;
    EXPECT_TRUE(engine->run_outbox_once().ok());
    auto sent = axis.take();
    EXPECT_EQ(sent.size(), 1u);
    if (sent.size() != 1) return "";
    EXPECT_EQ(sent[0].kind, "edoc");  // a recall, update or replacement is an edoc on the wire
    return sent[0].bytes;
  }

  // "relation:id" of each linked lifecycle event of `id`.
  std::vector<std::string> links(store::DocumentId id) {
    std::vector<std::string> out;
    auto events = db->lifecycle_events(id);
    if (!events.ok()) return {"error: " + events.error().message};
    for (const auto& e : *events) {
      if (e.related) out.push_back(e.relation + ":" + std::to_string(*e.related));
    }
    return out;
  }
};

edxml::Envelope read_bytes(const std::string& bytes) {
  edxml::ReadOptions ro;
  auto env = edxml::read_envelope(bytes, ro);
  if (!env.ok()) throw std::runtime_error(env.error().message);
  return *env;
}

LifecycleRequest request(const std::string& reason) {
  LifecycleRequest r;
  r.reason = reason;
  r.staff = "Nguyễn Thị Văn Thư";
  r.department = "Văn phòng";
  r.submitter = "eoffice";
  r.allowed_senders = {kA};
  return r;
}

struct LifecycleTest : ::testing::Test {
  TempDir dir{"edxgate-lifecycle"};
  Ministry a{kA, "good", dir};
  Ministry b{kB, "good2", dir};
  store::DocumentId sent_id = 0;      // A's original
  store::DocumentId received_id = 0;  // B's copy

  void SetUp() override {
    auto sub = a.engine->submit(a.submission("7/BTN-VP", "Về việc thử nghiệm", {{"cv7.txt", "nội dung gốc"}}));
    ASSERT_TRUE(sub.ok()) << sub.error().message;
    sent_id = sub->id;
    auto got = b.deliver(a.sign_and_send(sent_id), kA);
    ASSERT_TRUE(got.ok()) << got.error().message;
    received_id = got->document;
    ASSERT_EQ(b.doc(received_id).state, State::verified);
    relay_b_to_a();
    ASSERT_EQ(a.doc(sent_id).state, State::delivered);
  }

  // Relays B's queued status messages to A; returns their codes.
  std::vector<std::string> relay_b_to_a() {
    EXPECT_TRUE(b.engine->run_outbox_once().ok());
    std::vector<std::string> codes;
    for (const auto& s : b.axis.take()) {
      EXPECT_EQ(s.kind, "status");
      auto r = a.deliver(s.bytes, kB);
      EXPECT_TRUE(r.ok()) << r.error().message;
      codes.push_back(edxml::format_status_code(read_bytes(s.bytes).status->code));
    }
    return codes;
  }
};

TEST_F(LifecycleTest, ARecallAgreedRevokesTheDocumentOnBothSides) {
  auto recall = a.engine->revoke(sent_id, request("Sai sót về số ký hiệu"));
  ASSERT_TRUE(recall.ok()) << recall.error().message;
  EXPECT_EQ(recall->state, State::pending_signature);  // signed like any document
  EXPECT_EQ(a.doc(sent_id).lifecycle, "recall_requested");
  EXPECT_EQ(a.doc(recall->id).lifecycle, "revocation");
  EXPECT_EQ(a.links(sent_id), std::vector<std::string>{"revoked_by:" + std::to_string(recall->id)});
  EXPECT_EQ(a.links(recall->id), std::vector<std::string>{"revocation_of:" + std::to_string(sent_id)});
  // A second recall while the first waits is refused and changes nothing.
  auto again = a.engine->revoke(sent_id, request("lần nữa"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "lifecycle.state");
  EXPECT_EQ(again.error().kind, ErrorKind::conflict);

  const std::string bytes = a.sign_and_send(recall->id);
  const edxml::Envelope env = read_bytes(bytes);
  ASSERT_TRUE(env.trace.business.has_value());
  EXPECT_EQ(env.trace.business->doc_type, edxml::BusinessDocType::revocation);
  EXPECT_EQ(env.trace.business->reason, "Sai sót về số ký hiệu");
  EXPECT_EQ(env.trace.business->staff.staff, "Nguyễn Thị Văn Thư");
  EXPECT_EQ(env.message->document_id, a.doc(sent_id).envelope_id);  // as the SDK's revocation
  EXPECT_TRUE(env.attachments.empty());

  auto got = b.deliver(bytes, kA);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(b.doc(got->document).lifecycle, "revocation");
  EXPECT_EQ(b.doc(received_id).lifecycle, "recall_requested");
  EXPECT_EQ(b.links(received_id), std::vector<std::string>{"revoked_by:" + std::to_string(got->document)});
  EXPECT_EQ(b.links(got->document), std::vector<std::string>{"revocation_of:" + std::to_string(received_id)});
  store::DocumentQuery q;
  q.direction = Direction::incoming;
  q.lifecycle = "recall_requested";
  auto listed = b.db->list_documents(q);
  ASSERT_EQ(listed->documents.size(), 1u);
  EXPECT_EQ(listed->documents[0].id, received_id);
  EXPECT_EQ(relay_b_to_a(), std::vector<std::string>{"01"});  // the recall arrived
  EXPECT_EQ(a.doc(recall->id).state, State::delivered);

  auto answered =
      b.engine->answer_recall(received_id, true, {State::registered, "", "Lê Văn An", "Văn thư"}, "eoffice-b");
  ASSERT_TRUE(answered.ok()) << answered.error().message;
  EXPECT_EQ(*answered, "revoked");
  EXPECT_EQ(b.doc(received_id).lifecycle, "revoked");
  EXPECT_EQ(relay_b_to_a(), std::vector<std::string>{"15"});
  EXPECT_EQ(a.doc(sent_id).lifecycle, "revoked");
  EXPECT_EQ(a.doc(recall->id).state, State::accepted);
  // Nothing more can be asked of a revoked document, on either side.
  auto update = a.engine->update(sent_id, request("cập nhật"), bj::object{{"subject", "mới"}}, {}, {});
  ASSERT_FALSE(update.ok());
  EXPECT_EQ(update.error().code, "lifecycle.state");
  auto twice = b.engine->answer_recall(received_id, false, {State::registered, "không", "", ""}, "eoffice-b");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, "lifecycle.state");
}

TEST_F(LifecycleTest, ARecallRefusedLeavesTheDocumentInForce) {
  auto recall = a.engine->revoke(sent_id, request("Gửi nhầm"));
  ASSERT_TRUE(recall.ok()) << recall.error().message;
  ASSERT_TRUE(b.deliver(a.sign_and_send(recall->id), kA).ok());
  relay_b_to_a();
  auto no_reason = b.engine->answer_recall(received_id, false, {State::registered, "", "", ""}, "eoffice-b");
  ASSERT_FALSE(no_reason.ok());
  EXPECT_EQ(no_reason.error().code, "report.reason");
  auto answered =
      b.engine->answer_recall(received_id, false, {State::registered, "Văn bản đã được xử lý", "", ""}, "eoffice-b");
  ASSERT_TRUE(answered.ok()) << answered.error().message;
  EXPECT_EQ(b.doc(received_id).lifecycle, "recall_refused");
  EXPECT_EQ(relay_b_to_a(), std::vector<std::string>{"16"});
  EXPECT_EQ(a.doc(sent_id).lifecycle, "recall_refused");
  EXPECT_EQ(a.doc(recall->id).state, State::refused);
  EXPECT_EQ(a.doc(sent_id).state, State::delivered);  // the workflow state is untouched
  // Refused, it may be recalled again.
  EXPECT_TRUE(a.engine->revoke(sent_id, request("Lần hai")).ok());
}

TEST_F(LifecycleTest, OnlyASentDocumentCanBeRecalled) {
  auto draft = a.engine->submit(a.submission("8/BTN-VP", "Chưa gửi", {{"x.txt", "x"}}));
  ASSERT_TRUE(draft.ok());
  auto r = a.engine->revoke(draft->id, request("thu hồi"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "lifecycle.not_sent");
  EXPECT_EQ(a.doc(draft->id).lifecycle, "");
  auto no_reason = a.engine->revoke(sent_id, request(""));
  ASSERT_FALSE(no_reason.ok());
  EXPECT_EQ(no_reason.error().code, "lifecycle.reason");
  auto incoming = b.engine->revoke(received_id, request("không phải của ta"));
  ASSERT_FALSE(incoming.ok());
  EXPECT_EQ(incoming.error().kind, ErrorKind::not_found);
  auto nothing = a.engine->update(sent_id, request("cập nhật"), {}, {}, {});
  ASSERT_FALSE(nothing.ok());
  EXPECT_EQ(nothing.error().code, "lifecycle.changes");
  auto no_answer = b.engine->answer_recall(received_id, true, {}, "eoffice-b");  // nothing was asked
  ASSERT_FALSE(no_answer.ok());
  EXPECT_EQ(no_answer.error().code, "lifecycle.state");
}

TEST_F(LifecycleTest, ARetriedRequestWithItsIdempotencyKeyAnswersAsTheFirstTime) {
  LifecycleRequest r = request("Gửi nhầm");
  r.idempotency_key = "recall-7-BTN";
  auto first = a.engine->revoke(sent_id, r);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_FALSE(first->existing);
  // The answer was lost: the system sends the same request again. Without the
  // key the original is taken (409); with it, the first recall comes back.
  auto unkeyed = a.engine->revoke(sent_id, request("Gửi nhầm"));
  ASSERT_FALSE(unkeyed.ok());
  EXPECT_EQ(unkeyed.error().code, "lifecycle.state");
  auto again = a.engine->revoke(sent_id, r);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->existing);
  EXPECT_EQ(again->id, first->id);
  EXPECT_EQ(a.links(sent_id), std::vector<std::string>{"revoked_by:" + std::to_string(first->id)});
  // The key names that recall: another kind of request, or the same kind for
  // another document, is refused rather than answered with it.
  auto as_update = a.engine->update(sent_id, r, bj::object{{"subject", "khác"}}, {}, {});
  ASSERT_FALSE(as_update.ok());
  EXPECT_EQ(as_update.error().code, "idempotency.mismatch");
  auto other = a.engine->submit(a.submission("9/BTN-VP", "Văn bản khác", {{"y.txt", "y"}}));
  ASSERT_TRUE(other.ok());
  auto other_sent = b.deliver(a.sign_and_send(other->id), kA);
  ASSERT_TRUE(other_sent.ok());
  relay_b_to_a();
  auto elsewhere = a.engine->revoke(other->id, r);
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_EQ(elsewhere.error().code, "idempotency.mismatch");
  EXPECT_EQ(a.doc(other->id).lifecycle, "");
  // Another system's same key is its own.
  LifecycleRequest theirs = r;
  theirs.submitter = "qlvb";
  auto own = a.engine->revoke(other->id, theirs);
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_FALSE(own->existing);
  EXPECT_NE(own->id, first->id);
}

TEST_F(LifecycleTest, AnUpdateCarriesTheChangedHeaderAndTheOriginalAttachments) {
  auto update =
      a.engine->update(sent_id, request("Sửa trích yếu"), bj::object{{"subject", "Về việc thử nghiệm (sửa)"}}, {}, {});
  ASSERT_TRUE(update.ok()) << update.error().message;
  EXPECT_EQ(a.doc(sent_id).lifecycle, "updated");
  const std::string bytes = a.sign_and_send(update->id);
  const edxml::Envelope env = read_bytes(bytes);
  ASSERT_TRUE(env.trace.business.has_value());
  EXPECT_EQ(env.trace.business->doc_type, edxml::BusinessDocType::update);
  EXPECT_EQ(env.trace.business->document_id, a.doc(sent_id).envelope_id);
  EXPECT_EQ(env.trace.business->document_info, "1");
  EXPECT_EQ(env.message->subject, "Về việc thử nghiệm (sửa)");
  ASSERT_EQ(env.attachments.size(), 1u);
  EXPECT_EQ(env.attachments[0].name, "cv7.txt");

  auto got = b.deliver(bytes, kA);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(b.doc(got->document).state, State::verified);
  EXPECT_EQ(b.doc(got->document).subject, "Về việc thử nghiệm (sửa)");
  EXPECT_EQ(b.doc(got->document).lifecycle, "update");
  EXPECT_EQ(b.doc(received_id).lifecycle, "updated");
  EXPECT_EQ(b.links(received_id), std::vector<std::string>{"updated_by:" + std::to_string(got->document)});
  EXPECT_EQ(b.links(got->document), std::vector<std::string>{"update_of:" + std::to_string(received_id)});
  ASSERT_EQ(b.doc(got->document).attachments.size(), 1u);
  EXPECT_EQ(b.db->blobs().read(b.doc(got->document).attachments[0].blob.sha256, 1 << 20).value(), "nội dung gốc");
}

TEST_F(LifecycleTest, AReplacementNamesTheOriginalAndItsRecipients) {
  Submission s = a.submission("9/BTN-VP", "Thay thế công văn 7", {{"cv9.txt", "nội dung mới"}});
  auto replacement = a.engine->replace(sent_id, request("Thay thế văn bản"), std::move(s));
  ASSERT_TRUE(replacement.ok()) << replacement.error().message;
  EXPECT_EQ(a.doc(sent_id).lifecycle, "replaced");
  EXPECT_EQ(a.links(sent_id), std::vector<std::string>{"replaced_by:" + std::to_string(replacement->id)});
  const std::string bytes = a.sign_and_send(replacement->id);
  const edxml::Envelope env = read_bytes(bytes);
  ASSERT_TRUE(env.trace.business.has_value());
  EXPECT_EQ(env.trace.business->doc_type, edxml::BusinessDocType::replacement);
  ASSERT_EQ(env.trace.business->replacements.size(), 1u);
  EXPECT_EQ(env.trace.business->replacements[0].document_id, a.doc(sent_id).envelope_id);
  EXPECT_EQ(env.trace.business->replacements[0].organ_ids, std::vector<std::string>{kB});
  EXPECT_NE(env.message->document_id, a.doc(sent_id).envelope_id);

  auto got = b.deliver(bytes, kA);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(b.doc(got->document).lifecycle, "replacement");
  EXPECT_EQ(b.doc(received_id).lifecycle, "replaced");
  EXPECT_EQ(b.links(received_id), std::vector<std::string>{"replaced_by:" + std::to_string(got->document)});
  EXPECT_EQ(b.links(got->document), std::vector<std::string>{"replaces:" + std::to_string(received_id)});
  // A replaced document is not replaced twice.
  auto twice = a.engine->replace(sent_id, request("lại"), a.submission("10/BTN-VP", "x", {{"y.txt", "y"}}));
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, "lifecycle.state");
}

// A peer that asks by status message (13) instead of a revocation envelope.
TEST_F(LifecycleTest, AStatus13FromTheSenderIsARecallRequest) {
  auto status_13 = [&](const std::string& from) {
    edxml::Envelope env;
    edxml::StatusMessage& s = env.status.emplace();
    s.response_for.organ_id = kA;
    s.response_for.document_id = b.doc(received_id).envelope_id;
    s.from.organ_id = from;
    s.from.organ_name = "Bộ gửi";
    s.code = edxml::StatusCode::recall_requested;
    s.description = "Đề nghị trả lại văn bản";
    s.timestamp = edxml::now_vietnam();
    env.trace.traces.push_back({from, s.timestamp});
    return edxml::write_envelope_string(env, {}).value();
  };
  // Only the sender of the document may ask it back.
  auto stranger = b.deliver(status_13(kC), kC);
  ASSERT_FALSE(stranger.ok());
  EXPECT_EQ(stranger.error().code, "status.unknown_document");
  EXPECT_EQ(b.doc(received_id).lifecycle, "");
  auto got = b.deliver(status_13(kA), kA);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->kind, Accepted::Kind::status_message);
  EXPECT_EQ(got->document, received_id);
  EXPECT_EQ(b.doc(received_id).lifecycle, "recall_requested");
  auto answered = b.engine->answer_recall(received_id, true, {}, "eoffice-b");
  ASSERT_TRUE(answered.ok()) << answered.error().message;
  EXPECT_EQ(relay_b_to_a(), std::vector<std::string>{"15"});
}

}  // namespace
}  // namespace edxgate::workflow
