// End to end (issue 7): edxgate-axis-sim and two edxgated processes on
// loopback with real TLS, real SoftHSM2 tokens and a test PKI (e2e_support.h).
// Ministry A (000.00.00.G01) pulls from the axis, ministry B (000.00.00.G02)
// is pushed to, so both delivery paths are used: A's documents reach B by
// push, B's status messages reach A by pull.
//
//   Flow            submit (20 MB + Vietnamese file name) -> sign on the token
//                   -> axis -> B verifies and stores -> B's system fetches the
//                   bytes -> reports completed -> A sees 01, 03, 06.
//   ForgedEnvelope  a signed envelope with its subject changed, injected at
//                   the axis with A's credentials: quarantined at B (sig.*),
//                   hidden from B's system, seen by B's officer; A gets 02.
//   RemoteSigning   to-sign / signature with a software key; a wrong value is
//                   422 and leaves the document pending_signature.
//   Faults          the axis down; A killed mid-send (its resend is known to
//                   the axis and routed once); B stopped mid-push and
//                   killed: each document is stored at B exactly once.
//   Dialect         every call both gateways made to the axis, as the
//                   simulator recorded it, is in the VXP SDK's dialect.
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <map>
#include <set>

#include "../support/zip.h"
#include "e2e_support.h"
#include "edxgate/base/digest.h"
#include "edxgate/gateway/axis.h"
#include "edxgate/gateway/vdxp.h"
#include "sdk_peer.h"

namespace edxgate::e2e {
namespace {

class E2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      world_ = new World();
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    // EDXGATE_E2E_LOGS=DIR keeps the processes' logs for a look afterwards.
    if (const char* keep = std::getenv("EDXGATE_E2E_LOGS"); keep && world_) {
      std::error_code ec;
      std::filesystem::create_directories(keep, ec);
      for (const auto& [from, to] : {std::pair{world_->a().dir + "/edxgated.log", "edxgated-a.log"},
                                     std::pair{world_->b().dir + "/edxgated.log", "edxgated-b.log"},
                                     std::pair{world_->path("sim.log"), "sim.log"}}) {
        std::filesystem::copy_file(from, std::string(keep) + "/" + to,
                                   std::filesystem::copy_options::overwrite_existing, ec);
      }
    }
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(world_, nullptr) << setup_error_;
    // A test that failed half-way may have left a process down.
    World& w = *world_;
    if (!w.sim().running()) w.start_sim();
    for (Gateway* g : {&w.a(), &w.b()}) {
      g->proc.signal(SIGCONT);
      if (!g->proc.running()) w.start(*g);
    }
    w.sim_fault(R"({"mode":"none"})");
  }
  void TearDown() override {
    if (HasFailure() && world_) {
      std::printf("---- edxgated A log (tail) ----\n%s\n", tail(world_->a().proc.log()).c_str());
      std::printf("---- edxgated B log (tail) ----\n%s\n", tail(world_->b().proc.log()).c_str());
      std::printf("---- sim log (tail) ----\n%s\n", tail(read_text(world_->path("sim.log"))).c_str());
    }
  }
  static std::string tail(const std::string& s) { return s.size() > 6000 ? s.substr(s.size() - 6000) : s; }

  World& w() { return *world_; }

  // Submits a document as A's system; returns its id ("" on failure).
  std::string submit(const std::string& code, const std::string& subject,
                     const std::vector<std::pair<std::string, std::string>>& files) {
    static int n = 0;
    Form f = make_form(w().path("form-" + std::to_string(++n)), metadata_json(code, subject), files);
    Reply r = w().call(w().a(), "sys-a", "POST", "/v1/outgoing", "", f.content_type, f.file);
    EXPECT_EQ(r.status, 202u) << r.error << r.body;
    std::filesystem::remove(f.file);
    return str(r.json(), "id");
  }
  bj::value outgoing(const std::string& id, const std::string& who = "sys-a") {
    Reply r = w().call(w().a(), who, "GET", "/v1/outgoing/" + id);
    EXPECT_EQ(r.status, 200u) << r.error << r.body;
    return r.json();
  }
  // Every incoming document at B with this DocumentId, as `who` lists them.
  std::vector<bj::value> incoming_at_b(const std::string& document_id, const std::string& who = "officer-b") {
    std::vector<bj::value> out;
    Reply r = w().call(w().b(), who, "GET", "/v1/incoming?limit=1000");
    if (r.status != 200) return out;
    auto v = r.json();
    if (!v.is_object() || !v.as_object().contains("documents")) return out;
    for (const auto& d : v.as_object().at("documents").as_array()) {
      if (str(d, "document_id") == document_id) out.push_back(d);
    }
    return out;
  }
  // Waits until B holds `count` documents with this DocumentId.
  std::vector<bj::value> wait_at_b(const std::string& document_id, size_t count = 1,
                                   std::chrono::seconds limit = std::chrono::seconds(40)) {
    std::vector<bj::value> docs;
    wait_until(
        [&] {
          docs = incoming_at_b(document_id);
          return docs.size() >= count;
        },
        limit);
    return docs;
  }
  // How many documents from A to B the axis has routed since it started.
  size_t edocs_to_b() {
    size_t n = 0;
    const bj::value items = w().sim_items();
    if (!items.is_array()) return 0;
    for (const auto& it : items.as_array())
      if (str(it, "to") == kOrganB && str(it, "messageType") == "edoc" && str(it, "from") == kOrganA) ++n;
    return n;
  }
  static bool has_code(const bj::value& doc, const std::string& direction, const std::string& code) {
    if (!doc.is_object() || !doc.as_object().contains("status_messages")) return false;
    for (const auto& m : doc.as_object().at("status_messages").as_array()) {
      if (str(m, "direction") == direction && str(m, "code") == code) return true;
    }
    return false;
  }
  static std::vector<std::string> history_states(const bj::value& doc) {
    std::vector<std::string> out;
    if (!doc.is_object() || !doc.as_object().contains("history")) return out;
    for (const auto& h : doc.as_object().at("history").as_array()) out.push_back(str(h, "state"));
    return out;
  }
  std::string small_file(const std::string& name, const std::string& text) {
    const std::string p = w().path(name);
    write_text(p, text);
    return p;
  }
  // Submits and signs on A's token; returns {id, document_id}.
  std::pair<std::string, std::string> submit_and_sign(const std::string& code, const std::string& subject) {
    static int n = 0;
    const auto r = e2e::submit_and_sign(w(), w().path("signed-form-" + std::to_string(++n)), code, subject,
                                        {{"to-trinh.txt", small_file("small-" + code.substr(0, 2), subject)}});
    EXPECT_EQ(r.submitted.status, 202u) << r.submitted.error << r.submitted.body;
    if (r.id.empty()) return {};
    EXPECT_EQ(r.signed_reply.status, 200u) << r.signed_reply.error << r.signed_reply.body;
    EXPECT_EQ(str(r.signed_reply.json(), "state"), "queued") << r.signed_reply.body;
    return {r.id, str(outgoing(r.id), "document_id")};
  }

  // The VDXP secret a gateway's system shares with the axis (its secret file without the newline).
  std::string axis_secret(const Gateway& g) {
    std::string secret = read_text(g.dir + "/axis.secret");
    while (!secret.empty() && secret.back() == '\n') secret.pop_back();
    return secret;
  }
  // A VDXP client of the simulated axis speaking as the given system: how the
  // tests inject what another sender (or a forger) writes to the axis.
  Result<std::unique_ptr<gateway::AxisTransport>> axis_client(const std::string& organ, const std::string& system_id,
                                                              const std::string& secret) {
    gateway::VdxpOptions vo;
    vo.endpoint = w().sim_url();
    vo.organ_id = organ;
    vo.system_id = system_id;
    vo.secret = std::make_shared<SecretString>(secret);
    vo.client.ca_file = w().tls().cert("ca");
    vo.spool_dir = w().dir();
    return gateway::make_vdxp_transport(vo);
  }
  // Pushes an envelope to B's axis listener as the axis does (sendEdoc, the
  // file + CRLF body, VDXP headers signed with SYS-B's secret, the axis' TLS
  // client certificate), naming `from` as the sender. Status 0 if it could
  // not be sent (the failure is recorded).
  gateway::ClientResponse push_as_axis(const std::string& envelope_file, const std::string& from) {
    SecretString key(axis_secret(w().b()));
    auto hash = gateway::vdxp::hash_file_hex(envelope_file);
    if (!hash.ok()) {
      ADD_FAILURE() << hash.error().message;
      return {};
    }
    auto headers =
        gateway::vdxp::sign({{"from", from}, {"servicetype", "eDoc"}, {"messagetype", "edoc"}, {"hash-file", *hash}},
                            gateway::vdxp::kContentTypeFile, "SYS-B", key, gateway::vdxp::Clock::now());
    if (!headers.ok()) {
      ADD_FAILURE() << headers.error().message;
      return {};
    }
    gateway::ClientOptions o;
    o.ca_file = w().tls().cert("ca");
    o.client_cert = w().tls().cert("axis");
    o.client_key = w().tls().key("axis");
    auto c = gateway::HttpsClient::create("https://127.0.0.1:" + std::to_string(w().b().axis_port), o);
    if (!c.ok()) {
      ADD_FAILURE() << c.error().message;
      return {};
    }
    gateway::ClientRequest req;
    req.path = "/vdxp/sendEdoc";
    req.body_file = envelope_file;
    req.body_file_suffix = std::string(gateway::vdxp::kFileTrailer);
    req.content_type = std::string(gateway::vdxp::kContentTypeFile);
    for (auto& h : *headers) req.headers.emplace_back(h.name, h.value);
    auto resp = c->send(req);
    if (!resp.ok()) {
      ADD_FAILURE() << resp.error().message;
      return {};
    }
    return *resp;
  }

