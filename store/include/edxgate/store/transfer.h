// Moving a gateway's state from one store to another, e.g. from the embedded
// SQLite store of a single gateway to the PostgreSQL database of a cluster
// (`edxgate store migrate`).
#pragma once

#include <cstdint>
#include <string>

#include "edxgate/base/result.h"
#include "edxgate/store/store.h"

namespace edxgate::store {

struct TransferReport {
  uint64_t documents = 0;
  uint64_t idempotency_keys = 0;  // documents carrying one
  uint64_t transitions = 0;
  uint64_t status_messages = 0;
  uint64_t outbox_items = 0;
  uint64_t agencies = 0;  // entries of the axis' agency directory
  uint64_t audit_rows = 0;
  uint64_t blobs_copied = 0;      // 0 when both stores use one blob directory
  std::string audit_head_sha256;  // the same in both stores after the move
};

// Copies every row of the store `from` (opened read-only; its schema must be
// the latest) into the store `to` (created and migrated if needed), which
// must hold nothing yet ("store.target_not_empty"): every table but
// schema_version (documents, their history and outbox, the audit chain, the
// agency directory); a source table it does not know is refused
// ("store.transfer_unknown_table"). Ids, timestamps, leases and the audit
// chain with its hashes are kept as they are; the rows go in one
// transaction. Blobs the rows name are copied (and re-hashed) into the
// target's blob directory first when it is another directory. Afterwards the
// target's audit chain is verified and must end at the source's head hash
// ("store.transfer_check"). Stop the gateway that writes `from` first.
Result<TransferReport> transfer_store(const StoreOptions& from, const StoreOptions& to);

}  // namespace edxgate::store
