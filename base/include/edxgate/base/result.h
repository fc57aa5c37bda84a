// Result<T> and Error: how expected failures travel in edxgate.
//
// Bad input, an invalid signature, a wrong PIN or an absent token are not
// exceptional: functions return them as values. The boundary (HTTP layer,
// CLI) maps Error::code to a status or an exit code. Exceptions are kept for
// bugs and resource exhaustion.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace edxgate {

// An expected failure. `code` is a stable, dotted identifier that scripts and
// tests may match on ("xml.doctype", "pin.incorrect"); `message` is one
// sentence for a person, saying what was wrong and, where it helps, what to do.
// It never contains a secret.
struct Error {
  std::string code;
  std::string message;
  int line = 0;  // 1-based source line when the error is about a text input

  // "message (line N)" or just "message".
  std::string to_string() const {
    if (line > 0) return message + " (line " + std::to_string(line) + ")";
    return message;
  }
};

inline Error make_error(std::string code, std::string message, int line = 0) {
  return Error{std::move(code), std::move(message), line};
}

// Either a T or an Error. Check ok() before value().
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
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
#define EDX_TRY(expr)                          \
  do {                                         \
    auto edx_try_r_ = (expr);                  \
    if (!edx_try_r_.ok()) return edx_try_r_.error(); \
  } while (0)
