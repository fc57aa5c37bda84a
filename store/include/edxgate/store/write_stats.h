// What a store's writes cost since it was opened (in this process): how many
// write transactions returned and how many durable commits (each one fsync of
// the journal) they took. SQLite batches concurrent writes into one commit
// (group commit, see Store's "Durability"), so under load `commits` stays
// below `writes`; PostgreSQL commits each write on its own. For monitoring
// and for the tests that check the batching.
#pragma once

#include <cstdint>

namespace edxgate::store {

class Store;

struct WriteStats {
  uint64_t writes = 0;   // write transactions that returned (ok or not)
  uint64_t commits = 0;  // durable commits
};

// The counts of a store open_store() returned (zero for any other Store).
WriteStats write_stats(const Store& store);

}  // namespace edxgate::store
