#include "node/core/bounded_set.h"

namespace threatmesh {

bool BoundedSet::Contains(const std::string& key) const {
  MutexLock lock(&mu_);
  const bool found = set_.contains(key);
  ++(found ? hits_ : misses_);
  return found;
}

void BoundedSet::Add(std::string key) {
  MutexLock lock(&mu_);
  if (!set_.insert(key).second) return;
  order_.push_back(std::move(key));
  while (order_.size() > capacity_) {
    set_.erase(order_.front());
    order_.pop_front();
  }
}

uint64_t BoundedSet::hits() const {
  MutexLock lock(&mu_);
  return hits_;
}

uint64_t BoundedSet::misses() const {
  MutexLock lock(&mu_);
  return misses_;
}

}  // namespace threatmesh
