// edxgate: the security officer's and operator's tool. Dispatches to the
// command tables of each part.
#include <iostream>
#include <string>
#include <vector>

#include "cli.h"
#include "edxgate/base/version.h"

namespace edxgate::cli {
namespace {

std::vector<const Command*> all_commands() {
  std::vector<const Command*> out;
  for (auto table : {config_commands(), edxml_commands(), hsm_commands(), crypto_commands(), store_commands(),
                     remote_commands(), report_commands()}) {
    for (const Command& c : table) out.push_back(&c);
  }
  return out;
}

void print_help(std::ostream& os) {
  os << "usage: edxgate COMMAND [ARGS...]\n\n"
        "edxgate manages an edxgate gateway: tokens, keys, certificates, envelopes,\n"
        "signatures and the document store. Run 'edxgate COMMAND --help' for details.\n\n"
        "commands:\n";
  for (const Command* c : all_commands()) {
    std::string path(c->path);
    os << "  " << path << std::string(path.size() < 18 ? 18 - path.size() : 1, ' ') << c->summary << "\n";
  }
  os << "\noptions:\n  --version         print the version and exit\n"
        "  --help            print this help and exit\n\n"
        "exit codes: 0 success, 1 invalid input or failed check, 2 usage or I/O error\n";
}

// Number of leading words of `args` that spell `path`, or 0.
size_t match(const Command& c, const std::vector<std::string>& args) {
  std::string_view path = c.path;
  size_t words = 0;
  while (!path.empty()) {
    size_t sp = path.find(' ');
    std::string_view word = path.substr(0, sp);
    if (words >= args.size() || args[words] != word) return 0;
    ++words;
    path = sp == std::string_view::npos ? std::string_view{} : path.substr(sp + 1);
  }
  return words;
}

}  // namespace

int run(const std::vector<std::string>& args) {
  if (args.empty()) {
    print_help(std::cerr);
    return kExitUsage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_help(std::cout);
    return kExitOk;
  }
  if (args[0] == "--version") {
    std::cout << "edxgate " << EDXGATE_VERSION << "\n";
    return kExitOk;
  }
  const Command* best = nullptr;
  size_t best_words = 0;
  for (const Command* c : all_commands()) {
    size_t w = match(*c, args);
    if (w > best_words) {
      best = c;
      best_words = w;
    }
  }
  if (!best) {
    if (args[0].rfind("-", 0) == 0) {
      return fail(kExitUsage, "unknown option '" + args[0] + "' (see edxgate --help)");
    }
    return fail(kExitUsage, "unknown command '" + args[0] + "' (see edxgate --help)");
  }
  std::vector<std::string> rest(args.begin() + static_cast<long>(best_words), args.end());
  for (const std::string& a : rest) {
    if (a == "--") break;
    if (a == "--help" || a == "-h") {
      std::cout << best->help;
      return kExitOk;
    }
  }
  return best->run(rest);
}

}  // namespace edxgate::cli

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return edxgate::cli::run(args);
}
