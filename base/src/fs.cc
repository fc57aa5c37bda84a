#include "edxgate/base/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

namespace edxgate::fs {

bool is_disk_full(int err) { return err == ENOSPC || err == EDQUOT; }

Error file_error(int err, std::string code, const std::string& what) {
  const std::string message = what + ": " + std::strerror(err);
  if (is_disk_full(err)) return make_error(ErrorKind::unavailable, "io.disk_full", message);
  return make_error(ErrorKind::io, std::move(code), message);
}

namespace {

Error sys_error(std::string code, const std::string& what, const std::string& path) {
  return file_error(errno, std::move(code), what + " " + path);
}

}  // namespace

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<AtomicFile> AtomicFile::create(const std::string& dir, unsigned mode) {
  std::string tmpl = dir + "/.tmp-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = ::mkostemp(buf.data(), O_CLOEXEC);
  if (fd < 0) return sys_error("io.create", "cannot create a temporary file in", dir);
  ::fchmod(fd, static_cast<mode_t>(mode));
  return AtomicFile(dir, std::string(buf.data()), UniqueFd(fd));
}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept
    : dir_(std::move(o.dir_)), temp_path_(std::move(o.temp_path_)), fd_(std::move(o.fd_)), committed_(o.committed_) {
  o.committed_ = true;  // the moved-from object must not unlink anything
}

AtomicFile::~AtomicFile() {
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

Status AtomicFile::write(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_.get(), p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("io.write", "cannot write", temp_path_);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

Status AtomicFile::commit(const std::string& name, Durability durability) {
  const bool sync = durability == Durability::synced;
  if (sync && ::fsync(fd_.get()) != 0) return sys_error("io.fsync", "cannot fsync", temp_path_);
  fd_.reset();
  const std::string final_path = dir_ + "/" + name;
  if (::rename(temp_path_.c_str(), final_path.c_str()) != 0) {
    return sys_error("io.rename", "cannot rename into", final_path);
  }
  committed_ = true;
  return sync ? fsync_dir(dir_) : Status{};
}

Result<std::string> AtomicFile::keep(Durability durability) {
  const bool sync = durability == Durability::synced;
  if (sync && ::fsync(fd_.get()) != 0) return sys_error("io.fsync", "cannot fsync", temp_path_);
  fd_.reset();
  if (sync) EDX_TRY(fsync_dir(dir_));
  committed_ = true;
  return temp_path_;
}

Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode) {
  std::filesystem::path p(path);
  std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  auto f = AtomicFile::create(dir, mode);
  if (!f.ok()) return f.error();
  EDX_TRY(f->write(data));
  return f->commit(p.filename().string());
}

Result<std::string> read_file(const std::string& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return sys_error("io.open", "cannot open", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sys_error("io.stat", "cannot stat", path);
  if (!S_ISREG(st.st_mode)) return make_error(ErrorKind::io, "io.not_file", path + " is not a regular file");
  if (static_cast<unsigned long long>(st.st_size) > max_bytes) {
    return make_error(ErrorKind::too_large, "io.too_large",
                      path + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::string out;
  out.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("io.read", "cannot read", path);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

Status fsync_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return sys_error("io.open", "cannot open directory", dir);
  if (::fsync(fd.get()) != 0) return sys_error("io.fsync", "cannot fsync directory", dir);
  return {};
}

Status make_dirs(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return {};
  std::filesystem::create_directories(dir, ec);
  if (ec) return file_error(ec.value(), "io.mkdir", "cannot create directory " + dir);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace, ec);
  return {};
}

}  // namespace edxgate::fs
