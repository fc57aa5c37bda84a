#include <string>
#include <vector>

#include "edxgate/gateway/daemon.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return edxgate::gateway::daemon_main(args);
}
