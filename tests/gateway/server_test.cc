// The HTTPS listener against real TLS on loopback: client-certificate roles,
// every limit, and that the server keeps serving a normal request right after
// each abuse.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "edxgate/base/json.h"
#include "edxgate/base/log.h"
#include "edxgate/gateway/health.h"
#include "edxgate/gateway/https_client.h"
#include "edxgate/gateway/server.h"
#include "test_support.h"

namespace edxgate::gateway {
namespace {

using testing::RawClient;
using testing::TempDir;
using testing::TestPki;

std::string fnv(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return std::to_string(h);
}

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 13) % 26);
  return s;
}

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    pki_ = new TestPki(dir_->path());
    pki_->client("system", "/C=VN/O=Bo Cong Thuong/CN=eoffice");
    pki_->client("officer", "/C=VN/O=Bo Cong Thuong/CN=officer-lan");
    pki_->client("unknown", "/C=VN/O=Bo Cong Thuong/CN=nobody");
    pki_->client("foreign", "/C=VN/O=Bo Cong Thuong/CN=eoffice", "foreign-ca");
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete dir_;
  }

  void SetUp() override { start(); }

  void start(config::Limits limits = test_limits()) {
    ListenerOptions o;
    o.name = "internal";
    o.listen = "127.0.0.1:0";
    o.tls_cert = pki_->cert("server");
    o.tls_key = pki_->key("server");
    o.client_ca = pki_->cert("ca");
    o.limits = limits;
    o.spool_dir = dir_->path();
    o.memory_body_bytes = 64 * 1024;
    config::Client sys;
    sys.name = "eoffice";
    sys.role = config::Role::system;
    sys.subject = "CN=eoffice,O=Bo Cong Thuong,C=VN";
    sys.organ_ids = {"000.00.00.G06"};
    config::Client off;
    off.name = "officer-lan";
    off.role = config::Role::officer;
    off.fingerprint = pki_->fingerprint("officer");
    o.clients = {sys, off};
    auto router = std::make_shared<Router>();
    router->add({"GET", "/v1/system", Access::only({config::Role::system}),
                 [](Request&, const Caller& c, const PathParams&) { return Response::text(200, c.name); }});
    router->add({"GET", "/v1/items/{id}", Access::any_role(),
                 [](Request&, const Caller&, const PathParams& p) { return Response::text(200, p.at("id")); }});
    router->add({"POST", "/v1/upload", Access::only({config::Role::system}),
                 [](Request& req, const Caller&, const PathParams&) {
                   auto all = req.body.read_all(8 << 20);
                   json::bj::object o;
                   o["size"] = req.body.size();
                   o["in_file"] = req.body.in_file();
                   o["fnv"] = all.ok() ? fnv(*all) : "";
                   return Response::json(200, o);
                 }});
    router->add({"GET", "/v1/slow", Access::any_role(), [](Request& req, const Caller&, const PathParams&) {
                   std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(req.query)));
                   return Response::text(200, "done");
                 }});
    metrics_ = std::make_unique<MetricsRegistry>();
    http_metrics_ = std::make_unique<HttpMetrics>(*metrics_);
    auto s = Server::start(o, router, http_metrics_.get());
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(*s);
  }

  static config::Limits test_limits() {
    config::Limits l;
    l.max_header_bytes = 4096;
    l.max_body_bytes = 1 << 20;
    l.request_timeout_s = 4;
    l.idle_timeout_s = 2;
    l.min_body_rate_bps = 4096;
    l.max_connections = 8;
    l.max_connections_per_client = 4;
    return l;
  }

  Result<ClientResponse> call(const std::string& who, const std::string& method, const std::string& path,
                              std::string body = "") {
    ClientOptions co;
    co.ca_file = pki_->cert("ca");
    if (!who.empty()) {
      co.client_cert = pki_->cert(who);
      co.client_key = pki_->key(who);
    }
    co.timeout = std::chrono::seconds(10);
    auto c = HttpsClient::create("https://127.0.0.1:" + std::to_string(server_->port()), co);
    if (!c.ok()) return c.error();
    ClientRequest r;
    r.method = method;
    r.path = path;
    r.body = std::move(body);
    return c->send(r);
  }

  RawClient raw(const std::string& who = "system", RawClient::Options o = {}) {
    o.ca = pki_->cert("ca");
    if (!who.empty()) {
      o.cert = pki_->cert(who);
      o.key = pki_->key(who);
    }
    return RawClient(server_->port(), o);
  }

  // The server still answers an ordinary request from a known caller.
  void expect_serving() {
    auto r = call("system", "GET", "/v1/system");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200u);
    EXPECT_EQ(r->body, "eoffice");
  }

  static TempDir* dir_;
  static TestPki* pki_;
  std::unique_ptr<MetricsRegistry> metrics_;
  std::unique_ptr<HttpMetrics> http_metrics_;
  std::unique_ptr<Server> server_;
};

