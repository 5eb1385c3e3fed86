// A fixed set of worker threads for CPU-bound loops (signature checks of a received batch).
// Run(n, fn) calls fn(0..n-1) spread over the workers and the calling thread, and returns
// when every call has returned. Thread-safe: several callers may Run at once; they share the
// workers.
#ifndef THREATMESH_NODE_WORK_POOL_H_
#define THREATMESH_NODE_WORK_POOL_H_

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "crypto/mutex.h"

namespace threatmesh {

class WorkPool {
 public:
  // `workers` threads besides the callers (0: callers do all the work).
  explicit WorkPool(std::size_t workers) {
    for (std::size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~WorkPool() {
    {
      MutexLock lock(&mu_);
      stopping_ = true;
    }
    for (std::thread& t : threads_) t.join();
  }
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  void Run(std::size_t n, const std::function<void(std::size_t)>& fn) {
    if (n == 0) return;
    auto job = std::make_shared<Job>(n, fn);
    if (n > 1 && !threads_.empty()) {
      MutexLock lock(&mu_);
      jobs_.push_back(job);
    }
    job->Help();
    MutexLock lock(&job->mu);
    job->mu.Await(Condition(job.get(), &Job::Finished));
  }

 private:
  struct Job {
    Job(std::size_t count, const std::function<void(std::size_t)>& f) : n(count), fn(f) {}
    // Takes indices until none is left.
    void Help() {
      for (std::size_t i = next++; i < n; i = next++) {
        fn(i);
        MutexLock lock(&mu);
        ++done;
      }
    }
    bool Finished() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return done == n; }

    const std::size_t n;
    const std::function<void(std::size_t)>& fn;  // outlives the job: Run waits for done
    std::atomic<std::size_t> next{0};
    Mutex mu;
    std::size_t done ABSL_GUARDED_BY(mu) = 0;
  };

  bool HasWorkOrStopping() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !jobs_.empty();
  }

  void Work() {
    mu_.Lock();
    for (;;) {
      mu_.Await(Condition(this, &WorkPool::HasWorkOrStopping));
      if (stopping_) break;
      std::shared_ptr<Job> job = jobs_.front();
      if (job->next.load() >= job->n) {
        jobs_.pop_front();  // every index taken; its caller finishes it
        continue;
      }
      mu_.Unlock();
      job->Help();
      mu_.Lock();
    }
    mu_.Unlock();
  }

  Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::shared_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

}  // namespace threatmesh

#endif  // THREATMESH_NODE_WORK_POOL_H_
