// The VDXP adapter against edxgate-axis-sim over HTTPS on loopback: send,
// list, get, update status, status relay (routed by the envelopes' own To and
// ResponseFor: no `to` travels), push to a gateway's endpoint, every call in
// the SDK's dialect as the simulator recorded it, and refusals (wrong organ
// id, bad HMAC, injected faults, unparsable answers); repeated signed calls
// and old timestamps are accepted, as from the SDK.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "edxgate/gateway/axis.h"
#include "edxgate/gateway/push_endpoint.h"
#include "edxgate/gateway/server.h"
#include "edxgate/gateway/vdxp.h"
#include "sdk_peer.h"
#include "test_support.h"

namespace edxgate::gateway {
namespace {

using testing::AxisSimulator;
using testing::read_text;
using testing::TempDir;
using testing::TestPki;
using testing::write_text;

constexpr const char* kOrganA = "000.00.00.G06";
constexpr const char* kOrganB = "000.00.00.G07";
constexpr const char* kOrganC = "000.00.00.G08";

class AxisTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    pki_ = new TestPki(dir_->path());
    pki_->client("axis", "/C=VN/O=Truc lien thong/CN=axis");
    write_text(*dir_ / "a.secret", "secret-A\n");
    write_text(*dir_ / "b.secret", "secret-B\n");
    write_text(*dir_ / "c.secret", "secret-C\n");
    std::filesystem::create_directories(*dir_ / "sim");
    std::filesystem::create_directories(*dir_ / "spool");

    // Gateway C's push endpoint, served here.
    sink_ = new SpoolSink(*dir_ / "incoming-c");
    PushEndpointOptions po;
    po.system_id = "SYS-C";
    po.secret = std::make_shared<SecretString>("secret-C");
    po.spool_dir = *dir_ / "spool";
    push_ = new PushEndpoint(po, *sink_);
    auto router = std::make_shared<Router>();
    push_->add_routes(*router);
    ListenerOptions lo;
    lo.name = "axis";
    lo.listen = "127.0.0.1:0";
    lo.tls_cert = pki_->cert("server");
    lo.tls_key = pki_->key("server");
    lo.client_ca = pki_->cert("ca");
    lo.spool_dir = *dir_ / "spool";
    config::Client axis;
    axis.name = "axis";
    axis.role = config::Role::axis;
    axis.fingerprint = pki_->fingerprint("axis");
    lo.clients = {axis};
    auto s = Server::start(lo, router, nullptr);
    if (!s.ok()) throw std::runtime_error(s.error().message);
    push_server_ = s->release();

    const std::string push = "https://127.0.0.1:" + std::to_string(push_server_->port());
    sim_ = new AxisSimulator();
    sim_->start(dir_->path(), {"--tls-cert",  pki_->cert("server"),
                               "--tls-key",   pki_->key("server"),
                               "--data",      *dir_ / "sim",
                               "--directory", *dir_ / "agencies.json",
                               "--system",    AxisSimulator::system("SYS-A", kOrganA, *dir_ / "a.secret"),
                               "--system",    AxisSimulator::system("SYS-B", kOrganB, *dir_ / "b.secret"),
                               "--system",    AxisSimulator::system("SYS-C", kOrganC, *dir_ / "c.secret", push),
                               "--push-ca",   pki_->cert("ca"),
                               "--push-cert", pki_->cert("axis"),
                               "--push-key",  pki_->key("axis")});
  }
  static void TearDownTestSuite() {
    delete sim_;  // stops it
    push_server_->stop(std::chrono::seconds(1));
    delete push_server_;
    delete push_;
    delete sink_;
    delete pki_;
    delete dir_;
  }

  void SetUp() override { ASSERT_FALSE(sim_->port().empty()) << "the simulator did not start:\n" << sim_->log(); }

  static ClientOptions ca_only() {
    ClientOptions o;
    o.ca_file = pki_->cert("ca");
    return o;
  }
  static std::string url() { return sim_->url(); }

  std::unique_ptr<AxisTransport> transport(const std::string& system, const std::string& organ,
                                           const std::string& secret,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    VdxpOptions o;
    o.endpoint = url();
    o.system_id = system;
    o.organ_id = organ;
    o.secret = std::make_shared<SecretString>(secret);
    o.client.ca_file = pki_->cert("ca");
    o.client.timeout = timeout;
    o.spool_dir = *dir_ / "spool";
    auto t = make_vdxp_transport(std::move(o));
    EXPECT_TRUE(t.ok());
    return std::move(*t);
  }

