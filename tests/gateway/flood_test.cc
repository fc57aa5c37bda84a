// Connection floods against a running edxgated (issue 13): the real binary on
// loopback with a small max_connections, flooded from 18 loopback addresses
// (127.0.0.2 .. 127.0.0.19, so the per-address limit alone cannot stop it)
// by three times that many TCP connections that never start TLS, plus TLS
// connections that complete a handshake without a client certificate and then
// sit idle. The flood is kept up the way an attacker keeps it up: every
// connection the gateway closes is opened again (a few hundred a second). While it lasts, a
// client with its certificate must get every answer within a bound, /readyz
// must name the saturated listener and /metrics must count the evictions;
// when it ends, everything is back to normal.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <regex>
#include <thread>

#include "edxgate/base/json.h"
#include "edxgate/gateway/https_client.h"
#include "test_support.h"

namespace edxgate::gateway {
namespace {

using testing::read_text;
using testing::TempDir;
using testing::TestPki;
using testing::write_text;
using SteadyClock = std::chrono::steady_clock;

constexpr uint32_t kMaxConnections = 32;
constexpr uint32_t kHandshakeTimeoutS = 3;
constexpr uint32_t kIdleTimeoutS = 5;
constexpr size_t kSilentFlood = 3 * kMaxConnections;  // TCP only, never a byte sent
constexpr size_t kAnonymousFlood = kMaxConnections;   // TLS without a certificate, then idle
constexpr int kFloodAddresses = 18;                   // 127.0.0.2 .. 127.0.0.19
constexpr double kAnswerBoundS = 3.0;                 // per request of the legitimate client
constexpr size_t kOpensPerRound = 16;                 // every 50 ms: ~320 connections a second

double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// A TCP connection to 127.0.0.1:port from 127.0.0.<host>; -1 on failure.
int connect_from(int host, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl((127u << 24) | static_cast<uint32_t>(host));
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Keeps `silent` TCP connections that never send a byte and `anonymous` TLS
// connections without a client certificate open against one port, from
// rotating loopback addresses, reopening each one the gateway closes.
class Flood {
 public:
  Flood(uint16_t port, size_t silent, size_t anonymous, const std::string& ca)
      : port_(port), silent_(silent, -1), anonymous_(anonymous) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx_, ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    thread_ = std::thread([this] { run(); });
  }
  ~Flood() {
    stop();
    SSL_CTX_free(ctx_);
  }
  // Closes every connection of the flood; returns when they are closed.
  void stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    thread_.join();
    for (int& fd : silent_) close_fd(fd);
    for (auto& a : anonymous_) close_tls(a);
  }
  // Connections opened so far (first ones and reopened ones).
  size_t opened() const { return opened_; }
  // Connections the gateway closed (or refused) while the flood held them.
  size_t closed_by_server() const { return closed_; }
  // TLS handshakes without a client certificate the flood completed so far.
  size_t anonymous_handshakes() const { return anonymous_handshakes_; }

 private:
  struct Tls {
    int fd = -1;
    SSL* ssl = nullptr;
  };
  static void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  static void close_tls(Tls& t) {
    if (t.ssl) SSL_free(t.ssl);
    t.ssl = nullptr;
    close_fd(t.fd);
  }
  int next_host() { return 2 + static_cast<int>(next_++ % kFloodAddresses); }

  // The peer closed a silent connection: readable with nothing to read.
  static bool closed_silent(int fd) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    char c;
    return ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
  }
  // The peer closed a TLS connection: close_notify, EOF or a reset.
  static bool closed_tls(Tls& t) {
    char buf[512];
    while (true) {
      int n = SSL_read(t.ssl, buf, sizeof buf);
      if (n > 0) continue;  // a session ticket or an answer nobody asked for
      int err = SSL_get_error(t.ssl, n);
      return err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE;
    }
  }
  bool open_tls(Tls& t) {
    t.fd = connect_from(next_host(), port_);
    if (t.fd < 0) return false;
    t.ssl = SSL_new(ctx_);
    SSL_set_fd(t.ssl, t.fd);
    if (SSL_connect(t.ssl) != 1) {
      close_tls(t);
      return false;
    }
    ::fcntl(t.fd, F_SETFL, ::fcntl(t.fd, F_GETFL) | O_NONBLOCK);
    return true;
  }

