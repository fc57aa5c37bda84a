// A buffer for reading a file in pieces, sized to the file: a 100 KB
// envelope gets ~100 KB, not the 1 MiB a large one reads at a time, and the
// bytes are not zeroed first (they are overwritten by read()).
#pragma once

#include <sys/stat.h>

#include <algorithm>
#include <cstddef>
#include <memory>

namespace edxgate {

class ReadBuffer {
 public:
  // For the file open as `fd`: its size plus one byte (the read that meets
  // the end needs no second pass), at least 4 KiB, at most `cap`.
  ReadBuffer(int fd, size_t cap) {
    struct stat st {};
    size_t want = cap;
    if (::fstat(fd, &st) == 0 && st.st_size >= 0) want = static_cast<size_t>(st.st_size) + 1;
    size_ = std::clamp<size_t>(want, std::min<size_t>(kMin, cap), cap);
    data_ = std::make_unique_for_overwrite<char[]>(size_);
  }
  char* data() { return data_.get(); }
  size_t size() const { return size_; }

 private:
  static constexpr size_t kMin = 4096;
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
};

}  // namespace edxgate
