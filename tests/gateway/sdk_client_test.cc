// The real client's dialect against both receivers: an SdkClient (sdk_peer.h:
// calls built exactly as the VXP SDK builds them, one timestamp for its life,
// no `to`, the sendEdoc file + CRLF) against edxgate-axis-sim and against
// edxgated's axis listener. Each must answer it as the real axis answers the
// SDK, route or store a repeated identical send once, and still refuse a
// wrong HMAC, a hash-file that matches nothing, and an unsigned `from`;
// older peers' prefixed key lists are accepted. The simulator's own pushes to
// a gateway are checked against the same dialect.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <mutex>
#include <regex>
#include <thread>

#include "edxgate/base/json.h"
#include "edxgate/gateway/push_endpoint.h"
#include "edxgate/gateway/server.h"
#include "edxgate/gateway/vdxp.h"
#include "edxgate/store/store.h"
#include "sdk_base64.h"
#include "sdk_peer.h"
#include "test_support.h"

namespace edxgate::gateway {
namespace {

using testing::AxisSimulator;
using testing::read_text;
using testing::sdk_document;
using testing::sdk_document_id;
using testing::sdk_status;
using testing::SdkAnswer;
using testing::SdkClient;
using testing::SdkRequest;
using testing::TempDir;
using testing::TestPki;
using testing::write_text;
namespace bj = json::bj;

constexpr const char* kOrganA = "000.00.00.G01";
constexpr const char* kOrganB = "000.00.00.G02";
constexpr const char* kOrganC = "000.00.00.G03";

// The bare key list of an SDK sendEdoc, with every name prefixed as older
// peers wrote it (the signed JSON is the same).
std::string prefixed(const std::string& bare) {
  std::string out;
  size_t at = 0;
  while (true) {
    const auto semi = bare.find(';', at);
    out += (out.empty() ? "" : ";") + std::string("XroadVnpt-") + bare.substr(at, semi - at);
    if (semi == std::string::npos) return out;
    at = semi + 1;
  }
}

std::string payload(size_t n, unsigned seed) {
  std::string p(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : p) c = static_cast<char>((x = x * 1664525u + 1013904223u) >> 24);
  return p;
}

std::string decode(const std::string& b64) {
  testing::SdkBase64Reader d;
  std::string out;
  d.update(b64, out);
  d.finish(out);
  return out;
}

// A gateway's axis listener stand-in that keeps every push it receives.
struct PushRecorder {
  struct Push {
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };
  std::mutex mu;
  std::vector<Push> pushes;

  void add_routes(Router& r) {
    r.add({"POST", "/vdxp/sendEdoc", Access::public_route(), [this](Request& req, const Caller&, const PathParams&) {
             auto body = req.body.read_all(1 << 20);
             std::lock_guard lock(mu);
             pushes.push_back({req.headers.fields(), body.ok() ? *body : ""});
             return vdxp_answer(200, "0", "", "recorded-" + std::to_string(pushes.size()));
           }});
  }
  size_t count() {
    std::lock_guard lock(mu);
    return pushes.size();
  }
};

// ------------------------------------------------------------ the simulator

class SdkClientVsSimulator : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    pki_ = new TestPki(dir_->path());
    for (const char* s : {"a", "b", "c"})
      write_text(*dir_ / (std::string(s) + ".secret"), std::string("secret-") + s + "\n");
    std::filesystem::create_directories(*dir_ / "sim");
    recorder_ = new PushRecorder();
    auto router = std::make_shared<Router>();
    recorder_->add_routes(*router);
    ListenerOptions lo;
    lo.listen = "127.0.0.1:0";
    lo.tls_cert = pki_->cert("server");
    lo.tls_key = pki_->key("server");
    lo.spool_dir = dir_->path();
    auto s = Server::start(lo, router, nullptr);
    if (!s.ok()) throw std::runtime_error(s.error().message);
    push_server_ = s->release();