  static World* world_;
  static std::string setup_error_;
};

World* E2e::world_ = nullptr;
std::string E2e::setup_error_;

TEST_F(E2e, DocumentTravelsFromAToBAndStatusesComeBack) {
  // Both gateways are ready: store, token, trust anchors, axis.
  for (const Gateway* g : {&w().a(), &w().b()}) {
    auto c = gateway::HttpsClient::create("http://127.0.0.1:" + std::to_string(g->health_port), {});
    ASSERT_TRUE(c.ok());
    gateway::ClientRequest r;
    r.method = "GET";
    r.path = "/readyz";
    Reply ready;
    wait_until(
        [&] {
          auto resp = c->send(r);
          ready.status = resp.ok() ? resp->status : 0;
          ready.body = resp.ok() ? resp->body : resp.error().message;
          return ready.status == 200;
        },
        std::chrono::seconds(10));
    EXPECT_EQ(ready.status, 200u) << g->name << ": " << ready.body;
  }
  // 20 MB (an envelope of ~27 MB). Under ASan+UBSan (several times slower,
  // beside the other e2e tests) such a push can outlast the simulator's 3 s
  // push bound, which the stopped-recipient tests need short: 6 MB there.
#if defined(__SANITIZE_ADDRESS__)
  constexpr size_t kBigBytes = 6u << 20;
#else
  constexpr size_t kBigBytes = 20u << 20;
#endif
  const std::string big = w().path("big.bin");
  random_file(big, kBigBytes, 7);
  const std::string vn_name = "Công văn số 12 về việc triển khai.pdf";
  const std::string vn = small_file("vn.pdf", "%PDF-1.4 tài liệu thử nghiệm\n");
  const std::string id = submit("12/BA-VP", "V/v trao đổi văn bản điện tử", {{"phu-luc.bin", big}, {vn_name, vn}});
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(str(outgoing(id), "state"), "pending_signature");

  // A system may not sign; a leader may, with the token's PIN.
  EXPECT_EQ(w().call(w().a(), "sys-a", "POST", "/v1/outgoing/" + id + "/sign", R"({"pin":"1234"})").status, 403u);
  Reply s = w().call(w().a(), "leader-a", "POST", "/v1/outgoing/" + id + "/sign", R"({"pin":"1234"})");
  ASSERT_EQ(s.status, 200u) << s.error << s.body;
  EXPECT_EQ(str(s.json(), "state"), "queued");
  const bj::value out = outgoing(id);
  const std::string document_id = str(out, "document_id");
  ASSERT_FALSE(document_id.empty());

  // B verifies and stores it; its system sees it.
  auto docs = wait_at_b(document_id);
  ASSERT_EQ(docs.size(), 1u) << "B did not store the document";
  EXPECT_EQ(str(docs[0], "state"), "verified") << str(docs[0], "signer");
  const std::string in_id = str(docs[0], "id");
  Reply list = w().call(w().b(), "sys-b", "GET", "/v1/incoming");
  ASSERT_EQ(list.status, 200u);
  EXPECT_NE(list.body.find("\"id\":\"" + in_id + "\""), std::string::npos) << list.body;

  Reply meta = w().call(w().b(), "sys-b", "GET", "/v1/incoming/" + in_id);
  ASSERT_EQ(meta.status, 200u) << meta.body;
  const bj::value m = meta.json();
  EXPECT_EQ(str(m, "from"), kOrganA);
  EXPECT_EQ(str(m, "subject"), "V/v trao đổi văn bản điện tử");
  EXPECT_NE(str(m, "signer").find("Lãnh đạo a"), std::string::npos) << str(m, "signer");
  ASSERT_EQ(m.as_object().at("attachments").as_array().size(), 2u) << meta.body;

  // The envelope as A signed it, and both attachments, byte for byte.
  const std::string env_file = w().path("b-envelope.xml");
  Reply env = w().call(w().b(), "sys-b", "GET", "/v1/incoming/" + in_id + "/envelope", "", "", "", env_file);
  ASSERT_EQ(env.status, 200u) << env.error;
  EXPECT_EQ(sha256_hex_of_file(env_file), str(out.as_object().at("envelope"), "sha256"));
  // A streamed the 20 MB envelope through its signer; xmlsec1 (a DOM verifier) agrees.
  int xmlsec_rc = -1;
  const std::string xmlsec =
      run_capture("xmlsec1 --verify --trusted-pem '" + w().signing_ca() + "' '" + env_file + "' 2>&1", &xmlsec_rc);
  EXPECT_EQ(xmlsec_rc, 0) << xmlsec;
  EXPECT_NE(xmlsec.find("OK"), std::string::npos) << xmlsec;
  const std::vector<std::pair<std::string, std::string>> sent = {{"phu-luc.bin", big}, {vn_name, vn}};
  for (size_t i = 0; i < 2; ++i) {
    const std::string got = w().path("b-att-" + std::to_string(i));
    Reply a = w().call(w().b(), "sys-b", "GET", "/v1/incoming/" + in_id + "/attachments/" + std::to_string(i), "", "",
                       "", got);
    ASSERT_EQ(a.status, 200u) << a.error;
    EXPECT_EQ(sha256_hex_of_file(got), sha256_hex_of_file(sent[i].second)) << "attachment " << i;
    EXPECT_EQ(str(m.as_object().at("attachments").as_array()[i], "name"), sent[i].first);
    std::filesystem::remove(got);
  }
  std::filesystem::remove(big);

  // B's system reports it completed; A hears 01, 03 (implied) and 06.
  Reply done = w().call(w().b(), "sys-b", "POST", "/v1/incoming/" + in_id + "/status", R"({"state":"completed"})");
  ASSERT_EQ(done.status, 202u) << done.body;
  bj::value last;
  ASSERT_TRUE(wait_until(
      [&] {
        last = outgoing(id);
        return str(last, "state") == "completed" && has_code(last, "received", "01");
      },
      std::chrono::seconds(30)))
      << bj::serialize(last);
  EXPECT_TRUE(has_code(last, "received", "01"));
  EXPECT_TRUE(has_code(last, "received", "03"));
  EXPECT_TRUE(has_code(last, "received", "06"));
  auto states = history_states(last);
  for (const char* st : {"pending_signature", "signed", "queued", "sent", "delivered", "accepted", "completed"}) {
    EXPECT_NE(std::find(states.begin(), states.end(), st), states.end()) << st << " in " << bj::serialize(last);
  }
  // B's side: registered (03) then completed (06), both sent.
  Reply b_meta = w().call(w().b(), "sys-b", "GET", "/v1/incoming/" + in_id);
  EXPECT_EQ(str(b_meta.json(), "state"), "completed");
  EXPECT_TRUE(has_code(b_meta.json(), "sent", "01"));
  EXPECT_TRUE(has_code(b_meta.json(), "sent", "03"));
  EXPECT_TRUE(has_code(b_meta.json(), "sent", "06"));
}

TEST_F(E2e, SigningChecksThePinTheStateAndIdempotency) {
  const std::string meta = metadata_json("18/BA-VP", "V/v kiểm tra ký số");
  Form f = make_form(w().path("form-idem"), meta, {{"a.txt", small_file("idem.txt", "nội dung")}});
  auto post = [&] {
    gateway::ClientOptions o;
    o.ca_file = w().tls().cert("ca");
    o.client_cert = w().tls().cert("sys-a");
    o.client_key = w().tls().key("sys-a");
    auto c = gateway::HttpsClient::create("https://127.0.0.1:" + std::to_string(w().a().internal_port), o);
    gateway::ClientRequest r;
    r.path = "/v1/outgoing";
    r.content_type = f.content_type;
    r.body_file = f.file;
    r.headers.emplace_back("Idempotency-Key", "e2e-18");
    auto resp = c->send(r);
    Reply out;
    if (resp.ok()) {
      out.status = resp->status;
      out.body = resp->body;
    }
    return out;
  };
  Reply first = post(), again = post();
  ASSERT_EQ(first.status, 202u) << first.body;
  ASSERT_EQ(again.status, 202u) << again.body;
  const std::string id = str(first.json(), "id");
  EXPECT_EQ(str(again.json(), "id"), id);
  EXPECT_TRUE(again.json().as_object().at("existing").as_bool());
  // The same key with another body is 422, not the first document's id.
  f = make_form(w().path("form-idem2"), meta, {{"a.txt", small_file("idem2.txt", "nội dung khác")}});
  Reply changed = post();
  EXPECT_EQ(changed.status, 422u) << changed.body;
  EXPECT_NE(changed.body.find("idempotency.mismatch"), std::string::npos) << changed.body;
  // A system may not send as another organ.
  Form other = make_form(w().path("form-other"), metadata_json("19/BA-VP", "V/v giả danh", kOrganB, kOrganA),
                         {{"a.txt", small_file("other.txt", "x")}});
  EXPECT_EQ(w().call(w().a(), "sys-a", "POST", "/v1/outgoing", "", other.content_type, other.file).status, 403u);

  Reply wrong = w().call(w().a(), "leader-a", "POST", "/v1/outgoing/" + id + "/sign", R"({"pin":"9999"})");
  EXPECT_EQ(wrong.status, 403u) << wrong.body;
  EXPECT_EQ(wrong.body.find("9999"), std::string::npos);
  EXPECT_EQ(str(outgoing(id), "state"), "pending_signature");
  Reply ok = w().call(w().a(), "leader-a", "POST", "/v1/outgoing/" + id + "/sign", R"({"pin":"1234"})");
  ASSERT_EQ(ok.status, 200u) << ok.body;
  Reply twice = w().call(w().a(), "leader-a", "POST", "/v1/outgoing/" + id + "/sign", R"({"pin":"1234"})");
  EXPECT_EQ(twice.status, 409u) << twice.body;
  // The PIN never reaches a log.
  for (const Gateway* g : {&w().a(), &w().b()}) EXPECT_EQ(g->proc.log().find("\"pin\""), std::string::npos);
}

