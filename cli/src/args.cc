#include <iostream>

#include "cli.h"

namespace edxgate::cli {

Result<Args> Args::parse(const std::vector<std::string>& argv, std::initializer_list<OptionSpec> specs) {
  Args out;
  auto find = [&](std::string_view name) -> const OptionSpec* {
    for (const auto& s : specs) {
      if (s.name == name || (!s.alias.empty() && s.alias == name)) return &s;
    }
    return nullptr;
  };
  bool options_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (options_done || a.size() < 2 || a[0] != '-') {
      out.positional_.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    std::string name = a;
    std::string value;
    bool inline_value = false;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      inline_value = true;
    }
    const OptionSpec* spec = find(name);
    if (!spec) return make_error(ErrorKind::usage, "usage.unknown_option", "unknown option '" + name + "'");
    const std::string key(spec->name);
    if (spec->takes_value) {
      if (!inline_value) {
        if (i + 1 >= argv.size()) {
          return make_error(ErrorKind::usage, "usage.missing_value", "option '" + name + "' needs a value");
        }
        value = argv[++i];
      }
    } else if (inline_value) {
      return make_error(ErrorKind::usage, "usage.unexpected_value", "option '" + name + "' takes no value");
    }
    auto& slot = out.values_[key];
    if (!slot.empty() && !spec->repeatable) {
      return make_error(ErrorKind::usage, "usage.repeated_option", "option '" + name + "' given twice");
    }
    slot.push_back(value);
  }
  return out;
}

bool Args::has(std::string_view name) const { return values_.find(name) != values_.end(); }

std::string Args::get(std::string_view name, std::string fallback) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return fallback;
  return it->second.back();
}

std::vector<std::string> Args::all(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int fail(int code, std::string_view message) {
  std::cerr << "edxgate: " << message << "\n";
  return code;
}

int exit_code(const Error& error) {
  switch (error.kind) {
    case ErrorKind::invalid:
    case ErrorKind::malformed:
    case ErrorKind::not_found:
    case ErrorKind::conflict:
    case ErrorKind::too_large:
    case ErrorKind::unauthorized:
    case ErrorKind::forbidden:
      return kExitInvalid;
    case ErrorKind::usage:
    case ErrorKind::io:
    case ErrorKind::unavailable:
    case ErrorKind::internal:
      return kExitUsage;
  }
  return kExitUsage;
}

int fail(const Error& error) { return fail(exit_code(error), error.to_string()); }

int fail_coded(const Error& error) { return fail(exit_code(error), error.to_string() + " [" + error.code + "]"); }

}  // namespace edxgate::cli
