// A set of strings that keeps only the newest `capacity` added (the oldest are forgotten
// first), counting the lookups that found what they asked for and those that did not: the
// batch statements a node has verified (node/core/custody.h), the ids a peer session received
// from its peer (node/mesh/session.cc). Thread-safe.
#ifndef THREATMESH_NODE_CORE_BOUNDED_SET_H_
#define THREATMESH_NODE_CORE_BOUNDED_SET_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "crypto/mutex.h"

namespace threatmesh {

class BoundedSet {
 public:
  explicit BoundedSet(std::size_t capacity = 65536) : capacity_(capacity) {}
  bool Contains(const std::string& key) const;
  void Add(std::string key);
  // Lookups that found their key, and that did not.
  uint64_t hits() const;
  uint64_t misses() const;

 private:
  const std::size_t capacity_;
  mutable Mutex mu_;
  absl::flat_hash_set<std::string> set_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> order_ ABSL_GUARDED_BY(mu_);
  mutable uint64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  mutable uint64_t misses_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace threatmesh

#endif  // THREATMESH_NODE_CORE_BOUNDED_SET_H_
