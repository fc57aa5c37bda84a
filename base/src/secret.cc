#include "edxgate/base/secret.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <new>
#include <utility>

namespace edxgate {
namespace {

size_t page_round(size_t n) {
  const long page = sysconf(_SC_PAGESIZE);
  const size_t p = page > 0 ? static_cast<size_t>(page) : 4096;
  return ((n + p - 1) / p) * p;
}

}  // namespace

SecretString::SecretString(std::string_view value) {
  reserve(value.size() + 1);
  std::memcpy(data_, value.data(), value.size());
  size_ = value.size();
  data_[size_] = '\0';
}

SecretString::~SecretString() { clear(); }

SecretString::SecretString(SecretString&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

SecretString& SecretString::operator=(SecretString&& other) noexcept {
  if (this != &other) {
    clear();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

void SecretString::reserve(size_t wanted) {
  if (wanted <= capacity_) return;
  const size_t cap = page_round(wanted);
  void* p = ::mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  // Best effort: mlock may fail under a tight RLIMIT_MEMLOCK; the wipe still holds.
  (void)::mlock(p, cap);
  (void)::madvise(p, cap, MADV_DONTDUMP);
  char* fresh = static_cast<char*>(p);
  if (data_) {
    std::memcpy(fresh, data_, size_ + 1);
    explicit_bzero(data_, capacity_);
    ::munlock(data_, capacity_);
    ::munmap(data_, capacity_);
  } else {
    fresh[0] = '\0';
  }
  data_ = fresh;
  capacity_ = cap;
}

void SecretString::push_back(char c) {
  reserve(size_ + 2);
  data_[size_++] = c;
  data_[size_] = '\0';
}

void SecretString::trim_newline() {
  while (size_ > 0 && (data_[size_ - 1] == '\n' || data_[size_ - 1] == '\r')) {
    data_[--size_] = '\0';
  }
}

void SecretString::clear() {
  if (data_) {
    explicit_bzero(data_, capacity_);
    ::munlock(data_, capacity_);
    ::munmap(data_, capacity_);
  }
  data_ = nullptr;
  size_ = 0;
  capacity_ = 0;
}

}  // namespace edxgate
