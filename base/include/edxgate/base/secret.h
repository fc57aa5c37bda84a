// SecretString: memory for a PIN or a shared secret.
//
// The bytes live in their own page-aligned mapping that is mlock'ed (never
// swapped), excluded from core dumps (MADV_DONTDUMP) and wiped with
// explicit_bzero when the object dies. The value is never formatted into logs
// or errors; callers pass view() to the one API that needs it and nothing else.
#pragma once

#include <cstddef>
#include <string_view>

namespace edxgate {

class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string_view value);
  ~SecretString();
  SecretString(SecretString&& other) noexcept;
  SecretString& operator=(SecretString&& other) noexcept;
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;

  // Appends one byte; grows the locked mapping when needed (the old one is
  // wiped before it is unmapped).
  void push_back(char c);
  // Removes trailing '\n' / '\r' (a PIN file usually ends with one).
  void trim_newline();

  std::string_view view() const { return {data_, size_}; }
  const char* c_str() const { return data_ ? data_ : ""; }  // NUL-terminated
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear();

 private:
  void reserve(size_t capacity);
  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;  // bytes mapped (page multiple), 0 when none
};

}  // namespace edxgate
