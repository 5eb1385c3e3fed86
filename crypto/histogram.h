// A histogram of observed values over fixed bucket bounds (a latency in seconds, a group
// size), for the node's metrics (node/metrics/metrics.h renders it in Prometheus's format).
// Observe is lock-free (two relaxed atomic adds), so the store's writer and the API's calls
// can feed one on every operation. In crypto/, beside log.h: the library every part links.
#ifndef THREATMESH_CRYPTO_HISTOGRAM_H_
#define THREATMESH_CRYPTO_HISTOGRAM_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace threatmesh {

class Histogram {
 public:
  // `bounds`: the buckets' upper bounds (inclusive), ascending; a last bucket takes the rest.
  explicit Histogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}

  void Observe(double value) {
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
    counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }

  struct Snapshot {
    std::vector<double> bounds;
    // cumulative[i]: values <= bounds[i]; the last entry: every value (the count).
    std::vector<uint64_t> cumulative;
    double sum = 0;
  };
  // The counts as they are now (each read on its own: a value observed meanwhile may show in
  // the count before the sum).
  Snapshot Read() const {
    Snapshot s{bounds_, {}, sum_.load(std::memory_order_relaxed)};
    uint64_t total = 0;
    for (const std::atomic<uint64_t>& c : counts_) {
      total += c.load(std::memory_order_relaxed);
      s.cumulative.push_back(total);
    }
    return s;
  }

  // 100 µs to 10 s, for latencies in seconds.
  static std::vector<double> LatencyBounds() {
    return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
            0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  }

 private:
  const std::vector<double> bounds_;
  std::vector<std::atomic<uint64_t>> counts_;
  std::atomic<double> sum_{0};
};

}  // namespace threatmesh

#endif  // THREATMESH_CRYPTO_HISTOGRAM_H_