    const std::string push = "https://127.0.0.1:" + std::to_string(push_server_->port());
    sim_ = new AxisSimulator();
    sim_->start(dir_->path(),
                {"--tls-cert", pki_->cert("server"), "--tls-key", pki_->key("server"), "--data", *dir_ / "sim",
                 "--system", AxisSimulator::system("SYS-A", kOrganA, *dir_ / "a.secret"), "--system",
                 AxisSimulator::system("SYS-B", kOrganB, *dir_ / "b.secret"), "--system",
                 AxisSimulator::system("SYS-C", kOrganC, *dir_ / "c.secret", push), "--push-ca", pki_->cert("ca")});
  }
  static void TearDownTestSuite() {
    delete sim_;  // stops it
    push_server_->stop(std::chrono::seconds(1));
    delete push_server_;
    delete recorder_;
    delete pki_;
    delete dir_;
  }
  void SetUp() override { ASSERT_FALSE(sim_->port().empty()) << "the simulator did not start:\n" << sim_->log(); }

  static std::string url() { return sim_->url(); }
  static ClientOptions tls() {
    ClientOptions o;
    o.ca_file = pki_->cert("ca");
    o.timeout = std::chrono::seconds(20);
    return o;
  }
  static SdkClient client(const std::string& system, const std::string& secret,
                          std::chrono::minutes made_ago = std::chrono::minutes(0)) {
    return SdkClient(url(), tls(), system, secret, made_ago);
  }
  static bj::value control(const std::string& path) {
    auto c = HttpsClient::create(url(), tls());
    ClientRequest r;
    r.method = "GET";
    r.path = path;
    auto resp = c->send(r);
    if (!resp.ok()) return {};
    auto v = json::parse(resp->body);
    return v.ok() ? *v : bj::value();
  }
  static std::vector<std::string> listed(const SdkAnswer& a) {
    std::vector<std::string> ids;
    const auto v = a.json();
    if (!v.is_object() || !v.as_object().contains("data")) return ids;
    for (const auto& e : v.as_object().at("data").as_array()) ids.emplace_back(e.as_object().at("docId").as_string());
    return ids;
  }
  static bool contains(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  }

  static TempDir* dir_;
  static TestPki* pki_;
  static PushRecorder* recorder_;
  static Server* push_server_;
  static AxisSimulator* sim_;
};

TempDir* SdkClientVsSimulator::dir_ = nullptr;
TestPki* SdkClientVsSimulator::pki_ = nullptr;
PushRecorder* SdkClientVsSimulator::recorder_ = nullptr;
Server* SdkClientVsSimulator::push_server_ = nullptr;
AxisSimulator* SdkClientVsSimulator::sim_ = nullptr;

TEST_F(SdkClientVsSimulator, SendsListsGetsAndMarksAsTheSdkDoes) {
  const SdkClient a = client("SYS-A", "secret-a"), b = client("SYS-B", "secret-b");
  const std::string doc = sdk_document(kOrganA, {kOrganB}, "41", payload(70000, 1));
  SdkAnswer sent = a.send(doc, kOrganA);
  ASSERT_TRUE(sent.ok()) << sent.status << " " << sent.raw << sent.error;
  const std::string id = sent.field("DocId");
  ASSERT_FALSE(id.empty());

  SdkAnswer list = b.list();
  ASSERT_TRUE(list.ok()) << list.raw;
  ASSERT_TRUE(contains(listed(list), id)) << list.raw;
  SdkAnswer got = b.get(id);
  ASSERT_TRUE(got.ok()) << got.raw.substr(0, 300);
  EXPECT_EQ(decode(got.field("data")), doc);  // the file as sent, without the CRLF after it
  ASSERT_TRUE(b.update_status(id, "processing").ok());
  ASSERT_TRUE(b.update_status(id, "done").ok());
  EXPECT_FALSE(contains(listed(b.list()), id));

  // B's status about it goes back to A, routed by its ResponseFor.
  const std::string status = sdk_status(kOrganB, kOrganA, sdk_document_id(kOrganA, "41"), "03", "41/BCT-VP");
  SdkAnswer st = b.send(status, kOrganB, "status");
  ASSERT_TRUE(st.ok()) << st.raw;
  SdkAnswer statuses = a.list("status");
  ASSERT_TRUE(contains(listed(statuses), st.field("DocId"))) << statuses.raw;
  EXPECT_FALSE(contains(listed(a.list()), st.field("DocId")));
  EXPECT_EQ(decode(a.get(st.field("DocId")).field("data")), status);

  // Every call of B carried the one timestamp B was made with.
  size_t b_calls = 0;
  const bj::value calls = control("/_sim/requests");
  ASSERT_TRUE(calls.is_array());
  for (const auto& call : calls.as_array()) {
    std::string system, ts;
    for (const auto& kv : call.as_object().at("headers").as_array()) {
      if (kv.as_array()[0].as_string() == "XroadVnpt-systemid") system = kv.as_array()[1].as_string();
      if (kv.as_array()[0].as_string() == "XroadVnpt-timestamp") ts = kv.as_array()[1].as_string();
    }
    if (system != "SYS-B") continue;
    ++b_calls;
    EXPECT_EQ(ts, b.timestamp());
    for (const auto& p : testing::check_sdk_dialect(call)) ADD_FAILURE() << "the test client itself: " << p;
  }
  EXPECT_GE(b_calls, 6u);  // list, get, updateStatus twice, list, sendEdoc
}

