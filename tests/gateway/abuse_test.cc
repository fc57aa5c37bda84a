// Abuse of a running edxgated: the real binary on loopback with a test PKI,
// tight limits and the axis push listener on. Each case sends hostile bytes,
// asserts the exact refusal, and then checks that the daemon is still alive
// and still serves an ordinary request on the internal and health listeners.
// Bounded: a few connections per case, about 15 s for the whole suite.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <regex>
#include <thread>

#include "edxgate/base/json.h"
#include "edxgate/base/secret.h"
#include "edxgate/gateway/https_client.h"
#include "edxgate/gateway/vdxp.h"
#include "edxgate/store/store.h"
#include "test_support.h"

namespace edxgate::gateway {
namespace {

using testing::RawClient;
using testing::read_text;
using testing::TempDir;
using testing::TestPki;
using testing::write_text;
using SteadyClock = std::chrono::steady_clock;

constexpr uint32_t kMaxHeaderBytes = 2048;
constexpr uint64_t kMaxBodyBytes = 16384;
constexpr uint32_t kRequestTimeoutS = 3;
constexpr uint32_t kIdleTimeoutS = 2;
constexpr uint32_t kMinBodyRateBps = 1024;
constexpr uint32_t kMaxPerClient = 4;
constexpr const char* kSystemId = "SYS-C";
constexpr const char* kSecret = "secret-of-sys-c";

double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// The value of a response header (name in lower case), "" if absent.
std::string header_of(const std::string& raw, const std::string& name) {
  auto end = raw.find("\r\n\r\n");
  std::string head = raw.substr(0, end);
  std::string lower = head;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto p = lower.find("\r\n" + name + ":");
  if (p == std::string::npos) return "";
  p += name.size() + 3;
  auto e = head.find("\r\n", p);
  std::string v = head.substr(p, e == std::string::npos ? std::string::npos : e - p);
  while (!v.empty() && v.front() == ' ') v.erase(0, 1);
  return v;
}

// A billion-laughs document (entity expansion) with an external entity too.
std::string hostile_xml() {
  std::string x =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
      " <!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n";
  std::string prev = "lol";
  for (int i = 1; i <= 9; ++i) {
    std::string name = "lol" + std::to_string(i);
    x += " <!ENTITY " + name + " \"";
    for (int k = 0; k < 10; ++k) x += "&" + prev + ";";
    x += "\">\n";
    prev = name;
  }
  x += "]>\n<edXMLEnvelope><edXMLHeader>&lol9;&xxe;</edXMLHeader></edXMLEnvelope>\n";
  return x;
}

class AbuseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    pki_ = new TestPki(dir_->path());
    pki_->client("system", "/C=VN/O=Bo Cong Thuong/CN=eoffice");
    pki_->client("axis", "/C=VN/O=Truc lien thong/CN=axis");
    pki_->client("foreign", "/C=VN/O=Bo Cong Thuong/CN=eoffice", "foreign-ca");
    write_text(*dir_ / "axis.secret", std::string(kSecret) + "\n");
    const std::string q = "\"";
    write_text(*dir_ / "edxgate.toml",
               "[server]\ninternal_listen = \"127.0.0.1:0\"\naxis_listen = \"127.0.0.1:0\"\n"
               "health_listen = \"127.0.0.1:0\"\n"
               "tls_cert = " +
                   q + pki_->cert("server") + q + "\ntls_key = " + q + pki_->key("server") + q + "\nclient_ca = " + q +
                   pki_->cert("ca") + q +
                   "\nshutdown_grace_s = 2\n"
                   "[limits]\nmax_header_bytes = " +
                   std::to_string(kMaxHeaderBytes) + "\nmax_body_bytes = " + std::to_string(kMaxBodyBytes) +
                   "\nrequest_timeout_s = " + std::to_string(kRequestTimeoutS) + "\nidle_timeout_s = " +
                   std::to_string(kIdleTimeoutS) + "\nmin_body_rate_bps = " + std::to_string(kMinBodyRateBps) +
                   "\nmax_connections = 64\nmax_connections_per_client = " + std::to_string(kMaxPerClient) +
                   "\n[store]\nstate_dir = " + q + (*dir_ / "state") + q + "\n[axis]\nmode = \"push\"\nsystem_id = \"" +
                   kSystemId + "\"\nsecret_file = " + q + (*dir_ / "axis.secret") + q +
                   "\n\n[[clients]]\nname = \"eoffice\"\nrole = \"system\"\n"
                   "subject = \"CN=eoffice,O=Bo Cong Thuong,C=VN\"\norgan_ids = [\"000.00.00.G06\"]\n"
                   "\n[[clients]]\nname = \"axis\"\nrole = \"axis\"\nfingerprint = \"" +
                   pki_->fingerprint("axis") + "\"\n");
    log_path_ = new std::string(*dir_ / "edxgated.log");
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log_path_->c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 2);
      ::unsetenv("NOTIFY_SOCKET");
      const std::string exe = std::string(EDXGATE_BINARY_DIR) + "/bin/edxgated";
      const std::string cfg = *dir_ / "edxgate.toml";
      ::execl(exe.c_str(), exe.c_str(), "--config", cfg.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // The three listeners log their bound addresses once they accept.
    const std::regex listening(
        "msg=listening listener=(internal|axis|health) "
        "address=\"?https?://127\\.0\\.0\\.1:([0-9]+)");
    const auto t0 = SteadyClock::now();
    while (seconds_since(t0) < 20 && (!internal_port_ || !axis_port_ || !health_port_)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) break;
      const std::string log = read_text(*log_path_);
      for (std::sregex_iterator it(log.begin(), log.end(), listening), end; it != end; ++it) {
        const auto port = static_cast<uint16_t>(std::stoi((*it)[2].str()));
        const std::string which = (*it)[1].str();
        (which == "internal" ? internal_port_ : which == "axis" ? axis_port_ : health_port_) = port;
      }
    }
  }

  static void TearDownTestSuite() {
    if (pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      const auto t0 = SteadyClock::now();
      while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (seconds_since(t0) > 10) {
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, &status, 0);
          ADD_FAILURE() << "edxgated did not stop within 10 s of SIGTERM";
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        ADD_FAILURE() << "edxgated did not exit cleanly on SIGTERM (status " << status << ")\n"
                      << read_text(*log_path_);
    }
    delete log_path_;
    delete pki_;
    delete dir_;
    pid_ = 0;
    internal_port_ = axis_port_ = health_port_ = 0;
  }

  void SetUp() override {
    ASSERT_TRUE(internal_port_ && axis_port_ && health_port_) << "edxgated did not start its three listeners:\n"
                                                              << read_text(*log_path_);
    ASSERT_TRUE(alive());
  }

  // Still running: not exited, not a zombie (kill(pid, 0) alone succeeds on one).
  static bool alive() { return ::waitpid(pid_, nullptr, WNOHANG) == 0 && ::kill(pid_, 0) == 0; }

  static RawClient raw(uint16_t port, const std::string& who, bool tls = true, int recv_timeout_ms = 8000) {
    RawClient::Options o;
    o.tls = tls;
    o.ca = pki_->cert("ca");
    if (!who.empty()) {
      o.cert = pki_->cert(who);
      o.key = pki_->key(who);
    }
    o.recv_timeout_ms = recv_timeout_ms;
    return RawClient(port, o);
  }

  static Result<ClientResponse> call(uint16_t port, const std::string& who, ClientRequest req, bool tls = true) {
    ClientOptions co;
    co.ca_file = pki_->cert("ca");
    if (!who.empty()) {
      co.client_cert = pki_->cert(who);
      co.client_key = pki_->key(who);
    }
    co.timeout = std::chrono::seconds(10);
    auto c = HttpsClient::create(std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port), co);
    if (!c.ok()) return c.error();
    return c->send(req);
  }

  static ClientRequest get(const std::string& path) {
    ClientRequest r;
    r.method = "GET";
    r.path = path;
    return r;
  }

  // The gauge edxgate_http_connections of a listener, read from /metrics.
  static double open_connections(const std::string& listener) {
    auto r = call(health_port_, "", get("/metrics"), false);
    if (!r.ok() || r->status != 200) return -1;
    std::smatch m;
    const std::regex re("edxgate_http_connections\\{listener=\"" + listener + "\"\\} ([0-9.]+)");
    return std::regex_search(r->body, m, re) ? std::stod(m[1].str()) : 0;
  }

  // After a case: the daemon lives, every connection of the case is released
  // (so the per-client count starts from zero again), and ordinary requests
  // on the internal and health listeners succeed.
  // Incoming documents in the daemon's store (read-only, beside the daemon).
  uint64_t incoming_documents() {
    store::StoreOptions so;
    so.state_dir = *dir_ / "state";
    so.read_only = true;
    auto db = store::open_store(so);
    if (!db.ok()) return 0;  // not created yet: nothing stored
    store::DocumentQuery q;
    q.direction = store::Direction::incoming;
    auto page = (*db)->list_documents(q);
    return page.ok() ? page->documents.size() : 0;
  }

  void expect_healthy() {
    ASSERT_TRUE(alive()) << "edxgated died:\n" << read_text(*log_path_);
    const auto t0 = SteadyClock::now();
    while ((open_connections("internal") != 0 || open_connections("axis") != 0) && seconds_since(t0) < 5)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(open_connections("internal"), 0) << "connections of the internal listener were not released";
    EXPECT_EQ(open_connections("axis"), 0) << "connections of the axis listener were not released";
    auto r = call(internal_port_, "system", get("/v1/whoami"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200u) << r->body;
    auto v = json::parse(r->body);
    ASSERT_TRUE(v.ok()) << r->body;
    EXPECT_EQ(v->at("name").as_string(), "eoffice");
    EXPECT_EQ(v->at("role").as_string(), "system");
    auto h = call(health_port_, "", get("/healthz"), false);
    ASSERT_TRUE(h.ok()) << h.error().message;
    EXPECT_EQ(h->status, 200u);
    EXPECT_EQ(h->body, "ok\n");
    ASSERT_TRUE(alive());
  }

  // `raw` is one complete problem+json response with this status and code,
  // which closes the connection.
  static void expect_problem(const std::string& raw, int status, const std::string& code) {
    ASSERT_EQ(RawClient::status_of(raw), status) << raw;
    EXPECT_EQ(header_of(raw, "content-type"), "application/problem+json") << raw;
    EXPECT_EQ(header_of(raw, "connection"), "close") << raw;
    auto v = json::parse(RawClient::body_of(raw));
    ASSERT_TRUE(v.ok()) << raw;
    EXPECT_EQ(v->at("status").as_int64(), status) << raw;
    EXPECT_EQ(v->at("type").as_string(), "urn:edxgate:problem:" + code) << raw;
  }

  // A VDXP answer: application/json {"status", "ErrorCode", "ErrorDesc"[, "DocId"]}.
  static void expect_vdxp(const ClientResponse& r, const std::string& status, const std::string& error_code) {
    EXPECT_EQ(r.headers.get("Content-Type").value_or(""), "application/json");
    auto v = json::parse(r.body);
    ASSERT_TRUE(v.ok()) << r.body;
    ASSERT_TRUE(v->is_object()) << r.body;
    EXPECT_EQ(v->at("status").as_string(), status) << r.body;
    if (!error_code.empty()) {
      EXPECT_EQ(v->at("ErrorCode").as_string(), error_code) << r.body;
    }
    EXPECT_TRUE(v->as_object().contains("ErrorDesc")) << r.body;
  }

  static ClientRequest send_edoc(const std::string& body, const std::string& secret,
                                 const std::string& system_id = kSystemId) {
    SecretString s(secret);
    auto h = vdxp::sign({{"from", "000.00.00.G06"},
                         {"servicetype", "eDoc"},
                         {"messagetype", "edoc"},
                         {"hash-file", vdxp::hash_bytes_hex(body)}},
                        vdxp::kContentTypeFile, system_id, s, vdxp::Clock::now());
    ClientRequest req;
    req.path = "/vdxp/sendEdoc";
    if (h.ok())
      for (auto& x : *h) req.headers.emplace_back(x.name, x.value);
    req.content_type = std::string(vdxp::kContentTypeFile);
    req.body = body + std::string(vdxp::kFileTrailer);  // as the SDK sends it
    return req;
  }

  // The request line and well-signed axis headers of a push, for the cases
  // that abuse its body (an unsigned one is refused before its body is read).
  static std::string signed_post() {
    std::string h = "POST /vdxp/sendEdoc HTTP/1.1\r\nHost: x\r\n";
    for (const auto& [k, v] : send_edoc("<edXML/>", kSecret).headers) h += k + ": " + v + "\r\n";
    return h;
  }

  static TempDir* dir_;
  static TestPki* pki_;
  static std::string* log_path_;
  static pid_t pid_;
  static uint16_t internal_port_, axis_port_, health_port_;
};

