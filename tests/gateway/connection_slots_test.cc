// The listener's connection slots and deadlines (issue 13), in process against
// real TLS on loopback: which connection gives up its slot to a newcomer when
// max_connections is reached, when a newcomer is refused after all, the TLS
// handshake deadline, the idle deadline counted from accept, and the
// saturation that /readyz reports. The same against a flooded edxgated is in
// flood_test.cc.
#include <gtest/gtest.h>

#include <poll.h>

#include <future>
#include <thread>

#include "edxgate/gateway/health.h"
#include "edxgate/gateway/https_client.h"
#include "edxgate/gateway/server.h"
#include "test_support.h"

namespace edxgate::gateway {
namespace {

using testing::RawClient;
using testing::TempDir;
using testing::TestPki;
using SteadyClock = std::chrono::steady_clock;

double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// A TCP connection to the listener that sends nothing; -1 on failure.
int tcp_connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Whether the server closes `fd` within `ms` (it never sends on these).
bool closed_within(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, ms) <= 0) return false;
  char c;
  return ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

// Seconds until the server closes `fd`, reading and dropping what it sends;
// -1 if still open after `max_s`.
double seconds_until_closed(int fd, SteadyClock::time_point t0, double max_s) {
  char buf[4096];
  while (seconds_since(t0) < max_s) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    if (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0) return seconds_since(t0);
  }
  return -1;
}

constexpr const char* kGetSystem = "GET /v1/system HTTP/1.1\r\nHost: x\r\n\r\n";

class ConnectionSlotsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    pki_ = new TestPki(dir_->path());
    pki_->client("system", "/C=VN/O=Bo Cong Thuong/CN=eoffice");
    pki_->client("officer", "/C=VN/O=Bo Cong Thuong/CN=officer-lan");
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete dir_;
  }

  static config::Limits limits(uint32_t max_connections) {
    config::Limits l;
    l.request_timeout_s = 10;
    l.idle_timeout_s = 10;
    l.handshake_timeout_s = 10;
    l.max_connections = max_connections;
    l.max_connections_per_client = 16;
    return l;
  }

  void start(config::Limits l, std::vector<config::Role> authenticated_roles = {}) {
    ListenerOptions o;
    o.name = "internal";
    o.listen = "127.0.0.1:0";
    o.tls_cert = pki_->cert("server");
    o.tls_key = pki_->key("server");
    o.client_ca = pki_->cert("ca");
    o.limits = l;
    o.authenticated_roles = std::move(authenticated_roles);
    o.spool_dir = dir_->path();
    config::Client sys;
    sys.name = "eoffice";
    sys.role = config::Role::system;
    sys.subject = "CN=eoffice,O=Bo Cong Thuong,C=VN";
    config::Client off;
    off.name = "officer-lan";
    off.role = config::Role::officer;
    off.fingerprint = pki_->fingerprint("officer");
    o.clients = {sys, off};
    auto router = std::make_shared<Router>();
    router->add({"GET", "/v1/system", Access::any_role(),
                 [](Request&, const Caller& c, const PathParams&) { return Response::text(200, c.name); }});
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

  void TearDown() override {
    for (int fd : fds_) ::close(fd);
  }

  std::unique_ptr<RawClient> raw(const std::string& who) {
    RawClient::Options o;
    o.ca = pki_->cert("ca");
    o.cert = pki_->cert(who);
    o.key = pki_->key(who);
    o.recv_timeout_ms = 3000;
    return std::make_unique<RawClient>(server_->port(), o);
  }
  // The status of one keep-alive request on `c` (0: no answer, the connection is gone).
  static int status_of_request(RawClient& c) {
    if (!c.send(kGetSystem)) return 0;
    return RawClient::status_of(c.receive());
  }
  int silent() {
    int fd = tcp_connect(server_->port());
    fds_.push_back(fd);
    return fd;
  }
  void wait_for_connections(size_t n) {
    const auto t0 = SteadyClock::now();
    while (server_->connections() != n && seconds_since(t0) < 3)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(server_->connections(), n);
  }
  double refused(const std::string& reason) const { return http_metrics_->refused.value({"internal", reason}); }

  static TempDir* dir_;
  static TestPki* pki_;
  std::unique_ptr<MetricsRegistry> metrics_;
  std::unique_ptr<HttpMetrics> http_metrics_;
  std::unique_ptr<Server> server_;
  std::vector<int> fds_;
};