TEST_F(SdkClientVsSimulator, ARepeatedIdenticalSendIsAnsweredOkAndRoutedOnce) {
  const SdkClient a = client("SYS-A", "secret-a");
  const SdkRequest req = a.send_request(sdk_document(kOrganA, {kOrganB}, "42", payload(3000, 2)), kOrganA);
  const size_t items_before = control("/_sim/items").as_array().size();
  SdkAnswer first = a.perform(req), again = a.perform(req);  // byte-identical, same timestamp
  ASSERT_TRUE(first.ok()) << first.raw;
  ASSERT_TRUE(again.ok()) << again.raw;
  EXPECT_EQ(again.field("DocId"), first.field("DocId"));
  EXPECT_EQ(control("/_sim/items").as_array().size(), items_before + 1);
}

TEST_F(SdkClientVsSimulator, RefusesAWrongHmac) {
  const SdkClient a = client("SYS-A", "secret-a");
  SdkRequest req = a.send_request(sdk_document(kOrganA, {kOrganB}, "43", payload(100, 3)), kOrganA);
  std::string mac = *req.header("XroadVnpt-hash-header");
  mac[0] = mac[0] == '0' ? '1' : '0';
  req.set("XroadVnpt-hash-header", mac);
  SdkAnswer r = a.perform(req);
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(r.field("ErrorCode"), "vdxp.bad_mac") << r.raw;
  SdkAnswer wrong = client("SYS-A", "not-the-secret").list();
  EXPECT_EQ(wrong.field("ErrorCode"), "vdxp.bad_mac") << wrong.raw;
}

TEST_F(SdkClientVsSimulator, RefusesAHashFileThatMatchesNeitherTheBodyNorTheBodyLessItsCrlf) {
  const SdkClient a = client("SYS-A", "secret-a");
  SdkRequest req = a.send_request(sdk_document(kOrganA, {kOrganB}, "44", payload(100, 4)), kOrganA);
  req.body.insert(req.body.size() - 2, "<!-- changed -->");
  SdkAnswer r = a.perform(req);
  EXPECT_EQ(r.status, 400u) << r.raw;
  EXPECT_EQ(r.field("status"), "FAIL");
  EXPECT_EQ(r.field("ErrorCode"), "HASH") << r.raw;
}

TEST_F(SdkClientVsSimulator, RefusesAnUnsignedFrom) {
  const SdkClient a = client("SYS-A", "secret-a");
  const std::string doc = sdk_document(kOrganA, {kOrganB}, "45", payload(100, 5));
  SdkRequest req = a.build("/sendEdoc", "application/octet-stream",
                           {{"servicetype", "eDoc"}, {"messagetype", "edoc"}, {"hash-file", vdxp::hash_bytes_hex(doc)}},
                           doc + "\r\n");
  req.headers.emplace_back("XroadVnpt-from", kOrganA);  // sent, but not signed
  SdkAnswer r = a.perform(req);
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(r.field("ErrorCode"), "vdxp.missing") << r.raw;
}

