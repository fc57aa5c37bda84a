// edxgated as a process: sd_notify messages on a test datagram socket,
// listeners logged and serving, graceful stop on SIGTERM; the notifier on its
// own; and the systemd unit's measured exposure.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <regex>
#include <thread>

#include "edxgate/base/json.h"
#include "edxgate/gateway/https_client.h"
#include "edxgate/gateway/notify.h"
#include "test_support.h"

namespace edxgate::gateway {
namespace {

using testing::read_text;
using testing::run_capture;
using testing::TempDir;
using testing::TestPki;
using testing::write_text;

// A bound datagram socket standing in for systemd's notify socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    if (path[0] == '@') a.sun_path[0] = '\0';
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size()));
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~NotifySocket() { ::close(fd_); }
  std::string next() {
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  // Waits for a message containing `what`; returns it ("" on timeout).
  std::string wait_for(const std::string& what) {
    for (int i = 0; i < 50; ++i) {
      std::string m = next();
      if (m.empty()) return "";
      if (m.find(what) != std::string::npos) return m;
    }
    return "";
  }

 private:
  std::string path_;
  int fd_ = -1;
};

TEST(SystemdNotifier, SendsReadyStatusAndWatchdogToTheNotifySocket) {
  TempDir dir;
  NotifySocket sock(dir / "notify");
  SystemdNotifier n(dir / "notify", std::chrono::milliseconds(200));
  ASSERT_TRUE(n.ready("serving").ok());
  EXPECT_EQ(sock.next(), "READY=1\nSTATUS=serving");
  n.start_watchdog();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(sock.next(), "WATCHDOG=1");
  EXPECT_EQ(sock.next(), "WATCHDOG=1");
  EXPECT_EQ(sock.next(), "WATCHDOG=1");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(secs, 0.15);  // two half-periods of 100 ms at least
  EXPECT_LT(secs, 1.0);
  n.stop_watchdog();
  ASSERT_TRUE(n.stopping("bye").ok());
  EXPECT_EQ(sock.next(), "STOPPING=1\nSTATUS=bye");
}

TEST(SystemdNotifier, SupportsTheAbstractNamespace) {
  const std::string name = "@edxgate-test-" + std::to_string(::getpid());
  NotifySocket sock(name);
  SystemdNotifier n(name, std::chrono::microseconds(0));
  ASSERT_TRUE(n.status("hello").ok());
  EXPECT_EQ(sock.next(), "STATUS=hello");
}

TEST(SystemdNotifier, IsANoOpWithoutNotifySocket) {
  SystemdNotifier n("", std::chrono::microseconds(0));
  EXPECT_FALSE(n.enabled());
  EXPECT_TRUE(n.ready("x").ok());
}

std::string bin(const std::string& name) { return std::string(EDXGATE_BINARY_DIR) + "/bin/" + name; }

TEST(Edxgated, PrintsVersionAndHelpAndChecksConfig) {
  int st = 0;
  EXPECT_NE(run_capture(bin("edxgated") + " --version", &st).find("edxgated "), std::string::npos);
  EXPECT_EQ(st, 0);
  EXPECT_NE(run_capture(bin("edxgated") + " --help", &st).find("--check-config"), std::string::npos);
  EXPECT_EQ(st, 0);
  TempDir dir;
  write_text(dir / "bad.toml", "[server]\ninternal_listen = \"nowhere\"\n");
  std::string out = run_capture(bin("edxgated") + " --check-config " + (dir / "bad.toml"), &st);
  EXPECT_EQ(st, 1);
  EXPECT_NE(out.find("server.internal_listen"), std::string::npos) << out;
  run_capture(bin("edxgated") + " --bogus", &st);
  EXPECT_EQ(st, 2);
}

