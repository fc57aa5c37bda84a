// The workflow engine in process: two ministries (two engines, two stores)
// joined by a recording transport instead of the axis, signing with software
// keys of the crypto test PKI. The daemon-level end-to-end test is
// e2e_test.cc; this one pins the engine's rules, including every way a
// delivery or a status message may try to trick it.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "../support/ministry.h"
#include "../support/temp_dir.h"
#include "../support/workflow_doubles.h"
#include "../support/zip.h"
#include "edxgate/base/json.h"
#include "edxgate/base/metrics.h"
#include "edxgate/edxml/json.h"
#include "edxgate/edxml/pack.h"
#include "edxgate/edxml/reader.h"
#include "edxgate/edxml/writer.h"
#include "edxgate/store/store.h"
#include "edxgate/workflow/engine.h"

namespace edxgate::workflow {
namespace {

using crypto::test::Pki;
using store::Direction;
using store::State;
using test::Ministry;
using test::read_file;
using test::RecordingAxis;
using test::SoftwareKeys;
using test::TempDir;
using test::write_file;

constexpr const char* kA = "000.00.00.G01";
constexpr const char* kB = "000.00.00.G02";
constexpr const char* kC = "000.00.00.G03";

struct EngineTest : ::testing::Test {
  TempDir dir{"edxgate-engine"};
  Ministry a{kA, "good", dir};
  Ministry b{kB, "good2", dir};

  // A submits and signs a document for B; returns A's id and the bytes sent.
  std::pair<store::DocumentId, std::string> send_a_to_b(const std::string& attachment = "Nội dung văn bản") {
    auto sub = a.submit({kB}, {{"Công văn số 7.txt", attachment}});
    EXPECT_TRUE(sub.ok()) << sub.error().message;
    if (!sub.ok()) return {0, ""};
    SecretString pin("1234");
    auto st = a.engine->sign(sub->id, "", &pin, "leader");
    EXPECT_TRUE(st.ok()) << st.error().message;
    auto n = a.engine->run_outbox_once();
    EXPECT_TRUE(n.ok());
    auto sent = a.axis.take();
    EXPECT_EQ(sent.size(), 1u);
    if (sent.size() != 1) return {sub->id, ""};
    EXPECT_EQ(sent[0].kind, "edoc");
    EXPECT_EQ(sent[0].to, std::vector<std::string>{kB});
    return {sub->id, sent[0].bytes};
  }

  // `n` documents of A for B, each submitted and signed (queued), in order.
  std::vector<store::DocumentId> queued_documents(int n) {
    SecretString pin("1234");
    std::vector<store::DocumentId> ids;
    for (int i = 0; i < n; ++i) {
      auto sub = a.submit({kB}, {{"a.txt", "document " + std::to_string(i)}});
      EXPECT_TRUE(sub.ok()) << sub.error().message;
      if (!sub.ok()) break;
      EXPECT_TRUE(a.engine->sign(sub->id, "", &pin, "leader").ok());
      ids.push_back(sub->id);
    }
    return ids;
  }

  // Relays what B queued for A back to A; returns how many were relayed.
  size_t relay_statuses_b_to_a() {
    EXPECT_TRUE(b.engine->run_outbox_once().ok());
    size_t n = 0;
    for (const auto& s : b.axis.take()) {
      EXPECT_EQ(s.kind, "status");
      EXPECT_EQ(s.to, std::vector<std::string>{kA});
      auto r = a.deliver(s.bytes, kB, "status");
      EXPECT_TRUE(r.ok()) << r.error().message;
      if (r.ok()) {
        EXPECT_EQ(r->kind, Accepted::Kind::status_message);
      }
      ++n;
    }
    return n;
  }

  // B's gateway running an engine of its own (started: its answers are
  // signed and sent in the background) on a token that holds B's key back
  // until keys.open_gate(). Defined after answers::GatedKeys.
  struct RunningB;
  std::unique_ptr<RunningB> start_b_with_gated_key();
};

TEST_F(EngineTest, ADocumentGoesFromAToBAndTheStatusesComeBack) {
  std::string big(3 * 1024 * 1024 + 7, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) >> 3);
  auto [id, bytes] = send_a_to_b(big);
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(a.doc(id).state, State::sent);

  auto got = b.deliver(bytes, kA);
  ASSERT_TRUE(got.ok()) << got.error().message;
  const store::Document in = b.doc(got->document);
  EXPECT_EQ(in.direction, Direction::incoming);
  EXPECT_EQ(in.state, State::verified) << in.signer_summary;
  EXPECT_EQ(in.sender, kA);
  EXPECT_EQ(in.subject, "Về việc thử nghiệm liên thông");
  ASSERT_EQ(in.attachments.size(), 1u);
  EXPECT_EQ(in.attachments[0].name, "Công văn số 7.txt");
  EXPECT_EQ(b.db->blobs().read(in.attachments[0].blob.sha256, 1 << 30).value(), big);

  // 01 goes back at once; A moves to delivered.
  EXPECT_EQ(relay_statuses_b_to_a(), 1u);
  EXPECT_EQ(a.doc(id).state, State::delivered);