TEST_F(E2e, DocumentFromBReachesAByPullAndARefusesIt) {
  const std::string att = w().path("pull.bin");
  random_file(att, 5u << 20, 11);
  Form f = make_form(w().path("form-b"), metadata_json("20/BB-VP", "V/v đề nghị phối hợp", kOrganB, kOrganA),
                     {{"Đề nghị.bin", att}});
  Reply r = w().call(w().b(), "sys-b", "POST", "/v1/outgoing", "", f.content_type, f.file);
  ASSERT_EQ(r.status, 202u) << r.body;
  const std::string id = str(r.json(), "id");
  Reply s = w().call(w().b(), "leader-b", "POST", "/v1/outgoing/" + id + "/sign", R"({"pin":"1234"})");
  ASSERT_EQ(s.status, 200u) << s.body;
  Reply out = w().call(w().b(), "sys-b", "GET", "/v1/outgoing/" + id);
  const std::string document_id = str(out.json(), "document_id");

  // A polls the axis (pull mode) and stores it.
  bj::value doc;
  ASSERT_TRUE(wait_until(
      [&] {
        Reply l = w().call(w().a(), "sys-a", "GET", "/v1/incoming?limit=1000");
        if (l.status != 200) return false;
        const bj::value v = l.json();
        for (const auto& d : v.as_object().at("documents").as_array())
          if (str(d, "document_id") == document_id) doc = d;
        return doc.is_object();
      },
      std::chrono::seconds(30)));
  EXPECT_EQ(str(doc, "state"), "verified") << str(doc, "signer");
  const std::string in_id = str(doc, "id");
  const std::string got = w().path("pulled.bin");
  Reply a = w().call(w().a(), "sys-a", "GET", "/v1/incoming/" + in_id + "/attachments/0", "", "", "", got);
  ASSERT_EQ(a.status, 200u);
  EXPECT_EQ(sha256_hex_of_file(got), sha256_hex_of_file(att));
  EXPECT_NE(a.headers.get("Content-Disposition").value_or("").find("filename*=UTF-8''%C4%90%E1%BB%81"),
            std::string::npos);
  // The axis item is marked done: nothing is listed for A any more.
  EXPECT_TRUE(wait_until(
      [&] {
        const bj::value items = w().sim_items();
        if (!items.is_array()) return false;
        for (const auto& it : items.as_array())
          if (str(it, "to") == kOrganA && str(it, "messageType") == "edoc" && str(it, "status") != "done") return false;
        return true;
      },
      std::chrono::seconds(10)));

  // A refusal needs a reason; with one, B hears 02 and its document is refused.
  EXPECT_EQ(w().call(w().a(), "sys-a", "POST", "/v1/incoming/" + in_id + "/status", R"({"state":"refused"})").status,
            422u);
  Reply refuse = w().call(w().a(), "sys-a", "POST", "/v1/incoming/" + in_id + "/status",
                          R"({"state":"refused","reason":"Sai thẩm quyền","staff":{"name":"Lê Văn An"}})");
  ASSERT_EQ(refuse.status, 202u) << refuse.body;
  bj::value last;
  EXPECT_TRUE(wait_until(
      [&] {
        last = w().call(w().b(), "sys-b", "GET", "/v1/outgoing/" + id).json();
        return str(last, "state") == "refused" && has_code(last, "received", "02");
      },
      std::chrono::seconds(30)))
      << bj::serialize(last);
  // Refused is final: a later report is a conflict.
  EXPECT_EQ(w().call(w().a(), "sys-a", "POST", "/v1/incoming/" + in_id + "/status", R"({"state":"completed"})").status,
            409u);
}

// The VNPT library sends most files as a one-entry ZIP under the file's own
// name: the clerk gets the file inside; the bytes as received (what was
// signed) stay stored and are served with ?raw=1. A ZIP that is not one entry
// is kept as received with a note, and the document is still stored.
TEST_F(E2e, AZippedAttachmentReachesTheClerkUnpackedAndTheSignedBytesStay) {
  const std::string zdir = w().path("");
  const std::string inner = "Báo cáo tình hình thực hiện nhiệm vụ năm 2026\n";
  const std::string zipped = test::make_zip(zdir, {{"tmp8F3A.tmp", inner}});
  const std::string two = test::make_zip(zdir, {{"a.txt", "một"}, {"b.txt", "hai"}});
  const std::string z1 = small_file("bao-cao.txt", zipped);
  const std::string z2 = small_file("phu-luc.txt", two);
  const std::string id = submit("31/BA-VP", "V/v gửi báo cáo nén", {{"Báo cáo.txt", z1}, {"Phụ lục.txt", z2}});
  ASSERT_FALSE(id.empty());
  Reply s = w().call(w().a(), "leader-a", "POST", "/v1/outgoing/" + id + "/sign", R"({"pin":"1234"})");
  ASSERT_EQ(s.status, 200u) << s.error << s.body;
  const std::string document_id = str(outgoing(id), "document_id");
  auto docs = wait_at_b(document_id);
  ASSERT_EQ(docs.size(), 1u) << "B did not store the document";
  EXPECT_EQ(str(docs[0], "state"), "verified") << str(docs[0], "signer");
  const std::string in_id = str(docs[0], "id");
  Reply meta = w().call(w().b(), "sys-b", "GET", "/v1/incoming/" + in_id);
  ASSERT_EQ(meta.status, 200u) << meta.body;
  const bj::value doc = meta.json();
  const bj::array& atts = doc.as_object().at("attachments").as_array();
  ASSERT_EQ(atts.size(), 2u) << meta.body;
  const bj::object& a0 = atts[0].as_object();
  EXPECT_TRUE(a0.contains("unzipped")) << meta.body;
  EXPECT_EQ(str(atts[0], "name"), "Báo cáo.txt");
  EXPECT_EQ(a0.at("size").to_number<uint64_t>(), inner.size());
  EXPECT_EQ(str(atts[0], "sha256"), sha256_hex(inner));
  EXPECT_EQ(str(a0.at("as_received"), "sha256"), sha256_hex(zipped));
  const bj::object& a1 = atts[1].as_object();
  EXPECT_FALSE(a1.contains("unzipped"));
  EXPECT_NE(str(atts[1], "note").find("edxml.zip"), std::string::npos) << meta.body;
  EXPECT_EQ(str(atts[1], "sha256"), sha256_hex(two));

  const std::string got = w().path("zip-got");
  Reply d = w().call(w().b(), "sys-b", "GET", "/v1/incoming/" + in_id + "/attachments/0", "", "", "", got);
  ASSERT_EQ(d.status, 200u) << d.error;
  EXPECT_EQ(read_text(got), inner);
  Reply raw = w().call(w().b(), "sys-b", "GET", "/v1/incoming/" + in_id + "/attachments/0?raw=1", "", "", "", got);
  ASSERT_EQ(raw.status, 200u) << raw.error;
  EXPECT_EQ(read_text(got), zipped);
  Reply other = w().call(w().b(), "sys-b", "GET", "/v1/incoming/" + in_id + "/attachments/1", "", "", "", got);
  ASSERT_EQ(other.status, 200u) << other.error;
  EXPECT_EQ(read_text(got), two);
  std::filesystem::remove(got);
}