TempDir* AbuseTest::dir_ = nullptr;
TestPki* AbuseTest::pki_ = nullptr;
std::string* AbuseTest::log_path_ = nullptr;
pid_t AbuseTest::pid_ = 0;
uint16_t AbuseTest::internal_port_ = 0;
uint16_t AbuseTest::axis_port_ = 0;
uint16_t AbuseTest::health_port_ = 0;

TEST_F(AbuseTest, ServesOrdinaryRequests) { expect_healthy(); }

TEST_F(AbuseTest, OversizedHeadersGet431) {
  {  // the connections close before the health check
    for (uint16_t port : {internal_port_, axis_port_}) {
      auto c = raw(port, port == axis_port_ ? "axis" : "system");
      ASSERT_TRUE(c.connected());
      c.send("GET /v1/whoami HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2 * kMaxHeaderBytes, 'a') + "\r\n\r\n");
      SCOPED_TRACE("one big header, port " + std::to_string(port));
      expect_problem(c.receive(), 431, "http.header_too_large");
    }
    // Many small headers add up the same way, even when each read holds less
    // than the limit (Beast alone counted only the bytes of one read).
    auto c = raw(internal_port_, "system");
    std::string many = "GET /v1/whoami HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 250; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
    c.send(many + "\r\n");
    SCOPED_TRACE("many headers: " + std::to_string(many.size() + 2) + " bytes");
    expect_problem(c.receive(), 431, "http.header_too_large");
  }
  expect_healthy();
}

TEST_F(AbuseTest, BodyDeclaredLargerThanTheLimitGets413BeforeItIsRead) {
  {  // the connections close before the health check
    const std::string len = std::to_string(kMaxBodyBytes + 1);
    auto c = raw(axis_port_, "axis");
    c.send(signed_post() + "Content-Length: " + len + "\r\n\r\n");
    expect_problem(c.receive(), 413, "http.body_too_large");
    // Whatever the route: the parser refuses the length before routing.
    auto d = raw(internal_port_, "system");
    d.send("POST /v1/whoami HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n");
    expect_problem(d.receive(), 413, "http.body_too_large");
  }
  expect_healthy();
}

TEST_F(AbuseTest, ChunkedBodyPastTheLimitGets413) {
  // Sent in one write, and no more than the server reads before it answers:
  // bytes left unread when it closes would turn its close into a reset that
  // can overtake the answer.
  const std::string head = signed_post() + "Transfer-Encoding: chunked\r\n\r\n";
  {
    // Many chunks, each within the limit, adding up past it.
    auto c = raw(axis_port_, "axis");
    std::string req = head;
    const std::string chunk(4096, 'x');
    for (uint64_t sent = 0; sent <= kMaxBodyBytes; sent += chunk.size()) req += "1000\r\n" + chunk + "\r\n";
    ASSERT_TRUE(c.send(req));
    expect_problem(c.receive(), 413, "http.body_too_large");
  }
  {
    // One chunk declared larger than the limit.
    auto c = raw(axis_port_, "axis");
    ASSERT_TRUE(c.send(head + "8000\r\n" + std::string(100, 'x')));
    expect_problem(c.receive(), 413, "http.body_too_large");
  }
  expect_healthy();
}

TEST_F(AbuseTest, SlowLorisHeadersAreCutOffWith408WithinTheIdleTimeout) {
  {  // the connections close before the health check
    auto c = raw(internal_port_, "system");
    ASSERT_TRUE(c.connected());
    const auto t0 = SteadyClock::now();
    c.send("GET /v1/whoami HTTP/1.1\r\n");
    // One header line every 400 ms, never the blank line: never a complete request.
    for (int i = 0; i < 7 && seconds_since(t0) < kIdleTimeoutS + 0.8; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(400));
      if (!c.send("X-Drip-" + std::to_string(i) + ": 1\r\n")) break;
    }
    const std::string resp = c.receive();
    const double secs = seconds_since(t0);
    expect_problem(resp, 408, "http.timeout");
    EXPECT_LT(secs, kIdleTimeoutS + 2.5);
  }
  expect_healthy();
}

