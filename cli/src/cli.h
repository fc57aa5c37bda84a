// The edxgate command-line tool: command table and shared plumbing.
//
// Each part contributes its commands in its own file (cmd_<part>.cc); main.cc
// only dispatches. Exit codes are the same everywhere: an Error's comes from
// its kind through exit_code, the one mapping every command uses.
#pragma once

#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <memory>

#include "edxgate/base/result.h"

namespace edxgate::store {
class Store;
}

namespace edxgate::cli {

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;  // the input is invalid / the check failed
constexpr int kExitUsage = 2;    // bad usage, I/O error, or an environment problem

// The exit code for an error, by its kind: kExitInvalid when the input breaks
// a rule or a check failed (invalid, malformed, not_found, conflict,
// too_large, unauthorized, forbidden), kExitUsage for a problem of use or of
// the environment (usage, io, unavailable, internal). A command that must
// answer otherwise for one of its cases sets the error's kind where it knows
// why, never by matching codes here.
int exit_code(const Error& error);

// A command: `path` is its words ("token list"); `run` gets the arguments
// after those words; `help` is printed for `edxgate <path> --help`.
struct Command {
  std::string_view path;
  std::string_view summary;
  std::string_view help;
  int (*run)(const std::vector<std::string>& args);
};

std::span<const Command> config_commands();
std::span<const Command> edxml_commands();
std::span<const Command> hsm_commands();
std::span<const Command> crypto_commands();
std::span<const Command> store_commands();
std::span<const Command> remote_commands();  // talk to a running gateway (cmd_remote.cc)
std::span<const Command> report_commands();

// An option a command accepts: "--out" with alias "-o", taking a value or a
// flag; repeatable options collect every value.
struct OptionSpec {
  std::string_view name;
  std::string_view alias = "";
  bool takes_value = false;
  bool repeatable = false;
};

// Parsed command-line arguments. Unknown options are errors; "--" ends
// options; "--name=value" and "--name value" are both accepted.
class Args {
 public:
  static Result<Args> parse(const std::vector<std::string>& argv, std::initializer_list<OptionSpec> specs);
  bool has(std::string_view name) const;
  std::string get(std::string_view name, std::string fallback = "") const;
  std::vector<std::string> all(std::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positional_;
};

// The store named by --db (with --dsn-file, --blob-dir), opened read-only (cmd_store.cc).
Result<std::unique_ptr<store::Store>> open_store_from_args(const Args& args);

// Prints "edxgate: <message>" to stderr and returns `code` (for what a
// command finds wrong with its own arguments).
int fail(int code, std::string_view message);
// Prints "edxgate: <message>" and returns exit_code(error).
int fail(const Error& error);
// The same with the code after the message: "edxgate: <message> [<code>]"
// (the commands whose output names reason codes).
int fail_coded(const Error& error);

}  // namespace edxgate::cli