TEST_F(E2e, ForgedEnvelopeIsQuarantinedAtBAndRefusedToA) {
  auto [id, document_id] = submit_and_sign("13/BA-VP", "V/v kế hoạch năm 2027");
  ASSERT_FALSE(id.empty());
  auto docs = wait_at_b(document_id);
  ASSERT_EQ(docs.size(), 1u);
  const std::string genuine = str(docs[0], "id");
  const std::string env_file = w().path("genuine.xml");
  ASSERT_EQ(w().call(w().b(), "sys-b", "GET", "/v1/incoming/" + genuine + "/envelope", "", "", "", env_file).status,
            200u);
  std::string xml = read_text(env_file);
  const std::string from = "V/v kế hoạch năm 2027", to = "V/v kế hoạch năm 2028";
  auto at = xml.find(from);
  ASSERT_NE(at, std::string::npos);
  xml.replace(at, from.size(), to);
  write_text(w().path("forged.xml"), xml);

  // Injected at the axis with A's own VDXP credentials.
  auto axis = axis_client(kOrganA, "SYS-A", axis_secret(w().a()));
  ASSERT_TRUE(axis.ok()) << axis.error().message;
  auto sent = (*axis)->send_envelope(w().path("forged.xml"), {kOrganB}, gateway::AxisMessageType::edoc);
  ASSERT_TRUE(sent.ok()) << sent.error().message;

  docs = wait_at_b(document_id, 2);
  ASSERT_EQ(docs.size(), 2u);
  bj::value forged;
  for (const auto& d : docs)
    if (str(d, "id") != genuine) forged = d;
  EXPECT_EQ(str(forged, "state"), "quarantined");
  EXPECT_NE(str(forged, "signer").find("sig.digest"), std::string::npos) << str(forged, "signer");
  const std::string forged_id = str(forged, "id");
  // B's system does not see it at all; B's officer does.
  EXPECT_EQ(incoming_at_b(document_id, "sys-b").size(), 1u);
  EXPECT_EQ(w().call(w().b(), "sys-b", "GET", "/v1/incoming/" + forged_id).status, 404u);
  EXPECT_EQ(w().call(w().b(), "sys-b", "GET", "/v1/incoming?state=quarantined").body.find(forged_id),
            std::string::npos);
  Reply officer = w().call(w().b(), "officer-b", "GET", "/v1/incoming/" + forged_id);
  EXPECT_EQ(officer.status, 200u);
  EXPECT_EQ(str(officer.json(), "state"), "quarantined");

  // A hears the refusal (02) for that DocumentId.
  bj::value last;
  EXPECT_TRUE(wait_until(
      [&] {
        last = outgoing(id);
        return has_code(last, "received", "02");
      },
      std::chrono::seconds(30)))
      << bj::serialize(last);
  // The refusal names the hash of the envelope B refused; it is not A's, so
  // A records it and its genuine document keeps its state.
  EXPECT_NE(str(last, "state"), "refused") << bj::serialize(last);
}

TEST_F(E2e, RemoteSigningWithASoftwareKey) {
  w().issue_software_signer("remote", "Trần Hữu Linh");
  // Another civil servant's certificate of the same CA: a valid chain, not the leader's.
  w().issue_software_signer("stranger", "Lê Văn Khách");
  const std::string id = submit("14/BA-VP", "V/v ký số từ xa", {{"bao-cao.txt", small_file("remote.txt", "báo cáo")}});
  ASSERT_FALSE(id.empty());
  // A certificate as base64url of its DER.
  auto der_b64 = [&](const std::string& name) {
    int st = 0;
    std::string b64 =
        run_capture("openssl x509 -in " + w().path(name + ".pem") + " -outform DER | openssl base64 -A", &st);
    EXPECT_EQ(st, 0);
    for (char& c : b64) {
      if (c == '+') c = '-';
      if (c == '/') c = '_';
    }
    while (!b64.empty() && (b64.back() == '=' || b64.back() == '\n')) b64.pop_back();
    return b64;
  };
  const std::string to_sign = "/v1/outgoing/" + id + "/to-sign?cert=";
  // Issue 13: no certificate listed for leader-a (the default): no remote signing at all.
  Reply unlisted = w().call(w().a(), "leader-a", "GET", to_sign + der_b64("remote"));
  EXPECT_EQ(unlisted.status, 403u) << unlisted.body;
  EXPECT_EQ(problem_code(unlisted), "sign.cert_not_allowed") << unlisted.body;
  // The security officer lists the leader's own certificate.
  w().a().remote_signing_certs["leader-a"] = {World::certificate_fingerprint(w().path("remote.pem"))};
  w().reconfigure(w().a());

  const std::string tbs = w().path("to-sign.bin");
  Reply r = w().call(w().a(), "leader-a", "GET", to_sign + der_b64("remote"), "", "", "", tbs);
  ASSERT_EQ(r.status, 200u) << r.error << read_text(tbs);
  EXPECT_EQ(r.headers.get("X-Edxgate-Signature-Algorithm").value_or(""), "rsa-sha256");
  // A system may not fetch it.
  EXPECT_EQ(w().call(w().a(), "sys-a", "GET", to_sign + der_b64("remote")).status, 403u);
  // Nor the leader for another certificate, though it chains to the trust anchor.
  Reply stranger_tbs = w().call(w().a(), "leader-a", "GET", to_sign + der_b64("stranger"));
  EXPECT_EQ(stranger_tbs.status, 403u) << stranger_tbs.body;
  EXPECT_EQ(problem_code(stranger_tbs), "sign.cert_not_allowed") << stranger_tbs.body;

  auto sign = [&](const std::string& key, const std::string& file) {
    int rc = 0;
    std::string b64 =
        run_capture("openssl dgst -sha256 -sign " + w().path(key + ".key") + " " + file + " | openssl base64 -A", &rc);
    EXPECT_EQ(rc, 0) << b64;
    return b64;
  };
  auto body = [&](const std::string& sig, const std::string& cert) {
    return bj::serialize(
        bj::object{{"signature", sig}, {"certificates", bj::array{bj::value(read_text(w().path(cert + ".pem")))}}});
  };
  // A signature over other bytes: refused, still pending.
  write_text(w().path("other.bin"), read_text(tbs) + " ");
  Reply bad = w().call(w().a(), "leader-a", "POST", "/v1/outgoing/" + id + "/signature",
                       body(sign("remote", w().path("other.bin")), "remote"));
  EXPECT_EQ(bad.status, 422u) << bad.body;
  EXPECT_EQ(str(outgoing(id), "state"), "pending_signature");
  // A genuine signature by the stranger's key over the bytes prepared for it: refused
  // before the value is looked at, audited, still pending.
  const std::string stranger_file = w().path("to-sign-stranger.bin");
  {
    // The bytes for the stranger's certificate, prepared as if it were allowed.
    w().a().remote_signing_certs["leader-a"].push_back(World::certificate_fingerprint(w().path("stranger.pem")));
    w().reconfigure(w().a());
    Reply s = w().call(w().a(), "leader-a", "GET", to_sign + der_b64("stranger"), "", "", "", stranger_file);
    ASSERT_EQ(s.status, 200u) << read_text(stranger_file);
    w().a().remote_signing_certs["leader-a"].pop_back();
    w().reconfigure(w().a());
  }
  Reply refused = w().call(w().a(), "leader-a", "POST", "/v1/outgoing/" + id + "/signature",
                           body(sign("stranger", stranger_file), "stranger"));
  EXPECT_EQ(refused.status, 403u) << refused.body;
  EXPECT_EQ(problem_code(refused), "sign.cert_not_allowed") << refused.body;
  EXPECT_EQ(str(outgoing(id), "state"), "pending_signature");
  const std::string stranger_fp = World::certificate_fingerprint(w().path("stranger.pem"));
  Reply summary = w().call(w().a(), "officer-a", "GET", "/v1/summary");
  ASSERT_EQ(summary.status, 200u) << summary.body;
  size_t audited = 0;
  const bj::value recent = summary.json();
  for (const auto& row : recent.as_object().at("audit").as_object().at("recent").as_array()) {
    if (str(row, "action") == "document.sign" && str(row, "actor") == "leader-a" && str(row, "outcome") == "failed" &&
        str(row, "detail").find("sign.cert_not_allowed: " + stranger_fp) != std::string::npos)
      ++audited;
  }
  EXPECT_EQ(audited, 2u) << summary.body;  // at to-sign and at signature

  Reply good =
      w().call(w().a(), "leader-a", "POST", "/v1/outgoing/" + id + "/signature", body(sign("remote", tbs), "remote"));
  ASSERT_EQ(good.status, 200u) << good.body;
  EXPECT_EQ(str(good.json(), "state"), "queued");
  const std::string document_id = str(outgoing(id), "document_id");
  auto docs = wait_at_b(document_id);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(str(docs[0], "state"), "verified") << str(docs[0], "signer");
  EXPECT_NE(str(docs[0], "signer").find("Trần Hữu Linh"), std::string::npos) << str(docs[0], "signer");
}

TEST_F(E2e, AxisDownThenBackDeliversExactlyOnce) {
  w().sim().kill();
  auto [id, document_id] = submit_and_sign("15/BA-VP", "V/v trục liên thông tạm ngừng");
  ASSERT_FALSE(id.empty());
  // A tries and fails at least twice.
  const auto failures = [&] {
    const std::string log = w().a().proc.log();
    size_t n = 0;
    for (size_t p = 0; (p = log.find("send to the axis failed", p)) != std::string::npos; ++p) ++n;
    return n;
  };
  const size_t before = failures();
  EXPECT_TRUE(wait_until([&] { return failures() >= before + 2; }, std::chrono::seconds(15)));
  EXPECT_EQ(str(outgoing(id), "state"), "queued");
  w().start_sim();
  auto docs = wait_at_b(document_id);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(str(docs[0], "state"), "verified");
  // Nothing more arrives later.
  bj::value last;
  EXPECT_TRUE(wait_until(
      [&] {
        last = outgoing(id);
        return has_code(last, "received", "01");
      },
      std::chrono::seconds(20)))
      << bj::serialize(last);
  EXPECT_EQ(incoming_at_b(document_id).size(), 1u);
}