  // An SDK-form document from `from` to `to` carrying about `n` bytes.
  static std::string envelope(size_t n, unsigned seed, const char* from = kOrganA,
                              std::vector<std::string> to = {kOrganB}) {
    std::mt19937 rng(seed);
    std::string payload(n * 3 / 4, '\0');
    for (auto& c : payload) c = static_cast<char>(rng());
    return testing::sdk_document(from, to, std::to_string(seed), payload);
  }

  void fault(const std::string& json) {
    auto c = HttpsClient::create(url(), ca_only());
    ASSERT_TRUE(c.ok());
    ClientRequest r;
    r.path = "/_sim/fault";
    r.body = json;
    auto resp = c->send(r);
    ASSERT_TRUE(resp.ok() && resp->status == 200);
  }

  static bool listed(const std::vector<AxisReceivedItem>& items, const std::string& id) {
    for (const auto& i : items)
      if (i.doc_id == id) return true;
    return false;
  }

  static TempDir* dir_;
  static TestPki* pki_;
  static SpoolSink* sink_;
  static PushEndpoint* push_;
  static Server* push_server_;
  static AxisSimulator* sim_;
};

TempDir* AxisTest::dir_ = nullptr;
TestPki* AxisTest::pki_ = nullptr;
SpoolSink* AxisTest::sink_ = nullptr;
PushEndpoint* AxisTest::push_ = nullptr;
Server* AxisTest::push_server_ = nullptr;
AxisSimulator* AxisTest::sim_ = nullptr;

TEST_F(AxisTest, SendsListsFetchesAndMarksAnEnvelope) {
  const std::string body = envelope(3 * 1024 * 1024 + 5, 1);
  write_text(*dir_ / "out.edxml", body);
  auto a = transport("SYS-A", kOrganA, "secret-A");
  auto b = transport("SYS-B", kOrganB, "secret-B");
  auto id = a->send_envelope(*dir_ / "out.edxml", {kOrganB}, AxisMessageType::edoc);
  ASSERT_TRUE(id.ok()) << id.error().message;
  auto items = b->list_received({});
  ASSERT_TRUE(items.ok()) << items.error().message;
  ASSERT_TRUE(listed(*items, *id));
  for (const auto& i : *items)
    if (i.doc_id == *id) {
      EXPECT_EQ(i.from, kOrganA);
      EXPECT_EQ(i.message_type, "edoc");
    }
  auto got = b->get(*id, *dir_ / "in.edxml");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(read_text(*dir_ / "in.edxml"), body);
  ASSERT_TRUE(b->update_status(*id, AxisItemStatus::done).ok());
  items = b->list_received({});
  ASSERT_TRUE(items.ok());
  EXPECT_FALSE(listed(*items, *id));
  // A cannot read what was sent to B.
  EXPECT_FALSE(a->get(*id, *dir_ / "stolen.edxml").ok());
}

TEST_F(AxisTest, RelaysStatusMessagesSeparatelyFromDocuments) {
  // B's 06 about A's document: the axis routes it by its ResponseFor to A.
  write_text(*dir_ / "status.edxml",
             testing::sdk_status(kOrganB, kOrganA, testing::sdk_document_id(kOrganA, "25"), "06"));
  auto b = transport("SYS-B", kOrganB, "secret-B");
  auto a = transport("SYS-A", kOrganA, "secret-A");
  auto id = b->send_status(*dir_ / "status.edxml", {kOrganA});
  ASSERT_TRUE(id.ok()) << id.error().message;
  auto statuses = a->list_received(AxisListQuery{AxisMessageType::status, 1, 100});  // paging signed too
  ASSERT_TRUE(statuses.ok());
  EXPECT_TRUE(listed(*statuses, *id));
  auto docs = a->list_received({});
  ASSERT_TRUE(docs.ok());
  EXPECT_FALSE(listed(*docs, *id));
}

TEST_F(AxisTest, RefusesASenderOrganIdNotRegisteredForTheSystem) {
  write_text(*dir_ / "x.edxml", envelope(100, 3, kOrganB, {kOrganC}));
  auto liar = transport("SYS-A", kOrganB, "secret-A");
  auto r = liar->send_envelope(*dir_ / "x.edxml", {kOrganC}, AxisMessageType::edoc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "axis.refused");
  EXPECT_NE(r.error().message.find("khong dung voi ma da dang ky"), std::string::npos) << r.error().message;
}

