// A tiny tmpfs mounted for a test that needs a full disk.
//
// Mounting needs CAP_SYS_ADMIN (root outside a restricted container): where
// it is refused, mounted() is false and the test should GTEST_SKIP. The
// mount is detached and its directory removed on destruction.
#pragma once

#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace edxgate::testing {

class SmallTmpfs {
 public:
  explicit SmallTmpfs(size_t bytes) {
    std::string tmpl = "/tmp/edxgate-tmpfs-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) return;
    dir_ = tmpl;
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) == 0;
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

}  // namespace edxgate::testing