TEST_F(E2e, SenderKilledWhileSendingDeliversExactlyOnce) {
  // The axis holds A's send for 3 s; A is killed meanwhile. The axis then
  // takes that first copy (A never hears of it) and B stores it.
  const size_t before = edocs_to_b();
  const int64_t calls = w().sim_send_calls("SYS-A");
  ASSERT_GE(calls, 0);
  ASSERT_TRUE(w().sim_fault(R"({"mode":"delay","call":"sendEdoc","system":"SYS-A","count":1,"delay_ms":3000})"));
  auto [id, document_id] = submit_and_sign("16/BA-VP", "V/v gửi lại sau sự cố");
  ASSERT_FALSE(id.empty());
  // Killed once its send is at the axis (held there), never before.
  ASSERT_TRUE(wait_until([&] { return w().sim_send_calls("SYS-A") > calls; }, std::chrono::seconds(20)));
  w().a().proc.kill();
  // While A is down, and for a while after its restart, the axis refuses
  // sends (it still lists and relays), so B's 01 reaches A before A's resend.
  ASSERT_TRUE(w().sim_fault(R"({"mode":"refuse","call":"sendEdoc","system":"SYS-A"})"));
  ASSERT_EQ(wait_at_b(document_id).size(), 1u);
  EXPECT_EQ(edocs_to_b() - before, 1u);
  w().start(w().a());
  bj::value last;
  EXPECT_TRUE(wait_until(
      [&] {
        last = outgoing(id);
        return has_code(last, "received", "01");
      },
      std::chrono::seconds(20)))
      << bj::serialize(last);
  const int64_t refused_calls = w().sim_send_calls("SYS-A");
  ASSERT_TRUE(w().sim_fault(R"({"mode":"none"})"));
  // A resends (at least once is the contract). The axis knows that file from
  // that system: it answers with the first DocId and routes nothing again.
  EXPECT_TRUE(wait_until([&] { return w().sim_send_calls("SYS-A") > refused_calls; }, std::chrono::seconds(20)));
  EXPECT_TRUE(wait_until(
      [&] {
        const bj::value items = w().sim_items();
        if (!items.is_array()) return false;
        for (const auto& it : items.as_array())
          if (str(it, "to") == kOrganB && str(it, "messageType") == "edoc" && str(it, "status") != "pushed")
            return false;
        return true;
      },
      std::chrono::seconds(20)));
  EXPECT_EQ(edocs_to_b() - before, 1u);
  EXPECT_EQ(incoming_at_b(document_id).size(), 1u);
  // The recipient's 01 moved A's document on, although it came before the
  // resend completed.
  EXPECT_TRUE(wait_until([&] { return str(last = outgoing(id), "state") == "delivered"; }, std::chrono::seconds(10)))
      << bj::serialize(last);
}

TEST_F(E2e, RecipientStoppedMidPushIsRetriedAndStoresOnce) {
  w().b().proc.signal(SIGSTOP);
  auto [id, document_id] = submit_and_sign("17/BA-VP", "V/v nhận lại khi bên nhận dừng");
  ASSERT_FALSE(id.empty());
  // The axis' push to the stopped B times out (3 s) at least once.
  auto attempts = [&]() -> int64_t {
    int64_t best = 0;
    auto items = w().sim_items();
    if (!items.is_array()) return 0;
    for (const auto& it : items.as_array()) {
      if (str(it, "to") != kOrganB || str(it, "status") != "pending") continue;
      const auto* n = it.as_object().if_contains("pushAttempts");
      if (n && n->is_int64()) best = std::max(best, n->as_int64());
    }
    return best;
  };
  ASSERT_TRUE(wait_until([&] { return attempts() >= 2; }, std::chrono::seconds(20)));
  w().b().proc.kill();
  w().start(w().b());
  auto docs = wait_at_b(document_id);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(str(docs[0], "state"), "verified");

  // The same bytes pushed again (an axis retry after a lost answer): the same
  // document, stored once.
  const std::string env_file = w().path("pushed.xml");
  ASSERT_EQ(w().call(w().b(), "sys-b", "GET", "/v1/incoming/" + str(docs[0], "id") + "/envelope", "", "", "", env_file)
                .status,
            200u);
  const auto resp = push_as_axis(env_file, kOrganA);
  EXPECT_EQ(resp.status, 200u) << resp.body;
  EXPECT_NE(resp.body.find("\"DocId\":\"" + str(docs[0], "id") + "\""), std::string::npos) << resp.body;
  EXPECT_EQ(incoming_at_b(document_id).size(), 1u);
}

// Issue 13: a push must say whom it is from (the envelope's From is checked
// against it), and the check ignores case: an axis that writes the organ id
// in lower case is still the sender's. The envelope is one B has never
// stored: taken from the axis while B is stopped, and marked done there so
// that the axis does not push it itself.
TEST_F(E2e, APushWithoutFromIsRefusedAndFromIsComparedWithoutCase) {
  w().b().proc.signal(SIGSTOP);
  auto [id, document_id] = submit_and_sign("44/BA-VP", "V/v người gửi viết thường");
  ASSERT_FALSE(id.empty());
  auto as_b = axis_client(kOrganB, "SYS-B", axis_secret(w().b()));
  ASSERT_TRUE(as_b.ok()) << as_b.error().message;
  // The newest edoc from A waiting for B at the axis is ours.
  std::string axis_id;
  ASSERT_TRUE(wait_until(
      [&] {
        auto items = (*as_b)->list_received({});
        if (!items.ok()) return false;
        for (const auto& it : *items)
          if (it.from == kOrganA && it.message_type == "edoc") axis_id = it.doc_id;
        return !axis_id.empty();
      },
      std::chrono::seconds(20)));
  const std::string env_file = w().path("from-case.xml");
  ASSERT_TRUE((*as_b)->get(axis_id, env_file).ok());
  ASSERT_TRUE((*as_b)->update_status(axis_id, gateway::AxisItemStatus::done).ok());
  // A push begun before the mark times out (3 s) on the stopped B.
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  w().b().proc.signal(SIGCONT);

  // Signed, but from nobody: refused before anything is stored.
  auto nobody = push_as_axis(env_file, "");
  EXPECT_EQ(nobody.status, 400u) << nobody.body;
  EXPECT_NE(nobody.body.find("vdxp.from"), std::string::npos) << nobody.body;
  EXPECT_TRUE(incoming_at_b(document_id).empty());
  // From A, in lower case: A's document, verified, not quarantined as from another sender.
  std::string lower = kOrganA;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  ASSERT_NE(lower, kOrganA);
  auto lowercase = push_as_axis(env_file, lower);
  EXPECT_EQ(lowercase.status, 200u) << lowercase.body;
  auto docs = incoming_at_b(document_id);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(str(docs[0], "state"), "verified") << bj::serialize(docs[0]);
}

TEST_F(E2e, RecipientKilledMidPushStoresTheRetryOnceAndLeavesNoSpool) {
  const std::string big = w().path("big2.bin");
  random_file(big, 20u << 20, 13);
  const std::string id = submit("21/BA-VP", "V/v bên nhận dừng giữa chừng", {{"lon.bin", big}});
  ASSERT_FALSE(id.empty());
  const std::string spool = w().b().state_dir() + "/spool";
  auto partial = [&] {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(spool, ec))
      if (e.path().filename().string().rfind("body-", 0) == 0 && e.file_size(ec) > 0) return true;
    return false;
  };
  Reply s = w().call(w().a(), "leader-a", "POST", "/v1/outgoing/" + id + "/sign", R"({"pin":"1234"})");
  ASSERT_EQ(s.status, 200u) << s.body;
  const std::string document_id = str(outgoing(id), "document_id");
  // SIGKILL B as soon as the pushed body is being spooled.
  bool caught = false;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < end && !caught) {
    if (partial()) {
      w().b().proc.kill();
      caught = true;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  std::printf("B killed mid-push: %s\n", caught ? "yes" : "no (the push was over first)");
  if (caught) w().start(w().b());
  auto docs = wait_at_b(document_id);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(str(docs[0], "state"), "verified");
  std::filesystem::remove(big);
  // What the killed B had spooled is gone after its restart. A retried push
  // still in flight (the simulator gives up on a slow answer and pushes
  // again, e.g. under sanitizers) holds its own spool file until it ends, so
  // wait for in-flight requests to finish.
  std::vector<std::string> left;
  const bool empty = wait_until(
      [&] {
        left.clear();
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(spool, ec))
          left.push_back(e.path().filename().string());
        return left.empty();
      },
      std::chrono::seconds(60));
  EXPECT_TRUE(empty) << left.size() << " file(s) left in " << spool << ", e.g. " << (left.empty() ? "" : left.front());
  EXPECT_EQ(incoming_at_b(document_id).size(), 1u);
}

