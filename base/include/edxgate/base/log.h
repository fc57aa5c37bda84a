// The logging facade: one line per event, `key=value` fields, to stderr so
// that journald (or the terminal) takes it.
//
// Never pass a secret (PIN, API secret, private key material) as a field:
// nothing here can tell it apart from other text.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace edxgate::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

// Parses "debug" | "info" | "warn" | "error".
bool parse_level(std::string_view text, Level& out);
std::string_view level_name(Level level);

// Process-wide threshold, set once in main from the config.
void set_level(Level level);
Level level();

struct Field {
  std::string_view key;
  std::string value;
};

// Writes `ts=... level=... msg="..." k=v ...` as one write(2) call.
void write(Level level, std::string_view msg, std::initializer_list<Field> fields);

inline void debug(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::debug, msg, f); }
inline void info(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::info, msg, f); }
inline void warn(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::warn, msg, f); }
inline void error(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::error, msg, f); }

// Formats one line without writing it (used by write and by tests).
std::string format_line(Level level, std::string_view msg, std::initializer_list<Field> fields);

}  // namespace edxgate::log