TEST_F(AbuseTest, SlowBodyIsCutOffWith408) {
  {  // the connections close before the health check
    auto c = raw(axis_port_, "axis");
    ASSERT_TRUE(c.connected());
    c.send(signed_post() + "Content-Length: 10000\r\n\r\n");
    const auto t0 = SteadyClock::now();
    // ~100 B/s against a minimum of 1024 B/s (after a 2 s start).
    for (int i = 0; i < 20 && seconds_since(t0) < kRequestTimeoutS + 0.5; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      if (!c.send(std::string(25, 'x'))) break;
    }
    const std::string resp = c.receive();
    expect_problem(resp, 408, "http.slow_body");
    EXPECT_LT(seconds_since(t0), kRequestTimeoutS + 2.0);
  }
  expect_healthy();
}

TEST_F(AbuseTest, BodyThatStopsArrivingGets408) {
  {  // the connections close before the health check
    auto c = raw(axis_port_, "axis");
    ASSERT_TRUE(c.connected());
    const auto t0 = SteadyClock::now();
    c.send(signed_post() + "Content-Length: 1000\r\n\r\nonly this");
    expect_problem(c.receive(), 408, "http.timeout");
    EXPECT_LT(seconds_since(t0), kIdleTimeoutS + 2.0);
  }
  expect_healthy();
}

