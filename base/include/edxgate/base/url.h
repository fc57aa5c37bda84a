// The two URL codings edxgate needs: RFC 3986 percent-encoding of what it
// puts into a URL (a path segment or a query value; the CLI calling the API,
// the console's links) and the decoding of a query value as browsers and
// clients write it (application/x-www-form-urlencoded).
#pragma once

#include <string>
#include <string_view>

namespace edxgate {

// Every byte but the unreserved characters (A-Z a-z 0-9 - . _ ~) as %XX, in
// upper-case hex: safe as a path segment and as a query key or value.
std::string percent_encode(std::string_view text);

// Decodes one query value: '+' is a space, %XX (hex, either case) the byte;
// a '%' not followed by two hex digits is kept as it is. Never fails: the
// result may be any bytes, the caller checks what it expects.
std::string form_decode(std::string_view value);

}  // namespace edxgate
