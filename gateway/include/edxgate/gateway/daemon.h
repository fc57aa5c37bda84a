// The edxgated daemon's entry point, callable from main and from tests.
#pragma once

#include <string>
#include <vector>

namespace edxgate::gateway {

// Runs the daemon with command-line arguments (without argv[0]); returns the
// process exit code. Blocks until SIGTERM/SIGINT.
int daemon_main(const std::vector<std::string>& args);

}  // namespace edxgate::gateway
