// The console's text: HTML built from literals and escaped values only, the
// Vietnamese names of states and roles, times. Internal to the gateway.
#pragma once

#include "edxgate/base/time.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace edxgate::gateway::console {

// Escapes text for HTML element content and quoted attribute values: & < >
// " ' become entities; a byte sequence that is not UTF-8 becomes U+FFFD; C0
// controls other than tab and line feed, and DEL, are dropped.
std::string escape(std::string_view untrusted);

// Markup under construction. Markup comes only from string literals (the
// template); any other text goes through text(), which escapes it, so a value
// from outside (a subject, a name, a reason) can never become markup.
class Html {
 public:
  template <size_t N>
  Html& raw(const char (&literal)[N]) {
    out_.append(literal, N - 1);
    return *this;
  }
  Html& text(std::string_view untrusted) {
    out_ += escape(untrusted);
    return *this;
  }
  Html& number(int64_t n) {
    out_ += std::to_string(n);
    return *this;
  }
  Html& append(const Html& other) {
    out_ += other.out_;
    return *this;
  }
  // The document, NFC-normalised (what the browser gets).
  std::string finish() const;
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

// NFC normalisation of UTF-8 (invalid sequences become U+FFFD).
std::string nfc(std::string_view utf8);
// True when `utf8` is valid UTF-8 in NFC.
bool is_nfc(std::string_view utf8);

// Vietnamese names: of a workflow state (the stable name when unknown), a
// client role, a readiness check, a watched certificate's role.
std::string_view state_label(std::string_view state);
std::string_view role_label(std::string_view role);
std::string_view check_label(std::string_view check);
std::string_view certificate_role_label(std::string_view role);

}  // namespace edxgate::gateway::console
