// Checking a node's audit trail offline: the hash chain of its entries and the node's signed
// checkpoints over it (the trail's layout is described in node/audit.h). Pure; thread-safe.
#ifndef THREATMESH_NODE_PROOF_AUDIT_TRAIL_H_
#define THREATMESH_NODE_PROOF_AUDIT_TRAIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "crypto/keys.h"
#include "threatmesh/v1/api.pb.h"

namespace threatmesh {

// The prev_hash of the first entry: 32 zero bytes.
const std::string& AuditGenesisHash();

// Checks a whole audit trail as read from a node: every entry in sequence with no gap, each
// prev_hash matching the entry before, each checkpoint signed by `node_key` and matching the
// entry it seals. OK, or DataLoss naming the first entry found altered, removed or moved.
// `unsealed` (optional) receives how many entries follow the last checkpoint: those can be
// checked against each other but not yet against a signature.
[[nodiscard]] absl::Status VerifyAuditTrail(
    const std::vector<threatmesh::v1::StoredAuditEntry>& entries,
    const std::vector<threatmesh::v1::Signed>& checkpoints, const crypto::PublicKey& node_key,
    uint64_t* unsealed = nullptr);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_PROOF_AUDIT_TRAIL_H_
