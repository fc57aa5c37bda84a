// edxgated: parses the command line, loads the config, starts the listeners
// (internal API, axis push endpoint, health/metrics), tells systemd it is
// ready, and on SIGTERM/SIGINT stops gracefully within server.shutdown_grace_s.
#include "edxgate/gateway/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "edxgate/base/fs.h"
#include "edxgate/base/log.h"
#include "edxgate/base/memory.h"
#include "edxgate/base/secret.h"
#include "edxgate/base/signals.h"
#include "edxgate/base/version.h"
#include "edxgate/config/config.h"
#include "edxgate/crypto/revocation.h"
#include "edxgate/crypto/verifier.h"
#include "edxgate/edxml/options.h"
#include "edxgate/gateway/api.h"
#include "edxgate/gateway/api_directory.h"
#include "edxgate/gateway/axis.h"
#include "edxgate/gateway/console.h"
#include "edxgate/gateway/health.h"
#include "edxgate/gateway/notify.h"
#include "edxgate/gateway/push_endpoint.h"
#include "edxgate/gateway/server.h"
#include "edxgate/hsm/uri.h"
#include "edxgate/store/store.h"
#include "edxgate/workflow/engine.h"
#include "edxgate/workflow/keys.h"
#include "openapi_json.h"

namespace edxgate::gateway {
namespace {

using workflow::Engine;
using workflow::EngineOptions;
using workflow::KeyProvider;

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

// Reads a secret from a file or a systemd credential into locked memory.
Result<std::shared_ptr<const SecretString>> read_secret(const std::string& file, const std::string& credential,
                                                        const char* what) {
  std::string path = file;
  if (path.empty() && !credential.empty()) {
    const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
    if (!dir)
      return make_error(ErrorKind::usage, "secret.credential",
                        std::string(what) + " credential is set but CREDENTIALS_DIRECTORY is not");
    path = std::string(dir) + "/" + credential;
  }
  if (path.empty()) return make_error(ErrorKind::usage, "secret.missing", std::string("no ") + what + " is configured");
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid())
    return make_error(ErrorKind::usage, "secret.read", std::string("cannot read the ") + what + " from " + path);
  auto secret = std::make_shared<SecretString>();
  char c;
  ssize_t n;
  while ((n = ::read(fd.get(), &c, 1)) == 1) {
    if (secret->size() >= 4096)
      return make_error(ErrorKind::usage, "secret.read", std::string("the ") + what + " is too long");
    secret->push_back(c);
  }
  c = 0;
  if (n < 0)
    return make_error(ErrorKind::usage, "secret.read", std::string("cannot read the ") + what + " from " + path);
  secret->trim_newline();
  if (secret->empty())
    return make_error(ErrorKind::usage, "secret.read", std::string("the ") + what + " in " + path + " is empty");
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

// The internal API: these two routes, the document routes of api.h and the
// console of console.h.
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

// The strict verification policy of [trust].
Result<std::shared_ptr<const crypto::Verifier>> make_verifier(const config::Config& cfg) {
  const config::Trust& t = cfg.trust;
  crypto::TrustStore trust;
  for (const auto& f : t.anchors) EDX_TRY(trust.add_anchor_file(f));
  for (const auto& f : t.intermediates) EDX_TRY(trust.add_intermediate_file(f));
  for (const auto& f : t.crls) EDX_TRY(trust.add_crl_file(f));
  crypto::VerifyPolicy policy;
  if (!crypto::parse_revocation_mode(t.revocation, policy.chain.revocation)) {
    return make_error(ErrorKind::usage, "config.trust", "revocation must be hard, soft or off");
  }
  for (const auto& ex : t.sha1_exceptions) {
    auto until = crypto::parse_time(ex.until);
    if (!until)
      return make_error(ErrorKind::usage, "config.trust", "sha1_exception until '" + ex.until + "' is not YYYY-MM-DD");
    policy.sha1_exceptions.push_back({ex.sender, *until});
  }
  policy.max_dual_bytes = t.max_dual_bytes;
  std::shared_ptr<crypto::RevocationSource> online;
  if (t.fetch_crl || t.ocsp) {
    online = std::make_shared<crypto::RevocationSource>(
        crypto::make_http_fetcher(), crypto::OnlineRevocationOptions{t.fetch_crl, t.ocsp, t.revocation_cache_s});
  }
  return std::shared_ptr<const crypto::Verifier>(
      std::make_shared<crypto::Verifier>(std::move(trust), policy, std::move(online)));
}

struct Running {
  MetricsRegistry registry;
  std::unique_ptr<HttpMetrics> http;
  Readiness readiness;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<KeyProvider> keys;
  std::shared_ptr<const SecretString> axis_secret;
  std::unique_ptr<AxisTransport> axis;
  std::unique_ptr<Engine> engine;
  std::shared_ptr<DirectorySync> directory;
  std::unique_ptr<EngineSink> sink;
  std::unique_ptr<PushEndpoint> push;
  std::vector<std::unique_ptr<Server>> api;  // internal, axis
  std::unique_ptr<Server> health;
};

// The spool holds only bodies of requests in flight (0700: they are
// documents); what is there at start was left by a crash mid-request (a
// partial upload or push, up to limits.max_body_bytes each) and would never
// be removed otherwise.
Result<std::string> prepare_spool(const config::Config& cfg) {
  const std::string spool = cfg.store.state_dir + "/spool";
  EDX_TRY(fs::make_dirs(spool));
  std::error_code ec;
  std::filesystem::permissions(spool, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace, ec);
  if (ec) return make_error(ErrorKind::io, "io.chmod", "cannot make " + spool + " private (0700)");
  size_t removed = 0;
  for (const auto& e : std::filesystem::directory_iterator(spool, ec)) {
    std::error_code rm;
    if (e.is_regular_file(rm) && std::filesystem::remove(e.path(), rm)) ++removed;
  }
  if (removed > 0) log::info("spool files of a previous run removed", {{"count", std::to_string(removed)}});
  return spool;
}

store::StoreOptions store_options(const config::Config& cfg) {
  store::StoreOptions so;
  so.state_dir = cfg.store.state_dir;
  so.blob_dir = cfg.store.blob_dir;
  so.busy_timeout_ms = cfg.store.busy_timeout_ms;
  if (cfg.store.backend == "postgresql") {
    so.backend = store::Backend::postgresql;
    so.dsn = cfg.store.dsn;
    so.pool_size = cfg.store.pool_size;
    so.statement_timeout_ms = cfg.store.statement_timeout_ms;
    so.application_name = "edxgated";
  }
  // An envelope carries its attachments in base64 (4/3) plus the header.
  so.max_blob_bytes = std::max<uint64_t>(cfg.limits.max_body_bytes, cfg.edxml.max_attachment_bytes / 3 * 4 + (1 << 20));
  so.backoff.base_ms = int64_t{cfg.axis.retry_base_s} * 1000;
  so.backoff.cap_ms = int64_t{cfg.axis.retry_max_s} * 1000;
  so.backoff.min_delay_ms = std::min<int64_t>(1000, so.backoff.base_ms);
  return so;
}

Status open_store(const config::Config& cfg, Running& run) {
  store::StoreOptions so = store_options(cfg);
  if (so.backend == store::Backend::postgresql && !cfg.store.dsn_file.empty()) {
    auto dsn = read_secret(cfg.store.dsn_file, "", "store connection string");  // with its password
    if (!dsn.ok()) return dsn.error();
    so.dsn = std::string((*dsn)->view());
  }
  auto st = store::open_store(so);
  if (!st.ok()) return st.error();
  run.store = std::move(*st);
  store::Store* store_ptr = run.store.get();
  run.readiness.add("store", [store_ptr]() -> Status {
    auto s = store_ptr->stats();
    if (!s.ok()) return make_error(s.error().kind, "ready.store", "the store does not answer: " + s.error().message);
    return {};
  });
  const std::string state_dir = cfg.store.state_dir;
  run.readiness.add("state_dir", [state_dir]() -> Status {
    if (::access(state_dir.c_str(), W_OK) != 0)
      return make_error(ErrorKind::unavailable, "ready.state_dir", "the state directory is not writable");
    return {};
  });
  add_disk_check(run.readiness, {state_dir, cfg.store.blob_dir.empty() ? state_dir : cfg.store.blob_dir},
                 uint64_t{cfg.store.min_free_mb} << 20);
  return {};
}

// The token's keys. A key_uri that cannot be parsed is a configuration
// error at start, not a failure of the first signature.
Status open_keys(const config::Config& cfg, Running& run) {
  if (!cfg.hsm.key_uri.empty()) {
    if (auto uri = hsm::Pkcs11Uri::parse(cfg.hsm.key_uri); !uri.ok()) {
      return make_error(ErrorKind::usage, "config.hsm", "[hsm] key_uri: " + uri.error().message);
    }
  }
  auto keys = workflow::make_hsm_key_provider(cfg.hsm, run.store.get());
  if (!keys.ok()) {
    // Without a configured key the gateway still receives, verifies and relays.
    if (!cfg.hsm.key_uri.empty()) return keys.error();
    log::warn("no PKCS#11 module: signing on the gateway is off", {{"error", keys.error().message}});
    return {};
  }
  run.keys = std::move(*keys);
  KeyProvider* kp = run.keys.get();
  run.readiness.add("token", [kp]() -> Status { return kp->check(); });
  if (auto cert = kp->configured_certificate()) {
    auto& g = run.registry.gauge("edxgate_certificate_days_to_expiry",
                                 "Days until the signing certificate of a configured key expires.", {"key"});
    g.set({cfg.hsm.key_uri}, static_cast<double>(cert->not_after() - ::time(nullptr)) / 86400.0);
  }
  return {};
}

Status open_axis(const config::Config& cfg, const std::string& spool, Running& run) {
  if (cfg.axis.mode != "off" && (!cfg.axis.secret_file.empty() || !cfg.axis.secret_credential.empty())) {
    auto secret = read_secret(cfg.axis.secret_file, cfg.axis.secret_credential, "axis secret");
    if (!secret.ok()) return secret.error();
    run.axis_secret = *secret;
  }
  if (cfg.axis.mode == "off" || cfg.axis.endpoint.empty()) return {};
  if (!run.axis_secret) {
    return make_error(ErrorKind::usage, "config.axis", "[axis] needs secret_file or secret_credential");
  }
  VdxpOptions vo;
  vo.endpoint = cfg.axis.endpoint;
  vo.organ_id = cfg.axis.organ_id;
  vo.system_id = cfg.axis.system_id;
  vo.secret = run.axis_secret;
  vo.client.ca_file = cfg.axis.ca_file;
  vo.client.client_cert = cfg.axis.client_cert;
  vo.client.client_key = cfg.axis.client_key;
  vo.client.timeout = std::chrono::seconds(cfg.axis.timeout_s);
  vo.client.keep_alive = true;  // the outbox and the poller call the axis back to back
  vo.max_envelope_bytes = store_options(cfg).max_blob_bytes;
  vo.spool_dir = spool;
  auto t = make_vdxp_transport(vo);
  if (!t.ok()) return t.error();
  run.axis = std::move(*t);
  return {};
}

Status start_engine(const config::Config& cfg, Running& run) {
  auto verifier = make_verifier(cfg);
  if (!verifier.ok()) return verifier.error();
  if (cfg.trust.anchors.empty()) {
    // It still starts (health, metrics, officers' routes), but is not ready:
    // every incoming envelope would be quarantined.
    log::warn("no trust anchors: every incoming signature will be refused", {{"key", "trust.anchors"}});
    run.readiness.add("trust", []() -> Status {
      return make_error(ErrorKind::unavailable, "ready.trust",
                        "[trust] anchors is empty: no incoming signature can be trusted");
    });
  }
  EngineOptions eo;
  eo.organ_id = cfg.axis.organ_id;
  eo.signing =
      cfg.signing.mode == "organization" ? workflow::SigningMode::organization : workflow::SigningMode::personal;
  if (cfg.policy.forbidden_kinds) eo.forbidden_kinds = *cfg.policy.forbidden_kinds;
  eo.work_dir = cfg.store.state_dir + "/work";
  eo.read = edxml::read_options_from(cfg.edxml);
  eo.write = edxml::write_options_from(cfg.edxml);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  // Outbox leases are held under this name: nodes of a cluster need distinct ones.
  eo.worker = std::string("engine@") + (cfg.store.node.empty() ? std::string(host) : cfg.store.node);
  eo.lease_ms = int64_t{cfg.axis.timeout_s} * 2000 + 30'000;
  eo.max_permanent_failures = static_cast<int>(cfg.axis.max_permanent_failures);
  eo.pull = run.axis && cfg.axis.mode == "pull";
  eo.poll_interval = std::chrono::seconds(cfg.axis.poll_interval_s);
  eo.outbox_in_flight = cfg.axis.max_in_flight;
  eo.no_answer_days = cfg.reports.no_answer_days;
  run.engine = std::make_unique<Engine>(eo, *run.store, *verifier, run.keys.get(), run.axis.get(), run.registry);
  if (run.axis) {
    Engine* engine = run.engine.get();
    run.readiness.add("axis", [engine]() -> Status { return engine->axis_check(); });
  }
  return {};
}

Status start_internal_listener(const config::Config& cfg, const std::string& spool, Running& run) {
  auto internal = std::make_shared<Router>();
  add_internal_routes(*internal);
  ApiOptions ao;
  ao.spool_dir = spool;
  ao.max_json_bytes = cfg.limits.max_json_bytes;
  ao.key_uri = cfg.hsm.key_uri;
  ao.multipart.max_file_bytes = cfg.edxml.max_attachment_bytes;
  ao.multipart.max_parts = cfg.edxml.max_attachments + 1;
  ao.report_no_answer_days = cfg.reports.no_answer_days;
  auto summary = std::make_shared<OperatorSummary>(
      *run.store, &run.readiness,
      watched_certificates(cfg, run.keys ? run.keys->configured_certificate() : std::nullopt));
  add_api_routes(*internal, *run.engine, *run.store, ao, summary);
  add_directory_routes(*internal, *run.store, run.directory);
  add_console_routes(*internal);
  auto s = Server::start(listener(cfg, "internal", cfg.server.internal_listen, true, spool), internal, run.http.get());
  if (!s.ok()) return s.error();
  log::info("listening", {{"listener", "internal"},
                          {"address", "https://" + (*s)->local_address()},
                          {"console", "https://" + (*s)->local_address() + "/console/"}});
  add_listener_check(run.readiness, **s);
  run.api.push_back(std::move(*s));
  return {};
}

Status start_axis_listener(const config::Config& cfg, const std::string& spool, Running& run) {
  if (cfg.server.axis_listen.empty()) return {};
  if (!run.axis_secret) {
    return make_error(ErrorKind::usage, "config.axis",
                      "the axis listener needs [axis] secret_file or secret_credential");
  }
  PushEndpointOptions po;
  po.system_id = cfg.axis.system_id;
  po.secret = run.axis_secret;
  po.timestamp_window = std::chrono::seconds(cfg.axis.timestamp_window_s);
  po.max_envelope_bytes = cfg.limits.max_body_bytes;
  po.spool_dir = spool;
  run.sink = std::make_unique<EngineSink>(*run.engine);
  run.push = std::make_unique<PushEndpoint>(po, *run.sink);
  auto axis = std::make_shared<Router>();
  run.push->add_routes(*axis);
  ListenerOptions axis_options = listener(cfg, "axis", cfg.server.axis_listen, true, spool);
  axis_options.authenticated_roles = {
      config::Role::axis};  // a flood with another client's certificate is evicted first
  auto a = Server::start(std::move(axis_options), axis, run.http.get());
  if (!a.ok()) return a.error();
  log::info("listening", {{"listener", "axis"}, {"address", "https://" + (*a)->local_address()}});
  add_listener_check(run.readiness, **a);
  run.api.push_back(std::move(*a));
  return {};
}

Status start_health_listener(const config::Config& cfg, const std::string& spool, Running& run) {
  if (cfg.server.health_listen.empty()) return {};
  auto health = std::make_shared<Router>();
  add_health_routes(*health, run.readiness, run.registry);
  auto h = Server::start(listener(cfg, "health", cfg.server.health_listen, false, spool), health, run.http.get());
  if (!h.ok()) return h.error();
  log::info("listening", {{"listener", "health"}, {"address", "http://" + (*h)->local_address()}});
  run.health = std::move(*h);
  return {};
}

// Everything the daemon runs, in dependency order: the store, the keys, the
// axis, the engine, then the listeners; the engine's worker last.
Status start(const config::Config& cfg, Running& run) {
  auto spool = prepare_spool(cfg);
  if (!spool.ok()) return spool.error();
  run.http = std::make_unique<HttpMetrics>(run.registry);
  run.registry.gauge("edxgate_build_info", "Build information.", {"version"}).set({EDXGATE_VERSION}, 1);
  EDX_TRY(open_store(cfg, run));
  EDX_TRY(open_keys(cfg, run));
  EDX_TRY(open_axis(cfg, *spool, run));
  EDX_TRY(start_engine(cfg, run));
  run.directory = std::make_shared<DirectorySync>(
      run.axis.get(), *run.store,
      workflow::AxisDirectoryLimits{cfg.axis.directory_max_entries, uint64_t{cfg.axis.directory_max_mb} << 20},
      std::chrono::hours(cfg.axis.directory_refresh_h));
  EDX_TRY(start_internal_listener(cfg, *spool, run));
  EDX_TRY(start_axis_listener(cfg, *spool, run));
  EDX_TRY(start_health_listener(cfg, *spool, run));
  run.engine->start();
  run.directory->start();
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
  block_stop_signals();
  // Few arenas, and freed heap given back after a burst (issue 15: the idle
  // daemon stays small; gateway_rss_bench measures it).
  limit_malloc_arenas(2);

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
  HeapTrimmer::trim();  // what starting (config, trust store, token login) freed
  HeapTrimmer trimmer;

  int sig = wait_for_stop_signal();
  log::info("edxgated stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (void)notifier.stopping("finishing requests in flight");
  const auto grace = std::chrono::seconds(cfg->server.shutdown_grace_s);
  // Every API listener stops accepting at once; then each drains within the grace.
  std::vector<std::thread> stoppers;
  for (auto& s : run.api) stoppers.emplace_back([&s, grace] { s->stop(grace); });
  for (auto& t : stoppers) t.join();
  // The engine finishes its current send (its lease covers a crash anyway).
  if (run.directory) run.directory->stop();
  if (run.engine) run.engine->stop();
  if (run.health) run.health->stop(std::chrono::milliseconds(500));
  notifier.stop_watchdog();
  log::info("edxgated stopped");
  return 0;
}

}  // namespace edxgate::gateway