TEST_F(SdkClientVsSimulator, AcceptsThePrefixedKeyListOfOlderPeers) {
  const SdkClient a = client("SYS-A", "secret-a");
  SdkRequest req = a.send_request(sdk_document(kOrganA, {kOrganB}, "46", payload(100, 6)), kOrganA);
  req.set("XroadVnpt-sign-header-key", prefixed(*req.header("XroadVnpt-sign-header-key")));
  SdkAnswer r = a.perform(req);
  EXPECT_TRUE(r.ok()) << r.status << " " << r.raw;
}

TEST_F(SdkClientVsSimulator, AcceptsAClientMadeHoursAgoAndFromInAnotherCase) {
  const SdkClient old = client("SYS-A", "secret-a", std::chrono::minutes(600));
  EXPECT_TRUE(old.list().ok());
  SdkAnswer lower = old.send(sdk_document(kOrganA, {kOrganB}, "47", payload(100, 7)), "000.00.00.g01");
  EXPECT_TRUE(lower.ok()) << lower.raw;
  SdkAnswer other = old.send(sdk_document(kOrganB, {kOrganC}, "48", payload(100, 8)), kOrganB);
  EXPECT_EQ(other.status, 403u);
  EXPECT_NE(other.field("ErrorDesc").find("khong dung voi ma da dang ky"), std::string::npos) << other.raw;
}

TEST_F(SdkClientVsSimulator, RefusesAMessageTypeTheSdkDoesNotHave) {
  const SdkClient a = client("SYS-A", "secret-a");
  SdkAnswer r = a.send(sdk_document(kOrganA, {kOrganB}, "49", payload(100, 9)), kOrganA, "revocation");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.field("ErrorCode"), "MESSAGETYPE") << r.raw;
}