TEST_F(E2e, StatusFromAnotherSystemClaimingToBeTheRecipientIsRefused) {
  auto [id, document_id] = submit_and_sign("22/BA-VP", "V/v trạng thái giả mạo");
  ASSERT_FALSE(id.empty());
  auto docs = wait_at_b(document_id);
  ASSERT_EQ(docs.size(), 1u);
  bj::value last;
  ASSERT_TRUE(wait_until([&] { return str(last = outgoing(id), "state") == "delivered"; }, std::chrono::seconds(20)))
      << bj::serialize(last);
  // System C (organ G03) writes an unsigned 06 "from B" about A's document
  // and sends it to A through the axis with its own credentials.
  const std::string env_file = w().path("for-status.xml");
  ASSERT_EQ(w().call(w().b(), "sys-b", "GET", "/v1/incoming/" + str(docs[0], "id") + "/envelope", "", "", "", env_file)
                .status,
            200u);
  int st = 0;
  std::string out = run_capture(bin("edxgate") + " status make --for " + env_file + " --from " + kOrganB +
                                    " --code 06 -o " + w().path("fake-06.xml"),
                                &st);
  ASSERT_EQ(st, 0) << out;
  auto axis = axis_client(kOrganC, "SYS-C", "secret-c-0123456789");
  ASSERT_TRUE(axis.ok()) << axis.error().message;
  auto sent = (*axis)->send_status(w().path("fake-06.xml"), {kOrganA});
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  // A pulls it and answers the axis (done or fail).
  EXPECT_TRUE(wait_until(
      [&] {
        const bj::value items = w().sim_items();
        if (!items.is_array()) return false;
        for (const auto& it : items.as_array())
          if (str(it, "docId") == *sent) return str(it, "status") == "done" || str(it, "status") == "fail";
        return false;
      },
      std::chrono::seconds(20)));
  last = outgoing(id);
  EXPECT_EQ(str(last, "state"), "delivered") << bj::serialize(last);
  EXPECT_FALSE(has_code(last, "received", "06")) << bj::serialize(last);
}

TEST_F(E2e, RecipientStoppedThenResumedStoresOnce) {
  // Like above, but B is resumed (SIGCONT) rather than killed: the pushes that
  // timed out are still in its accept queue, their client long gone.
  w().b().proc.signal(SIGSTOP);
  auto [id, document_id] = submit_and_sign("23/BA-VP", "V/v bên nhận tiếp tục");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(wait_until(
      [&] {
        const bj::value items = w().sim_items();
        if (!items.is_array()) return false;
        for (const auto& it : items.as_array()) {
          const auto* n = it.as_object().if_contains("pushAttempts");
          if (str(it, "to") == kOrganB && str(it, "status") == "pending" && n && n->is_int64() && n->as_int64() >= 2)
            return true;
        }
        return false;
      },
      std::chrono::seconds(20)));
  w().b().proc.signal(SIGCONT);
  auto docs = wait_at_b(document_id);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(str(docs[0], "state"), "verified");
  bj::value last;
  EXPECT_TRUE(wait_until([&] { return has_code(last = outgoing(id), "received", "01"); }, std::chrono::seconds(20)))
      << bj::serialize(last);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(incoming_at_b(document_id).size(), 1u);
  // B still serves.
  EXPECT_EQ(w().call(w().b(), "officer-b", "GET", "/v1/incoming?limit=1").status, 200u);
}

TEST_F(E2e, AWrongPinIsRefusedWhileTheGatewaysOwnKeyIsInUse) {
  // B's gateway signs its status messages with its configured (unattended)
  // key; once it has, a leader's sign with a wrong PIN must still fail.
  auto [id, document_id] = submit_and_sign("24/BA-VP", "V/v mã PIN");
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(wait_at_b(document_id).size(), 1u);
  bj::value last;
  ASSERT_TRUE(wait_until([&] { return has_code(last = outgoing(id), "received", "01"); }, std::chrono::seconds(20)));
  // B has now signed a status (its 01) with its own key. B's system submits;
  // B's leader signs with a wrong PIN.
  Form fb = make_form(w().path("form-pin-b"), metadata_json("25/BB-VP", "V/v mã PIN sai", kOrganB, kOrganA),
                      {{"b.txt", small_file("pin-b.txt", "y")}});
  Reply r = w().call(w().b(), "sys-b", "POST", "/v1/outgoing", "", fb.content_type, fb.file);
  ASSERT_EQ(r.status, 202u) << r.body;
  const std::string bid = str(r.json(), "id");
  Reply wrong = w().call(w().b(), "leader-b", "POST", "/v1/outgoing/" + bid + "/sign", R"({"pin":"0000"})");
  EXPECT_EQ(wrong.status, 403u) << wrong.body;
  Reply st = w().call(w().b(), "sys-b", "GET", "/v1/outgoing/" + bid);
  EXPECT_EQ(str(st.json(), "state"), "pending_signature") << st.body;
  Reply right = w().call(w().b(), "leader-b", "POST", "/v1/outgoing/" + bid + "/sign", R"({"pin":"1234"})");
  EXPECT_EQ(right.status, 200u) << right.body;
  // And the gateway's own key still signs afterwards (A's 01 for it is signed
  // by A; B's next status is signed by B: nothing logged as unsigned).
  EXPECT_EQ(w().b().proc.log().find("sent unsigned"), std::string::npos);
}

