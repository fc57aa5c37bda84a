// edxgate-axis-sim: command line of the axis simulator (see simulator.h).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <sstream>

#include "edxgate/base/fs.h"
#include "edxgate/base/log.h"
#include "edxgate/base/signals.h"
#include "edxgate/gateway/server.h"
#include "simulator.h"

namespace {

constexpr const char* kUsage = R"(usage: edxgate-axis-sim --tls-cert PEM --tls-key PEM --data DIR
                        --system id=ID,organ=ORGAN,secret-file=FILE[,push=URL] ...
                        [--listen HOST:PORT] [--port-file FILE] [--timestamp-window S]
                        [--push-ca PEM] [--push-cert PEM --push-key PEM]
                        [--push-timeout-ms MS] [--push-retry-ms MS]
                        [--directory FILE]

An axis (VDXP) simulator for tests and demos, on loopback. It speaks the axis
calls sendEdoc, getReceivedEdocList, getEdoc, updateStatus and countReceiveEdoc
over HTTPS in the VXP SDK's dialect (XroadVnpt- signed headers, bare key list,
Content-Type signed, sendEdoc body = file + CRLF, no `to`), routes an envelope
by its own To (a status message by its ResponseFor), answers a repeated send
of the same file with the first DocId, pushes to a system's gateway when it has
push=URL (POST URL/vdxp/sendEdoc in the same dialect, presenting --push-cert),
and keeps the rest for pull.

  --listen HOST:PORT     default 127.0.0.1:0 (a free port); the address is
                         printed as "listening address=https://..." on stderr
  --port-file FILE       also write the bound port there
  --system ...           a registered system; repeat for each
  --timestamp-window S   largest accepted age of a call's signed timestamp;
                         0 = no check (default: the SDK reuses one for life)
  --directory FILE       the agency directory getAgenciesList serves: a JSON
                         array of {"code","name","id","pid","mail","oldCode"}
                         (the axis' fields), read at each call (default: none,
                         an empty list)
  --push-timeout-ms MS   bound of one push to a gateway (default 60000)
  --push-retry-ms MS     a failed push is retried after MS, doubling up to 16x,
                         for 30 minutes (default 5000)

Control (no authentication: keep it on loopback):
  POST /_sim/fault {"mode":"refuse"|"delay"|"drop"|"none","count":N,"delay_ms":MS,
                   "call":NAME,"system":ID}
       the next N axis calls (all when count is absent; only calls NAME, e.g.
       "sendEdoc", when call is given; only sendEdoc calls of system ID when
       system is given) fail that way; "http_status":S answers a refusal
       with HTTP S (default 503, the axis busy; 200 is the axis' verdict)
  GET  /_sim/items  every routed item and its status
  GET  /_sim/calls  authenticated sendEdoc calls begun, per system ("sendEdoc:ID": N)
  GET  /_sim/requests  the last 2000 axis calls received: call, method, headers,
                   bodyBytes, bodyEndsWithCrlf, body (when short), status answered
)";

edxgate::Result<edxgate::sim::SystemEntry> parse_system(const std::string& spec) {
  edxgate::sim::SystemEntry e;
  std::string secret_file;
  std::stringstream ss(spec);
  std::string part;
  while (std::getline(ss, part, ',')) {
    auto eq = part.find('=');
    if (eq == std::string::npos)
      return edxgate::make_error(edxgate::ErrorKind::usage, "usage", "--system parts are key=value: " + part);
    std::string k = part.substr(0, eq), v = part.substr(eq + 1);
    if (k == "id")
      e.system_id = v;
    else if (k == "organ")
      e.organ_id = v;
    else if (k == "secret-file")
      secret_file = v;
    else if (k == "push")
      e.push_url = v;
    else
      return edxgate::make_error(edxgate::ErrorKind::usage, "usage", "unknown --system key '" + k + "'");
  }
  if (e.system_id.empty() || e.organ_id.empty() || secret_file.empty())
    return edxgate::make_error(edxgate::ErrorKind::usage, "usage", "--system needs id=, organ= and secret-file=");
  auto text = edxgate::fs::read_file(secret_file, 4096);
  if (!text.ok()) return text.error();
  auto secret = std::make_shared<edxgate::SecretString>(*text);
  secret->trim_newline();
  std::fill(text->begin(), text->end(), '\0');
  e.secret = std::move(secret);
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace edxgate;
  std::vector<std::string> args(argv + 1, argv + argc);
  gateway::ListenerOptions lo;
  lo.name = "axis-sim";
  lo.listen = "127.0.0.1:0";
  lo.limits.max_body_bytes = 1ull << 30;
  lo.limits.request_timeout_s = 600;
  lo.worker_threads = 4;
  sim::SimOptions so;
  std::string port_file;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (i + 1 >= args.size()) {
      std::cerr << "edxgate-axis-sim: unknown option or missing value: " << a << "\n";
      return 2;
    }
    const std::string& v = args[++i];
    if (a == "--listen")
      lo.listen = v;
    else if (a == "--tls-cert")
      lo.tls_cert = v;
    else if (a == "--tls-key")
      lo.tls_key = v;
    else if (a == "--data")
      so.data_dir = v;
    else if (a == "--port-file")
      port_file = v;
    else if (a == "--directory")
      so.directory_file = v;
    else if (a == "--timestamp-window")
      so.timestamp_window = std::chrono::seconds(std::stoul(v));
    else if (a == "--push-ca")
      so.push_client.ca_file = v;
    else if (a == "--push-cert")
      so.push_client.client_cert = v;
    else if (a == "--push-key")
      so.push_client.client_key = v;
    else if (a == "--push-timeout-ms")
      so.push_client.timeout = std::chrono::milliseconds(std::stoul(v));
    else if (a == "--push-retry-ms")
      so.push_retry = std::chrono::milliseconds(std::max(1ul, std::stoul(v)));
    else if (a == "--system") {
      auto e = parse_system(v);
      if (!e.ok()) {
        std::cerr << "edxgate-axis-sim: " << e.error().message << "\n";
        return 2;
      }
      so.systems.push_back(std::move(*e));
    } else {
      std::cerr << "edxgate-axis-sim: unknown option " << a << " (see --help)\n";
      return 2;
    }
  }
  if (lo.tls_cert.empty() || lo.tls_key.empty() || so.data_dir.empty()) {
    std::cerr << "edxgate-axis-sim: --tls-cert, --tls-key and --data are required (see --help)\n";
    return 2;
  }
  block_stop_signals();

  lo.spool_dir = so.data_dir + "/spool";
  if (auto st = fs::make_dirs(lo.spool_dir); !st.ok()) {
    std::cerr << "edxgate-axis-sim: " << st.error().message << "\n";
    return 2;
  }
  auto simulator = std::make_unique<sim::Simulator>(so);
  auto router = std::make_shared<gateway::Router>();
  simulator->add_routes(*router);
  auto server = gateway::Server::start(lo, router, nullptr);
  if (!server.ok()) {
    std::cerr << "edxgate-axis-sim: " << server.error().message << "\n";
    return 2;
  }
  log::info("listening", {{"listener", "axis-sim"}, {"address", "https://" + (*server)->local_address()}});
  if (!port_file.empty()) {
    if (auto st = fs::write_file_atomic(port_file, std::to_string((*server)->port()) + "\n", 0644); !st.ok()) {
      std::cerr << "edxgate-axis-sim: " << st.error().message << "\n";
      return 2;
    }
  }
  wait_for_stop_signal();
  (*server)->stop(std::chrono::seconds(2));
  return 0;
}
