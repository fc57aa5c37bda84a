// Versioned schema migrations, one list for both engines. Version N is
// reached by applying migrations 1..N in order, in one transaction, each
// recording its number; a migration carries its SQL per engine where the
// dialects differ, so schema_version means the same schema in both.
#pragma once

#include "edxgate/base/result.h"
#include "sql.h"

namespace edxgate::store {

constexpr int kLatestSchemaVersion = 8;

// Reads the version (0 for a fresh database).
Result<int> read_schema_version(sql::Conn& conn);
// Applies migrations up to `target` (tests pass an older target to build an
// old database). A database newer than kLatestSchemaVersion is refused with
// "store.schema_newer" and left untouched. PostgreSQL: nodes starting at once
// take turns (an advisory lock); the later ones find the work done.
Result<int> migrate(sql::Conn& conn, int target = kLatestSchemaVersion);

}  // namespace edxgate::store
