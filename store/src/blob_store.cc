#include "edxgate/store/blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <random>
#include <vector>

#include "edxgate/base/digest.h"
#include "edxgate/base/read_buffer.h"

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

// The group sync of the blob directory. A caller takes a ticket after its
// renames; a leader fsyncs the directory for every ticket taken before its
// fsync began, the others wait for it. So each caller's renames are covered
// by an fsync that began after them, and N concurrent callers cost about one
// fsync instead of N in a row.
class BlobStore::DirSync {
 public:
  explicit DirSync(std::string dir) : dir_(std::move(dir)) {}

  Status sync() {
    std::unique_lock lock(mu_);
    const uint64_t ticket = ++asked_;
    for (;;) {
      if (synced_ >= ticket) return {};
      if (failed_upto_ >= ticket) return failure_;
      if (!running_) break;
      cv_.wait(lock);
    }
    // Leader: one fsync for every ticket taken so far.
    running_ = true;
    const uint64_t upto = asked_;
    lock.unlock();
    Status st = fs::fsync_dir(dir_);
    lock.lock();
    running_ = false;
    ++done_;
    if (st.ok()) {
      synced_ = std::max(synced_, upto);
    } else {
      failed_upto_ = std::max(failed_upto_, upto);
      failure_ = st;
    }
    cv_.notify_all();
    return st;
  }

  void count_content_sync() {
    std::lock_guard lock(mu_);
    ++content_syncs_;
  }

  BlobSyncStats stats() {
    std::lock_guard lock(mu_);
    return {content_syncs_, asked_, done_};
  }

 private:
  const std::string dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t asked_ = 0;        // tickets taken
  uint64_t synced_ = 0;       // every ticket up to this one is durable
  uint64_t failed_upto_ = 0;  // the tickets a failed fsync was for
  Status failure_;
  bool running_ = false;
  uint64_t done_ = 0;  // fsyncs of the directory
  uint64_t content_syncs_ = 0;
};

namespace {

// A name no other temp file of any process has: pid, a per-process random
// value and a counter.
std::string unique_suffix() {
  static const uint64_t seed = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }();
  static std::atomic<uint64_t> counter{0};
  return std::to_string(::getpid()) + "-" + std::to_string(seed) + "-" + std::to_string(++counter);
}

// Reads `fd` (the file `path`) to its end, handing each piece to `chunk`.
template <typename Chunk>
Status read_chunks(int fd, const std::string& path, Chunk&& chunk) {
  ReadBuffer buf(fd, kChunk);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("store.io", "cannot read " + path);
    if (n == 0) return {};
    EDX_TRY(chunk(std::string_view(buf.data(), static_cast<size_t>(n))));
  }
}

// Syncs a file's content and size (not its timestamps).
Status sync_content(int fd, const std::string& what) {
  if (::fdatasync(fd) != 0) return sys_error("io.fsync", "cannot sync " + what);
  return {};
}

}  // namespace