TEST_F(SdkClientVsSimulator, PushesToAGatewayInTheSdkDialectWithOneTimestamp) {
  const SdkClient a = client("SYS-A", "secret-a");
  const size_t before = recorder_->count();
  const std::string first = sdk_document(kOrganA, {kOrganC}, "50", payload(5000, 10));
  const std::string second = sdk_document(kOrganA, {kOrganC}, "51", payload(5000, 11));
  ASSERT_TRUE(a.send(first, kOrganA).ok());
  ASSERT_TRUE(a.send(second, kOrganA).ok());
  for (int i = 0; i < 200 && recorder_->count() < before + 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::lock_guard lock(recorder_->mu);
  ASSERT_EQ(recorder_->pushes.size(), before + 2);
  std::string timestamp;
  for (size_t i = before; i < before + 2; ++i) {
    const auto& p = recorder_->pushes[i];
    Headers h;
    bj::array headers;
    for (const auto& [k, v] : p.headers) {
      h.add(k, v);
      bj::array kv;
      kv.emplace_back(k);
      kv.emplace_back(v);
      headers.emplace_back(std::move(kv));
    }
    // The same checks as for the calls the simulator receives.
    bj::object o;
    o["call"] = "/sendEdoc";
    o["method"] = "POST";
    o["headers"] = std::move(headers);
    o["bodyBytes"] = p.body.size();
    o["bodyEndsWithCrlf"] = p.body.size() >= 2 && p.body.substr(p.body.size() - 2) == "\r\n";
    const bj::value call(std::move(o));
    for (const auto& problem : testing::check_sdk_dialect(call)) ADD_FAILURE() << "push " << i << ": " << problem;
    // Signed with C's secret, as the recipient's system, from A.
    SecretString secret("secret-c");
    auto v = vdxp::verify([&h](std::string_view n) { return h.get(n); },
                          [&](std::string_view id) { return id == "SYS-C" ? &secret : nullptr; },
                          {"messagetype", "from", "hash-file"}, {}, vdxp::Clock::now());
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_EQ(v->param("from"), kOrganA);
    EXPECT_EQ(p.body, (i == before ? first : second) + "\r\n");
    if (timestamp.empty()) timestamp = v->param("timestamp");
    EXPECT_EQ(v->param("timestamp"), timestamp);  // one for the simulator's life
  }
}

// ------------------------------------------------------------ edxgated

class SdkClientVsEdxgated : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    pki_ = new TestPki(dir_->path());
    pki_->client("system", "/C=VN/O=Bo nhan/CN=eoffice");
    pki_->client("axis", "/C=VN/O=Truc lien thong/CN=axis");
    write_text(*dir_ / "axis.secret", "secret-of-sys-b\n");
    const std::string q = "\"";
    write_text(*dir_ / "edxgate.toml",
               "[server]\ninternal_listen = \"127.0.0.1:0\"\naxis_listen = \"127.0.0.1:0\"\nhealth_listen = \"\"\n"
               "tls_cert = " +
                   q + pki_->cert("server") + q + "\ntls_key = " + q + pki_->key("server") + q + "\nclient_ca = " + q +
                   pki_->cert("ca") + q +
                   "\nshutdown_grace_s = 2\n"
                   "[store]\nstate_dir = " +
                   q + (*dir_ / "state") + q + "\n[axis]\nmode = \"push\"\norgan_id = \"" + kOrganB +
                   "\"\nsystem_id = \"SYS-B\"\nsecret_file = " + q + (*dir_ / "axis.secret") + q +
                   "\n\n[[clients]]\nname = \"eoffice\"\nrole = \"system\"\nfingerprint = \"" +
                   pki_->fingerprint("system") + "\"\norgan_ids = [\"" + kOrganB + "\"]\n" +
                   "\n[[clients]]\nname = \"axis\"\nrole = \"axis\"\nfingerprint = \"" + pki_->fingerprint("axis") +
                   "\"\n");
    log_ = *dir_ / "edxgated.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 2);
      ::unsetenv("NOTIFY_SOCKET");
      const std::string exe = std::string(EDXGATE_BINARY_DIR) + "/bin/edxgated";
      const std::string cfg = *dir_ / "edxgate.toml";
      ::execl(exe.c_str(), exe.c_str(), "--config", cfg.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const std::regex listening("msg=listening listener=(internal|axis) address=\"?https://127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 400 && (!internal_port_ || !axis_port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) break;
      const std::string log = read_text(log_);
      for (std::sregex_iterator it(log.begin(), log.end(), listening), end; it != end; ++it)
        ((*it)[1].str() == "internal" ? internal_port_ : axis_port_) = static_cast<uint16_t>(std::stoi((*it)[2].str()));
    }
  }
  static void TearDownTestSuite() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    delete pki_;
    delete dir_;
  }
  void SetUp() override { ASSERT_TRUE(internal_port_ && axis_port_) << "edxgated did not start:\n" << read_text(log_); }

  static ClientOptions tls(const std::string& who) {
    ClientOptions o;
    o.ca_file = pki_->cert("ca");
    o.client_cert = pki_->cert(who);
    o.client_key = pki_->key(who);
    o.timeout = std::chrono::seconds(20);
    return o;
  }
  // The axis, pushing as an SDK client with our system's id and secret.
  static SdkClient axis(std::chrono::minutes made_ago = std::chrono::minutes(0)) {
    return SdkClient("https://127.0.0.1:" + std::to_string(axis_port_) + "/vdxp", tls("axis"), "SYS-B",
                     "secret-of-sys-b", made_ago);
  }
  static uint64_t incoming_documents() {
    store::StoreOptions so;
    so.state_dir = *dir_ / "state";
    so.read_only = true;
    auto db = store::open_store(so);
    if (!db.ok()) return 0;
    store::DocumentQuery q;
    q.direction = store::Direction::incoming;
    auto page = (*db)->list_documents(q);
    return page.ok() ? page->documents.size() : 0;
  }

  static TempDir* dir_;
  static TestPki* pki_;
  static std::string log_;
  static pid_t pid_;
  static uint16_t internal_port_, axis_port_;
};