TempDir* ServerTest::dir_ = nullptr;
TestPki* ServerTest::pki_ = nullptr;

// Issue 13: /readyz says "disk" before the store finds the disk full.
TEST(Readiness, ReportsADiskBelowTheFreeSpaceThreshold) {
  TempDir dir;
  Readiness low, ok, off, missing;
  add_disk_check(low, {dir.path()}, uint64_t{1} << 62);  // more than any disk has
  add_disk_check(ok, {dir.path()}, 1);
  add_disk_check(off, {dir / "absent"}, 0);  // 0: no check at all
  add_disk_check(missing, {dir.path(), dir / "absent"}, 1);
  Response r = low.evaluate();
  EXPECT_EQ(r.status, 503u);
  auto body = json::parse(r.body);
  ASSERT_TRUE(body.ok()) << r.body;
  const auto& disk = body->as_object().at("checks").as_object().at("disk").as_object();
  EXPECT_FALSE(disk.at("ok").as_bool());
  EXPECT_EQ(disk.at("error").as_string(), "ready.disk");
  EXPECT_NE(std::string(disk.at("detail").as_string()).find("min_free_mb"), std::string::npos) << r.body;
  EXPECT_EQ(ok.evaluate().status, 200u) << ok.evaluate().body;
  EXPECT_EQ(off.evaluate().status, 200u);
  EXPECT_EQ(off.evaluate().body.find("disk"), std::string::npos);  // no check added
  // A directory that cannot be measured is not assumed to have room.
  EXPECT_EQ(missing.evaluate().status, 503u);
}

TEST_F(ServerTest, MapsSubjectOfClientCertificateToItsRole) { expect_serving(); }

TEST_F(ServerTest, MapsFingerprintOfClientCertificateToItsRole) {
  auto r = call("officer", "GET", "/v1/items/42");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "42");
}

TEST_F(ServerTest, RefusesCallerWithoutCertificateWithProblem403) {
  auto r = call("", "GET", "/v1/system");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 403u);
  EXPECT_EQ(r->headers.get("Content-Type").value_or(""), "application/problem+json");
  auto v = json::parse(r->body);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->at("status").as_int64(), 403);
  EXPECT_EQ(v->at("type").as_string(), "urn:edxgate:problem:http.forbidden");
  expect_serving();
}

TEST_F(ServerTest, RefusesUnknownCertificateWith403EvenOnUnknownPaths) {
  auto r = call("unknown", "GET", "/v1/system");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 403u);
  r = call("unknown", "GET", "/no/such/path");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 403u);
}

TEST_F(ServerTest, RefusesWrongRoleWith403) {
  auto r = call("officer", "GET", "/v1/system");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 403u);
}

TEST_F(ServerTest, AnswersUnknownPathWith404AndWrongMethodWith405ForKnownCallers) {
  auto r = call("system", "GET", "/v2/nothing");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404u);
  r = call("system", "DELETE", "/v1/system");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 405u);
}

