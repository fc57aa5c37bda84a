// A lean daemon (issue 15): what an idle edxgated does not use is not loaded.
// Checked on the process's own mappings, not with a timed RSS figure
// (bench/gateway/rss_bench.cc measures that).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <regex>
#include <thread>

#include "../hsm/softhsm_fixture.h"
#include "edxgate/base/json.h"
#include "edxgate/gateway/https_client.h"
#include "test_support.h"

namespace edxgate::gateway {
namespace {

using testing::read_text;
using testing::TempDir;
using testing::TestPki;
using testing::write_text;

std::string bin(const std::string& name) { return std::string(EDXGATE_BINARY_DIR) + "/bin/" + name; }

// edxgated on a SQLite store (and `extra` config sections), started and
// serving; stopped on destruction.
class IdleDaemon {
 public:
  explicit IdleDaemon(const std::string& extra = "") : pki_(dir_.path()) {
    write_text(dir_ / "edxgate.toml",
               "[server]\ninternal_listen = \"127.0.0.1:0\"\nhealth_listen = \"127.0.0.1:0\"\n"
               "tls_cert = \"" +
                   pki_.cert("server") + "\"\ntls_key = \"" + pki_.key("server") + "\"\nclient_ca = \"" +
                   pki_.cert("ca") + "\"\nshutdown_grace_s = 2\n[store]\nstate_dir = \"" + (dir_ / "state") + "\"\n" +
                   extra);
    const std::string log_path = dir_ / "edxgated.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 2);
      ::unsetenv("NOTIFY_SOCKET");
      const std::string exe = bin("edxgated");
      const std::string cfg = dir_ / "edxgate.toml";
      ::execl(exe.c_str(), exe.c_str(), "--config", cfg.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    std::smatch m;
    for (int i = 0; i < 400; ++i) {
      log_ = read_text(log_path);
      if (std::regex_search(log_, m, std::regex("msg=listening listener=health address=\"?(http://[0-9.:]+)"))) {
        health_ = m[1].str();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~IdleDaemon() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  const std::string& health() const { return health_; }
  const std::string& log() const { return log_; }
  std::string maps() const { return read_text("/proc/" + std::to_string(pid_) + "/maps"); }
  // GET /readyz: its "checks" object (empty if the call failed).
  json::bj::object readiness_checks() const {
    auto client = HttpsClient::create(health_, {});
    if (!client.ok()) return {};
    ClientRequest req;
    req.method = "GET";
    req.path = "/readyz";
    auto r = client->send(req);
    if (!r.ok()) return {};
    auto body = json::parse(r->body);
    if (!body.ok() || !body->is_object() || !body->as_object().contains("checks")) return {};
    return body->as_object().at("checks").as_object();
  }

 private:
  TempDir dir_;
  TestPki pki_;
  pid_t pid_ = -1;
  std::string health_, log_;
};

// libpq and what it drags in (GnuTLS, Kerberos, LDAP: ~3 MB resident) are
// for the PostgreSQL store only; the store opens libpq on first use.
TEST(EdxgatedMemory, ASqliteDaemonHasNoPostgresqlClientLibraryMapped) {
  IdleDaemon d;
  ASSERT_GT(d.pid(), 0);
  ASSERT_FALSE(d.health().empty()) << d.log();
  // The store answers (the daemon did open it) before the mappings are read.
  const auto checks = d.readiness_checks();
  ASSERT_TRUE(checks.contains("store")) << json::bj::serialize(checks);
  EXPECT_TRUE(checks.at("store").as_object().at("ok").as_bool()) << json::bj::serialize(checks);

  const std::string maps = d.maps();
  ASSERT_NE(maps.find("libsqlite3.so"), std::string::npos) << "the mappings were not read";
  EXPECT_EQ(maps.find("libpq.so"), std::string::npos);
  EXPECT_EQ(maps.find("libgnutls.so"), std::string::npos);
  EXPECT_EQ(maps.find("libkrb5.so"), std::string::npos);
  EXPECT_EQ(maps.find("libldap"), std::string::npos);
}

// The PKCS#11 module (and the token's objects SoftHSM2 reads) is loaded by
// the first use: a signature, or the readiness check, which must still tell
// a present token from a pulled-out one.
TEST(EdxgatedMemory, ThePkcs11ModuleIsLoadedOnFirstUseAndReadyzStillChecksTheToken) {
  testing::SoftHsmToken token;  // SOFTHSM2_CONF for the daemon, which inherits the environment
  const std::string module = testing::SoftHsmToken::fault_module();
  IdleDaemon d("[hsm]\nmodule = \"" + module + "\"\nkey_uri = \"" + token.token_uri() +
               ";object=sign\"\npin_file = \"" + token.pin_file() + "\"\n");
  ASSERT_GT(d.pid(), 0);
  ASSERT_FALSE(d.health().empty()) << d.log();
  std::string maps = d.maps();
  ASSERT_NE(maps.find("libsqlite3.so"), std::string::npos) << "the mappings were not read";
  EXPECT_EQ(maps.find("libedxgate_p11_fault.so"), std::string::npos);
  EXPECT_EQ(maps.find("libsofthsm2.so"), std::string::npos);

  auto checks = d.readiness_checks();
  ASSERT_TRUE(checks.contains("token")) << json::bj::serialize(checks);
  EXPECT_TRUE(checks.at("token").as_object().at("ok").as_bool()) << json::bj::serialize(checks);
  maps = d.maps();
  EXPECT_NE(maps.find("libedxgate_p11_fault.so"), std::string::npos);
  EXPECT_NE(maps.find("libsofthsm2.so"), std::string::npos);

  token.set_fault("absent=1\n");
  checks = d.readiness_checks();
  ASSERT_TRUE(checks.contains("token")) << json::bj::serialize(checks);
  EXPECT_FALSE(checks.at("token").as_object().at("ok").as_bool()) << json::bj::serialize(checks);
}

// A module path that cannot be loaded is still refused at start when a key
// is configured (it is not left to the first signature).
TEST(EdxgatedMemory, AnUnreadableModuleWithAConfiguredKeyStillStopsTheStart) {
  TempDir dir;
  TestPki pki(dir.path());
  write_text(dir / "edxgate.toml",
             "[server]\ninternal_listen = \"127.0.0.1:0\"\ntls_cert = \"" + pki.cert("server") + "\"\ntls_key = \"" +
                 pki.key("server") + "\"\nclient_ca = \"" + pki.cert("ca") + "\"\n[store]\nstate_dir = \"" +
                 (dir / "state") +
                 "\"\n[hsm]\nmodule = \"/nonexistent/libnothing.so\"\nkey_uri = \"pkcs11:token=t;object=sign\"\n");
  int st = 0;
  const std::string out = testing::run_capture(bin("edxgated") + " --config " + (dir / "edxgate.toml") + " 2>&1", &st);
  EXPECT_EQ(st, 1) << out;
  EXPECT_NE(out.find("cannot load the PKCS#11 module /nonexistent/libnothing.so"), std::string::npos) << out;
}

}  // namespace
}  // namespace edxgate::gateway