  // B reports completed: 03 (implied) and 06 go back; A ends completed.
  auto done = b.engine->report(in.id, {State::completed, "", "Nguyễn Văn A", "Văn phòng"}, "eoffice-b");
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(b.doc(in.id).state, State::completed);
  EXPECT_EQ(relay_statuses_b_to_a(), 2u);
  EXPECT_EQ(a.doc(id).state, State::completed);
  auto msgs = a.db->status_messages(id);
  ASSERT_TRUE(msgs.ok());
  std::vector<std::string> codes;
  for (const auto& m : *msgs) codes.push_back(m.code);
  EXPECT_EQ(codes, (std::vector<std::string>{"01", "03", "06"}));
  // B's history walked registered on the way.
  auto h = b.db->history(in.id);
  ASSERT_TRUE(h.ok());
  std::vector<State> states;
  for (const auto& t : *h) states.push_back(t.to);
  EXPECT_EQ(states, (std::vector<State>{State::verified, State::registered, State::completed}));
}

TEST_F(EngineTest, AZippedAttachmentIsStoredWithTheFileInsideAndTheBytesAsReceived) {
  TempDir zdir{"edxgate-zip"};
  const std::string inner = "Nội dung tệp bên trong";
  const std::string zipped = test::make_zip(zdir / "", {{"tmp01.tmp", inner}});
  auto [id, bytes] = send_a_to_b(zipped);
  ASSERT_FALSE(bytes.empty());
  auto got = b.deliver(bytes, kA);
  ASSERT_TRUE(got.ok()) << got.error().message;
  const store::Document in = b.doc(got->document);
  EXPECT_EQ(in.state, State::verified) << in.signer_summary;
  ASSERT_EQ(in.attachments.size(), 1u);
  const store::Attachment& att = in.attachments[0];
  EXPECT_EQ(b.db->blobs().read(att.blob.sha256, 1 << 20).value(), zipped);
  ASSERT_TRUE(att.unzipped.has_value());
  EXPECT_EQ(b.db->blobs().read(att.file().sha256, 1 << 20).value(), inner);
  EXPECT_TRUE(att.note.empty());
  // The unzip directory was made for it and is gone with the delivery; the
  // shared files directory is empty again.
  std::vector<std::string> left;
  const std::filesystem::path work = std::filesystem::path(b.root) / "work";
  for (const auto& e : std::filesystem::recursive_directory_iterator(work)) left.push_back(e.path());
  EXPECT_EQ(left, std::vector<std::string>{work / "files"});
  // The sender's own copy is what it sent: nothing unzipped there.
  EXPECT_FALSE(a.doc(id).attachments.at(0).unzipped.has_value());
}

TEST_F(EngineTest, AMultiEntryZipIsNotedAndTheDocumentStillStored) {
  TempDir zdir{"edxgate-zip"};
  const std::string zipped = test::make_zip(zdir / "", {{"a.txt", "một"}, {"b.txt", "hai"}});
  auto [id, bytes] = send_a_to_b(zipped);
  ASSERT_FALSE(bytes.empty());
  auto got = b.deliver(bytes, kA);
  ASSERT_TRUE(got.ok()) << got.error().message;
  const store::Document in = b.doc(got->document);
  EXPECT_EQ(in.state, State::verified) << in.signer_summary;
  ASSERT_EQ(in.attachments.size(), 1u);
  EXPECT_FALSE(in.attachments[0].unzipped.has_value());
  EXPECT_EQ(in.attachments[0].note.rfind("edxml.zip", 0), 0u) << in.attachments[0].note;
  EXPECT_EQ(b.db->blobs().read(in.attachments[0].file().sha256, 1 << 20).value(), zipped);
}

TEST_F(EngineTest, TheSameDeliveryTwiceIsStoredOnceAndAnsweredOnce) {
  auto [id, bytes] = send_a_to_b();
  ASSERT_FALSE(bytes.empty());
  auto first = b.deliver(bytes, kA);
  auto second = b.deliver(bytes, kA);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->document, second->document);
  EXPECT_FALSE(first->duplicate);
  EXPECT_TRUE(second->duplicate);
  store::DocumentQuery q;
  q.direction = Direction::incoming;
  EXPECT_EQ(b.db->list_documents(q)->documents.size(), 1u);
  EXPECT_EQ(relay_statuses_b_to_a(), 1u);
  // And a status relayed twice is recorded once.
  EXPECT_EQ(a.db->status_messages(id)->size(), 1u);
}

TEST_F(EngineTest, ATamperedEnvelopeIsQuarantinedAndTheSenderGetsARefusal) {
  auto [id, bytes] = send_a_to_b();
  ASSERT_FALSE(bytes.empty());
  const std::string from = "Về việc thử nghiệm liên thông", to = "Về việc chuyển tiền gấp ngay";
  auto pos = bytes.find(from);
  ASSERT_NE(pos, std::string::npos);
  std::string forged = bytes;
  forged.replace(pos, from.size(), to);
  auto got = b.deliver(forged, kA);
  ASSERT_TRUE(got.ok()) << got.error().message;
  const store::Document in = b.doc(got->document);
  EXPECT_EQ(in.state, State::quarantined);
  EXPECT_NE(in.signer_summary.find("sig.digest"), std::string::npos) << in.signer_summary;
  // The refusal names the reason and the hash of the refused envelope; that
  // is not the one A sent, so A records it and its document stays sent.
  EXPECT_EQ(relay_statuses_b_to_a(), 1u);
  EXPECT_EQ(a.doc(id).state, State::sent);
  auto msgs = a.db->status_messages(id);
  ASSERT_EQ(msgs->size(), 1u);
  EXPECT_EQ((*msgs)[0].code, "02");
  EXPECT_NE((*msgs)[0].description.find("sig.digest"), std::string::npos);
  // The genuine envelope then arrives and is answered as usual.
  ASSERT_TRUE(b.deliver(bytes, kA).ok());
  EXPECT_EQ(relay_statuses_b_to_a(), 1u);
  EXPECT_EQ(a.doc(id).state, State::delivered);
  // A refusal of A's own envelope (B's system refuses it) does move it.
  store::DocumentQuery q;
  q.direction = Direction::incoming;
  q.state = State::verified;
  auto page = b.db->list_documents(q);
  ASSERT_EQ(page->documents.size(), 1u);
  ASSERT_TRUE(b.engine->report(page->documents[0].id, {State::refused, "Sai thẩm quyền", "", ""}, "eoffice-b").ok());
  EXPECT_EQ(relay_statuses_b_to_a(), 1u);
  EXPECT_EQ(a.doc(id).state, State::refused);
  // B's system may not act on it.
  EXPECT_FALSE(b.engine->report(in.id, {State::completed, "", "", ""}, "eoffice-b").ok());
}

TEST_F(EngineTest, AnEnvelopeNotAddressedToUsOrFromSomeoneElseIsQuarantined) {
  auto [id, bytes] = send_a_to_b();
  ASSERT_FALSE(bytes.empty());
  // C receives B's mail (the axis misrouted it, or someone replays it at C).
  Ministry c{kC, "good", dir};
  auto atc = c.deliver(bytes, kA);
  ASSERT_TRUE(atc.ok());
  EXPECT_EQ(c.doc(atc->document).state, State::quarantined);
  EXPECT_NE(c.doc(atc->document).signer_summary.find("edxml.recipient"), std::string::npos);
  // The axis says it comes from C, the envelope says A.
  auto spoof = b.deliver(bytes, kC);
  ASSERT_TRUE(spoof.ok());
  EXPECT_EQ(b.doc(spoof->document).state, State::quarantined);
  EXPECT_NE(b.doc(spoof->document).signer_summary.find("edxml.sender"), std::string::npos);
}

TEST_F(EngineTest, GarbageAndHostileDeliveriesAreKeptInQuarantineNeverCrash) {
  const std::vector<std::string> inputs = {
      "",
      "not xml at all",
      "<edXML/>",
      "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]><x>&b;</x>",
      std::string(100000, '<'),
      "<a xmlns=\"urn:x\">" + std::string(200, 'x') + "</a>"};
  for (const auto& in : inputs) {
    auto r = b.deliver(in, kA);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(b.doc(r->document).state, State::quarantined);
  }
  // Nothing can be answered to an unreadable envelope.
  EXPECT_TRUE(b.engine->run_outbox_once().ok());
  EXPECT_TRUE(b.axis.take().empty());
}