TEST_F(AxisTest, RefusesACallWithABadHmac) {
  auto wrong = transport("SYS-A", kOrganA, "not-the-secret");
  auto r = wrong->list_received({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "axis.refused");
  EXPECT_NE(r.error().message.find("vdxp.bad_mac"), std::string::npos) << r.error().message;
}

TEST_F(AxisTest, AcceptsARepeatedSignedRequestAndAnOldTimestampAsFromTheSdk) {
  // The SDK signs one timestamp for its process life: identical calls carry
  // identical headers, and the timestamp ages. Neither is refused.
  SecretString secret("secret-A");
  auto c = HttpsClient::create(url(), ca_only());
  ASSERT_TRUE(c.ok());
  auto send = [&](vdxp::Clock::time_point when, int copies) {
    auto h =
        vdxp::sign({{"servicetype", "eDoc"}, {"messagetype", "edoc"}}, vdxp::kContentTypeJson, "SYS-A", secret, when);
    ClientRequest req;
    req.path = "/getReceivedEdocList";
    for (auto& x : *h) req.headers.emplace_back(x.name, x.value);
    std::vector<ClientResponse> out;
    for (int i = 0; i < copies; ++i) out.push_back(*c->send(req));
    return out;
  };
  for (const auto& r : send(vdxp::Clock::now() - std::chrono::hours(30), 3)) {
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_NE(r.body.find("\"status\":\"OK\""), std::string::npos) << r.body;
  }
}

TEST_F(AxisTest, ASendOfTheSameFileAgainIsTheSameDocumentRoutedOnce) {
  // Our outbox retries after a lost answer: the axis must not route it twice.
  write_text(*dir_ / "again.edxml", envelope(5000, 12));
  auto a = transport("SYS-A", kOrganA, "secret-A");
  auto first = a->send_envelope(*dir_ / "again.edxml", {kOrganB}, AxisMessageType::edoc);
  auto second = a->send_envelope(*dir_ / "again.edxml", {kOrganB}, AxisMessageType::edoc);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first, *second);
  auto b = transport("SYS-B", kOrganB, "secret-B");
  auto items = b->list_received({});
  ASSERT_TRUE(items.ok());
  EXPECT_EQ(std::count_if(items->begin(), items->end(), [&](const AxisReceivedItem& i) { return i.doc_id == *first; }),
            1);
}

TEST_F(AxisTest, EveryCallOfTheAdapterSpeaksTheSdkDialect) {
  write_text(*dir_ / "dialect.edxml", envelope(2000, 14));
  write_text(*dir_ / "dialect-status.edxml",
             testing::sdk_status(kOrganB, kOrganA, testing::sdk_document_id(kOrganA, "14"), "03"));
  auto a = transport("SYS-A", kOrganA, "secret-A");
  auto b = transport("SYS-B", kOrganB, "secret-B");
  auto id = a->send_envelope(*dir_ / "dialect.edxml", {kOrganB}, AxisMessageType::edoc);
  ASSERT_TRUE(id.ok()) << id.error().message;
  ASSERT_TRUE(b->list_received({}).ok());
  ASSERT_TRUE(b->get(*id, *dir_ / "dialect-in.edxml").ok());
  ASSERT_TRUE(b->update_status(*id, AxisItemStatus::processing).ok());
  ASSERT_TRUE(b->update_status(*id, AxisItemStatus::done).ok());
  ASSERT_TRUE(b->send_status(*dir_ / "dialect-status.edxml", {kOrganA}).ok());
  ASSERT_TRUE(a->list_received({AxisMessageType::status}).ok());

  auto c = HttpsClient::create(url(), ca_only());
  ASSERT_TRUE(c.ok());
  ClientRequest r;
  r.method = "GET";
  r.path = "/_sim/requests";
  auto resp = c->send(r);
  ASSERT_TRUE(resp.ok() && resp->status == 200);
  auto calls = json::parse(resp->body);
  ASSERT_TRUE(calls.ok() && calls->is_array()) << resp->body;
  std::set<std::string> seen;
  for (const auto& call : calls->as_array()) {
    const std::string path(call.as_object().at("call").as_string());
    seen.insert(path);
    for (const auto& p : testing::check_sdk_dialect(call)) ADD_FAILURE() << path << ": " << p;
  }
  for (const char* p : {"/sendEdoc", "/getReceivedEdocList", "/getEdoc", "/updateStatus"})
    EXPECT_TRUE(seen.count(p)) << p << " was not recorded";
}