  void run() {
    while (!stopping_) {
      size_t budget = kOpensPerRound;
      for (int& fd : silent_) {
        if (fd >= 0 && closed_silent(fd)) {
          ++closed_;
          close_fd(fd);
        }
        if (fd < 0 && budget > 0) {
          --budget;
          if ((fd = connect_from(next_host(), port_)) >= 0) ++opened_;
        }
      }
      budget = std::max<size_t>(budget, kOpensPerRound / 4);  // the TLS part is never starved
      for (auto& t : anonymous_) {
        if (stopping_) break;
        if (t.ssl && closed_tls(t)) {
          ++closed_;
          close_tls(t);
        }
        if (!t.ssl && budget > 0) {
          --budget;
          if (open_tls(t)) {
            ++opened_;
            ++anonymous_handshakes_;
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  uint16_t port_;
  SSL_CTX* ctx_ = nullptr;
  std::vector<int> silent_;
  std::vector<Tls> anonymous_;
  unsigned next_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> opened_{0}, closed_{0}, anonymous_handshakes_{0};
  std::thread thread_;
};

class FloodTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    pki_ = new TestPki(dir_->path());
    pki_->client("system", "/C=VN/O=Bo Cong Thuong/CN=eoffice");
    const std::string q = "\"";
    write_text(*dir_ / "edxgate.toml",
               "[server]\ninternal_listen = \"127.0.0.1:0\"\nhealth_listen = \"127.0.0.1:0\"\n"
               "tls_cert = " +
                   q + pki_->cert("server") + q + "\ntls_key = " + q + pki_->key("server") + q + "\nclient_ca = " + q +
                   pki_->cert("ca") + q +
                   "\nshutdown_grace_s = 2\n"
                   "[limits]\nrequest_timeout_s = 10\nidle_timeout_s = " +
                   std::to_string(kIdleTimeoutS) + "\nhandshake_timeout_s = " + std::to_string(kHandshakeTimeoutS) +
                   "\nmax_connections = " + std::to_string(kMaxConnections) + "\n[store]\nstate_dir = " + q +
                   (*dir_ / "state") + q +
                   "\n[axis]\nmode = \"off\"\n"
                   "\n[[clients]]\nname = \"eoffice\"\nrole = \"system\"\n"
                   "subject = \"CN=eoffice,O=Bo Cong Thuong,C=VN\"\norgan_ids = [\"000.00.00.G06\"]\n");
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
    const std::regex listening("msg=listening listener=(internal|health) address=\"?https?://127\\.0\\.0\\.1:([0-9]+)");
    const auto t0 = SteadyClock::now();
    while (seconds_since(t0) < 20 && (!internal_port_ || !health_port_)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) break;
      const std::string log = read_text(*log_path_);
      for (std::sregex_iterator it(log.begin(), log.end(), listening), end; it != end; ++it)
        ((*it)[1].str() == "internal" ? internal_port_ : health_port_) =
            static_cast<uint16_t>(std::stoi((*it)[2].str()));
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
      // A sanitizer report (a leak at exit included) shows as an unclean exit.
      if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        ADD_FAILURE() << "edxgated did not exit cleanly on SIGTERM (status " << status << ")\n"
                      << read_text(*log_path_);
    }
    delete log_path_;
    delete pki_;
    delete dir_;
    pid_ = 0;
    internal_port_ = health_port_ = 0;
  }

  void SetUp() override {
    ASSERT_TRUE(internal_port_ && health_port_) << "edxgated did not start:\n" << read_text(*log_path_);
    ASSERT_TRUE(alive());
  }

  static bool alive() { return ::waitpid(pid_, nullptr, WNOHANG) == 0 && ::kill(pid_, 0) == 0; }

  static Result<ClientResponse> get(uint16_t port, const std::string& path, bool with_certificate) {
    ClientOptions co;
    co.ca_file = pki_->cert("ca");
    if (with_certificate) {
      co.client_cert = pki_->cert("system");
      co.client_key = pki_->key("system");
    }
    co.timeout = std::chrono::seconds(10);
    const bool tls = port == internal_port_;
    auto c = HttpsClient::create(std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port), co);
    if (!c.ok()) return c.error();
    ClientRequest req;
    req.method = "GET";
    req.path = path;
    return c->send(req);
  }

  // The legitimate client: its certificate maps to the configured "eoffice".
  static void expect_whoami_within_bound() {
    const auto t0 = SteadyClock::now();
    auto r = get(internal_port_, "/v1/whoami", true);
    const double secs = seconds_since(t0);
    ASSERT_TRUE(r.ok()) << r.error().message << " after " << secs << " s";
    EXPECT_EQ(r->status, 200u) << r->body;
    EXPECT_NE(r->body.find("\"eoffice\""), std::string::npos) << r->body;
    EXPECT_LT(secs, kAnswerBoundS);
  }

  // The readiness check of the internal listener: {"ok":..,"detail":..}.
  static json::bj::object listener_check() {
    auto r = get(health_port_, "/readyz", false);
    if (!r.ok()) return {};
    auto v = json::parse(r->body);
    if (!v.ok() || !v->is_object()) return {};
    const auto* checks = v->as_object().if_contains("checks");
    if (!checks || !checks->is_object()) return {};
    const auto* c = checks->as_object().if_contains("listener:internal");
    return c && c->is_object() ? c->as_object() : json::bj::object{};
  }

  static std::string metrics() {
    auto r = get(health_port_, "/metrics", false);
    return r.ok() ? r->body : "";
  }
  // One sample of /metrics ("-1" if absent).
  static double sample(const std::string& text, const std::string& series) {
    auto p = text.find("\n" + series + " ");
    if (p == std::string::npos) return -1;
    return std::stod(text.substr(p + series.size() + 2));
  }

  static TempDir* dir_;
  static TestPki* pki_;
  static std::string* log_path_;
  static pid_t pid_;
  static uint16_t internal_port_, health_port_;
};

TempDir* FloodTest::dir_ = nullptr;
TestPki* FloodTest::pki_ = nullptr;
std::string* FloodTest::log_path_ = nullptr;
pid_t FloodTest::pid_ = 0;
uint16_t FloodTest::internal_port_ = 0;
uint16_t FloodTest::health_port_ = 0;

TEST_F(FloodTest, ClientWithCertificateIsServedWhileIdleConnectionsFloodTheListener) {
  expect_whoami_within_bound();
  {
    Flood flood(internal_port_, kSilentFlood, kAnonymousFlood, pki_->cert("ca"));
    // The flood is up: three times as many connections as the listener has slots.
    const auto t0 = SteadyClock::now();
    while (flood.opened() < kSilentFlood + kAnonymousFlood && seconds_since(t0) < 10)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_GE(flood.opened(), kSilentFlood);
    // Longer than the handshake deadline: the flood is reopened as it is cut.
    for (int i = 0; i < 6; ++i) {
      SCOPED_TRACE("request " + std::to_string(i + 1) + " during the flood");
      expect_whoami_within_bound();
      std::this_thread::sleep_for(std::chrono::milliseconds(600));
    }
    EXPECT_GT(flood.closed_by_server(), 0u);
    // TLS connections without a certificate were part of it.
    EXPECT_GT(flood.anonymous_handshakes(), 0u);

    // /readyz names the saturated listener; /healthz still says the process lives.
    auto check = listener_check();
    ASSERT_TRUE(check.contains("ok")) << "no check listener:internal in /readyz";
    EXPECT_FALSE(check.at("ok").as_bool());
    ASSERT_TRUE(check.contains("detail"));
    const std::string detail(check.at("detail").as_string());
    EXPECT_TRUE(std::regex_search(detail, std::regex("^saturated: [0-9]+ connections \\(max 32\\), [1-9][0-9]* "
                                                     "evicted and [0-9]+ refused in the last minute")))
        << detail;
    // Metrics count the evictions by kind; the open connections stay within the cap.
    const std::string text = metrics();
    EXPECT_GT(sample(text, "edxgate_http_connections_refused_total{listener=\"internal\",reason=\"evicted_silent\"}"),
              0)
        << text;
    const double open = sample(text, "edxgate_http_connections{listener=\"internal\"}");
    EXPECT_GE(open, 1);
    EXPECT_LE(open, kMaxConnections);
    ASSERT_TRUE(alive());
  }
  // The flood ended: the connections are released, the listener is ready again.
  const auto t0 = SteadyClock::now();
  json::bj::object check;
  while (seconds_since(t0) < 15) {
    check = listener_check();
    if (check.contains("ok") && check.at("ok").as_bool()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(check.contains("ok"));
  EXPECT_TRUE(check.at("ok").as_bool()) << json::pretty(check);
  EXPECT_LE(sample(metrics(), "edxgate_http_connections{listener=\"internal\"}"), 1);
  for (int i = 0; i < 3; ++i) expect_whoami_within_bound();
  EXPECT_TRUE(alive()) << read_text(*log_path_);
}

// A connection that never starts TLS is closed at the handshake deadline, not
// held for the idle timeout (or longer).
TEST_F(FloodTest, ConnectionThatNeverHandshakesIsClosedAtTheHandshakeDeadline) {
  const int fd = connect_from(1, internal_port_);
  ASSERT_GE(fd, 0);
  const auto t0 = SteadyClock::now();
  pollfd p{fd, POLLIN, 0};
  const int ready = ::poll(&p, 1, (kIdleTimeoutS + 3) * 1000);
  const double secs = seconds_since(t0);
  char c;
  const ssize_t n = ready > 0 ? ::recv(fd, &c, 1, 0) : 1;
  ::close(fd);
  EXPECT_EQ(n, 0) << "not closed by the gateway within " << secs << " s";
  EXPECT_GT(secs, kHandshakeTimeoutS - 0.5);
  EXPECT_LT(secs, kHandshakeTimeoutS + 1.0);
}

}  // namespace
}  // namespace edxgate::gateway