TEST_F(AbuseTest, MalformedChunkedEncodingGets400) {
  for (const char* bad : {"zz\r\nhello\r\n0\r\n\r\n", "5\r\nhelloXX0\r\n\r\n", "-1\r\nx\r\n0\r\n\r\n",
                          "ffffffffffffffffffff\r\nx\r\n0\r\n\r\n"}) {
    auto c = raw(axis_port_, "axis");
    c.send(signed_post() + "Transfer-Encoding: chunked\r\n\r\n" + bad);
    expect_problem(c.receive(), 400, "http.malformed");
  }
  expect_healthy();
}

TEST_F(AbuseTest, GarbageRequestLinesGet400) {
  {  // the connections close before the health check
    const std::string cases[] = {
        "HELLO\r\n\r\n",
        "GET /v1/whoami HTTP/9.9\r\nHost: x\r\n\r\n",
        "GET /v1/whoami\r\n\r\n",
        std::string("\x00\x01\x02\xff\xfe garbage \x7f\r\n\r\n", 19),
        "GET /v1/who ami HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /v1/whoami HTTP/1.1\r\nBad Header: x\r\n\r\n",
    };
    for (const auto& bad : cases) {
      auto c = raw(internal_port_, "system");
      c.send(bad);
      SCOPED_TRACE(bad);
      expect_problem(c.receive(), 400, "http.malformed");
    }
    // Well-formed HTTP with a target that is not an absolute path.
    auto c = raw(internal_port_, "system");
    c.send("GET v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_problem(c.receive(), 400, "http.target");
  }
  expect_healthy();
}

TEST_F(AbuseTest, ConnectionsPastThePerClientLimitGet429) {
  {
    std::vector<std::unique_ptr<RawClient>> held;
    for (uint32_t i = 0; i < kMaxPerClient; ++i) {
      held.push_back(std::make_unique<RawClient>(raw(internal_port_, "system")));
      ASSERT_TRUE(held.back()->connected());
    }
    for (int i = 0; i < 3; ++i) {
      auto extra = raw(internal_port_, "system");
      expect_problem(extra.receive(), 429, "http.too_many_connections");
    }
    // The held connections still work.
    held.front()->send("GET /v1/whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(RawClient::status_of(held.front()->receive()), 200);
  }
  expect_healthy();
}

TEST_F(AbuseTest, CallerWithoutCertificateGets403OnRoleRestrictedRoutes) {
  {  // the connections close before the health check
    auto c = raw(internal_port_, "");
    ASSERT_TRUE(c.connected());
    c.send("GET /v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_problem(c.receive(), 403, "http.forbidden");
    auto a = raw(axis_port_, "");
    ASSERT_TRUE(a.connected());
    a.send("POST /vdxp/sendEdoc HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    expect_problem(a.receive(), 403, "http.forbidden");
    // A known caller with the wrong role for the axis endpoint.
    auto s = call(axis_port_, "system", send_edoc("<x/>", kSecret));
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(s->status, 403u);
    EXPECT_EQ(s->headers.get("Content-Type").value_or(""), "application/problem+json");
  }
  expect_healthy();
}

TEST_F(AbuseTest, ClientCertificateFromAnUntrustedCaFailsTheHandshake) {
  for (uint16_t port : {internal_port_, axis_port_}) {
    auto c = raw(port, "foreign");
    // TLS 1.3 reports the refused certificate on the first read.
    c.send("GET /v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(RawClient::status_of(c.receive()), 0);
  }
  auto r = call(internal_port_, "foreign", get("/v1/whoami"));
  EXPECT_FALSE(r.ok() && r->status == 200);
  expect_healthy();
}

TEST_F(AbuseTest, PlainHttpToTheTlsPortIsClosedWithoutAnAnswer) {
  for (uint16_t port : {internal_port_, axis_port_}) {
    auto c = raw(port, "", false);
    ASSERT_TRUE(c.connected());
    const auto t0 = SteadyClock::now();
    c.send("GET /v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string resp = c.receive();
    EXPECT_EQ(resp.find("HTTP/"), std::string::npos) << resp;
    EXPECT_LT(seconds_since(t0), 4.0);  // closed, not left to the 8 s client timeout
  }
  expect_healthy();
}

TEST_F(AbuseTest, AxisPushSignedWithAWrongSecretIsRefusedWithAVdxpAnswer) {
  const std::string xml = hostile_xml();
  auto r = call(axis_port_, "axis", send_edoc(xml, "not-the-secret"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 401u) << r->body;
  expect_vdxp(*r, "FAIL", "vdxp.bad_mac");
  r = call(axis_port_, "axis", send_edoc(xml, kSecret, "SYS-UNKNOWN"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 401u) << r->body;
  expect_vdxp(*r, "FAIL", "vdxp.unknown_system");
  // No signature headers at all.
  ClientRequest bare;
  bare.path = "/vdxp/sendEdoc";
  bare.body = xml;
  r = call(axis_port_, "axis", bare);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 401u) << r->body;
  expect_vdxp(*r, "FAIL", "vdxp.missing");
  EXPECT_EQ(incoming_documents(), 0u);  // nothing refused was stored
  expect_healthy();
}

// The signed headers are checked as soon as they arrive: a push with a wrong
// MAC is answered at once, without waiting for (or reading) its body, which
// here never comes; a genuine one is waited for until its body is in.
TEST_F(AbuseTest, AxisPushWithAWrongMacIsRefusedBeforeItsBodyIsRead) {
  auto head = [](const std::string& secret) {
    const std::string body = "<edXML/>";
    std::string h = "POST /vdxp/sendEdoc HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n";
    for (const auto& [k, v] : send_edoc(body, secret).headers) h += k + ": " + v + "\r\n";
    return h + "\r\n";
  };
  {
    auto c = raw(axis_port_, "axis");
    ASSERT_TRUE(c.connected());
    const auto t0 = SteadyClock::now();
    c.send(head("not-the-secret"));
    const std::string resp = c.receive();
    EXPECT_EQ(RawClient::status_of(resp), 401) << resp;
    EXPECT_NE(RawClient::body_of(resp).find("vdxp.bad_mac"), std::string::npos) << resp;
    EXPECT_LT(seconds_since(t0), kIdleTimeoutS * 0.5);  // not the body timeout
  }
  {
    auto c = raw(axis_port_, "axis");
    ASSERT_TRUE(c.connected());
    c.send(head(kSecret));
    // Well signed: the server waits for the body, then times it out.
    EXPECT_EQ(RawClient::status_of(c.receive()), 408);
  }
  expect_healthy();
}

// The push endpoint checks the signature and the hash-file, then hands the
// bytes to the engine, which keeps them as received and parses them with the
// hardened edXML parser; it refuses any DOCTYPE, so a billion-laughs body
// from the genuine axis ends in quarantine: never expanded, never a 5xx, the
// daemon unharmed.
TEST_F(AbuseTest, AxisPushOfABillionLaughsBodyIsNeverExpandedNorACrash) {
  const std::string xml = hostile_xml();
  auto r = call(axis_port_, "axis", send_edoc(xml, kSecret));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_LT(r->status, 500u) << r->body;
  if (r->status == 200) {
    expect_vdxp(*r, "OK", "0");
    auto v = json::parse(r->body);
    ASSERT_TRUE(v.ok());
    const std::string id(v->at("DocId").as_string());
    store::StoreOptions so;
    so.state_dir = *dir_ / "state";
    so.read_only = true;
    auto db = store::open_store(so);
    ASSERT_TRUE(db.ok()) << db.error().message;
    auto doc = (*db)->get_document(std::stoll(id));
    ASSERT_TRUE(doc.ok()) << doc.error().message;
    EXPECT_EQ(doc->state, store::State::quarantined);
    EXPECT_NE(doc->signer_summary.find("xml.doctype"), std::string::npos) << doc->signer_summary;
    ASSERT_TRUE(doc->envelope.has_value());
    EXPECT_EQ((*db)->blobs().read(doc->envelope->sha256, 1 << 20).value(), xml);  // as received, not expanded
  } else {
    expect_vdxp(*r, "FAIL", "");
  }
  // A hash-file that matches neither the body nor the body less its CRLF.
  auto req = send_edoc(xml, kSecret);
  req.body.insert(req.body.size() - 2, "<!-- tampered -->");
  r = call(axis_port_, "axis", req);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 400u) << r->body;
  expect_vdxp(*r, "FAIL", "vdxp.hash_file");
  expect_healthy();
}

}  // namespace
}  // namespace edxgate::gateway