TEST_F(EngineTest, StatusMessagesFromStrangersOrForUnknownDocumentsAreRefused) {
  auto [id, bytes] = send_a_to_b();
  ASSERT_FALSE(bytes.empty());
  ASSERT_TRUE(b.deliver(bytes, kA).ok());
  ASSERT_TRUE(b.engine->run_outbox_once().ok());
  auto statuses = b.axis.take();
  ASSERT_EQ(statuses.size(), 1u);
  // C (not a recipient) says A's document is completed.
  edxml::Envelope env;
  auto& s = env.status.emplace();
  s.response_for.organ_id = kA;
  s.response_for.document_id = a.doc(id).envelope_id;
  s.from.organ_id = kC;
  s.code = edxml::StatusCode::completed;
  s.description = "Hoàn thành";
  s.timestamp = edxml::now_vietnam();
  env.trace.traces.push_back({kC, s.timestamp});
  auto text = edxml::write_envelope_string(env, {});
  ASSERT_TRUE(text.ok());
  auto r = a.deliver(*text, kC, "status");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "status.sender");
  EXPECT_EQ(a.doc(id).state, State::sent);
  // For a document A never sent.
  s.response_for.document_id = "000.00.00.G01,2026/01/01,1/X";
  s.from.organ_id = kB;
  text = edxml::write_envelope_string(env, {});
  r = a.deliver(*text, kB, "status");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "status.unknown_document");
  // A signed status whose text was changed after signing.
  std::string forged = statuses[0].bytes;
  auto pos = forged.find("<edXML:Code>01</edXML:Code>");
  if (pos == std::string::npos) pos = forged.find(">01<");
  ASSERT_NE(pos, std::string::npos) << forged.substr(0, 2000);
  auto digits = forged.find("01", pos);
  forged.replace(digits, 2, "06");
  r = a.deliver(forged, kB, "status");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "sig.digest");
  EXPECT_EQ(a.doc(id).state, State::sent);
  // The genuine one still works.
  ASSERT_TRUE(a.deliver(statuses[0].bytes, kB, "status").ok());
  EXPECT_EQ(a.doc(id).state, State::delivered);
}

// A CodeNumber that is not digits (real axis traffic carries "74fass22"):
// a delivery is read as the receiving gateway reads it, a ready envelope
// submitted for sending is held to the rules for what we send.
TEST_F(EngineTest, DeliveriesAreReadLenientlyAndReadyEnvelopesStrictly) {
  auto sub = a.submit({kB}, {{"a.txt", "x"}});
  ASSERT_TRUE(sub.ok()) << sub.error().message;
  std::string xml = read_file(a.db->blobs().path_of(a.doc(sub->id).envelope->sha256));
  const std::string number = "<edXML:CodeNumber>7</edXML:CodeNumber>";
  ASSERT_NE(xml.find(number), std::string::npos);
  xml.replace(xml.find(number), number.size(), "<edXML:CodeNumber>74fass22</edXML:CodeNumber>");
  const std::string file = a.root + "/ready.xml";
  write_file(file, xml);
  auto ready = a.engine->submit_envelope(file, "eoffice", {kA}, "ready-1");
  ASSERT_FALSE(ready.ok());
  EXPECT_EQ(ready.error().code, "edxml.code");
  auto got = b.deliver(xml, kA);
  ASSERT_TRUE(got.ok()) << got.error().message;
  const store::Document in = b.doc(got->document);
  EXPECT_EQ(in.code_number, "74fass22");
  EXPECT_EQ(in.signer_summary.find("edxml."), std::string::npos) << in.signer_summary;  // unsigned, not unreadable
}

TEST_F(EngineTest, SubmissionsAreCheckedAndRetriedOnesReturnTheFirst) {
  // Not one of the caller's organs.
  Submission s;
  s.header = json::bj::object{{"message", json::bj::object{{"from", json::bj::object{{"organ_id", kB}}},
                                                           {"to", json::bj::array{json::bj::object{{"organ_id", kA}}}},
                                                           {"code", "1/X"},
                                                           {"promulgation_date", "2026/11/23"},
                                                           {"subject", "x"}}}};
  s.submitter = "eoffice";
  s.allowed_senders = {kA};
  auto r = a.engine->submit(std::move(s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "submit.sender");
  // A bad organ id in To.
  auto bad = a.submit({"not-an-organ"}, {{"a.txt", "x"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "edxml.organ_id");
  // A file name that could escape a directory.
  auto escape = a.submit({kB}, {{"../../etc/passwd", "x"}});
  ASSERT_FALSE(escape.ok());
  EXPECT_EQ(escape.error().code, "edxml.attachment_name");
  // Idempotency.
  auto first = a.submit({kB}, {{"a.txt", "x"}}, "Lần 1", "key-1", "99/BTN-VP");
  auto again = a.submit({kB}, {{"a.txt", "x"}}, "Lần 1", "key-1", "99/BTN-VP");
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->id, again->id);
  EXPECT_TRUE(again->existing);
  // The same key with another body is refused, not answered with the first document.
  auto other_file = a.submit({kB}, {{"a.txt", "y"}}, "Lần 1", "key-1", "99/BTN-VP");
  ASSERT_FALSE(other_file.ok());
  EXPECT_EQ(other_file.error().code, "idempotency.mismatch");
  EXPECT_EQ(other_file.error().kind, ErrorKind::invalid);
  auto other_code = a.submit({kB}, {{"a.txt", "x"}}, "Lần 1", "key-1", "98/BTN-VP");
  ASSERT_FALSE(other_code.ok());
  EXPECT_EQ(other_code.error().code, "idempotency.mismatch");
  // No upload is left behind in any case.
  for (const auto& e : std::filesystem::directory_iterator(a.root)) {
    EXPECT_EQ(e.path().filename().string().rfind("upload-", 0), std::string::npos) << e.path();
  }
}

TEST_F(EngineTest, SigningNeedsTheRightPinAndHappensOnce) {
  auto sub = a.submit({kB}, {{"a.txt", "x"}});
  ASSERT_TRUE(sub.ok());
  SecretString wrong("0000");
  auto w = a.engine->sign(sub->id, "", &wrong, "leader");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, "pin.incorrect");
  EXPECT_EQ(a.doc(sub->id).state, State::pending_signature);
  SecretString pin("1234");
  ASSERT_TRUE(a.engine->sign(sub->id, "", &pin, "leader").ok());
  auto twice = a.engine->sign(sub->id, "", &pin, "leader");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, "store.conflict");
}

