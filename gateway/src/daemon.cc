#include "edxgate/gateway/daemon.h"

#include <signal.h>

#include <cstdio>
#include <iostream>

#include "edxgate/base/log.h"
#include "edxgate/base/version.h"
#include "edxgate/config/config.h"

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
)";

// Blocks SIGTERM/SIGINT in every thread and waits for one of them.
int wait_for_stop_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
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

  auto cfg = config::load(config_path);
  if (!cfg.ok()) {
    std::cerr << cfg.error().message << "\n";
    return 1;
  }
  log::Level level = log::Level::info;
  log::parse_level(cfg->log.level, level);
  log::set_level(level);
  log::info("edxgated starting", {{"version", EDXGATE_VERSION}, {"config", config_path}});

  int sig = wait_for_stop_signal();
  log::info("edxgated stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  log::info("edxgated stopped");
  return 0;
}

}  // namespace edxgate::gateway
