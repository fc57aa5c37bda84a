// Clang thread-safety annotations (-Wthread-safety), no-ops elsewhere.
//
// They let the compiler check that a field is only touched under its lock:
// GUARDED_BY(mu_) on the field, REQUIRES(mu_) on a function its callers must
// hold the lock for, EXCLUDES(mu_) on one that takes the lock itself. The
// capability is edxgate::Mutex (base/mutex.h): libstdc++'s std::mutex carries
// no annotations, so clang cannot reason about it.
#pragma once

#if defined(__clang__)
#define EDX_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define EDX_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) EDX_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY EDX_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) EDX_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) EDX_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) EDX_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) EDX_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define REQUIRES(...) EDX_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) EDX_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) EDX_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) EDX_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) EDX_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) EDX_THREAD_ANNOTATION(assert_capability(x))
#define RETURN_CAPABILITY(x) EDX_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS EDX_THREAD_ANNOTATION(no_thread_safety_analysis)
