// The audit trail: one entry per API call, hash-chained, with the chain head signed by the
// node from time to time, so that "who looked at what" can be checked afterwards.
//
// Stored in the store's audit family (keys: storage/side_keys.h): entry seq -> AuditEntry
// bytes, and checkpoint seq -> Signed envelope of an AuditCheckpoint sealing entries 1..seq.
// Entry n's
// hash is SHA-256 of its bytes; entry n+1 carries it as prev_hash (entry 1: 32 zero bytes).
// A checkpoint's signature uses the domain "threatmesh/audit/v1".
//
// Entries are written without a sync: they survive a crash of the process (the write-ahead
// log is in the kernel's hands) and reach the disk with the next synced write (the next
// record, token change or checkpoint).
//
// AuditLog is thread-safe: appends are serialized, so chain order is sequence order.
#ifndef THREATMESH_NODE_AUDIT_H_
#define THREATMESH_NODE_AUDIT_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/keys.h"
#include "crypto/mutex.h"
#include "node/local_node.h"
#include "storage/store.h"
#include "threatmesh/v1/api.pb.h"

namespace threatmesh {

class AuditLog {
 public:
  // Continues the chain stored in `store`. `store` and `key` must outlive the log.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<AuditLog>> Open(storage::Store& store,
                                                                      const crypto::KeyPair& key,
                                                                      Clock clock);

  // Appends `entry` after setting its seq, prev_hash and time. Returns the sequence.
  [[nodiscard]] absl::StatusOr<uint64_t> Append(threatmesh::v1::AuditEntry entry);

  // Signs and stores (synced) a checkpoint of the head, unless no entry came since the last.
  [[nodiscard]] absl::Status Checkpoint();

  // Entries appended so far.
  uint64_t Count() const;

  // For the metrics: entries appended and sealed by a checkpoint, checkpoints written by
  // this process, and when (Unix ms) the head was last known sealed: the last checkpoint
  // written, or a Checkpoint call that found nothing new (0: neither yet).
  struct Sealing {
    uint64_t entries = 0;
    uint64_t sealed = 0;
    uint64_t checkpoints = 0;
    int64_t sealed_at_ms = 0;
  };
  Sealing Sealed() const;

  // A page of entries from `from_seq`, and every checkpoint.
  [[nodiscard]] absl::StatusOr<threatmesh::v1::ReadAuditResponse> Read(uint64_t from_seq,
                                                                       std::size_t limit) const;

 private:
  AuditLog(storage::Store& store, const crypto::KeyPair& key, Clock clock)
      : store_(store), key_(key), clock_(std::move(clock)) {}

  storage::Store& store_;
  const crypto::KeyPair& key_;
  const Clock clock_;
  mutable Mutex mu_;
  uint64_t last_seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_hash_ ABSL_GUARDED_BY(mu_);
  uint64_t checkpointed_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t checkpoints_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t sealed_at_ms_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace threatmesh

#endif  // THREATMESH_NODE_AUDIT_H_