TempDir* SdkClientVsEdxgated::dir_ = nullptr;
TestPki* SdkClientVsEdxgated::pki_ = nullptr;
std::string SdkClientVsEdxgated::log_;
pid_t SdkClientVsEdxgated::pid_ = -1;
uint16_t SdkClientVsEdxgated::internal_port_ = 0;
uint16_t SdkClientVsEdxgated::axis_port_ = 0;

TEST_F(SdkClientVsEdxgated, StoresAnSdkSendOnceAndWithoutItsCrlf) {
  const SdkClient ax = axis();
  const std::string doc = sdk_document(kOrganA, {kOrganB}, "61", payload(300000, 21));  // spooled to disk
  const SdkRequest req = ax.send_request(doc, kOrganA);
  SdkAnswer first = ax.perform(req);
  ASSERT_TRUE(first.ok()) << first.status << " " << first.raw << first.error << "\n" << read_text(log_);
  const uint64_t stored = incoming_documents();
  SdkAnswer again = ax.perform(req);  // the same bytes, the same timestamp
  ASSERT_TRUE(again.ok()) << again.raw;
  EXPECT_EQ(again.field("DocId"), first.field("DocId"));
  EXPECT_EQ(incoming_documents(), stored);

  store::StoreOptions so;
  so.state_dir = *dir_ / "state";
  so.read_only = true;
  auto db = store::open_store(so);
  ASSERT_TRUE(db.ok());
  auto d = (*db)->get_document(std::stoll(first.field("DocId")));
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_TRUE(d->envelope.has_value());
  EXPECT_EQ((*db)->blobs().read(d->envelope->sha256, 1 << 20).value(), doc);  // the file, not the CRLF
  EXPECT_EQ(d->sender, kOrganA);
}

TEST_F(SdkClientVsEdxgated, AcceptsAStatusAboutOneOfItsDocuments) {
  // One of our documents (B to A), submitted as a ready envelope.
  auto c = HttpsClient::create("https://127.0.0.1:" + std::to_string(internal_port_), tls("system"));
  ASSERT_TRUE(c.ok());
  ClientRequest sub;
  sub.path = "/v1/outgoing";
  sub.content_type = "application/xml";
  sub.body = sdk_document(kOrganB, {kOrganA}, "62", payload(1000, 22));
  auto r = c->send(sub);
  ASSERT_TRUE(r.ok() && r->status == 202) << (r.ok() ? r->body : r.error().message);
  const std::string id(json::parse(r->body)->as_object().at("id").as_string());

  // A's 03 about it, as the axis pushes it.
  const SdkClient ax = axis();
  SdkAnswer st =
      ax.send(sdk_status(kOrganA, kOrganB, sdk_document_id(kOrganB, "62"), "03", "62/BCT-VP"), kOrganA, "status");
  ASSERT_TRUE(st.ok()) << st.status << " " << st.raw;
  EXPECT_EQ(st.field("DocId"), "status:" + id);
  ClientRequest get;
  get.method = "GET";
  get.path = "/v1/outgoing/" + id;
  auto doc = c->send(get);
  ASSERT_TRUE(doc.ok() && doc->status == 200);
  EXPECT_NE(doc->body.find("\"code\":\"03\""), std::string::npos) << doc->body;

  // A status about a document it does not have is refused for good (not 5xx).
  SdkAnswer unknown = ax.send(sdk_status(kOrganA, kOrganB, sdk_document_id(kOrganB, "99"), "03"), kOrganA, "status");
  EXPECT_EQ(unknown.status, 422u) << unknown.raw;
  EXPECT_EQ(unknown.field("ErrorCode"), "status.unknown_document") << unknown.raw;
}