TEST_F(EngineTest, RemoteSigningChecksTheValueBeforeQueueing) {
  auto sub = a.submit({kB}, {{"a.txt", "remote"}});
  ASSERT_TRUE(sub.ok());
  std::vector<crypto::Certificate> certs = {Pki::get().cert("ec256"), Pki::get().cert("inter")};
  auto ts = a.engine->to_sign(sub->id, certs, std::nullopt);
  ASSERT_TRUE(ts.ok()) << ts.error().message;
  EXPECT_EQ(ts->algorithm, crypto::SignatureAlgorithm::ecdsa_sha256);
  // The same bytes again (prepare is deterministic).
  EXPECT_EQ(a.engine->to_sign(sub->id, certs, std::nullopt)->bytes, ts->bytes);
  crypto::test::SoftwareSigner right_key(Pki::get().path("ec256.key"));
  // A value from another key is refused; the document waits.
  auto bad_value = right_key.sign(std::vector<uint8_t>{1, 2, 3}, ts->algorithm);
  ASSERT_TRUE(bad_value.ok());
  auto bad = a.engine->complete_signature(sub->id, certs, std::nullopt, *bad_value, "leader");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "sign.value");
  EXPECT_EQ(a.doc(sub->id).state, State::pending_signature);
  auto value = right_key.sign(ts->bytes, ts->algorithm);
  ASSERT_TRUE(value.ok());
  auto ok = a.engine->complete_signature(sub->id, certs, std::nullopt, *value, "leader");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(*ok, State::queued);
  // The DER form most tools write (openssl dgst, CNG, Java) is taken too.
  auto sub3 = a.submit({kB}, {{"a.txt", "der"}});
  ASSERT_TRUE(sub3.ok());
  auto ts3 = a.engine->to_sign(sub3->id, certs, std::nullopt);
  ASSERT_TRUE(ts3.ok());
  auto raw = right_key.sign(ts3->bytes, ts3->algorithm);
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->size(), 64u);
  ECDSA_SIG* es = ECDSA_SIG_new();
  ECDSA_SIG_set0(es, BN_bin2bn(raw->data(), 32, nullptr), BN_bin2bn(raw->data() + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(es, &der);
  ASSERT_GT(der_len, 0);
  std::vector<uint8_t> der_value(der, der + der_len);
  OPENSSL_free(der);
  ECDSA_SIG_free(es);
  auto ok3 = a.engine->complete_signature(sub3->id, certs, std::nullopt, der_value, "leader");
  ASSERT_TRUE(ok3.ok()) << ok3.error().message;
  EXPECT_EQ(*ok3, State::queued);
  // A revoked signer's certificate is refused by the self-check.
  auto sub2 = a.submit({kB}, {{"a.txt", "revoked"}});
  ASSERT_TRUE(sub2.ok());
  std::vector<crypto::Certificate> revoked = {Pki::get().cert("revoked")};
  crypto::test::SoftwareSigner revoked_key(Pki::get().path("revoked.key"));
  auto ts2 = a.engine->to_sign(sub2->id, revoked, std::nullopt);
  ASSERT_TRUE(ts2.ok());
  auto v2 = revoked_key.sign(ts2->bytes, ts2->algorithm);
  ASSERT_TRUE(v2.ok());
  auto r2 = a.engine->complete_signature(sub2->id, revoked, std::nullopt, *v2, "leader");
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(a.doc(sub2->id).state, State::pending_signature);
}

TEST_F(EngineTest, TheOutboxRetriesWhileTheAxisIsDownAndSendsOnce) {
  auto sub = a.submit({kB}, {{"a.txt", "x"}});
  ASSERT_TRUE(sub.ok());
  SecretString pin("1234");
  ASSERT_TRUE(a.engine->sign(sub->id, "", &pin, "leader").ok());
  a.axis.down = true;
  for (int i = 0; i < 3; ++i) {
    auto n = a.engine->run_outbox_once();
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 0u);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // backoff is 1 ms here
  }
  EXPECT_FALSE(a.engine->axis_check().ok());
  EXPECT_EQ(a.doc(sub->id).state, State::queued);
  auto items = a.db->list_outbox({});
  ASSERT_EQ(items->size(), 1u);
  EXPECT_GE((*items)[0].attempts, 3);
  EXPECT_NE((*items)[0].last_error.find("axis.connect"), std::string::npos);
  a.axis.down = false;
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(*a.engine->run_outbox_once(), 1u);
  EXPECT_EQ(*a.engine->run_outbox_once(), 0u);
  EXPECT_EQ(a.axis.take().size(), 1u);
  EXPECT_EQ(a.doc(sub->id).state, State::sent);
  EXPECT_TRUE(a.engine->axis_check().ok());
}

// The outbox keeps several sends in flight (EngineOptions::outbox_in_flight,
// 4 by default), and each document is still sent exactly once.
TEST_F(EngineTest, TheOutboxKeepsSeveralSendsInFlightAndSendsEachDocumentOnce) {
  const auto ids = queued_documents(8);
  ASSERT_EQ(ids.size(), 8u);
  a.axis.delay = std::chrono::milliseconds(100);
  const auto t0 = std::chrono::steady_clock::now();
  auto n = a.engine->run_outbox_once();
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 8u);
  EXPECT_EQ(a.axis.max_in_flight.load(), 4);
  EXPECT_LT(took, std::chrono::milliseconds(8 * 100));  // one at a time would take 800 ms
  EXPECT_EQ(*a.engine->run_outbox_once(), 0u);
  auto sent = a.axis.take();
  ASSERT_EQ(sent.size(), 8u);
  std::set<std::string> bodies;
  for (const auto& s : sent) bodies.insert(s.bytes);
  EXPECT_EQ(bodies.size(), 8u);  // none twice, none lost
  for (auto id : ids) EXPECT_EQ(a.doc(id).state, State::sent);
}

// Sends that fail in flight together are each recorded as one failed attempt
// and retried with the backoff, as one at a time.
TEST_F(EngineTest, FailedSendsInFlightAreEachRetriedOnce) {
  const auto ids = queued_documents(6);
  ASSERT_EQ(ids.size(), 6u);
  a.axis.delay = std::chrono::milliseconds(20);
  a.axis.down = true;
  auto n = a.engine->run_outbox_once();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  EXPECT_GE(a.axis.max_in_flight.load(), 2);
  auto items = a.db->list_outbox({});
  ASSERT_EQ(items->size(), 6u);
  for (const auto& it : *items) EXPECT_EQ(it.attempts, 1) << it.id;
  for (auto id : ids) EXPECT_EQ(a.doc(id).state, State::queued);
  a.axis.down = false;
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // backoff is 1 ms here
  EXPECT_EQ(*a.engine->run_outbox_once(), 6u);
  EXPECT_EQ(a.axis.take().size(), 6u);
  for (auto id : ids) EXPECT_EQ(a.doc(id).state, State::sent);
}

