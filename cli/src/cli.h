// The edxgate command-line tool: command table and shared plumbing.
//
// Each part contributes its commands in its own file (cmd_<part>.cc); main.cc
// only dispatches. Exit codes are the same everywhere.
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
  static Result<Args> parse(const std::vector<std::string>& argv,
                            std::initializer_list<OptionSpec> specs);
  bool has(std::string_view name) const;
  std::string get(std::string_view name, std::string fallback = "") const;
  std::vector<std::string> all(std::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positional_;
};

// The store named by --db (with --dsn-file, --blob-dir), opened read-only,
// and the exit code of a store error (cmd_store.cc).
Result<std::unique_ptr<store::Store>> open_store_from_args(const Args& args);
int store_exit(const Error& e);

// Prints "edxgate: <message>" to stderr and returns `code`.
int fail(int code, std::string_view message);
int fail(int code, const Error& error);

}  // namespace edxgate::cli
