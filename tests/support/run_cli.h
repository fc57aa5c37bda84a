// Running a program the way a user or script would (through sh), for the
// tests that check our programs from outside or cross-check with the openssl,
// xmlsec1 and softhsm2 tools: one runner capturing the exit code and output.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace edxgate::test {

struct CliRun {
  int code = -1;    // the exit code; -1 when sh could not start or the program died of a signal
  std::string out;  // what it wrote: stdout and stderr together unless Output::stdout_only
};

enum class Output { with_stderr, stdout_only };

// Runs `cmd` under sh and waits for it. `cmd` is shell text: quote paths.
inline CliRun run_command(const std::string& cmd, Output output = Output::with_stderr) {
  CliRun r;
  const std::string full = output == Output::with_stderr ? cmd + " 2>&1" : cmd;
  FILE* p = ::popen(full.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

#ifdef EDXGATE_BINARY_DIR
// A program of this build (build/bin/NAME).
inline std::string program_path(const std::string& name) { return std::string(EDXGATE_BINARY_DIR) + "/bin/" + name; }

// Runs this build's `edxgate ARGS` (ARGS is shell text).
inline CliRun run_edxgate(const std::string& args) { return run_command(program_path("edxgate") + " " + args); }
#endif

}  // namespace edxgate::test