TEST_F(EngineTest, ReportsFollowTheWorkflowAndRefusalsNeedAReason) {
  auto [id, bytes] = send_a_to_b();
  auto got = b.deliver(bytes, kA);
  ASSERT_TRUE(got.ok());
  const auto in = got->document;
  auto no_reason = b.engine->report(in, {State::refused, "", "", ""}, "x");
  ASSERT_FALSE(no_reason.ok());
  EXPECT_EQ(no_reason.error().code, "report.reason");
  auto not_a_report = b.engine->report(in, {State::quarantined, "", "", ""}, "x");
  ASSERT_FALSE(not_a_report.ok());
  EXPECT_EQ(not_a_report.error().code, "report.state");
  ASSERT_TRUE(b.engine->report(in, {State::processing, "", "", ""}, "x").ok());
  auto back = b.engine->report(in, {State::assigned, "", "", ""}, "x");
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().code, "store.illegal_transition");
  // A report on an outgoing document is refused.
  auto out = a.engine->report(id, {State::completed, "", "", ""}, "x");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, "store.not_found");
}

// --- issue 13: who signs, the content rules of Decision 2226/QĐ-BCT, DocumentId ---

TEST_F(EngineTest, ASubmissionMarkedSecretIsRefusedAndAudited) {
  for (const char* level : {"mật", "Tối mật", "TUYET MAT"}) {
    auto r = a.submit({kB}, {{"a.txt", "x"}}, "Báo cáo", "", "", {{"security_level", level}});
    ASSERT_FALSE(r.ok()) << level;
    EXPECT_EQ(r.error().code, "policy.secret") << level;
    EXPECT_EQ(r.error().kind, ErrorKind::invalid);
  }
  // A stamp in the subject is a marking too; the word inside a sentence is not.
  auto stamped = a.submit({kB}, {{"a.txt", "x"}}, "[TỐI MẬT] Kế hoạch");
  ASSERT_FALSE(stamped.ok());
  EXPECT_EQ(stamped.error().code, "policy.secret");
  EXPECT_TRUE(
      a.submit({kB}, {{"a.txt", "x"}}, "Về việc bảo vệ bí mật nhà nước", "", "", {{"security_level", "normal"}}).ok());
  EXPECT_TRUE(a.audited("policy.refuse", "policy.secret"));
  auto unknown = a.submit({kB}, {{"a.txt", "x"}}, "Báo cáo", "", "", {{"security_level", "confidential"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "policy.security_level");
}

TEST_F(EngineTest, ADenunciationLetterIsRefused) {
  auto r = a.submit({kB}, {{"a.txt", "x"}}, "Tố cáo hành vi", "", "", {{"type_name", "Đơn thư tố cáo"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "policy.kind");
  EXPECT_TRUE(a.audited("policy.refuse", "policy.kind"));
  EXPECT_TRUE(a.submit({kB}, {{"a.txt", "x"}}, "Trả lời", "", "", {{"type_name", "Công văn"}}).ok());
}

TEST_F(EngineTest, AnIncomingEnvelopeStampedSecretIsQuarantinedAndTheSenderRefused) {
  json::bj::object message{{"from", json::bj::object{{"organ_id", kA}}},
                           {"to", json::bj::array{json::bj::object{{"organ_id", kB}}}},
                           {"code", "9/BTN-VP"},
                           {"promulgation_date", "2026/11/23"},
                           {"subject", "MẬT - Báo cáo tình hình"}};
  auto env = edxml::envelope_from_json(json::bj::object{{"message", message}});
  ASSERT_TRUE(env.ok()) << env.error().message;
  ASSERT_TRUE(edxml::complete_for_pack(*env, {}).ok());
  auto text = edxml::write_envelope_string(*env, {});
  ASSERT_TRUE(text.ok());
  auto r = b.deliver(*text, kA);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto in = b.doc(r->document);
  EXPECT_EQ(in.state, State::quarantined);
  EXPECT_NE(in.signer_summary.find("policy.secret"), std::string::npos) << in.signer_summary;
  EXPECT_TRUE(b.audited("policy.refuse", "policy.secret"));
  ASSERT_TRUE(b.engine->run_outbox_once().ok());
  auto sent = b.axis.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].kind, "status");
  EXPECT_NE(sent[0].bytes.find(">02<"), std::string::npos);
  EXPECT_NE(sent[0].bytes.find("policy.secret"), std::string::npos);
}

TEST_F(EngineTest, ASecondLiveDocumentWithTheSameDocumentIdIsAConflict) {
  auto first = a.submit({kB}, {{"a.txt", "x"}}, "Lần 1", "k1", "12/BTN-VP");
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto again = a.submit({kB}, {{"a.txt", "x"}}, "Lần 1", "k1", "12/BTN-VP");  // the same submission retried
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->id, first->id);
  auto other = a.submit({kB}, {{"b.txt", "y"}}, "Văn bản khác cùng số", "k2", "12/BTN-VP");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, "document.duplicate_id");
  EXPECT_EQ(other.error().kind, ErrorKind::conflict);
  EXPECT_TRUE(a.audited("policy.refuse", "document.duplicate_id"));
}

TEST_F(EngineTest, PersonalSigningNeedsTheSignersPin) {
  auto sub = a.submit({kB}, {{"a.txt", "x"}});
  ASSERT_TRUE(sub.ok());
  // SoftwareKeys has an unattended key: the engine must not fall back to it.
  auto r = a.engine->sign(sub->id, "", nullptr, "leader");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "sign.pin_required");
  EXPECT_EQ(a.doc(sub->id).state, State::pending_signature);
  SecretString pin("1234");
  ASSERT_TRUE(a.engine->sign(sub->id, "", &pin, "leader").ok());
  auto history = a.db->history(sub->id);
  ASSERT_TRUE(history.ok());
  bool named = false;
  const std::string fingerprint = crypto::test::Pki::get().cert("good").sha256_hex();
  for (const auto& t : *history) {
    if (t.to == State::signed_) {
      EXPECT_NE(t.reason.find("signed by leader"), std::string::npos) << t.reason;
      named = t.reason.find("sha256:" + fingerprint) != std::string::npos;
    }
  }
  EXPECT_TRUE(named) << "the history names the signing certificate's fingerprint";
  EXPECT_TRUE(a.audited("document.sign", "personal signature"));
}

TEST(EngineSigning, OrganizationModeSignsWhatASystemSubmitsWithTheAgencyKey) {
  TempDir dir{"edxgate-engine-org"};
  Ministry org{kA, "good", dir, {.signing = SigningMode::organization, .now_ms = {}, .tune_engine = {}}};
  auto sub = org.submit({kB}, {{"a.txt", "x"}});
  ASSERT_TRUE(sub.ok()) << sub.error().message;
  EXPECT_EQ(sub->state, State::queued);
  auto history = org.db->history(sub->id);
  ASSERT_TRUE(history.ok());
  bool signed_for = false;
  for (const auto& t : *history) {
    if (t.to == State::signed_) {
      signed_for = t.reason.find("signed by the organization for eoffice") != std::string::npos &&
                   t.reason.find("sha256:") != std::string::npos;
    }
  }
  EXPECT_TRUE(signed_for);
  EXPECT_TRUE(org.audited("document.sign", "signed by the organization for eoffice"));
  // Nobody signs by hand in this mode.
  auto other = org.submit({kB}, {{"b.txt", "y"}});
  ASSERT_TRUE(other.ok());
  SecretString pin("1234");
  auto by_hand = org.engine->sign(other->id, "", &pin, "leader");
  ASSERT_FALSE(by_hand.ok());
  EXPECT_EQ(by_hand.error().code, "sign.mode");
}