TEST_F(E2e, ConcurrentSigningChecksEveryPin) {
  // Six leaders sign at once on A's token, every other one with a wrong PIN.
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    ids.push_back(submit(std::to_string(70 + i) + "/BA-VP", "V/v ký đồng thời " + std::to_string(i),
                         {{"c.txt", small_file("conc-" + std::to_string(i), "nội dung " + std::to_string(i))}}));
    ASSERT_FALSE(ids.back().empty());
  }
  std::vector<unsigned> status(ids.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < ids.size(); ++i) {
    threads.emplace_back([&, i] {
      const std::string pin = i % 2 == 0 ? R"({"pin":"1234"})" : R"({"pin":"4321"})";
      status[i] = w().call(w().a(), "leader-a", "POST", "/v1/outgoing/" + ids[i] + "/sign", pin).status;
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(status[i], i % 2 == 0 ? 200u : 403u) << "signer " << i;
    EXPECT_EQ(str(outgoing(ids[i]), "state") == "pending_signature", i % 2 == 1) << "document " << i;
  }
  for (size_t i = 0; i < ids.size(); i += 2) {
    EXPECT_EQ(wait_at_b(str(outgoing(ids[i]), "document_id")).size(), 1u) << "document " << i;
  }
}

// A stand-in axis that records every call: what both gateways sent it during
// this test (and the ones before it) must be the SDK's dialect, or the real
// axis would refuse it.
TEST_F(E2e, EveryCallTheGatewaysMakeToTheAxisSpeaksTheSdkDialect) {
  // Every kind of call: A sends a document (sendEdoc edoc), pushed to B; B
  // answers 01 (sendEdoc status); A pulls that (list, getEdoc, updateStatus).
  auto [id, document_id] = submit_and_sign("25/BA-VP", "V/v kiểm tra giao thức trục");
  ASSERT_FALSE(id.empty());
  bj::value last;
  ASSERT_TRUE(wait_until([&] { return has_code(last = outgoing(id), "received", "01"); }, std::chrono::seconds(30)))
      << bj::serialize(last);

  gateway::ClientOptions o;
  o.ca_file = w().tls().cert("ca");
  o.max_response_bytes = 64ull << 20;
  auto c = gateway::HttpsClient::create(w().sim_url(), o);
  ASSERT_TRUE(c.ok());
  gateway::ClientRequest r;
  r.method = "GET";
  r.path = "/_sim/requests";
  // A marks the pulled 01 done (updateStatus) just after storing it: wait for that call too.
  Result<bj::value> calls = make_error(ErrorKind::internal, "test.none", "no answer");
  wait_until(
      [&] {
        auto resp = c->send(r);
        if (!resp.ok() || resp->status != 200) return false;
        calls = json::parse(resp->body);
        return calls.ok() && resp->body.find("/updateStatus") != std::string::npos;
      },
      std::chrono::seconds(15));
  ASSERT_TRUE(calls.ok() && calls->is_array());
  std::set<std::string> kinds;
  size_t checked = 0;
  for (const auto& call : calls->as_array()) {
    std::string system, type;
    for (const auto& kv : call.as_object().at("headers").as_array()) {
      const std::string k(kv.as_array()[0].as_string());
      if (k == "XroadVnpt-systemid") system = kv.as_array()[1].as_string();
      if (k == "XroadVnpt-messagetype") type = kv.as_array()[1].as_string();
    }
    const std::string path(call.as_object().at("call").as_string());
    kinds.insert(path + (path == "/sendEdoc" ? ":" + type : ""));
    ++checked;
    for (const auto& p : testing::check_sdk_dialect(call)) ADD_FAILURE() << system << " " << path << ": " << p;
    if (system == "SYS-A" || system == "SYS-B") {
      EXPECT_NE(call.as_object().at("status").as_int64(), 401) << system << " " << path << " was not understood";
    }
  }
  std::printf("calls recorded and checked: %zu\n", checked);
  for (const char* k : {"/sendEdoc:edoc", "/sendEdoc:status", "/getReceivedEdocList", "/getEdoc", "/updateStatus"})
    EXPECT_TRUE(kinds.count(k)) << k << " was never made";
}

// Issue 16, tracking and reports: B's system assigns three documents from A
// to units with deadlines (one met, one missed, one overdue now) and the
// officers read the reports through HTTP.
TEST_F(E2e, ReportsCountDeadlinesMetMissedAndOverdue) {
  using namespace std::chrono;
  const int64_t now_s = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
  auto vn_day = [](int64_t s) {
    time_t t = static_cast<time_t>(s + 7 * 3600);
    struct tm tm {};
    gmtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return std::string(buf);
  };
  const std::string yesterday = vn_day(now_s - 86400), tomorrow = vn_day(now_s + 86400);
  Reply before = w().call(w().a(), "officer-a", "GET", "/v1/reports/outgoing");
  ASSERT_EQ(before.status, 200u) << before.body;
  auto organ_count = [](const bj::value& report, const char* count) -> int64_t {
    for (const auto& o : report.as_object().at("organs").as_array()) {
      if (str(o, "organ_id") == kOrganB) return o.as_object().at(count).as_int64();
    }
    return 0;
  };
  const int64_t completed_before = organ_count(before.json(), "completed");

  std::vector<std::string> in_ids;
  for (const char* code : {"61/BA-VP", "62/BA-VP", "63/BA-VP"}) {
    auto [id, document_id] = submit_and_sign(code, std::string("V/v theo dõi hạn xử lý ") + code);
    ASSERT_FALSE(document_id.empty());
    auto docs = wait_at_b(document_id);
    ASSERT_EQ(docs.size(), 1u);
    in_ids.push_back(str(docs[0], "id"));
  }
  auto report = [&](const std::string& id, const std::string& body) {
    Reply r = w().call(w().b(), "sys-b", "POST", "/v1/incoming/" + id + "/status", body);
    EXPECT_EQ(r.status, 202u) << r.body;
  };
  const std::string legal = R"("staff":{"name":"Trần Thị Hoa","department":"Vụ Pháp chế, e2e"})";
  report(in_ids[0], R"({"state":"assigned","deadline":")" + tomorrow + R"(",)" + legal + "}");
  report(in_ids[0], R"({"state":"completed",)" + legal + "}");
  report(in_ids[1], R"({"state":"assigned","deadline":")" + yesterday + R"(",)" + legal + "}");
  report(in_ids[1], R"({"state":"completed",)" + legal + "}");
  report(in_ids[2], R"({"state":"assigned","deadline":")" + yesterday +
                        R"(","staff":{"name":"Lê Văn An","department":"Văn phòng, e2e"}})");
  // A deadline with another state, or not a day: 422, nothing changes.
  Reply bad = w().call(w().b(), "sys-b", "POST", "/v1/incoming/" + in_ids[2] + "/status",
                       R"({"state":"processing","deadline":")" + tomorrow + R"("})");
  EXPECT_EQ(bad.status, 422u) << bad.body;
  EXPECT_NE(bad.body.find("report.deadline"), std::string::npos) << bad.body;

  Reply in = w().call(w().b(), "officer-b", "GET", "/v1/reports/incoming?from=" + yesterday + "&to=" + tomorrow);
  ASSERT_EQ(in.status, 200u) << in.body;
  std::map<std::string, bj::object> units;
  const bj::value in_report = in.json();
  for (const auto& u : in_report.as_object().at("units").as_array()) units[str(u, "unit")] = u.as_object();
  ASSERT_TRUE(units.count("Vụ Pháp chế, e2e")) << in.body;
  ASSERT_TRUE(units.count("Văn phòng, e2e")) << in.body;
  EXPECT_EQ(units["Vụ Pháp chế, e2e"].at("received").as_int64(), 2);
  EXPECT_EQ(units["Vụ Pháp chế, e2e"].at("done_on_time").as_int64(), 1);
  EXPECT_EQ(units["Vụ Pháp chế, e2e"].at("done_late").as_int64(), 1);
  EXPECT_EQ(units["Văn phòng, e2e"].at("overdue").as_int64(), 1);
  EXPECT_EQ(units["Văn phòng, e2e"].at("in_progress").as_int64(), 0);

  // Officers only; a reversed period is 422, a malformed day 400.
  EXPECT_EQ(w().call(w().b(), "sys-b", "GET", "/v1/reports/incoming").status, 403u);
  EXPECT_EQ(w().call(w().b(), "leader-b", "GET", "/v1/reports/outgoing").status, 403u);
  Reply reversed = w().call(w().b(), "officer-b", "GET", "/v1/reports/incoming?from=" + tomorrow + "&to=" + yesterday);
  EXPECT_EQ(reversed.status, 422u) << reversed.body;
  EXPECT_NE(reversed.body.find("report.range"), std::string::npos) << reversed.body;
  EXPECT_EQ(w().call(w().b(), "officer-b", "GET", "/v1/reports/incoming?from=2026-13-01").status, 400u);

  // A's view, from the statuses B sent back: two more completed by B.
  bj::value after;
  EXPECT_TRUE(wait_until(
      [&] {
        Reply r = w().call(w().a(), "officer-a", "GET", "/v1/reports/outgoing");
        if (r.status != 200) return false;
        after = r.json();
        // A pulls B's statuses: the 04 of the third may come after the 06s.
        return organ_count(after, "completed") >= completed_before + 2 && organ_count(after, "in_progress") >= 1;
      },
      std::chrono::seconds(40)))
      << bj::serialize(after);
  EXPECT_EQ(organ_count(after, "completed"), completed_before + 2);
  EXPECT_GE(organ_count(after, "in_progress"), 1);
}

// --- issue 13: who signs, secret documents, DocumentId, each system its own ---

TEST_F(E2e, OnlyALeaderWithItsPinSignsAndTheHistoryNamesTheCertificate) {
  const std::string id = submit("40/BA-VP", "V/v quy tắc ký", {{"k.txt", small_file("pin-rule.txt", "ký")}});
  ASSERT_FALSE(id.empty());
  const std::string path = "/v1/outgoing/" + id + "/sign";
  // Officers never sign, even with the right PIN.
  EXPECT_EQ(w().call(w().a(), "officer-a", "POST", path, R"({"pin":"1234"})").status, 403u);
  // Personal mode: the gateway's configured PIN (pin_file) is never used for a document.
  Reply no_pin = w().call(w().a(), "leader-a", "POST", path, "{}");
  EXPECT_EQ(no_pin.status, 400u) << no_pin.body;
  EXPECT_EQ(problem_code(no_pin), "sign.pin_required") << no_pin.body;
  // A key that is not configured for this leader.
  Reply other_key =
      w().call(w().a(), "leader-a", "POST", path, R"({"pin":"1234","key_uri":"pkcs11:token=gw-a;object=other"})");
  EXPECT_EQ(other_key.status, 403u) << other_key.body;
  EXPECT_EQ(problem_code(other_key), "sign.key_not_allowed") << other_key.body;
  EXPECT_EQ(str(outgoing(id), "state"), "pending_signature");
  // The refusal is audited, naming the key.
  Reply summary = w().call(w().a(), "officer-a", "GET", "/v1/summary");
  ASSERT_EQ(summary.status, 200u) << summary.body;
  bool audited = false;
  const bj::value audit = summary.json();
  for (const auto& row : audit.as_object().at("audit").as_object().at("recent").as_array()) {
    audited =
        audited ||
        (str(row, "action") == "document.sign" && str(row, "actor") == "leader-a" && str(row, "outcome") == "failed" &&
         str(row, "detail").find("sign.key_not_allowed: pkcs11:token=gw-a;object=other") != std::string::npos);
  }
  EXPECT_TRUE(audited) << summary.body;
  Reply ok = w().call(w().a(), "leader-a", "POST", path, R"({"pin":"1234"})");
  ASSERT_EQ(ok.status, 200u) << ok.body;
  sh("openssl x509 -in " + w().a().dir + "/sign.pem -outform DER -out " + w().a().dir + "/sign.der");
  const std::string fingerprint = sha256_hex_of_file(w().a().dir + "/sign.der");
  bool named = false;
  const bj::value doc = outgoing(id);
  for (const auto& h : doc.as_object().at("history").as_array()) {
    if (str(h, "state") != "signed") continue;
    EXPECT_NE(str(h, "reason").find("signed by leader-a"), std::string::npos) << str(h, "reason");
    named = str(h, "reason").find("sha256:" + fingerprint) != std::string::npos;
  }
  EXPECT_TRUE(named) << bj::serialize(doc);
}