TEST_F(AxisTest, ReportsInjectedRefusalDropAndDelayAsErrors) {
  auto a = transport("SYS-A", kOrganA, "secret-A", std::chrono::milliseconds(700));
  fault(R"({"mode":"refuse","count":1})");
  auto r = a->list_received({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "axis.refused");
  EXPECT_FALSE(workflow::is_permanent_refusal(r.error()));  // under a 503: the axis busy, retried
  // Issue 13: a refusal under HTTP 200 (the axis' verdict) or a 4xx is
  // permanent and counts towards [axis] max_permanent_failures.
  for (const char* status : {"200", "403"}) {
    fault(std::string(R"({"mode":"refuse","count":1,"http_status":)") + status + "}");
    r = a->list_received({});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "axis.refused") << status;
    EXPECT_TRUE(workflow::is_permanent_refusal(r.error())) << status;
  }
  fault(R"({"mode":"drop","count":1})");
  r = a->list_received({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "axis.unreachable");
  fault(R"({"mode":"delay","count":1,"delay_ms":1500})");
  r = a->list_received({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "axis.timeout");
  EXPECT_TRUE(a->list_received({}).ok());  // the faults are spent
}

TEST_F(AxisTest, PushesToTheRecipientGatewaysEndpointWhichStoresItOnce) {
  const std::string body = envelope(200 * 1024, 9, kOrganA, {kOrganC});
  write_text(*dir_ / "to-c.edxml", body);
  auto a = transport("SYS-A", kOrganA, "secret-A");
  auto id = a->send_envelope(*dir_ / "to-c.edxml", {kOrganC}, AxisMessageType::edoc);
  ASSERT_TRUE(id.ok()) << id.error().message;
  // The push runs in the simulator's background: wait (on a loaded machine,
  // up to 20 s) for the whole file and for the item to be marked pushed.
  std::string stored;
  bool whole = false;
  for (int i = 0; i < 400 && !whole; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!std::filesystem::exists(*dir_ / "incoming-c")) continue;
    for (const auto& e : std::filesystem::directory_iterator(*dir_ / "incoming-c"))
      if (e.path().extension() == ".edxml") stored = e.path();
    whole = !stored.empty() && read_text(stored).size() >= body.size();
  }
  ASSERT_FALSE(stored.empty()) << "nothing was pushed to gateway C";
  EXPECT_EQ(read_text(stored), body);  // without the CRLF the push carried after it
  auto c = transport("SYS-C", kOrganC, "secret-C");
  bool still_listed = true;
  for (int i = 0; i < 100 && still_listed; ++i) {
    auto pending = c->list_received({});
    ASSERT_TRUE(pending.ok());
    still_listed = listed(*pending, *id);
    if (still_listed) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(still_listed);  // pushed, so not waiting for a pull
}

// A fake axis whose answers are broken in the ways a real one might be.
TEST_F(AxisTest, TheAgencyDirectoryIsFetchedWholeAndRefusedOverItsLimits) {
  // As the axis answers getAgenciesList: text fields, an id sent as a number.
  write_text(
      *dir_ / "agencies.json",
      R"([{"code":"000.00.00.H40","id":40,"name":"Ủy ban nhân dân tỉnh Nghệ An","pid":"","mail":"ubnd@nghean.gov.vn"},)"
      R"({"code":"000.01.00.H40","id":"41","name":"Sở Nội vụ tỉnh Nghệ An","pid":"40","oldCode":"H40.01"},)"
      R"({"code":"000.00.00.G22","id":"22","name":"Văn phòng Chính phủ"}])");
  auto t = transport("SYS-A", kOrganA, "secret-A");
  auto all = t->list_agencies({100, 1 << 20});
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].code, "000.00.00.H40");
  EXPECT_EQ((*all)[0].id, "40");
  EXPECT_EQ((*all)[0].mail, "ubnd@nghean.gov.vn");
  EXPECT_EQ((*all)[1].name, "Sở Nội vụ tỉnh Nghệ An");
  EXPECT_EQ((*all)[1].pid, "40");
  EXPECT_EQ((*all)[1].old_code, "H40.01");
  // More entries than allowed, or more bytes: refused whole, never truncated.
  auto many = t->list_agencies({2, 1 << 20});
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().code, "axis.too_large");
  EXPECT_EQ(many.error().kind, ErrorKind::too_large);
  auto big = t->list_agencies({100, 200});
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, "axis.too_large");
  // A wrong secret is the axis' refusal, not an empty directory.
  auto refused = transport("SYS-A", kOrganA, "wrong")->list_agencies({100, 1 << 20});
  EXPECT_FALSE(refused.ok());
}

