// A fixed set of worker threads for CPU-bound loops (signature checks of a received batch).
// Run(n, fn) calls fn(0..n-1) spread over the workers and the calling thread, and returns
// when every call has returned. Thread-safe: several callers may Run at once; they share the
// workers.
#ifndef THREATMESH_NODE_WORK_POOL_H_
#define THREATMESH_NODE_WORK_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace threatmesh {

class WorkPool {
 public:
  // `workers` threads besides the callers (0: callers do all the work).
  explicit WorkPool(std::size_t workers) {
    for (std::size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~WorkPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  void Run(std::size_t n, const std::function<void(std::size_t)>& fn) {
    if (n == 0) return;
    auto job = std::make_shared<Job>(n, fn);
    if (n > 1 && !threads_.empty()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        jobs_.push_back(job);
      }
      cv_.notify_all();
    }
    job->Help();
    std::unique_lock<std::mutex> lock(job->mu);
    job->cv.wait(lock, [&] { return job->done == job->n; });
  }

 private:
  struct Job {
    Job(std::size_t count, const std::function<void(std::size_t)>& f) : n(count), fn(f) {}
    // Takes indices until none is left.
    void Help() {
      for (std::size_t i = next++; i < n; i = next++) {
        fn(i);
        std::lock_guard<std::mutex> lock(mu);
        if (++done == n) cv.notify_all();
      }
    }
    const std::size_t n;
    const std::function<void(std::size_t)>& fn;  // outlives the job: Run waits for done
    std::atomic<std::size_t> next{0};
    std::mutex mu;
    std::condition_variable cv;
    std::size_t done = 0;  // guarded by mu
  };

  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      std::shared_ptr<Job> job = jobs_.front();
      if (job->next.load() >= job->n) {
        jobs_.pop_front();  // every index taken; its caller finishes it
        continue;
      }
      lock.unlock();
      job->Help();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                  // guarded by mu_
  std::deque<std::shared_ptr<Job>> jobs_;  // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace threatmesh

#endif  // THREATMESH_NODE_WORK_POOL_H_