TEST_F(E2e, SecretDocumentsAreRefusedAtSubmissionAndOnArrival) {
  // At submission: the classification field, in any spelling, and a stamp in the subject.
  for (const std::string& level : {std::string("Tối mật"), std::string("TUYET MAT")}) {
    auto meta = json::parse(metadata_json("41/BA-VP", "Báo cáo"));
    ASSERT_TRUE(meta.ok());
    meta->as_object()["security_level"] = level;
    Form f = make_form(w().path("form-secret"), bj::serialize(*meta), {{"m.txt", small_file("secret.txt", "x")}});
    Reply r = w().call(w().a(), "sys-a", "POST", "/v1/outgoing", "", f.content_type, f.file);
    EXPECT_EQ(r.status, 422u) << level << r.body;
    EXPECT_EQ(problem_code(r), "policy.secret") << r.body;
  }
  Form stamped = make_form(w().path("form-stamped"), metadata_json("42/BA-VP", "[MẬT] Báo cáo"),
                           {{"m.txt", small_file("secret2.txt", "x")}});
  Reply r = w().call(w().a(), "sys-a", "POST", "/v1/outgoing", "", stamped.content_type, stamped.file);
  EXPECT_EQ(r.status, 422u) << r.body;
  EXPECT_EQ(problem_code(r), "policy.secret") << r.body;

  // On arrival: a genuine envelope of A's, its subject stamped "TỐI MẬT" and
  // injected at the axis with A's credentials, is quarantined at B with
  // policy.secret (before its signature is even looked at) and A hears 02.
  auto [id, document_id] = submit_and_sign("43/BA-VP", "V/v kế hoạch phòng thủ");
  ASSERT_FALSE(id.empty());
  auto docs = wait_at_b(document_id);
  ASSERT_EQ(docs.size(), 1u);
  const std::string env_file = w().path("to-stamp.xml");
  ASSERT_EQ(w().call(w().b(), "sys-b", "GET", "/v1/incoming/" + str(docs[0], "id") + "/envelope", "", "", "", env_file)
                .status,
            200u);
  std::string xml = read_text(env_file);
  const std::string from = "V/v kế hoạch phòng thủ";
  auto at = xml.find(from);
  ASSERT_NE(at, std::string::npos);
  xml.replace(at, from.size(), "TỐI MẬT - " + from);
  write_text(w().path("stamped.xml"), xml);
  auto axis = axis_client(kOrganA, "SYS-A", axis_secret(w().a()));
  ASSERT_TRUE(axis.ok()) << axis.error().message;
  ASSERT_TRUE((*axis)->send_envelope(w().path("stamped.xml"), {kOrganB}, gateway::AxisMessageType::edoc).ok());
  docs = wait_at_b(document_id, 2);
  ASSERT_EQ(docs.size(), 2u);
  bj::value stamped_doc;
  for (const auto& d : docs)
    if (str(d, "state") == "quarantined") stamped_doc = d;
  EXPECT_NE(str(stamped_doc, "signer").find("policy.secret"), std::string::npos) << bj::serialize(stamped_doc);
  EXPECT_EQ(w().call(w().b(), "sys-b", "GET", "/v1/incoming/" + str(stamped_doc, "id")).status, 404u);
  bj::value last;
  EXPECT_TRUE(wait_until([&] { return has_code(last = outgoing(id), "received", "02"); }, std::chrono::seconds(30)))
      << bj::serialize(last);
}

TEST_F(E2e, ASecondDocumentWithTheSameDocumentIdIsAConflict) {
  const std::string first = submit("44/BA-VP", "V/v lần một", {{"a.txt", small_file("dup1.txt", "1")}});
  ASSERT_FALSE(first.empty());
  Form f = make_form(w().path("form-dup"), metadata_json("44/BA-VP", "V/v lần hai, cùng số và ngày"),
                     {{"b.txt", small_file("dup2.txt", "2")}});
  Reply r = w().call(w().a(), "sys-a", "POST", "/v1/outgoing", "", f.content_type, f.file);
  EXPECT_EQ(r.status, 409u) << r.body;
  EXPECT_EQ(problem_code(r), "document.duplicate_id") << r.body;
}

TEST_F(E2e, TwoSystemsOfDifferentOrgansOnOneGatewaySeeOnlyTheirOwn) {
  // B sends A a document; A's system (organ G01) sees it, sys-a2 (organ G04) does not.
  Form fb = make_form(w().path("form-own-b"), metadata_json("26/BB-VP", "V/v gửi bộ A", kOrganB, kOrganA),
                      {{"b.txt", small_file("own-b.txt", "b")}});
  Reply sb = w().call(w().b(), "sys-b", "POST", "/v1/outgoing", "", fb.content_type, fb.file);
  ASSERT_EQ(sb.status, 202u) << sb.body;
  const std::string bid = str(sb.json(), "id");
  ASSERT_EQ(w().call(w().b(), "leader-b", "POST", "/v1/outgoing/" + bid + "/sign", R"({"pin":"1234"})").status, 200u);
  Reply bdoc = w().call(w().b(), "sys-b", "GET", "/v1/outgoing/" + bid);
  const std::string document_id = str(bdoc.json(), "document_id");
  std::string at_a;
  ASSERT_TRUE(wait_until(
      [&] {
        const bj::value l = w().call(w().a(), "sys-a", "GET", "/v1/incoming?limit=1000").json();
        if (!l.is_object() || !l.as_object().contains("documents")) return false;
        for (const auto& d : l.as_object().at("documents").as_array())
          if (str(d, "document_id") == document_id) at_a = str(d, "id");
        return !at_a.empty();
      },
      std::chrono::seconds(40)));
  const std::string in = "/v1/incoming/" + at_a;
  EXPECT_EQ(w().call(w().a(), "sys-a", "GET", in).status, 200u);
  Reply list2 = w().call(w().a(), "sys-a2", "GET", "/v1/incoming?limit=1000");
  ASSERT_EQ(list2.status, 200u);
  EXPECT_EQ(list2.body.find(document_id), std::string::npos) << list2.body;
  EXPECT_EQ(w().call(w().a(), "sys-a2", "GET", in).status, 404u);
  EXPECT_EQ(w().call(w().a(), "sys-a2", "GET", in + "/envelope").status, 404u);
  EXPECT_EQ(w().call(w().a(), "sys-a2", "GET", in + "/attachments/0").status, 404u);
  EXPECT_EQ(w().call(w().a(), "sys-a2", "POST", in + "/ack", "{}").status, 404u);
  EXPECT_EQ(w().call(w().a(), "sys-a2", "POST", in + "/status", R"({"state":"refused","reason":"x"})").status, 404u);
  // The outgoing documents sys-a submitted are not sys-a2's either.
  const std::string mine = submit("45/BA-VP", "V/v của sys-a", {{"o.txt", small_file("own-a.txt", "a")}});
  ASSERT_FALSE(mine.empty());
  EXPECT_EQ(w().call(w().a(), "sys-a", "GET", "/v1/outgoing/" + mine).status, 200u);
  EXPECT_EQ(w().call(w().a(), "sys-a2", "GET", "/v1/outgoing/" + mine).status, 404u);
  EXPECT_EQ(w().call(w().a(), "sys-a2", "GET", "/v1/outgoing/" + mine + "/attachments/0").status, 404u);
  // Officers see all.
  EXPECT_EQ(w().call(w().a(), "officer-a", "GET", in).status, 200u);
}

// Issue 13: the axis' verdict (a FAIL answer under HTTP 200) is not retried
// forever: after [axis] max_permanent_failures (3) the document is failed,
// officers list it and re-queue it, and it is then delivered once.
TEST_F(E2e, AnAxisRefusalFailsTheDocumentAndAnOfficerReQueuesIt) {
  ASSERT_TRUE(w().sim_fault(R"({"mode":"refuse","call":"sendEdoc","system":"SYS-A","http_status":200})"));
  auto [id, document_id] = submit_and_sign("44/BA-VP", "V/v bị trục từ chối");
  ASSERT_FALSE(id.empty());
  bj::value last;
  const bool failed =
      wait_until([&] { return str(last = outgoing(id), "state") == "failed"; }, std::chrono::seconds(30));
  const int64_t calls = w().sim_send_calls("SYS-A");
  ASSERT_TRUE(w().sim_fault(R"({"mode":"none"})"));
  ASSERT_TRUE(failed) << bj::serialize(last);
  // It has left the outbox: no further attempt.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(w().sim_send_calls("SYS-A"), calls);
  Reply list = w().call(w().a(), "officer-a", "GET", "/v1/outgoing?state=failed");
  ASSERT_EQ(list.status, 200u) << list.body;
  EXPECT_NE(list.body.find("\"" + id + "\""), std::string::npos) << list.body;
  const std::string retry = "/v1/outgoing/" + id + "/retry";
  EXPECT_EQ(w().call(w().a(), "sys-a", "POST", retry).status, 403u);
  EXPECT_EQ(w().call(w().a(), "leader-a", "POST", retry).status, 403u);
  Reply r = w().call(w().a(), "officer-a", "POST", retry);
  ASSERT_EQ(r.status, 200u) << r.error << r.body;
  EXPECT_EQ(str(r.json(), "state"), "queued");
  EXPECT_EQ(w().call(w().a(), "officer-a", "POST", retry).status, 409u);  // no longer failed
  auto docs = wait_at_b(document_id);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_TRUE(wait_until([&] { return str(last = outgoing(id), "state") != "queued"; }, std::chrono::seconds(20)))
      << bj::serialize(last);
}

}  // namespace
}  // namespace edxgate::e2e