TEST(Edxgated, NotifiesSystemdServesAndStopsGracefullyOnSigterm) {
  TempDir dir;
  TestPki pki(dir.path());
  write_text(dir / "edxgate.toml",
             "[server]\ninternal_listen = \"127.0.0.1:0\"\nhealth_listen = \"127.0.0.1:0\"\n"
             "tls_cert = \"" +
                 pki.cert("server") + "\"\ntls_key = \"" + pki.key("server") + "\"\nclient_ca = \"" + pki.cert("ca") +
                 "\"\nshutdown_grace_s = 2\n"
                 "[store]\nstate_dir = \"" +
                 (dir / "state") + "\"\n");
  NotifySocket sock(dir / "notify");
  const std::string log_path = dir / "edxgated.log";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 2);
    ::setenv("NOTIFY_SOCKET", (dir / "notify").c_str(), 1);
    ::setenv("WATCHDOG_USEC", "400000", 1);
    ::unsetenv("WATCHDOG_PID");
    const std::string exe = bin("edxgated");
    const std::string cfg = dir / "edxgate.toml";
    ::execl(exe.c_str(), exe.c_str(), "--config", cfg.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  EXPECT_EQ(sock.wait_for("READY=1"), "READY=1\nSTATUS=serving");
  EXPECT_EQ(sock.wait_for("WATCHDOG=1"), "WATCHDOG=1");
  const std::string log = read_text(log_path);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log, m, std::regex("msg=listening listener=health address=\"?(http://[0-9.:]+)")))
      << log;
  EXPECT_TRUE(std::regex_search(log, std::regex("msg=listening listener=internal address=\"?https://127.0.0.1:[1-9]")));
  auto client = HttpsClient::create(m[1].str(), {});
  ASSERT_TRUE(client.ok());
  ClientRequest req;
  req.method = "GET";
  req.path = "/healthz";
  auto r = client->send(req);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200u);
  ::kill(pid, SIGTERM);
  EXPECT_NE(sock.wait_for("STOPPING=1"), "");
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(read_text(log_path).find("edxgated stopped"), std::string::npos) << read_text(log_path);
}

// Issue 13: with less free space than [store] min_free_mb under the state
// directory, /readyz is 503 and names the check "disk"; /healthz stays 200
// (the process serves; it is the disk that is short).
TEST(Edxgated, ReadyzSaysDiskBelowMinFreeMbWhileHealthzStaysOk) {
  TempDir dir;
  TestPki pki(dir.path());
  // 2^30 MiB (1 PiB): more than this disk has.
  write_text(dir / "edxgate.toml",
             "[server]\ninternal_listen = \"127.0.0.1:0\"\nhealth_listen = \"127.0.0.1:0\"\n"
             "tls_cert = \"" +
                 pki.cert("server") + "\"\ntls_key = \"" + pki.key("server") + "\"\nclient_ca = \"" + pki.cert("ca") +
                 "\"\nshutdown_grace_s = 2\n"
                 "[store]\nmin_free_mb = 1073741824\nstate_dir = \"" +
                 (dir / "state") + "\"\n");
  const std::string log_path = dir / "edxgated.log";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 2);
    ::unsetenv("NOTIFY_SOCKET");
    const std::string exe = bin("edxgated");
    const std::string cfg = dir / "edxgate.toml";
    ::execl(exe.c_str(), exe.c_str(), "--config", cfg.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  struct Reap {
    pid_t pid;
    ~Reap() {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  } reap{pid};
  std::smatch m;
  std::string log;
  for (int i = 0; i < 200; ++i) {
    log = read_text(log_path);
    if (std::regex_search(log, m, std::regex("msg=listening listener=health address=\"?(http://[0-9.:]+)"))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(m.empty()) << log;
  auto client = HttpsClient::create(m[1].str(), {});
  ASSERT_TRUE(client.ok());
  auto get = [&](const std::string& path) {
    ClientRequest req;
    req.method = "GET";
    req.path = path;
    auto r = client->send(req);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : ClientResponse{};
  };
  EXPECT_EQ(get("/healthz").status, 200u);
  ClientResponse ready = get("/readyz");
  EXPECT_EQ(ready.status, 503u) << ready.body;
  auto body = json::parse(ready.body);
  ASSERT_TRUE(body.ok() && body->is_object()) << ready.body;
  const auto& checks = body->as_object().at("checks").as_object();
  ASSERT_TRUE(checks.contains("disk")) << ready.body;
  EXPECT_FALSE(checks.at("disk").as_object().at("ok").as_bool());
  EXPECT_EQ(checks.at("disk").as_object().at("error").as_string(), "ready.disk");
  // Only the disk: the store and the state directory are fine.
  EXPECT_TRUE(checks.at("store").as_object().at("ok").as_bool()) << ready.body;
}

TEST(SystemdUnit, HasAnExposureOfAtMostTwo) {
  if (::access("/usr/bin/systemd-analyze", X_OK) != 0 && ::access("/bin/systemd-analyze", X_OK) != 0)
    GTEST_SKIP() << "systemd-analyze is not installed";
  int st = 0;
  const std::string out = run_capture(
      "systemd-analyze security --offline=true " + std::string(EDXGATE_SOURCE_DIR) + "/systemd/edxgated.service", &st);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("Overall exposure level for edxgated.service: ([0-9.]+)"))) << out;
  const double exposure = std::stod(m[1].str());
  std::printf("systemd-analyze security exposure of edxgated.service: %.1f\n", exposure);
  EXPECT_LE(exposure, 2.0);
}

}  // namespace
}  // namespace edxgate::gateway
