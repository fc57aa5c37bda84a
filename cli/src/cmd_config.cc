// edxgate config ...: configuration commands.
#include <iostream>

#include "cli.h"
#include "edxgate/config/config.h"

namespace edxgate::cli {
namespace {

int config_check(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {});
  if (!args.ok()) return fail(args.error());
  if (args->positional().size() != 1) {
    return fail(kExitUsage, "config check needs exactly one FILE (see edxgate config check --help)");
  }
  const std::string& path = args->positional()[0];
  auto cfg = config::load(path);
  if (!cfg.ok()) {
    // Checking is this command's job: a file that cannot be read fails the
    // check like one that breaks a rule (exit 1, as edxgated --check-config).
    Error e = cfg.error();
    e.kind = ErrorKind::invalid;
    std::cerr << e.message << "\n";
    return exit_code(e);
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
