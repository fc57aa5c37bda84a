// Text helpers for edXML: UTF-8 checks, NFC (ICU), XML escaping.
#pragma once

#include <string>
#include <string_view>

namespace edxgate::edxml::detail {

// True if `s` is well-formed UTF-8 (no overlongs, no surrogates).
bool valid_utf8(std::string_view s);
// True if every character may appear in XML 1.0 text (no C0 control other
// than tab, LF, CR; no U+FFFE/U+FFFF). Requires valid UTF-8.
bool valid_xml_chars(std::string_view s);
// `s` in Unicode Normalization Form C. Requires valid UTF-8.
std::string nfc(std::string_view s);
// Appends `s` escaped for element text (& < > and CR) or, with `attr`, for a
// double-quoted attribute value (also " tab LF).
void append_escaped(std::string& out, std::string_view s, bool attr = false);
// Leading and trailing XML whitespace removed.
std::string_view trim(std::string_view s);

}  // namespace edxgate::edxml::detail