TEST(VdxpAnswers, AreErrorsWhenTheyCannotBeParsedNeverEmptySuccess) {
  TempDir dir;
  TestPki pki(dir.path());
  auto router = std::make_shared<Router>();
  std::string list_answer, get_answer;
  unsigned list_status = 200;
  router->add({"POST", "/getReceivedEdocList", Access::public_route(), [&](Request&, const Caller&, const PathParams&) {
                 return Response::text(list_status, list_answer, "application/json");
               }});
  router->add({"POST", "/getEdoc", Access::public_route(), [&](Request&, const Caller&, const PathParams&) {
                 return Response::text(200, get_answer, "application/json");
               }});
  ListenerOptions lo;
  lo.listen = "127.0.0.1:0";
  lo.tls_cert = pki.cert("server");
  lo.tls_key = pki.key("server");
  auto s = Server::start(lo, router, nullptr);
  ASSERT_TRUE(s.ok());
  VdxpOptions o;
  o.endpoint = "https://127.0.0.1:" + std::to_string((*s)->port());
  o.system_id = "SYS-A";
  o.secret = std::make_shared<SecretString>("x");
  o.client.ca_file = pki.cert("ca");
  o.spool_dir = dir.path();
  auto t = make_vdxp_transport(o);
  ASSERT_TRUE(t.ok());
  for (const char* bad :
       {"", "not json", "[]", R"({"status":"OK","ErrorCode":"0"})", R"({"status":"OK","ErrorCode":"0","data":{}})",
        R"({"status":"OK","ErrorCode":"0","data":[42]})", R"({"status":"OK","ErrorCode":"0","data":[{"from":"x"}]})"}) {
    list_answer = bad;
    auto r = (*t)->list_received({});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "axis.malformed") << bad;
  }
  list_answer = R"({"status":"FAIL","ErrorCode":"E12","ErrorDesc":"khong co quyen"})";
  auto r = (*t)->list_received({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "axis.refused");
  list_answer = R"({"status":"OK","ErrorCode":"0","data":[]})";
  for (unsigned http : {200u, 201u}) {  // the SDK reads an answer on either
    list_status = http;
    r = (*t)->list_received({});
    ASSERT_TRUE(r.ok()) << http;
    EXPECT_TRUE(r->empty());
  }
  list_status = 202;
  r = (*t)->list_received({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "axis.http");
  // getEdoc's data is read as leniently as the SDK reads it: "<edXML>o?</edXML>"
  // in base64 (PGVkWE1MPm8/PC9lZFhNTD4=) with a line break, its '/' escaped as
  // JSON may, and stray bytes.
  get_answer = R"({"status":"OK","ErrorCode":"0","data":"PGVkWE1M\r\nPm8\/PC9l$$ZFhNTD4="})";
  auto g = (*t)->get("1", dir / "out.edxml");
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(read_text(dir / "out.edxml"), "<edXML>o?</edXML>");
  std::filesystem::remove(dir / "out.edxml");
  for (const char* bad : {R"({"status":"OK","ErrorCode":"0","data":"PGVkW"})",  // a lone sixth: no whole byte
                          R"({"status":"OK","ErrorCode":"0"})", R"({"status":"OK","ErrorCode":"0","data":42})"}) {
    get_answer = bad;
    g = (*t)->get("1", dir / "out.edxml");
    ASSERT_FALSE(g.ok()) << bad;
    EXPECT_EQ(g.error().code, "axis.malformed") << bad;
    EXPECT_FALSE(std::filesystem::exists(dir / "out.edxml"));
  }
}

}  // namespace
}  // namespace edxgate::gateway
