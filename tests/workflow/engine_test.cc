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
#include <map>
#include <mutex>
#include <set>
#include <sstream>

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
using test::read_file;
using test::RecordingAxis;
using test::SoftwareKeys;
using test::TempDir;
using test::write_file;

constexpr const char* kA = "000.00.00.G01";
constexpr const char* kB = "000.00.00.G02";
constexpr const char* kC = "000.00.00.G03";

// One ministry: its store, engine, keys and outgoing recorder.
struct Ministry {
  Ministry(const std::string& organ, const std::string& key, const TempDir& dir,
           SigningMode signing = SigningMode::personal)
      : root(dir / organ), keys(key) {
    std::filesystem::create_directories(root);
    store::StoreOptions so;
    so.state_dir = root + "/state";
    so.backoff = {1, 1, 1};
    auto s = store::open_store(so);
    if (!s.ok()) throw std::runtime_error(s.error().message);
    db = std::move(*s);
    crypto::VerifyPolicy policy;
    policy.chain.revocation = crypto::RevocationMode::hard;  // the PKI's CRLs are in the trust store
    verifier = std::make_shared<crypto::Verifier>(Pki::get().trust(true), policy);
    EngineOptions eo;
    eo.organ_id = organ;
    eo.organ_name = "Bộ " + organ;
    eo.work_dir = root + "/work";
    eo.worker = "engine@" + organ;
    eo.signing = signing;
    engine = std::make_unique<Engine>(eo, *db, verifier, &keys, &axis, metrics);
  }

  // Submits a document from this ministry to `to` with one attachment per entry of `files`.
  // Each call gets its own document code (so its own DocumentId) unless `code` is given.
  Result<Submitted> submit(const std::vector<std::string>& to, const std::map<std::string, std::string>& files,
                           const std::string& subject = "Về việc thử nghiệm liên thông", const std::string& key = "",
                           const std::string& code = "", const json::bj::object& extra = {}) {
    json::bj::array recipients;
    for (const auto& t : to) recipients.push_back(json::bj::object{{"organ_id", t}});
    json::bj::object message{{"from", json::bj::object{{"organ_id", engine_organ()}}},
                             {"to", std::move(recipients)},
                             {"code", code.empty() ? std::to_string(7 + codes++) + "/BTN-VP" : code},
                             {"promulgation_date", "2026/11/23"},
                             {"subject", subject}};
    for (const auto& [k, v] : extra) message[k] = v;
    Submission s;
    s.header = json::bj::object{{"message", std::move(message)}};
    int i = 0;
    for (const auto& [name, bytes] : files) {
      std::string path = root + "/upload-" + std::to_string(++uploads) + "-" + std::to_string(i++);
      write_file(path, bytes);
      s.files.push_back(path);
      s.names.push_back(name);
    }
    s.submitter = "eoffice";
    s.allowed_senders = {engine_organ()};
    s.idempotency_key = key;
    return engine->submit(std::move(s));
  }
  std::string engine_organ() const { return std::filesystem::path(root).filename().string(); }

  // Delivers bytes as the axis would.
  Result<Accepted> deliver(const std::string& bytes, const std::string& from, const std::string& type = "edoc") {
    std::string file = root + "/delivery-" + std::to_string(++uploads);
    write_file(file, bytes);
    IncomingDelivery d;
    d.file = file;
    d.size = bytes.size();
    d.from = from;
    d.message_type = type;
    auto r = engine->accept(d);
    ::unlink(file.c_str());
    return r;
  }

  store::Document doc(store::DocumentId id) {
    auto d = db->get_document(id);
    if (!d.ok()) throw std::runtime_error(d.error().message);
    return *d;
  }

  std::string root;
  RecordingAxis axis;
  SoftwareKeys keys;
  MetricsRegistry metrics;
  std::unique_ptr<store::Store> db;
  std::shared_ptr<crypto::Verifier> verifier;
  std::unique_ptr<Engine> engine;
  int uploads = 0;
  int codes = 0;

  // Whether the audit log holds an event with this action whose detail contains `needle`.
  bool audited(const std::string& action, const std::string& needle) {
    auto rows = db->audit_rows(0, 1000);
    if (!rows.ok()) return false;
    for (const auto& r : *rows) {
      if (r.event.action == action && r.event.detail.find(needle) != std::string::npos) return true;
    }
    return false;
  }
};

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
  SecretString pin("1234");
  std::vector<store::DocumentId> ids;
  for (int i = 0; i < 8; ++i) {
    auto sub = a.submit({kB}, {{"a.txt", "document " + std::to_string(i)}});
    ASSERT_TRUE(sub.ok()) << sub.error().message;
    ASSERT_TRUE(a.engine->sign(sub->id, "", &pin, "leader").ok());
    ids.push_back(sub->id);
  }
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
  SecretString pin("1234");
  std::vector<store::DocumentId> ids;
  for (int i = 0; i < 6; ++i) {
    auto sub = a.submit({kB}, {{"a.txt", "document " + std::to_string(i)}});
    ASSERT_TRUE(sub.ok()) << sub.error().message;
    ASSERT_TRUE(a.engine->sign(sub->id, "", &pin, "leader").ok());
    ids.push_back(sub->id);
  }
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
  Ministry org{kA, "good", dir, SigningMode::organization};
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

TEST_F(EngineTest, TheAxisFromIsComparedWithoutCase) {
  auto [id, bytes] = send_a_to_b();
  ASSERT_FALSE(bytes.empty());
  std::string lower = kA;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto got = b.deliver(bytes, lower);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(b.doc(got->document).state, State::verified) << b.doc(got->document).signer_summary;
}

}  // namespace
}  // namespace edxgate::workflow
