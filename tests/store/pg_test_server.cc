// pg_test_server start|stop: the ctest fixture that runs one throwaway
// PostgreSQL for every test of a run that needs one (see pg_server.h).
// The server's directory is recorded in $EDXGATE_BINARY_DIR/pg-test.dir.
#include <cstdio>
#include <fstream>
#include <string>

#include "pg_server.h"

using namespace edxgate::store::testing;

int main(int argc, char** argv) {
  const std::string file = pg_fixture_file();
  if (argc != 2 || file.empty()) {
    std::fprintf(stderr, "usage: EDXGATE_BINARY_DIR=DIR pg_test_server start|stop\n");
    return 2;
  }
  const std::string cmd = argv[1];
  std::string dir;
  {
    std::ifstream in(file);
    in >> dir;
  }
  if (cmd == "start") {
    if (!dir.empty() && pg_is_up(dir)) {
      std::printf("PostgreSQL already running in %s\n", dir.c_str());
      return 0;
    }
    std::string error;
    dir = start_pg_server(error);
    if (dir.empty()) {
      std::fprintf(stderr, "pg_test_server: %s\n", error.c_str());
      return 1;
    }
    std::ofstream(file) << dir << "\n";
    std::printf("PostgreSQL started in %s\n", dir.c_str());
    return 0;
  }
  if (cmd == "stop") {
    stop_pg_server(dir);
    std::remove(file.c_str());
    std::printf("PostgreSQL stopped\n");
    return 0;
  }
  std::fprintf(stderr, "pg_test_server: unknown command %s\n", cmd.c_str());
  return 2;
}
