// Records a peer session has checked and is committing, offered at once to the node's other
// peer sessions, so that a record is relayed while its local durable write is in flight
// rather than after it (issue: the mesh at speed). The log stays the truth: a session takes
// from here only while it has sent every log entry, skips what is already stored (the log
// brings it), and skips the log entry of what it sent from here. Acknowledgements stay tied
// to durable log positions, so a crash before the commit means the record comes again.
//
// Thread-safe.
#ifndef THREATMESH_NODE_MESH_RELAY_H_
#define THREATMESH_NODE_MESH_RELAY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crypto/mutex.h"
#include "storage/store.h"

namespace threatmesh {

// A checked record exactly as it is being stored (its chain ends in the hop to this node).
using RelayedRecord = storage::RecordToStore;

class RelayQueue {
 public:
  // The last `capacity` records offered are kept; a taker further behind misses the older
  // ones (they reach it through the log).
  explicit RelayQueue(std::size_t capacity = 4096);

  // Offers records; returns the new head.
  uint64_t Offer(std::vector<std::shared_ptr<const RelayedRecord>> records);
  // Records offered after `*cursor` (at most `max`, oldest first); moves the cursor past them.
  std::vector<std::shared_ptr<const RelayedRecord>> Take(uint64_t* cursor, std::size_t max);
  // How many records were ever offered; a taker's cursor starts here.
  const std::atomic<uint64_t>& head() const { return head_; }

 private:
  const std::size_t capacity_;
  Mutex mu_;
  std::vector<std::shared_ptr<const RelayedRecord>> ring_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> head_{0};  // written under mu_
};

}  // namespace threatmesh

#endif  // THREATMESH_NODE_MESH_RELAY_H_
