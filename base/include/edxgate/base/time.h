// Times as the API, the console and the CLI show them.
#pragma once

#include <cstdint>
#include <string>

namespace edxgate {

// Milliseconds since the epoch as ISO 8601 UTC to the second
// ("2026-11-27T13:45:00Z"); "" for 0 or less (no time).
std::string iso_time(int64_t ms);

}  // namespace edxgate
