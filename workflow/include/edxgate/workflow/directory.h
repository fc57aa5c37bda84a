// The agency directory: the axis' list of connected agencies (getAgenciesList,
// ~111,000 entries), cached in the store and used to check the recipients of
// what we send.
//
// A sync replaces the stored copy whole or not at all: an answer over the
// limits, unparsable, or refused by the axis leaves the previous copy in
// place. The check at submission only applies once a directory is stored: an
// empty or never-synchronised directory blocks nothing (a gateway whose axis
// serves no directory still sends).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edxgate/base/result.h"
#include "edxgate/store/store.h"
#include "edxgate/workflow/transport.h"

namespace edxgate::workflow {

// Fetches the directory from the axis and replaces the stored one; returns
// the number of entries stored. Errors: axis.* (the stored copy is kept),
// axis.too_large, directory.empty (the axis answered no entry: refused, so a
// glitch never wipes the directory), store.*.
Result<uint64_t> sync_directory(AxisTransport& axis, store::Store& store, const AxisDirectoryLimits& limits,
                                const std::string& actor);

// How many closest entries an unknown recipient's error names.
inline constexpr uint32_t kClosestAgencies = 3;

// Checks that every organ id in `recipients` is in the stored directory.
// recipient.unknown (invalid) names the unknown id and the closest entries;
// passes when no directory is stored.
Status check_recipients(store::Store& store, const std::vector<std::string>& recipients);

}  // namespace edxgate::workflow
