// Result<T> and Error: how expected failures travel in edxgate.
//
// Bad input, an invalid signature, a wrong PIN or an absent token are not
// exceptional: functions return them as values. An error carries its kind
// (what sort of failure, set where it is made) beside its code (which
// failure, stable for scripts). The boundaries map the kind, never the code:
// the HTTP layer to a status (gateway/http.h http_status), the CLI to an exit
// code (cli/src/cli.h exit_code), each with one switch. Exceptions are kept
// for bugs and resource exhaustion.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace edxgate {

// What sort of failure an error is: it decides how a boundary answers.
enum class ErrorKind : uint8_t {
  internal,      // a bug or an unexpected failure of our own
  invalid,       // the input breaks a rule (a document, a field, a signature)
  malformed,     // the request itself cannot be read (HTTP framing, multipart, query)
  usage,         // wrong use of a command or an option
  not_found,     // no such thing (or not visible to this caller)
  conflict,      // the current state forbids it, or it exists already
  too_large,     // over a size limit
  unauthorized,  // who is asking is not established (bad MAC, no credentials)
  forbidden,     // the caller is known but may not do this (wrong PIN, wrong organ)
  unavailable,   // something needed is absent or full for now (token, axis, disk)
  io,            // a file, device or connection failed
};

// An expected failure. `code` is a stable, dotted identifier that scripts and
// tests may match on ("xml.doctype", "pin.incorrect"); `message` is one
// sentence for a person, saying what was wrong and, where it helps, what to do.
// It never contains a secret.
struct Error {
  ErrorKind kind = ErrorKind::internal;
  std::string code;
  std::string message;
  int line = 0;  // 1-based source line when the error is about a text input

  // "message (line N)" or just "message".
  std::string to_string() const {
    if (line > 0) return message + " (line " + std::to_string(line) + ")";
    return message;
  }
};

inline Error make_error(ErrorKind kind, std::string code, std::string message, int line = 0) {
  return Error{kind, std::move(code), std::move(message), line};
}

// Either a T or an Error. Check ok() before value().
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Success or an Error, for operations that return nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}  // NOLINT

  bool ok() const { return !e_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *e_; }

 private:
  std::optional<Error> e_;
};

using Status = Result<void>;

}  // namespace edxgate

// Propagates an error from an expression yielding a Result.
#define EDX_TRY(expr)                                \
  do {                                               \
    auto edx_try_r_ = (expr);                        \
    if (!edx_try_r_.ok()) return edx_try_r_.error(); \
  } while (0)