TEST_F(ServerTest, FailsHandshakeForCertificateFromAnotherCa) {
  auto c = raw("foreign");
  c.send("GET /v1/system HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(RawClient::status_of(c.receive()), 0);
  expect_serving();
}

TEST_F(ServerTest, RefusesTls11) {
  RawClient::Options o;
  o.max_tls_version = TLS1_1_VERSION;
  auto c = raw("system", o);
  EXPECT_FALSE(c.connected());
  expect_serving();
}

TEST_F(ServerTest, RefusesTls12CipherWithoutForwardSecrecyOrAead) {
  RawClient::Options o;
  o.ciphers = "AES128-SHA256:AES256-GCM-SHA384:ECDHE-ECDSA-AES128-SHA";
  EXPECT_FALSE(raw("system", o).connected());
  o.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  EXPECT_TRUE(raw("system", o).connected());
}

TEST_F(ServerTest, AnswersOversizedHeadersWith431) {
  auto c = raw();
  c.send("GET /v1/system HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n");
  std::string resp = c.receive();
  EXPECT_EQ(RawClient::status_of(resp), 431);
  EXPECT_NE(resp.find("application/problem+json"), std::string::npos);
  expect_serving();
}

TEST_F(ServerTest, AnswersOversizedDeclaredBodyWith413BeforeReadingIt) {
  auto c = raw();
  c.send("POST /v1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n");
  EXPECT_EQ(RawClient::status_of(c.receive()), 413);
  expect_serving();
}

TEST_F(ServerTest, AnswersChunkedBodyPastTheLimitWith413) {
  auto c = raw();
  std::string chunk = std::string(65536, 'x');
  std::string req = "POST /v1/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  c.send(req);
  for (int i = 0; i < 20; ++i)
    if (!c.send("10000\r\n" + chunk + "\r\n")) break;
  EXPECT_EQ(RawClient::status_of(c.receive()), 413);
  expect_serving();
}

TEST_F(ServerTest, AnswersMalformedChunkedBodyWith400) {
  for (const char* bad : {"zz\r\nhello\r\n0\r\n\r\n", "5\r\nhelloXX0\r\n\r\n", "-1\r\nx\r\n0\r\n\r\n"}) {
    auto c = raw();
    c.send(std::string("POST /v1/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n") + bad);
    EXPECT_EQ(RawClient::status_of(c.receive()), 400) << bad;
  }
  expect_serving();
}

TEST_F(ServerTest, AnswersRequestSmugglingAttemptWith400) {
  auto c = raw();
  c.send("POST /v1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!");
  EXPECT_EQ(RawClient::status_of(c.receive()), 400);
  expect_serving();
}

TEST_F(ServerTest, SpoolsLargeBodyToDiskAndHandsItWholeToTheHandler) {
  const std::string body = pattern(700 * 1024);
  auto r = call("system", "POST", "/v1/upload", body);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->status, 200u) << r->body;
  auto v = json::parse(r->body);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->at("size").to_number<uint64_t>(), body.size());
  EXPECT_TRUE(v->at("in_file").as_bool());
  EXPECT_EQ(v->at("fnv").as_string(), fnv(body));
  // The spool file is gone once the request is over.
  int left = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_->path()))
    left += e.path().filename().string().rfind("body-", 0) == 0;
  EXPECT_EQ(left, 0);
}

TEST_F(ServerTest, AcceptsChunkedBodyAndKeepsSmallBodiesInMemory) {
  auto c = raw();
  c.send(
      "POST /v1/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n "
      "world\r\n0\r\n\r\n");
  std::string resp = c.receive();
  ASSERT_EQ(RawClient::status_of(resp), 200) << resp;
  auto v = json::parse(RawClient::body_of(resp));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->at("size").to_number<uint64_t>(), 11u);
  EXPECT_FALSE(v->at("in_file").as_bool());
  EXPECT_EQ(v->at("fnv").as_string(), fnv("hello world"));
}

TEST_F(ServerTest, CutsOffSlowLorisHeadersWithinTheIdleTimeout) {
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<RawClient>(raw()));
    clients.back()->send("GET /v1/system HTTP/1.1\r\nHost: x\r\n");
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    for (auto& c : clients) c->send("X-Drip: 1\r\n");
  }
  for (auto& c : clients) EXPECT_EQ(RawClient::status_of(c->receive()), 408);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(secs, 6.0);
  expect_serving();
}

TEST_F(ServerTest, CutsOffBodySlowerThanTheMinimumRate) {
  auto c = raw();
  c.send("POST /v1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
  const auto t0 = std::chrono::steady_clock::now();
  std::string resp;
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    if (!c.send(std::string(100, 'x'))) break;  // ~333 B/s, far below 4096 B/s
  }
  resp = c.receive();
  EXPECT_EQ(RawClient::status_of(resp), 408) << resp;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 8.0);
  expect_serving();
}

TEST_F(ServerTest, ClosesIdleKeepAliveConnection) {
  auto c = raw();
  c.send("GET /v1/system HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(RawClient::status_of(c.receive()), 200);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(c.receive(), "");  // closed by the server after idle_timeout_s
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 4.5);
}

TEST_F(ServerTest, AnswersConnectionsPastThePerClientLimitWith429) {
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 4; ++i) held.push_back(std::make_unique<RawClient>(raw()));
  for (auto& h : held) ASSERT_TRUE(h->connected());
  auto extra = raw();
  EXPECT_EQ(RawClient::status_of(extra.receive()), 429);
  held.clear();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  expect_serving();
}

// Past max_connections a newcomer takes an idle connection's slot, and is
// refused (503) only when every slot serves a request: connection_slots_test.cc.

