#include "edxgate/store/blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "edxgate/base/digest.h"

namespace edxgate::store {
namespace {

struct DirClose {
  void operator()(DIR* d) const { closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirClose>;

constexpr size_t kChunk = 256 * 1024;
constexpr const char* kLockName = ".lock";

// "store.io" of kind io, or "io.disk_full" of kind unavailable when the disk
// or quota is full (fs::file_error).
Error sys_error(std::string code, const std::string& what) { return fs::file_error(errno, std::move(code), what); }

Error bad_name(std::string_view name) {
  return make_error(ErrorKind::invalid, "store.blob_name",
                    "'" + std::string(name.substr(0, 80)) + "' is not a blob name (64 lower-case hex digits)");
}

// An flock on the directory's lock file: shared while committing, exclusive
// while collecting, so a collector never unlinks a file a writer just renamed.
class DirLock {
 public:
  static Result<DirLock> take(const std::string& dir, int op) {
    std::string path = dir + "/" + kLockName;
    fs::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid()) return sys_error("store.io", "cannot open " + path);
    while (::flock(fd.get(), op) != 0) {
      if (errno != EINTR) return sys_error("store.io", "cannot lock " + path);
    }
    return DirLock(std::move(fd));
  }

 private:
  explicit DirLock(fs::UniqueFd fd) : fd_(std::move(fd)) {}
  fs::UniqueFd fd_;  // closing releases the lock
};

int64_t mtime_ms(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

}  // namespace

bool is_blob_name(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

struct BlobWriter::Impl {
  std::string dir;
  uint64_t max_bytes = 0;
  fs::AtomicFile file;
  Sha256 md;
  uint64_t size = 0;
  bool broken = false;
};

BlobWriter::BlobWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BlobWriter::BlobWriter(BlobWriter&&) noexcept = default;
BlobWriter::~BlobWriter() = default;

Status BlobWriter::write(std::string_view bytes) {
  Impl& w = *impl_;
  if (w.broken) return make_error(ErrorKind::internal, "store.blob_broken", "this blob writer failed earlier");
  if (bytes.size() > w.max_bytes - w.size) {
    w.broken = true;
    return make_error(ErrorKind::too_large, "store.too_large",
                      "the file is larger than the limit of " + std::to_string(w.max_bytes) + " bytes");
  }
  Status s = w.file.write(bytes);
  if (!s.ok()) {
    w.broken = true;
    return s;
  }
  w.md.update(bytes);
  w.size += bytes.size();
  return {};
}

Result<BlobRef> BlobWriter::commit() {
  Impl& w = *impl_;
  if (w.broken) return make_error(ErrorKind::internal, "store.blob_broken", "this blob writer failed earlier");
  w.broken = true;  // one commit only
  BlobRef ref{w.md.finish_hex(), w.size};
  auto lock = DirLock::take(w.dir, LOCK_SH);
  if (!lock.ok()) return lock.error();
  EDX_TRY(w.file.commit(ref.sha256));  // fsync file, rename to its hash, fsync dir
  return ref;
}

Result<BlobStore> BlobStore::open(std::string dir, uint64_t max_bytes, bool create) {
  if (create) EDX_TRY(fs::make_dirs(dir));
  return BlobStore(std::move(dir), max_bytes);
}

Result<BlobWriter> BlobStore::begin() const {
  auto file = fs::AtomicFile::create(dir_, 0600);
  if (!file.ok()) return file.error();
  auto impl = std::unique_ptr<BlobWriter::Impl>(
      new BlobWriter::Impl{dir_, max_bytes_, std::move(file.value()), Sha256(), 0, false});
  return BlobWriter(std::move(impl));
}

Result<BlobRef> BlobStore::put(std::string_view bytes) const {
  auto w = begin();
  if (!w.ok()) return w.error();
  EDX_TRY(w->write(bytes));
  return w->commit();
}

Result<BlobRef> BlobStore::put_file(const std::string& path) const {
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return sys_error("store.io", "cannot open " + path);
  auto w = begin();
  if (!w.ok()) return w.error();
  std::vector<char> buf(kChunk);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("store.io", "cannot read " + path);
    if (n == 0) break;
    EDX_TRY(w->write(std::string_view(buf.data(), static_cast<size_t>(n))));
  }
  return w->commit();
}

Status BlobStore::read_to(std::string_view sha256, const std::function<Status(std::string_view)>& sink) const {
  if (!is_blob_name(sha256)) return bad_name(sha256);
  std::string path = path_of(sha256);
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return make_error(ErrorKind::not_found, "store.blob_missing", "blob " + std::string(sha256) + " is missing");
    }
    return sys_error("store.io", "cannot open " + path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error(ErrorKind::invalid, "store.blob_corrupt",
                      "blob " + std::string(sha256) + " is not a regular file");
  }
  Sha256 md;
  std::vector<char> buf(kChunk);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("store.io", "cannot read " + path);
    if (n == 0) break;
    std::string_view chunk(buf.data(), static_cast<size_t>(n));
    md.update(chunk);
    EDX_TRY(sink(chunk));
  }
  if (md.finish_hex() != sha256) {
    return make_error(ErrorKind::invalid, "store.blob_corrupt",
                      "blob " + std::string(sha256) + " does not match its hash (the file is corrupt)");
  }
  return {};
}

Result<std::string> BlobStore::read(std::string_view sha256, uint64_t max_bytes) const {
  auto size = stat(sha256);
  if (!size.ok()) return size.error();
  if (*size > max_bytes) {
    return make_error(ErrorKind::too_large, "store.too_large",
                      "blob " + std::string(sha256) + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::string out;
  out.reserve(static_cast<size_t>(*size));
  Status s = read_to(sha256, [&](std::string_view chunk) -> Status {
    if (chunk.size() > max_bytes - out.size()) {
      return make_error(ErrorKind::too_large, "store.too_large", "blob " + std::string(sha256) + " grew while read");
    }
    out.append(chunk);
    return {};
  });
  if (!s.ok()) return s.error();
  return out;
}

Status BlobStore::verify(const BlobRef& ref) const {
  uint64_t seen = 0;
  EDX_TRY(read_to(ref.sha256, [&](std::string_view chunk) -> Status {
    seen += chunk.size();
    return {};
  }));
  if (seen != ref.size) {
    return make_error(
        ErrorKind::invalid, "store.blob_corrupt",
        "blob " + ref.sha256 + " has " + std::to_string(seen) + " bytes, expected " + std::to_string(ref.size));
  }
  return {};
}

Result<uint64_t> BlobStore::stat(std::string_view sha256) const {
  if (!is_blob_name(sha256)) return bad_name(sha256);
  struct stat st {};
  if (::lstat(path_of(sha256).c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return make_error(ErrorKind::not_found, "store.blob_missing", "blob " + std::string(sha256) + " is missing");
    }
    return sys_error("store.io", "cannot stat blob " + std::string(sha256));
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error(ErrorKind::invalid, "store.blob_corrupt",
                      "blob " + std::string(sha256) + " is not a regular file");
  }
  return static_cast<uint64_t>(st.st_size);
}

Status BlobStore::claim(const BlobRef& ref) const {
  if (!is_blob_name(ref.sha256)) return bad_name(ref.sha256);
  auto lock = DirLock::take(dir_, LOCK_SH);
  if (!lock.ok()) return lock.error();
  auto size = stat(ref.sha256);
  if (!size.ok()) return size.error();
  if (*size != ref.size) {
    return make_error(
        ErrorKind::invalid, "store.blob_corrupt",
        "blob " + ref.sha256 + " has " + std::to_string(*size) + " bytes, expected " + std::to_string(ref.size));
  }
  if (::utimensat(AT_FDCWD, path_of(ref.sha256).c_str(), nullptr, AT_SYMLINK_NOFOLLOW) != 0) {
    return sys_error("store.io", "cannot touch blob " + ref.sha256);
  }
  return {};
}

Result<bool> BlobStore::remove_if_older(std::string_view sha256, int64_t now_ms, int64_t min_age_ms) const {
  if (!is_blob_name(sha256)) return bad_name(sha256);
  auto lock = DirLock::take(dir_, LOCK_EX);
  if (!lock.ok()) return lock.error();
  std::string path = path_of(sha256);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return false;
  if (mtime_ms(st) > now_ms - min_age_ms) return false;
  if (::unlink(path.c_str()) != 0) return sys_error("store.io", "cannot remove " + path);
  return true;
}

Result<uint64_t> BlobStore::remove_stale_temps(int64_t now_ms, int64_t min_age_ms) const {
  DirPtr d(::opendir(dir_.c_str()));
  if (!d) return sys_error("store.io", "cannot list " + dir_);
  uint64_t removed = 0;
  while (dirent* e = ::readdir(d.get())) {
    std::string_view name = e->d_name;
    if (name.rfind(".tmp-", 0) != 0) continue;
    std::string path = dir_ + "/" + std::string(name);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (mtime_ms(st) > now_ms - min_age_ms) continue;  // maybe still being written
    if (::unlink(path.c_str()) == 0) ++removed;
  }
  return removed;
}

Status BlobStore::for_each(const std::function<void(std::string_view)>& fn) const {
  DirPtr d(::opendir(dir_.c_str()));
  if (!d) return sys_error("store.io", "cannot list " + dir_);
  while (dirent* e = ::readdir(d.get())) {
    if (is_blob_name(e->d_name)) fn(e->d_name);
  }
  return {};
}

}  // namespace edxgate::store