struct BlobWriter::Impl {
  std::string dir;
  uint64_t max_bytes = 0;
  std::shared_ptr<BlobStore::DirSync> sync;
  std::string temp_path;
  fs::UniqueFd fd;
  Sha256 md;
  uint64_t size = 0;
  bool broken = false;
  bool renamed = false;
  ~Impl() {
    if (!renamed && !temp_path.empty()) ::unlink(temp_path.c_str());
  }
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
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(w.fd.get(), p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      w.broken = true;
      return sys_error("io.write", "cannot write " + w.temp_path);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  w.md.update(bytes);
  w.size += bytes.size();
  return {};
}

Result<BlobRef> BlobWriter::commit(NameSync names) {
  Impl& w = *impl_;
  if (w.broken) return make_error(ErrorKind::internal, "store.blob_broken", "this blob writer failed earlier");
  w.broken = true;  // one commit only
  BlobRef ref{w.md.finish_hex(), w.size};
  EDX_TRY(sync_content(w.fd.get(), w.temp_path));
  w.sync->count_content_sync();
  w.fd.reset();
  {
    auto lock = DirLock::take(w.dir, LOCK_SH);
    if (!lock.ok()) return lock.error();
    const std::string final_path = w.dir + "/" + ref.sha256;
    if (::rename(w.temp_path.c_str(), final_path.c_str()) != 0) {
      return sys_error("io.rename", "cannot rename into " + final_path);
    }
    w.renamed = true;
  }
  if (names == NameSync::now) EDX_TRY(w.sync->sync());
  return ref;
}

BlobStore::BlobStore(std::string dir, uint64_t max_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes), sync_(std::make_shared<DirSync>(dir_)) {}

Result<BlobStore> BlobStore::open(std::string dir, uint64_t max_bytes, bool create) {
  if (create) EDX_TRY(fs::make_dirs(dir));
  return BlobStore(std::move(dir), max_bytes);
}

Result<BlobWriter> BlobStore::begin() const {
  auto impl = std::make_unique<BlobWriter::Impl>();
  impl->dir = dir_;
  impl->max_bytes = max_bytes_;
  impl->sync = sync_;
  std::string tmpl = dir_ + "/.tmp-XXXXXX";
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return sys_error("io.create", "cannot create a temporary file in " + dir_);
  impl->fd.reset(fd);
  impl->temp_path = std::move(tmpl);
  if (::fchmod(fd, 0600) != 0) return sys_error("io.create", "cannot set the mode of " + impl->temp_path);
  return BlobWriter(std::move(impl));
}

Result<BlobRef> BlobStore::put(std::string_view bytes) const {
  auto w = begin();
  if (!w.ok()) return w.error();
  EDX_TRY(w->write(bytes));
  return w->commit();
}

Result<BlobRef> BlobStore::put_file(const std::string& path, NameSync names) const {
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return sys_error("store.io", "cannot open " + path);
  auto w = begin();
  if (!w.ok()) return w.error();
  EDX_TRY(read_chunks(fd.get(), path, [&](std::string_view piece) { return w->write(piece); }));
  return w->commit(names);
}

Result<BlobRef> BlobStore::adopt_file(const std::string& path, const BlobRef* known, NameSync names) const {
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return sys_error("store.io", "cannot open " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sys_error("store.io", "cannot stat " + path);
  if (!S_ISREG(st.st_mode)) {
    return make_error(ErrorKind::invalid, "store.blob_corrupt", path + " is not a regular file");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes_) {
    return make_error(ErrorKind::too_large, "store.too_large",
                      "the file is larger than the limit of " + std::to_string(max_bytes_) + " bytes");
  }
  BlobRef ref;
  if (known) {
    if (!is_blob_name(known->sha256)) return bad_name(known->sha256);
    if (known->size != size) {
      return make_error(
          ErrorKind::internal, "store.blob_corrupt",
          path + " has " + std::to_string(size) + " bytes, its writer counted " + std::to_string(known->size));
    }
    ref = *known;
  } else {
    Sha256 md;
    EDX_TRY(read_chunks(fd.get(), path, [&](std::string_view piece) -> Status {
      md.update(piece);
      ref.size += piece.size();
      return {};
    }));
    if (ref.size != size) return put_file(path, names);  // it changed while read: copy what is there
    ref.sha256 = md.finish_hex();
  }
  if (::fchmod(fd.get(), 0600) != 0) return sys_error("store.io", "cannot set the mode of " + path);
  EDX_TRY(sync_content(fd.get(), path));
  sync_->count_content_sync();
  // Linked under a temp name first, then renamed over the final name: a
  // damaged file under that name is replaced, as put_file does.
  const std::string temp = dir_ + "/.tmp-" + unique_suffix();
  if (::link(path.c_str(), temp.c_str()) != 0) {
    if (errno == EXDEV || errno == EPERM || errno == EMLINK) return put_file(path, names);  // copy it
    return sys_error("store.io", "cannot link " + path + " into the blob store");
  }
  {
    auto lock = DirLock::take(dir_, LOCK_SH);
    if (!lock.ok()) {
      ::unlink(temp.c_str());
      return lock.error();
    }
    const std::string final_path = path_of(ref.sha256);
    if (::rename(temp.c_str(), final_path.c_str()) != 0) {
      Error e = sys_error("io.rename", "cannot rename into " + final_path);
      ::unlink(temp.c_str());
      return e;
    }
  }
  if (names == NameSync::now) EDX_TRY(sync_->sync());
  return ref;
}

Status BlobStore::sync_names() const { return sync_->sync(); }

BlobSyncStats BlobStore::sync_stats() const { return sync_->stats(); }

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
  EDX_TRY(read_chunks(fd.get(), path, [&](std::string_view piece) {
    md.update(piece);
    return sink(piece);
  }));
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
