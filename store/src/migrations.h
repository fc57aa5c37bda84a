// Versioned schema migrations. Version N is reached by applying migrations
// 1..N in order, each in its own transaction with the new version number.
#pragma once

#include "edxgate/base/result.h"
#include "sqlite.h"

namespace edxgate::store {

constexpr int kLatestSchemaVersion = 3;

// Reads the version (0 for a fresh database).
Result<int> read_schema_version(sql::Conn& conn);
// Applies migrations up to `target` (tests pass an older target to build an
// old database). A database newer than kLatestSchemaVersion is refused with
// "store.schema_newer" and left untouched.
Result<int> migrate(sql::Conn& conn, int target = kLatestSchemaVersion);

}  // namespace edxgate::store