// Organization mode signs before it stores: the unsigned envelope never
// becomes a blob, and a token that fails leaves no document behind, so the
// same submission (same Idempotency-Key) goes through once the token is back.
TEST(EngineSigning, OrganizationModeStoresOnlyWhatItSigned) {
  TempDir dir{"edxgate-engine-org-first"};
  Ministry org{kA, "good", dir, {.signing = SigningMode::organization, .now_ms = {}, .tune_engine = {}}};
  auto blob_files = [&] {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(org.db->blobs().dir())) {
      if (e.is_regular_file() && e.path().filename().string().front() != '.') ++n;
    }
    return n;
  };
  org.keys.unplug(true);
  auto failed = org.submit({kB}, {{"a.txt", "x"}}, "Về việc ký trước", "key-1", "9/BTN-VP");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, "token.absent");
  bool audited = false;
  auto rows = org.db->audit_rows(0, 100);
  ASSERT_TRUE(rows.ok());
  for (const auto& r : *rows) {
    audited |= r.event.action == "document.sign" && r.event.outcome == "failed" &&
               r.event.detail.find("token.absent") != std::string::npos &&
               r.event.object.find("9/BTN-VP") != std::string::npos &&
               r.event.object.find("eoffice") != std::string::npos;
  }
  EXPECT_TRUE(audited) << "a failed signature is audited, naming the submission";
  EXPECT_TRUE(org.db->list_documents({})->documents.empty());
  EXPECT_TRUE(org.db->list_outbox({})->empty());
  org.keys.unplug(false);
  auto sub = org.submit({kB}, {{"a.txt", "x"}}, "Về việc ký trước", "key-1", "9/BTN-VP");
  ASSERT_TRUE(sub.ok()) << sub.error().message;
  EXPECT_FALSE(sub->existing);
  EXPECT_EQ(sub->state, State::queued);
  const store::Document d = org.doc(sub->id);
  ASSERT_TRUE(d.envelope.has_value());
  auto envelope = org.db->blobs().read(d.envelope->sha256, 1 << 20);
  ASSERT_TRUE(envelope.ok());
  EXPECT_NE(envelope->find("SignatureValue"), std::string::npos);
  EXPECT_EQ(blob_files(), 2u) << "the signed envelope and the attachment, no unsigned envelope";
  auto items = org.db->list_outbox({});
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].payload->sha256, d.envelope->sha256);
  // The retried submission is the same document, queued once.
  auto again = org.submit({kB}, {{"a.txt", "x"}}, "Về việc ký trước", "key-1", "9/BTN-VP");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->existing);
  EXPECT_EQ(again->id, sub->id);
  EXPECT_EQ(again->state, State::queued);
  EXPECT_EQ(org.db->list_outbox({})->size(), 1u);
  EXPECT_EQ(org.doc(sub->id).envelope->sha256, d.envelope->sha256);
  // What reaches the axis is the signed envelope, byte for byte.
  ASSERT_TRUE(org.engine->run_outbox_once().ok());
  auto sent = org.axis.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].bytes, *envelope);
}

TEST_F(EngineTest, TheAxisFromIsComparedWithoutCase) {
  auto [id, bytes] = send_a_to_b();
  ASSERT_FALSE(bytes.empty());
  std::string lower = kA;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto got = b.deliver(bytes, lower);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(b.doc(got->document).state, State::verified) << b.doc(got->document).signer_summary;
}

namespace answers {

// A key whose opening waits for the test to open the gate (at most 10 s):
// signing the 01 cannot finish before the test says so.
class GatedKeys final : public KeyProvider {
 public:
  explicit GatedKeys(std::string name) : keys_(std::move(name)), gate_(opened_.get_future().share()) {}
  void open_gate() { opened_.set_value(); }
  Result<SigningKey> open(const std::string& uri, const SecretString* pin) override {
    gate_.wait_for(std::chrono::seconds(10));
    return keys_.open(uri, pin);
  }
  bool has_unattended_key() const override { return true; }
  std::optional<crypto::Certificate> configured_certificate() const override { return keys_.configured_certificate(); }
  Status check() const override { return {}; }

 private:
  SoftwareKeys keys_;
  std::promise<void> opened_;
  std::shared_future<void> gate_;
};

// What `axis` sent before `deadline` passes or `want` items came.
std::vector<RecordingAxis::Sent> collect(RecordingAxis& axis, size_t want, std::chrono::seconds within) {
  std::vector<RecordingAxis::Sent> all;
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (all.size() < want && std::chrono::steady_clock::now() < deadline) {
    for (auto& s : axis.take()) all.push_back(std::move(s));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return all;
}

// collect(), then what still comes once the owed answers are made and a
// moment passes (nothing more should); `engine` is stopped afterwards.
std::vector<RecordingAxis::Sent> collect_all(RecordingAxis& axis, size_t want, Engine& engine) {
  auto all = collect(axis, want, std::chrono::seconds(15));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (engine.answers_pending() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (auto& s : axis.take()) all.push_back(std::move(s));
  engine.stop();
  return all;
}

std::string status_code_of(const std::string& bytes) {
  const auto at = bytes.find("StatusCode>");
  return at == std::string::npos ? "" : bytes.substr(at + 11, 2);
}

}  // namespace answers

struct EngineTest::RunningB {
  explicit RunningB(EngineTest& t) : b(t.b) {
    EngineOptions eo;
    eo.organ_id = kB;
    eo.organ_name = "Bộ " + std::string(kB);
    eo.work_dir = (std::filesystem::path(b.root) / "work-running").string();
    eo.worker = "engine-running@" + std::string(kB);
    engine = std::make_unique<Engine>(eo, *b.db, b.verifier, &keys, &b.axis, metrics);
    engine->start();
  }
  // Hands `bytes` from A to the running engine as the axis' delivery would.
  Result<Accepted> accept_from_a(const std::string& bytes) {
    const std::string file = b.root + "/delivery-running";
    write_file(file, bytes);
    IncomingDelivery d;
    d.file = file;
    d.size = bytes.size();
    d.from = kA;
    return engine->accept(d);
  }

  Ministry& b;
  answers::GatedKeys keys{"good2"};
  MetricsRegistry metrics;
  std::unique_ptr<Engine> engine;  // last: it uses the keys and the metrics above
};

std::unique_ptr<EngineTest::RunningB> EngineTest::start_b_with_gated_key() { return std::make_unique<RunningB>(*this); }

TEST_F(EngineTest, AStartedEngineAnswersTheSenderOffTheRequestPath) {
  auto [id, bytes] = send_a_to_b();
  ASSERT_FALSE(bytes.empty());
  // B's gateway, running, whose token is slow to give its key.
  auto b_running = start_b_with_gated_key();
  Engine& running = *b_running->engine;
  auto accepted = b_running->accept_from_a(bytes);
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  EXPECT_EQ(accepted->state, State::verified);
  // The delivery was answered (the document durable) before its 01 was signed.
  EXPECT_TRUE(b.db->status_messages(accepted->document)->empty());
  EXPECT_EQ(running.answers_pending(), 1u);
  b_running->keys.open_gate();
  auto sent = answers::collect(b.axis, 1, std::chrono::seconds(15));
  running.stop();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].kind, "status");
  EXPECT_EQ(sent[0].to, std::vector<std::string>{kA});
  EXPECT_EQ(answers::status_code_of(sent[0].bytes), "01");
  EXPECT_EQ(running.answers_pending(), 0u);
  EXPECT_EQ(b.db->status_messages(accepted->document)->size(), 1u);
  // A takes it as from B: its document was delivered.
  auto r = a.deliver(sent[0].bytes, kB, "status");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(a.doc(id).state, State::delivered);
}

