// The locks of threatmesh: absl::Mutex, with the annotations (ABSL_GUARDED_BY and friends)
// that clang's -Wthread-safety checks. Every part includes this header instead of absl's.
//
// Under ThreadSanitizer (THREATMESH_SANITIZE=thread defines THREATMESH_TSAN_MUTEX) the same
// interface runs on std::mutex and std::condition_variable instead: Debian's libabsl is not
// built with TSan, so TSan cannot see its locking and would take every access it guards for
// a race. The stand-in keeps absl's semantics (a waiter's condition is checked again at every
// unlock), only less efficiently, so TSan checks the code's lock discipline as it runs in
// production. (Header-only; it sits in crypto/, the library every part links.)
#ifndef THREATMESH_CRYPTO_MUTEX_H_
#define THREATMESH_CRYPTO_MUTEX_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

#ifdef THREATMESH_TSAN_MUTEX
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#endif

namespace threatmesh {

#ifndef THREATMESH_TSAN_MUTEX

using Mutex = absl::Mutex;
using MutexLock = absl::MutexLock;
using ReaderMutexLock = absl::ReaderMutexLock;
using WriterMutexLock = absl::WriterMutexLock;
using Condition = absl::Condition;

#else

// What a waiter waits for: a method of an object, a bool, or a functor's operator().
class Condition {
 public:
  template <typename T>
  Condition(T* object, bool (T::*method)())
      : eval_([object, method] { return (object->*method)(); }) {}
  explicit Condition(const bool* flag) : eval_([flag] { return *flag; }) {}
  template <typename T>
  explicit Condition(const T* functor) : eval_([functor] { return Call(functor); }) {}
  bool Eval() const { return eval_(); }

 private:
  // Runs with the mutex held (inside Await), which the analysis cannot follow.
  template <typename T>
  static bool Call(const T* functor) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return (*functor)();
  }

  std::function<bool()> eval_;
};

class ABSL_LOCKABLE Mutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    if (waiters_ > 0) changed_.notify_all();  // their conditions may hold now
    mu_.unlock();
  }
  // Readers are exclusive here: TSan checks the same discipline either way.
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() { Lock(); }
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() { Unlock(); }

  void Await(const Condition& cond) ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
    ++waiters_;
    changed_.wait(lock, [&] { return cond.Eval(); });
    --waiters_;
    lock.release();
  }
  bool AwaitWithTimeout(const Condition& cond, absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
    ++waiters_;
    const bool held =
        changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return cond.Eval(); });
    --waiters_;
    lock.release();
    return held;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int waiters_ = 0;  // guarded by mu_ (std::mutex carries no annotation)
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

class ABSL_SCOPED_LOCKABLE ReaderMutexLock {
 public:
  explicit ReaderMutexLock(Mutex* mu) ABSL_SHARED_LOCK_FUNCTION(mu) : mu_(mu) { mu_->ReaderLock(); }
  ~ReaderMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->ReaderUnlock(); }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  Mutex* const mu_;
};

using WriterMutexLock = MutexLock;

#endif  // THREATMESH_TSAN_MUTEX

}  // namespace threatmesh

#endif  // THREATMESH_CRYPTO_MUTEX_H_
