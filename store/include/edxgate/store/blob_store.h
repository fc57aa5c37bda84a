// BlobStore: the content-addressed file directory that holds envelopes and
// attachments, one file per distinct content, named by its SHA-256 in hex.
//
// Writing streams the bytes through a SHA-256 hasher into a temp file in the
// same directory; commit() fsyncs it, renames it to its hash and fsyncs the
// directory, so a BlobRef returned by commit() names a durable file. Reads
// verify the hash before returning anything. Identical contents share one
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
  // Makes the blob durable under its hash and returns it.
  Result<BlobRef> commit();

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
  Result<BlobRef> put_file(const std::string& path) const;

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
  BlobStore(std::string dir, uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}
  std::string dir_;
  uint64_t max_bytes_;
};

}  // namespace edxgate::store