TEST_F(EngineTest, ADocumentOwedByManyDeliveriesAtOnceIsAnsweredOnceByTheWorkers) {
  auto [id, bytes] = send_a_to_b();
  ASSERT_FALSE(bytes.empty());
  auto b_running = start_b_with_gated_key();  // two answer workers, the token slow to give its key
  Engine& running = *b_running->engine;
  // The axis delivers it four times: each owes the same document its answer,
  // so both workers take it at once while the first waits for the token.
  store::DocumentId doc = 0;
  for (int i = 0; i < 4; ++i) {
    auto accepted = b_running->accept_from_a(bytes);
    ASSERT_TRUE(accepted.ok()) << accepted.error().message;
    EXPECT_EQ(accepted->duplicate, i > 0);
    doc = accepted->document;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // both workers hold one
  // A clerk registers it meanwhile: the 03 waits for the worker answering
  // the 01 (the sender hears 01 first), and no second 01 is made for it.
  Result<State> registered = State::draft;
  std::thread clerk([&] {
    ProcessingReport r;
    r.state = State::registered;
    r.staff = "Văn thư";
    registered = running.report(doc, r, "clerk");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  b_running->keys.open_gate();
  clerk.join();
  ASSERT_TRUE(registered.ok()) << registered.error().message;
  auto sent = answers::collect_all(b.axis, 2, running);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(answers::status_code_of(sent[0].bytes), "01");
  EXPECT_EQ(answers::status_code_of(sent[1].bytes), "03");
  auto recorded = b.db->status_messages(doc);
  ASSERT_TRUE(recorded.ok());
  ASSERT_EQ(recorded->size(), 2u);
  EXPECT_EQ((*recorded)[0].code, "01");
  EXPECT_EQ((*recorded)[1].code, "03");
}

TEST_F(EngineTest, DocumentsStoredButNotAnsweredBeforeACrashAreAnsweredAfterTheRestart) {
  auto [id, bytes] = send_a_to_b();
  ASSERT_FALSE(bytes.empty());
  const store::Document ours = a.doc(id);
  // What B's store holds when its process died after committing deliveries
  // and before queueing their answers (as the incoming path stores them).
  auto envelope = b.db->blobs().put(bytes);
  ASSERT_TRUE(envelope.ok());
  auto stored = [&](State state, std::vector<std::string> recipients, const std::string& summary,
                    const std::string& envelope_id) {
    store::NewDocument nd;
    nd.direction = Direction::incoming;
    nd.state = state;
    nd.envelope = *envelope;
    nd.envelope_id = envelope_id;
    nd.sender = kA;
    nd.recipients = std::move(recipients);
    nd.code_number = ours.code_number;
    nd.code_notation = ours.code_notation;
    nd.promulgation_date = ours.promulgation_date;
    nd.subject = ours.subject;
    nd.signer_summary = summary;
    nd.actor = "axis";
    auto c = b.db->create_document(nd);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? c->id : 0;
  };
  const auto verified = stored(State::verified, {kB}, "CN=good2", ours.envelope_id);
  const auto quarantined =
      stored(State::quarantined, {kB}, "quarantined: sig.digest: the digest does not match", "OTHER-DOC-1");
  // Unreadable (no recipients known): nobody is answered, as before a crash.
  const auto unreadable =
      stored(State::quarantined, {}, "quarantined: xml.parse: not XML", "sha256:" + envelope->sha256);
  // Answered already: not again.
  const auto answered = stored(State::verified, {kB}, "CN=good2", "OTHER-DOC-2");
  store::StatusMessage sm;
  sm.direction = Direction::outgoing;
  sm.code = "01";
  ASSERT_TRUE(b.db->add_status_message(answered, sm).ok());
  ASSERT_TRUE(verified && quarantined && unreadable);

  b.engine->start();  // the restart
  auto sent = answers::collect_all(b.axis, 2, *b.engine);
  ASSERT_EQ(sent.size(), 2u);
  std::map<std::string, std::string> by_code;
  for (const auto& s : sent) by_code[answers::status_code_of(s.bytes)] = s.bytes;
  ASSERT_TRUE(by_code.count("01") && by_code.count("02"));
  EXPECT_NE(by_code["02"].find("[sig.digest]"), std::string::npos);
  EXPECT_EQ(b.db->status_messages(verified)->size(), 1u);
  EXPECT_EQ(b.db->status_messages(quarantined)->size(), 1u);
  EXPECT_TRUE(b.db->status_messages(unreadable)->empty());
  EXPECT_EQ(b.db->status_messages(answered)->size(), 1u);
  // The 01 is about A's document: A takes it.
  auto r = a.deliver(by_code["01"], kB, "status");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(a.doc(id).state, State::delivered);
}

TEST_F(EngineTest, AReportRightAfterTheDeliveryStillReachesTheSenderAfterIts01) {
  auto [id, bytes] = send_a_to_b();
  ASSERT_FALSE(bytes.empty());
  auto b_running = start_b_with_gated_key();
  Engine& running = *b_running->engine;
  auto accepted = b_running->accept_from_a(bytes);
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  // The clerk registers it while its 01 still waits for the key.
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    b_running->keys.open_gate();
  });
  ProcessingReport r;
  r.state = State::registered;
  auto reported = running.report(accepted->document, r, "clerk");
  opener.join();
  ASSERT_TRUE(reported.ok()) << reported.error().message;
  auto sent = answers::collect_all(b.axis, 2, running);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(answers::status_code_of(sent[0].bytes), "01");
  EXPECT_EQ(answers::status_code_of(sent[1].bytes), "03");
  auto messages = b.db->status_messages(accepted->document);
  ASSERT_EQ(messages->size(), 2u);
  EXPECT_EQ((*messages)[0].code, "01");
  EXPECT_EQ((*messages)[1].code, "03");
}

// Issue 13: a permanent refusal by the axis stops after max_permanent_failures.
struct OutboxRefusalTest : EngineTest {
  // A signed, queued document of A for B.
  store::DocumentId queued_document() {
    auto sub = a.submit({kB}, {{"a.txt", "x"}});
    EXPECT_TRUE(sub.ok());
    if (!sub.ok()) return 0;
    SecretString pin("1234");
    EXPECT_TRUE(a.engine->sign(sub->id, "", &pin, "leader").ok());
    EXPECT_EQ(a.doc(sub->id).state, State::queued);
    return sub->id;
  }
  void run_outbox() {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // backoff is 1 ms here
    auto n = a.engine->run_outbox_once();
    ASSERT_TRUE(n.ok());
  }
  store::OutboxItem only_item(store::DocumentId id) {
    store::OutboxQuery q;
    q.document_id = id;
    auto items = a.db->list_outbox(q);
    EXPECT_TRUE(items.ok() && items->size() == 1u);
    return items.ok() && !items->empty() ? items->front() : store::OutboxItem{};
  }
  static Error refusal() {
    return make_error(ErrorKind::invalid, "axis.refused",
                      "the axis refused the call (status FAIL, ErrorCode 5): the receiver organ is unknown");
  }
};

TEST_F(OutboxRefusalTest, ADocumentRefusedPermanentlyFailsAfterExactlyTheMaximum) {
  const auto id = queued_document();
  a.axis.fail_with = refusal();
  for (int i = 1; i < 3; ++i) {  // the default maximum is 3
    run_outbox();
    EXPECT_EQ(a.doc(id).state, State::queued) << "after refusal " << i;
    EXPECT_EQ(only_item(id).state, store::OutboxState::pending);
    EXPECT_EQ(only_item(id).refusals, i);
  }
  run_outbox();
  EXPECT_EQ(a.doc(id).state, State::failed);
  const auto item = only_item(id);
  EXPECT_EQ(item.state, store::OutboxState::failed);
  EXPECT_EQ(item.attempts, 3);
  EXPECT_NE(item.last_error.find("axis.refused"), std::string::npos);
  EXPECT_NE(item.last_error.find("the receiver organ is unknown"), std::string::npos);
  // It has left the outbox: no further attempt.
  for (int i = 0; i < 3; ++i) run_outbox();
  EXPECT_EQ(only_item(id).attempts, 3);
  EXPECT_EQ(a.db->stats()->outbox_pending, 0u);
  EXPECT_TRUE(a.audited("outbox.failed", "axis.refused"));
  auto history = a.db->history(id);
  ASSERT_TRUE(history.ok());
  ASSERT_FALSE(history->empty());
  EXPECT_EQ(history->back().to, State::failed);
  EXPECT_NE(history->back().reason.find("ErrorCode 5"), std::string::npos);
  // A refusal is the axis answering: it is not "unreachable".
  EXPECT_TRUE(a.engine->axis_check().ok());
  // Officers find it by its state.
  store::DocumentQuery q;
  q.state = State::failed;
  auto page = a.db->list_documents(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->documents.size(), 1u);
  EXPECT_EQ(page->documents[0].id, id);
}

TEST_F(OutboxRefusalTest, TransientFailuresAreRetriedWithoutACount) {
  const auto id = queued_document();
  a.axis.down = true;  // unreachable
  for (int i = 0; i < 5; ++i) run_outbox();
  a.axis.down = false;
  a.axis.fail_with = make_error(ErrorKind::unavailable, "axis.http", "the axis answered sendEdoc with HTTP 503");
  for (int i = 0; i < 5; ++i) run_outbox();
  a.axis.fail_with = make_error(ErrorKind::unavailable, "axis.timeout", "no answer within 60 s");
  for (int i = 0; i < 5; ++i) run_outbox();
  EXPECT_EQ(a.doc(id).state, State::queued);
  EXPECT_EQ(only_item(id).state, store::OutboxState::pending);
  EXPECT_EQ(only_item(id).attempts, 15);
  EXPECT_EQ(only_item(id).refusals, 0);
  a.axis.fail_with.reset();
  run_outbox();
  EXPECT_EQ(a.doc(id).state, State::sent);
}

TEST_F(OutboxRefusalTest, OnlyPermanentRefusalsCountTowardsTheMaximum) {
  const auto id = queued_document();
  for (int round = 0; round < 2; ++round) {
    a.axis.fail_with = refusal();
    run_outbox();
    a.axis.fail_with = make_error(ErrorKind::unavailable, "axis.unreachable", "connection refused");
    run_outbox();
    run_outbox();
  }
  EXPECT_EQ(a.doc(id).state, State::queued);
  EXPECT_EQ(only_item(id).refusals, 2);
  a.axis.fail_with = make_error(ErrorKind::invalid, "axis.rejected", "the axis answered sendEdoc with HTTP 403");
  run_outbox();
  EXPECT_EQ(a.doc(id).state, State::failed);
}

TEST_F(OutboxRefusalTest, AnOfficerReQueuesAFailedDocumentAndItIsSent) {
  const auto id = queued_document();
  EXPECT_EQ(a.engine->retry_failed(id, "officer").error().code, "store.conflict");  // not failed
  a.axis.fail_with = refusal();
  for (int i = 0; i < 3; ++i) run_outbox();
  ASSERT_EQ(a.doc(id).state, State::failed);
  a.axis.take();
  ASSERT_TRUE(a.engine->retry_failed(id, "officer").ok());
  EXPECT_EQ(a.doc(id).state, State::queued);
  EXPECT_TRUE(a.audited("outbox.requeue", "re-queued by officer"));
  EXPECT_EQ(only_item(id).refusals, 0);  // the count starts again
  a.axis.fail_with.reset();
  run_outbox();
  EXPECT_EQ(a.doc(id).state, State::sent);
  EXPECT_EQ(a.axis.take().size(), 1u);
  EXPECT_EQ(a.engine->retry_failed(999999, "officer").error().code, "store.not_found");
}

TEST_F(OutboxRefusalTest, ACancelledFailedDocumentCannotBeReQueued) {
  const auto id = queued_document();
  a.axis.fail_with = refusal();
  for (int i = 0; i < 3; ++i) run_outbox();
  ASSERT_EQ(a.doc(id).state, State::failed);
  ASSERT_TRUE(a.db->transition(id, State::cancelled, "officer", "wrong recipient").ok());
  EXPECT_EQ(only_item(id).state, store::OutboxState::cancelled);
  EXPECT_FALSE(a.engine->retry_failed(id, "officer").ok());
}

}  // namespace
}  // namespace edxgate::workflow