TempDir* ConnectionSlotsTest::dir_ = nullptr;
TestPki* ConnectionSlotsTest::pki_ = nullptr;

TEST_F(ConnectionSlotsTest, NewcomerTakesTheSlotOfTheOldestSilentConnectionThenOfTheLongestIdleClient) {
  start(limits(3));
  auto a = raw("system");
  ASSERT_EQ(status_of_request(*a), 200);  // a client, now idle between keep-alive requests
  const int b = silent();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const int c = silent();
  wait_for_connections(3);

  // Full: the newcomer is served, in the slot of the oldest silent connection.
  auto d = raw("system");
  ASSERT_EQ(status_of_request(*d), 200);
  EXPECT_TRUE(closed_within(b, 2000));
  EXPECT_FALSE(closed_within(c, 100));
  auto e = raw("system");
  ASSERT_EQ(status_of_request(*e), 200);
  EXPECT_TRUE(closed_within(c, 2000));
  // Only clients left, all idle: the one idle the longest gives up its slot.
  auto g = raw("system");
  ASSERT_EQ(status_of_request(*g), 200);
  EXPECT_EQ(status_of_request(*a), 0);
  EXPECT_EQ(status_of_request(*e), 200);
  EXPECT_EQ(refused("evicted_silent"), 2);
  EXPECT_EQ(refused("evicted_idle"), 1);
  EXPECT_EQ(refused("max_connections"), 0);
}

