// Where a PIN comes from. Every source returns the PIN in a SecretString
// (mlock'd, excluded from core dumps, wiped on destruction); no copy of the PIN
// is ever made in ordinary memory, printed, logged, or put in an error.
#pragma once

#include <string>
#include <string_view>

#include "edxgate/base/result.h"
#include "edxgate/base/secret.h"

namespace edxgate::hsm {

// Longest PIN accepted from any source (PKCS#11 tokens use far fewer bytes).
constexpr size_t kMaxPinBytes = 256;

// Reads a PIN from a file (one trailing newline removed). Refuses a file that
// group or others may read or write ("pin.file_mode"), an empty PIN
// ("pin.empty") and one longer than kMaxPinBytes ("pin.too_long").
Result<SecretString> read_pin_file(const std::string& path);

// Reads the systemd credential `name` from $CREDENTIALS_DIRECTORY
// ("pin.no_credentials" when the variable is unset, "pin.credential_name" when
// `name` is not a plain file name).
Result<SecretString> read_pin_credential(std::string_view name);

// Prompts on the controlling terminal (/dev/tty) with echo off, restoring the
// terminal afterwards. "pin.no_terminal" when there is none.
Result<SecretString> read_pin_terminal(std::string_view prompt);

// Asks a yes/no question on the terminal; false unless the answer is y/yes.
Result<bool> confirm_on_terminal(std::string_view question);

}  // namespace edxgate::hsm