TEST_F(ServerTest, CountsRequestsByRouteAndStatusInMetrics) {
  expect_serving();
  (void)call("officer", "GET", "/v1/system");
  EXPECT_EQ(http_metrics_->requests.value({"internal", "/v1/system", "GET", "200"}), 1);
  EXPECT_EQ(http_metrics_->requests.value({"internal", "/v1/system", "GET", "403"}), 1);
  const std::string text = metrics_->render();
  EXPECT_NE(
      text.find(
          "edxgate_http_request_duration_seconds_bucket{listener=\"internal\",route=\"/v1/system\",le=\"+Inf\"} 2"),
      std::string::npos)
      << text;
}

TEST_F(ServerTest, GracefulStopLetsRequestInFlightFinish) {
  auto pending = std::async(std::launch::async, [this] { return call("system", "GET", "/v1/slow?800"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const uint16_t port = server_->port();
  server_->stop(std::chrono::seconds(5));
  auto r = pending.get();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "done");
  RawClient::Options plain;
  plain.tls = false;
  RawClient late(port, plain);
  EXPECT_FALSE(late.connected());
}

TEST_F(ServerTest, GracefulStopCutsRequestsPastTheGrace) {
  auto pending = std::async(std::launch::async, [this] { return call("system", "GET", "/v1/slow?3000"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto t0 = std::chrono::steady_clock::now();
  server_->stop(std::chrono::milliseconds(300));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 4.0);
  auto r = pending.get();
  EXPECT_FALSE(r.ok() && r->status == 200);
}

TEST(HealthRoutes, ServeHealthzReadyzAndMetricsOverPlainHttp) {
  MetricsRegistry registry;
  HttpMetrics http(registry);
  Readiness readiness;
  std::atomic<bool> store_ok{true};
  readiness.add("store", [&]() -> Status {
    if (store_ok) return {};
    return make_error(ErrorKind::unavailable, "store.closed", "the store is closed");
  });
  auto router = std::make_shared<Router>();
  add_health_routes(*router, readiness, registry);
  ListenerOptions o;
  o.name = "health";
  o.listen = "127.0.0.1:0";
  o.tls = false;
  auto s = Server::start(o, router, &http);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto c = HttpsClient::create("http://127.0.0.1:" + std::to_string((*s)->port()), {});
  ASSERT_TRUE(c.ok());
  auto get = [&](const std::string& p) {
    ClientRequest req;
    req.method = "GET";
    req.path = p;
    return c->send(req);
  };
  auto h = get("/healthz");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->status, 200u);
  auto r = get("/readyz");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200u);
  store_ok = false;
  r = get("/readyz");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503u);
  EXPECT_NE(r->body.find("store.closed"), std::string::npos);
  auto m = get("/metrics");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->status, 200u);
  EXPECT_NE(m->headers.get("Content-Type").value_or("").find("version=0.0.4"), std::string::npos);
  EXPECT_NE(m->body.find(
                "edxgate_http_requests_total{listener=\"health\",route=\"/readyz\",method=\"GET\",status=\"503\"} 1"),
            std::string::npos)
      << m->body;
  EXPECT_NE(m->body.find("# TYPE edxgate_http_request_duration_seconds histogram"), std::string::npos);
}

TEST(Metrics, RendersCountersGaugesAndHistogramsInPrometheusText) {
  MetricsRegistry r;
  auto& c = r.counter("docs_total", "Documents.", {"direction", "state"});
  auto& g = r.gauge("outbox_depth", "Outbox depth.");
  auto& h = r.histogram("lat_seconds", "Latency.", {"route"}, {0.1, 1});
  c.inc({"in", "stored"});
  c.inc({"in", "stored"});
  c.inc({"out", "q\"uote"});
  g.set({}, 7);
  h.observe({"/a"}, 0.05);
  h.observe({"/a"}, 0.5);
  h.observe({"/a"}, 5);
  const std::string t = r.render();
  EXPECT_NE(t.find("# TYPE docs_total counter\n"), std::string::npos);
  EXPECT_NE(t.find("docs_total{direction=\"in\",state=\"stored\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("docs_total{direction=\"out\",state=\"q\\\"uote\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("outbox_depth 7\n"), std::string::npos);
  EXPECT_NE(t.find("lat_seconds_bucket{route=\"/a\",le=\"0.1\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("lat_seconds_bucket{route=\"/a\",le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("lat_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("lat_seconds_sum{route=\"/a\"} 5.55\n"), std::string::npos);
  EXPECT_NE(t.find("lat_seconds_count{route=\"/a\"} 3\n"), std::string::npos);
}

}  // namespace
}  // namespace edxgate::gateway