TEST_F(ConnectionSlotsTest, NewcomerIsRefusedWith503OnlyWhenEverySlotServesAClientsRequest) {
  start(limits(3));
  ClientOptions co;
  co.ca_file = pki_->cert("ca");
  co.client_cert = pki_->cert("system");
  co.client_key = pki_->key("system");
  co.timeout = std::chrono::seconds(10);
  auto client = HttpsClient::create("https://127.0.0.1:" + std::to_string(server_->port()), co);
  ASSERT_TRUE(client.ok());
  ClientRequest slow;
  slow.method = "GET";
  slow.path = "/v1/slow?1500";
  std::vector<std::future<Result<ClientResponse>>> pending;
  for (int i = 0; i < 3; ++i) pending.push_back(std::async(std::launch::async, [&] { return client->send(slow); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(server_->connections(), 3u);
  auto extra = raw("system");
  const std::string answer = extra->receive();
  EXPECT_EQ(RawClient::status_of(answer), 503) << answer;
  EXPECT_NE(answer.find("http.busy"), std::string::npos) << answer;
  for (auto& p : pending) {  // none of them was cut for the newcomer
    auto r = p.get();
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200u);
  }
  EXPECT_EQ(refused("max_connections"), 1);
  const ListenerLoad load = server_->load();
  EXPECT_EQ(load.refused_last_minute, 1u);
  EXPECT_EQ(load.evicted_last_minute, 0u);
}

// On a listener for one role (the axis listener is for the axis only), a
// client of another role is as unauthenticated as one without a certificate.
TEST_F(ConnectionSlotsTest, ClientOfAnotherRoleThanTheListenersIsEvictedBeforeAnOlderIdleClientOfItsRole) {
  start(limits(3), {config::Role::officer});
  auto officer = raw("officer");
  ASSERT_EQ(status_of_request(*officer), 200);
  auto s1 = raw("system");
  ASSERT_EQ(status_of_request(*s1), 200);
  auto s2 = raw("system");
  ASSERT_EQ(status_of_request(*s2), 200);
  auto newcomer = raw("officer");
  ASSERT_EQ(status_of_request(*newcomer), 200);
  EXPECT_EQ(status_of_request(*s1), 0);
  EXPECT_EQ(status_of_request(*officer), 200);
  EXPECT_EQ(refused("evicted_unauthenticated"), 1);
  EXPECT_EQ(refused("evicted_idle"), 0);
}

TEST_F(ConnectionSlotsTest, ConnectionsThatNeverFinishTheHandshakeAreClosedAtTheHandshakeDeadline) {
  auto l = limits(8);
  l.handshake_timeout_s = 1;
  l.idle_timeout_s = 4;
  start(l);
  const auto t0 = SteadyClock::now();
  const int quiet = silent();    // never a byte
  const int stalled = silent();  // a TLS record header, then nothing
  ASSERT_EQ(::send(stalled, "\x16\x03\x01\x02\x00", 5, MSG_NOSIGNAL), 5);
  for (int fd : {quiet, stalled}) {
    const double secs = seconds_until_closed(fd, t0, 6);
    EXPECT_GT(secs, 0.8);
    EXPECT_LT(secs, 1.8);
  }
  EXPECT_EQ(refused("handshake_timeout"), 2);
}

// The idle deadline of the first request runs from accept, handshake
// included: a slow handshake does not buy a client more idle time.
TEST_F(ConnectionSlotsTest, FirstRequestIsDueIdleTimeoutAfterAcceptNotAfterTheHandshake) {
  auto l = limits(8);
  l.handshake_timeout_s = 3;
  l.idle_timeout_s = 4;
  start(l);
  const auto t0 = SteadyClock::now();
  const int fd = silent();
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(ctx, pki_->cert("ca").c_str(), nullptr);
  SSL_CTX_use_certificate_chain_file(ctx, pki_->cert("system").c_str());
  SSL_CTX_use_PrivateKey_file(ctx, pki_->key("system").c_str(), SSL_FILETYPE_PEM);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  const bool handshake = SSL_connect(ssl) == 1;
  EXPECT_TRUE(handshake);
  const double secs = seconds_until_closed(fd, t0, 9);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  EXPECT_GT(secs, 3.5);
  EXPECT_LT(secs, 5.0);  // 4 s after accept; 6.5 s if counted from the handshake
}

TEST_F(ConnectionSlotsTest, ReadinessNamesTheSaturatedListener) {
  start(limits(3));
  Readiness readiness;
  add_listener_check(readiness, *server_);
  Response ready = readiness.evaluate();
  EXPECT_EQ(ready.status, 200u) << ready.body;
  for (int i = 0; i < 3; ++i) silent();
  wait_for_connections(3);
  Response full = readiness.evaluate();
  EXPECT_EQ(full.status, 503u);
  EXPECT_NE(
      full.body.find("\"listener:internal\":{\"ok\":false,\"error\":\"ready.listener_saturated\","
                     "\"detail\":\"saturated: 3 connections (max 3), 0 evicted and 0 refused in the last minute\"}"),
      std::string::npos)
      << full.body;
  auto newcomer = raw("system");
  ASSERT_EQ(status_of_request(*newcomer), 200);
  const ListenerLoad load = server_->load();
  EXPECT_EQ(load.name, "internal");
  EXPECT_EQ(load.open, 3u);
  EXPECT_EQ(load.max, 3u);
  EXPECT_EQ(load.evicted_last_minute, 1u);
  EXPECT_TRUE(load.saturated);
  // Below the cap again, yet it evicted a moment ago: still saturated.
  newcomer.reset();
  for (int fd : fds_) ::close(fd);
  fds_.clear();
  wait_for_connections(0);
  EXPECT_TRUE(server_->load().saturated);
  EXPECT_NE(readiness.evaluate().body.find("saturated: 0 connections (max 3), 1 evicted"), std::string::npos);
}

}  // namespace
}  // namespace edxgate::gateway
