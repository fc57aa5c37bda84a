// edxgated: parses the command line, loads the config, starts the listeners
// (internal API, axis push endpoint, health/metrics), tells systemd it is
// ready, and on SIGTERM/SIGINT stops gracefully within server.shutdown_grace_s.
#include "edxgate/gateway/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "edxgate/base/fs.h"
#include "edxgate/base/log.h"
#include "edxgate/base/secret.h"
#include "edxgate/base/version.h"
#include "edxgate/config/config.h"
#include "edxgate/gateway/health.h"
#include "edxgate/gateway/notify.h"
#include "edxgate/gateway/push_endpoint.h"
#include "edxgate/gateway/server.h"
#include "openapi_json.h"

namespace edxgate::gateway {
namespace {

constexpr const char* kUsage = R"(usage: edxgated [--config FILE] [--check-config FILE] [--version] [--help]

edxgated is the edxgate daemon: it signs, sends, receives and verifies edXML
envelopes between a ministry's internal systems and the national axis.

options:
  --config FILE        run with this configuration (default /etc/edxgate/edxgate.toml)
  --check-config FILE  check a configuration file, print every problem, exit 0 or 1
  --version            print the version and exit
  --help               print this help and exit

It logs one line per listener ("listening listener=internal address=...") and,
under systemd (Type=notify), reports READY=1, STATUS=, WATCHDOG=1 and STOPPING=1.
)";

int wait_for_stop_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

// Reads a secret from a file or a systemd credential into locked memory.
Result<std::shared_ptr<const SecretString>> read_secret(const std::string& file, const std::string& credential,
                                                        const char* what) {
  std::string path = file;
  if (path.empty() && !credential.empty()) {
    const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
    if (!dir) return make_error("secret.credential", std::string(what) + " credential is set but CREDENTIALS_DIRECTORY is not");
    path = std::string(dir) + "/" + credential;
  }
  if (path.empty()) return make_error("secret.missing", std::string("no ") + what + " is configured");
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return make_error("secret.read", std::string("cannot read the ") + what + " from " + path);
  auto secret = std::make_shared<SecretString>();
  char c;
  ssize_t n;
  while ((n = ::read(fd.get(), &c, 1)) == 1) {
    if (secret->size() >= 4096) return make_error("secret.read", std::string("the ") + what + " is too long");
    secret->push_back(c);
  }
  c = 0;
  if (n < 0) return make_error("secret.read", std::string("cannot read the ") + what + " from " + path);
  secret->trim_newline();
  if (secret->empty()) return make_error("secret.read", std::string("the ") + what + " in " + path + " is empty");
  return std::shared_ptr<const SecretString>(std::move(secret));
}

ListenerOptions listener(const config::Config& cfg, std::string name, std::string listen, bool tls,
                         const std::string& spool) {
  ListenerOptions o;
  o.name = std::move(name);
  o.listen = std::move(listen);
  o.tls = tls;
  o.tls_cert = cfg.server.tls_cert;
  o.tls_key = cfg.server.tls_key;
  o.client_ca = cfg.server.client_ca;
  o.limits = cfg.limits;
  o.clients = cfg.clients;
  o.spool_dir = spool;
  o.io_threads = tls ? 2 : 1;
  o.worker_threads = tls ? 4 : 1;
  return o;
}

// The internal API. The document routes (submit, sign, list, fetch,
// acknowledge, report) join this table when the workflow engine lands; see
// gateway/openapi.json for the intended API.
void add_internal_routes(Router& r) {
  r.add({"GET", "/openapi.json", Access::any_role(), [](Request&, const Caller&, const PathParams&) {
           return Response::text(200, std::string(kOpenApiJson), "application/json");
         }});
  r.add({"GET", "/v1/whoami", Access::any_role(), [](Request&, const Caller& c, const PathParams&) {
           json::bj::object o;
           o["name"] = c.name;
           o["role"] = std::string(config::role_name(*c.role));
           json::bj::array ids;
           for (const auto& id : c.organ_ids) ids.emplace_back(id);
           o["organ_ids"] = std::move(ids);
           o["subject"] = c.subject;
           o["fingerprint"] = c.fingerprint;
           return Response::json(200, o);
         }});
}

struct Running {
  MetricsRegistry registry;
  std::unique_ptr<HttpMetrics> http;
  Readiness readiness;
  std::unique_ptr<SpoolSink> sink;
  std::unique_ptr<PushEndpoint> push;
  std::vector<std::unique_ptr<Server>> api;  // internal, axis
  std::unique_ptr<Server> health;
};

Status start(const config::Config& cfg, Running& run) {
  const std::string spool = cfg.store.state_dir + "/spool";
  EDX_TRY(fs::make_dirs(spool));
  run.http = std::make_unique<HttpMetrics>(run.registry);
  run.registry.gauge("edxgate_build_info", "Build information.", {"version"}).set({EDXGATE_VERSION}, 1);
  const std::string state_dir = cfg.store.state_dir;
  run.readiness.add("state_dir", [state_dir]() -> Status {
    if (::access(state_dir.c_str(), W_OK) != 0)
      return make_error("ready.state_dir", "the state directory is not writable");
    return {};
  });

  auto internal = std::make_shared<Router>();
  add_internal_routes(*internal);
  auto s = Server::start(listener(cfg, "internal", cfg.server.internal_listen, true, spool), internal, run.http.get());
  if (!s.ok()) return s.error();
  log::info("listening", {{"listener", "internal"}, {"address", "https://" + (*s)->local_address()}});
  run.api.push_back(std::move(*s));

  if (!cfg.server.axis_listen.empty()) {
    auto secret = read_secret(cfg.axis.secret_file, cfg.axis.secret_credential, "axis secret");
    if (!secret.ok()) return secret.error();
    run.sink = std::make_unique<SpoolSink>(cfg.store.state_dir + "/incoming");
    PushEndpointOptions po;
    po.system_id = cfg.axis.system_id;
    po.secret = *secret;
    po.replay_window = std::chrono::seconds(cfg.axis.replay_window_s);
    po.max_envelope_bytes = cfg.limits.max_body_bytes;
    po.spool_dir = spool;
    run.push = std::make_unique<PushEndpoint>(po, *run.sink);
    auto axis = std::make_shared<Router>();
    run.push->add_routes(*axis);
    auto a = Server::start(listener(cfg, "axis", cfg.server.axis_listen, true, spool), axis, run.http.get());
    if (!a.ok()) return a.error();
    log::info("listening", {{"listener", "axis"}, {"address", "https://" + (*a)->local_address()}});
    run.api.push_back(std::move(*a));
  }

  if (!cfg.server.health_listen.empty()) {
    auto health = std::make_shared<Router>();
    add_health_routes(*health, run.readiness, run.registry);
    auto h = Server::start(listener(cfg, "health", cfg.server.health_listen, false, spool), health, run.http.get());
    if (!h.ok()) return h.error();
    log::info("listening", {{"listener", "health"}, {"address", "http://" + (*h)->local_address()}});
    run.health = std::move(*h);
  }
  return {};
}

}  // namespace

