// Giving freed heap back to the system. glibc keeps what a burst of requests
// freed in its arenas (one per thread, up to 8 per core) until something asks
// for it; a daemon that is idle most of the time should not sit on a burst's
// peak. HeapTrimmer looks at the resident size every period and, when it
// grew since the last trim, calls malloc_trim(0), which returns the free
// pages of every arena (the cost: a walk of the free lists, milliseconds).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

namespace edxgate {

// The process's resident set size in bytes (VmRSS), 0 if unknown.
size_t resident_bytes();

// Caps glibc's malloc arenas (M_ARENA_MAX): fewer arenas hold less freed
// memory between bursts, at little cost for a few worker threads.
void limit_malloc_arenas(int arenas);

// Returns freed heap to the system each period while the resident size is
// more than `slack` bytes above the lowest seen. Stops (joins) on destruction.
class HeapTrimmer {
 public:
  explicit HeapTrimmer(std::chrono::milliseconds period = std::chrono::seconds(5), size_t slack = 4u << 20);
  ~HeapTrimmer();
  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;

  // Trims now; returns the resident bytes afterwards.
  static size_t trim();

 private:
  void run();
  static void now_trimmed(size_t& floor);

  const std::chrono::milliseconds period_;
  const size_t slack_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace edxgate