TEST_F(SdkClientVsEdxgated, RefusesAWrongHmacABadHashFileAndAnUnsignedFromAndStoresNothing) {
  const SdkClient ax = axis();
  const std::string doc = sdk_document(kOrganA, {kOrganB}, "63", payload(1000, 23));
  const uint64_t stored = incoming_documents();

  SdkRequest bad_mac = ax.send_request(doc, kOrganA);
  std::string mac = *bad_mac.header("XroadVnpt-hash-header");
  mac[5] = mac[5] == 'a' ? 'b' : 'a';
  bad_mac.set("XroadVnpt-hash-header", mac);
  SdkAnswer r = ax.perform(bad_mac);
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(r.field("ErrorCode"), "vdxp.bad_mac") << r.raw;

  SdkRequest bad_hash = ax.send_request(doc, kOrganA);
  bad_hash.body.insert(bad_hash.body.size() - 2, " ");
  r = ax.perform(bad_hash);
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.field("ErrorCode"), "vdxp.hash_file") << r.raw;

  SdkRequest unsigned_from = ax.build(
      "/sendEdoc", "application/octet-stream",
      {{"servicetype", "eDoc"}, {"messagetype", "edoc"}, {"hash-file", vdxp::hash_bytes_hex(doc)}}, doc + "\r\n");
  unsigned_from.headers.emplace_back("XroadVnpt-from", kOrganA);
  r = ax.perform(unsigned_from);
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(r.field("ErrorCode"), "vdxp.missing") << r.raw;
  EXPECT_EQ(incoming_documents(), stored);
}

TEST_F(SdkClientVsEdxgated, AcceptsOlderPeersPrefixedKeyListAndAnOldTimestamp) {
  const SdkClient ax = axis(std::chrono::minutes(600));  // made ten hours ago
  SdkRequest req = ax.send_request(sdk_document(kOrganA, {kOrganB}, "64", payload(1000, 24)), kOrganA);
  req.set("XroadVnpt-sign-header-key", prefixed(*req.header("XroadVnpt-sign-header-key")));
  SdkAnswer r = ax.perform(req);
  EXPECT_TRUE(r.ok()) << r.status << " " << r.raw;
}

// A deployment that wants a freshness window gets one (in process).
TEST(SdkClientVsPushEndpoint, AConfiguredTimestampWindowRefusesAnOldClient) {
  TempDir dir;
  TestPki pki(dir.path());
  SpoolSink sink(dir / "in");
  PushEndpointOptions po;
  po.system_id = "SYS-B";
  po.secret = std::make_shared<SecretString>("secret-of-sys-b");
  po.timestamp_window = std::chrono::seconds(300);
  po.spool_dir = dir.path();
  PushEndpoint push(po, sink);
  auto router = std::make_shared<Router>();
  // As the axis role: the route allows no anonymous caller, so a stand-in route.
  router->add({"POST", "/vdxp/sendEdoc", Access::public_route(),
               [&push](Request& req, const Caller&, const PathParams&) { return push.handle(req); }});
  ListenerOptions lo;
  lo.listen = "127.0.0.1:0";
  lo.tls_cert = pki.cert("server");
  lo.tls_key = pki.key("server");
  lo.spool_dir = dir.path();
  auto s = Server::start(lo, router, nullptr);
  ASSERT_TRUE(s.ok());
  ClientOptions o;
  o.ca_file = pki.cert("ca");
  const std::string url = "https://127.0.0.1:" + std::to_string((*s)->port()) + "/vdxp";
  const std::string doc = sdk_document(kOrganA, {kOrganB}, "65", payload(100, 25));
  SdkAnswer old = SdkClient(url, o, "SYS-B", "secret-of-sys-b", std::chrono::minutes(10)).send(doc, kOrganA);
  EXPECT_EQ(old.status, 401u);
  EXPECT_EQ(old.field("ErrorCode"), "vdxp.stale") << old.raw;
  SdkAnswer fresh = SdkClient(url, o, "SYS-B", "secret-of-sys-b").send(doc, kOrganA);
  EXPECT_TRUE(fresh.ok()) << fresh.raw;
  (*s)->stop(std::chrono::seconds(1));
}

}  // namespace
}  // namespace edxgate::gateway