int daemon_main(const std::vector<std::string>& args) {
  std::string config_path = "/etc/edxgate/edxgate.toml";
  std::string check_path;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (a == "--version") {
      std::cout << "edxgated " << EDXGATE_VERSION << "\n";
      return 0;
    }
    if (a == "--config" || a == "--check-config") {
      if (i + 1 >= args.size()) {
        std::cerr << "edxgated: " << a << " needs a FILE argument\n";
        return 2;
      }
      (a == "--config" ? config_path : check_path) = args[++i];
      continue;
    }
    std::cerr << "edxgated: unknown option '" << a << "' (see edxgated --help)\n";
    return 2;
  }

  if (!check_path.empty()) {
    auto cfg = config::load(check_path);
    if (!cfg.ok()) {
      std::cerr << cfg.error().message << "\n";
      return 1;
    }
    std::cout << check_path << ": ok\n";
    return 0;
  }

  // Block the stop signals before any thread starts so they all inherit it.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto cfg = config::load(config_path);
  if (!cfg.ok()) {
    std::cerr << cfg.error().message << "\n";
    return 1;
  }
  log::Level level = log::Level::info;
  log::parse_level(cfg->log.level, level);
  log::set_level(level);
  log::info("edxgated starting", {{"version", EDXGATE_VERSION}, {"config", config_path}});

  SystemdNotifier notifier = SystemdNotifier::from_environment();
  Running run;
  if (auto st = start(*cfg, run); !st.ok()) {
    log::error("edxgated cannot start", {{"error", st.error().message}});
    std::cerr << "edxgated: " << st.error().message << "\n";
    return 1;
  }
  (void)notifier.ready("serving");
  notifier.start_watchdog();

  int sig = wait_for_stop_signal();
  log::info("edxgated stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (void)notifier.stopping("finishing requests in flight");
  const auto grace = std::chrono::seconds(cfg->server.shutdown_grace_s);
  // Every API listener stops accepting at once; then each drains within the grace.
  std::vector<std::thread> stoppers;
  for (auto& s : run.api) stoppers.emplace_back([&s, grace] { s->stop(grace); });
  for (auto& t : stoppers) t.join();
  if (run.health) run.health->stop(std::chrono::milliseconds(500));
  notifier.stop_watchdog();
  log::info("edxgated stopped");
  return 0;
}

}  // namespace edxgate::gateway
