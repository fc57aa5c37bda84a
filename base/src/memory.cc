#include "edxgate/base/memory.h"

#include <malloc.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace edxgate {

size_t resident_bytes() {
  // statm: size resident shared ... in pages; cheaper to parse than status.
  std::ifstream f("/proc/self/statm");
  size_t size = 0, resident = 0;
  if (!(f >> size >> resident)) return 0;
  return resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

void limit_malloc_arenas(int arenas) {
  if (arenas > 0) ::mallopt(M_ARENA_MAX, arenas);
}

HeapTrimmer::HeapTrimmer(std::chrono::milliseconds period, size_t slack)
    : period_(period), slack_(slack), thread_([this] { run(); }) {}

HeapTrimmer::~HeapTrimmer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

size_t HeapTrimmer::trim() {
  ::malloc_trim(0);
  return resident_bytes();
}

void HeapTrimmer::now_trimmed(size_t& floor) {
  const size_t after = trim();
  if (after != 0 && after < floor) floor = after;
}

void HeapTrimmer::run() {
  // The lowest resident size seen: what the process needs when idle. Above
  // it by more than the slack, trim each period (while a burst lasts, the
  // trims return little; the first one after it ends returns the rest).
  size_t floor = resident_bytes();
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, period_, [this] { return stop_; })) {
    const size_t now = resident_bytes();
    if (now > floor + slack_)
      now_trimmed(floor);
    else if (now < floor)
      floor = now;
  }
}

}  // namespace edxgate
