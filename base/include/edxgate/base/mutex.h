// Mutex and MutexLock: std::mutex and its scoped lock, annotated for clang's
// thread-safety analysis (thread_annotations.h).
//
// Every class of the project that locks holds an edxgate::Mutex and marks
// the fields it guards with GUARDED_BY, so a clang build (-Wthread-safety)
// refuses an access outside the lock. Waiting on a condition goes through
// MutexLock::wait, which keeps the analysis' view (the lock is held before
// and after) true.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "edxgate/base/thread_annotations.h"

namespace edxgate {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  bool try_lock() TRY_ACQUIRE(true) { return mu_.try_lock(); }

 private:
  friend class MutexLock;
  std::mutex mu_;
};

// Holds `mu` for its scope.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : lock_(mu.mu_) {}
  ~MutexLock() RELEASE() = default;
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  // Lets the lock go for a stretch of work outside it, and takes it again.
  void unlock() RELEASE() { lock_.unlock(); }
  void lock() ACQUIRE() { lock_.lock(); }

  // Releases the lock while waiting for `cv` and holds it again on return
  // (spurious wake-ups included: callers loop on their condition, or pass
  // a predicate).
  void wait(std::condition_variable& cv) { cv.wait(lock_); }
  template <class Pred>
  void wait(std::condition_variable& cv, Pred pred) {
    cv.wait(lock_, std::move(pred));
  }
  // As wait, until `deadline` at most (cv_status::timeout when it passed).
  template <class Clock, class Duration>
  std::cv_status wait_until(std::condition_variable& cv, const std::chrono::time_point<Clock, Duration>& deadline) {
    return cv.wait_until(lock_, deadline);
  }
  // As wait, up to `timeout`; false if it ran out with `pred` still false.
  template <class Rep, class Period, class Pred>
  bool wait_for(std::condition_variable& cv, std::chrono::duration<Rep, Period> timeout, Pred pred) {
    return cv.wait_for(lock_, timeout, std::move(pred));
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace edxgate
