// BlobStore: the content-addressed file directory that holds envelopes and
// attachments, one file per distinct content, named by its SHA-256 in hex.
//
// Writing streams the bytes through a SHA-256 hasher into a temp file in the
// same directory; commit() syncs its content (fdatasync), renames it to its
// hash and syncs the directory, so a BlobRef returned by commit() names a
// durable file. The directory syncs of concurrent writers are shared (group
// sync): a writer waits for one fsync of the directory that began after its
// rename, and one fsync serves every writer waiting then. A writer of several
// blobs (a delivery: its envelope and attachments) commits them with
// NameSync::deferred and then calls sync_names() once. Reads verify the hash
// before returning anything. Identical contents share one
// file. The directory knows nothing of who refers to a file: the Store counts
// references and collects unreferenced files (see Store::collect_garbage).
//
// Thread-safe: any number of writers and readers, in any number of processes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "edxgate/base/fs.h"
#include "edxgate/base/result.h"

namespace edxgate::store {

// A durable blob: lower-case hex SHA-256 (64 chars) and its size in bytes.
struct BlobRef {
  std::string sha256;
  uint64_t size = 0;
  friend bool operator==(const BlobRef&, const BlobRef&) = default;
};

// True when `text` is 64 lower-case hex digits (the only names blobs have).
bool is_blob_name(std::string_view text);

class BlobStore;

// When a committed blob's name (its directory entry) is made durable: before
// commit returns (now), or by the writer's later BlobStore::sync_names()
// (deferred), which must return ok before anything durable names the blob.
// Its content is synced before commit returns either way.
enum class NameSync { now, deferred };

// The blob directory's syncs, counted since the BlobStore was opened (shared
// by its copies): content syncs (one per committed or adopted file) and
// directory syncs asked for and done (fewer done than asked = shared).
struct BlobSyncStats {
  uint64_t content_syncs = 0;
  uint64_t name_syncs_asked = 0;
  uint64_t name_syncs_done = 0;
};

// One blob being written. Destroying it without commit() removes the temp
// file. REQUIRES: used by one thread at a time.
class BlobWriter {
 public:
  BlobWriter(BlobWriter&&) noexcept;
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;
  BlobWriter& operator=(BlobWriter&&) = delete;

  // Appends bytes; fails with "store.too_large" past the store's size limit
  // (the writer is then unusable).
  Status write(std::string_view bytes);
  // Makes the blob durable under its hash (its name only once
  // BlobStore::sync_names returned, with NameSync::deferred) and returns it.
  Result<BlobRef> commit(NameSync names = NameSync::now);

 private:
  friend class BlobStore;
  struct Impl;
  explicit BlobWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class BlobStore {
 public:
  // `dir` is created (0700) if missing and `create` is set. Blobs larger than
  // `max_bytes` are refused.
  static Result<BlobStore> open(std::string dir, uint64_t max_bytes, bool create = true);

  Result<BlobWriter> begin() const;
  // Convenience: begin + write + commit.
  Result<BlobRef> put(std::string_view bytes) const;
  // Streams a file in (e.g. an envelope unpacked to disk).
  Result<BlobRef> put_file(const std::string& path, NameSync names = NameSync::now) const;
  // Takes a finished file in without copying it: syncs its content and
  // hard-links it under its hash (the file must not change afterwards; the
  // caller may unlink its own name). `known`, when given, is the file's
  // SHA-256 and size as its writer computed them while writing it (the size
  // is checked, the content not re-read); otherwise the file is hashed. Falls
  // back to put_file when the file is on another filesystem or cannot be
  // linked. The file is made 0600.
  Result<BlobRef> adopt_file(const std::string& path, const BlobRef* known, NameSync names = NameSync::now) const;
  // Makes durable every blob name committed (with NameSync::deferred) before
  // this call: one fsync of the directory, shared with the callers that wait
  // at the same time. Thread-safe.
  Status sync_names() const;
  BlobSyncStats sync_stats() const;

  // Reads a whole blob (refusing one larger than `max_bytes`) and checks that
  // its content hashes to `sha256`: "store.blob_missing", "store.blob_corrupt".
  Result<std::string> read(std::string_view sha256, uint64_t max_bytes) const;
  // Streams a blob to `sink` in chunks, then checks the hash. The caller must
  // not act on the bytes until this returns ok.
  Status read_to(std::string_view sha256, const std::function<Status(std::string_view)>& sink) const;
  // Re-hashes a blob; ok when present with the right size and content.
  Status verify(const BlobRef& ref) const;
  // Size of an existing blob file (no hashing): "store.blob_missing" otherwise.
  Result<uint64_t> stat(std::string_view sha256) const;
  // Checks that the blob exists with ref.size bytes and marks it as freshly
  // used (its mtime), so that a collector spares it for the grace period: the
  // Store claims every blob a row is about to name, which closes the race
  // between a collector and a new reference to an old, unreferenced blob.
  Status claim(const BlobRef& ref) const;

  const std::string& dir() const { return dir_; }
  uint64_t max_bytes() const { return max_bytes_; }
  std::string path_of(std::string_view sha256) const { return dir_ + "/" + std::string(sha256); }

  // For garbage collection (the Store decides what is unreferenced).
  // Removes `sha256` if its file is older than `min_age_ms`, under the
  // directory lock so that a concurrent commit of the same content is never
  // lost. Returns whether it removed the file.
  Result<bool> remove_if_older(std::string_view sha256, int64_t now_ms, int64_t min_age_ms) const;
  // Removes temp files ('.tmp-*') older than `min_age_ms`; returns how many.
  Result<uint64_t> remove_stale_temps(int64_t now_ms, int64_t min_age_ms) const;
  // Calls `fn` with every blob name in the directory.
  Status for_each(const std::function<void(std::string_view sha256)>& fn) const;

 private:
  friend class BlobWriter;
  class DirSync;
  BlobStore(std::string dir, uint64_t max_bytes);
  std::string dir_;
  uint64_t max_bytes_;
  std::shared_ptr<DirSync> sync_;  // the directory's group sync, shared by copies
};

}  // namespace edxgate::store
