// edxgate config ...: configuration commands.
#include <iostream>

#include "cli.h"
#include "edxgate/config/config.h"

namespace edxgate::cli {
namespace {

int config_check(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {});
  if (!args.ok()) return fail(kExitUsage, args.error());
  if (args->positional().size() != 1) {
    return fail(kExitUsage, "config check needs exactly one FILE (see edxgate config check --help)");
  }
  const std::string& path = args->positional()[0];
  auto cfg = config::load(path);
  if (!cfg.ok()) {
    std::cerr << cfg.error().message << "\n";
    return kExitInvalid;
  }
  std::cout << path << ": ok\n";
  return kExitOk;
}

constexpr Command kCommands[] = {
    {"config check", "check a configuration file",
     "usage: edxgate config check FILE\n\n"
     "Parses FILE as an edxgate configuration and prints every problem, one per line,\n"
     "as FILE:LINE: KEY: WHAT. Exit 0 when valid, 1 when invalid or unreadable.\n",
     config_check},
};

}  // namespace

std::span<const Command> config_commands() { return kCommands; }

}  // namespace edxgate::cli
