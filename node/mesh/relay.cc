#include "node/mesh/relay.h"

#include <algorithm>

namespace threatmesh {

RelayQueue::RelayQueue(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {
  MutexLock lock(&mu_);
  ring_.resize(capacity_);
}

uint64_t RelayQueue::Offer(std::vector<std::shared_ptr<const RelayedRecord>> records) {
  MutexLock lock(&mu_);
  uint64_t head = head_.load();
  for (std::shared_ptr<const RelayedRecord>& r : records) ring_[head++ % capacity_] = std::move(r);
  head_.store(head);
  return head;
}

std::vector<std::shared_ptr<const RelayedRecord>> RelayQueue::Take(uint64_t* cursor,
                                                                   std::size_t max) {
  MutexLock lock(&mu_);
  const uint64_t head = head_.load();
  // What was overwritten is skipped.
  uint64_t from = std::max(*cursor, head > capacity_ ? head - capacity_ : 0);
  const uint64_t to = std::min<uint64_t>(head, from + max);
  std::vector<std::shared_ptr<const RelayedRecord>> out;
  out.reserve(static_cast<std::size_t>(to - from));
  for (; from < to; ++from) out.push_back(ring_[from % capacity_]);
  *cursor = to;
  return out;
}

}  // namespace threatmesh
