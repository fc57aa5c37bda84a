// JSON for edxgate: Boost.JSON (part of Boost 1.81), compiled once in
// base/src/json.cc. Include this header rather than <boost/json.hpp>.
#pragma once

#include <boost/json.hpp>

#include <string>
#include <string_view>

#include "edxgate/base/result.h"

namespace edxgate::json {

namespace bj = boost::json;

// Parses JSON text with a depth limit; errors are values, never exceptions.
Result<bj::value> parse(std::string_view text, unsigned max_depth = 32);

// Pretty-prints with two-space indentation and a trailing newline.
std::string pretty(const bj::value& v);

}  // namespace edxgate::json
