// Durable file primitives shared by the parts that write files: the
// attachment store, unpack, the CLI.
//
// The rule they implement (as Postfix's queue does): write to a temp file in
// the destination directory, fsync it, rename it over the final name, fsync the
// directory. A crash leaves either the old state or the new one, never a
// half-written file under the final name.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "edxgate/base/result.h"

namespace edxgate::fs {

// The error of a file operation that failed with errno `err`: `code`
// ("io.write", "io.open"...) of kind io, "what: <strerror>". A full disk or an
// exhausted quota (ENOSPC, EDQUOT) is "io.disk_full" of kind unavailable
// instead, whatever the operation: nothing is wrong with the input, the
// caller may retry once space is freed (the daemon answers 503 and /readyz
// reports it).
Error file_error(int err, std::string code, const std::string& what);
// True for the errno values of a full disk or quota.
bool is_disk_full(int err);

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// A file being written under a temporary name in `dir`. commit() makes it
// durable under its final name; destroying an uncommitted AtomicFile removes
// the temp file.
// Whether AtomicFile::commit makes the file durable itself (fsync of the
// file, rename, fsync of the directory) or only renames it, for a caller that
// syncs the content where it keeps it (e.g. a file linked into the blob store).
enum class Durability { synced, unsynced };

class AtomicFile {
 public:
  // Creates `<dir>/.tmp-XXXXXX` with mode 0600 (or `mode`).
  static Result<AtomicFile> create(const std::string& dir, unsigned mode = 0600);
  ~AtomicFile();
  AtomicFile(AtomicFile&& o) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  Status write(const void* data, size_t size);
  Status write(std::string_view data) { return write(data.data(), data.size()); }
  // fsync, rename to `<dir>/<name>` (replacing any file there), fsync dir;
  // Durability::unsynced: the rename only.
  Status commit(const std::string& name, Durability durability = Durability::synced);
  // Keeps the file under its temp name and hands it to the caller, who moves
  // or removes it: the destructor no longer removes it. Durability::synced
  // fsyncs the file and its directory first.
  Result<std::string> keep(Durability durability = Durability::synced);
  const std::string& temp_path() const { return temp_path_; }
  int fd() const { return fd_.get(); }

 private:
  AtomicFile(std::string dir, std::string temp_path, UniqueFd fd)
      : dir_(std::move(dir)), temp_path_(std::move(temp_path)), fd_(std::move(fd)) {}
  std::string dir_;
  std::string temp_path_;
  UniqueFd fd_;
  bool committed_ = false;
};

// Writes `data` to `path` durably (AtomicFile in path's directory).
Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode = 0600);
// Reads a whole file, refusing files larger than `max_bytes`.
Result<std::string> read_file(const std::string& path, size_t max_bytes);
// fsyncs a directory so a rename or create in it survives power loss.
Status fsync_dir(const std::string& dir);
// Creates a directory and its parents (mode 0700 for new ones).
Status make_dirs(const std::string& dir);

}  // namespace edxgate::fs
