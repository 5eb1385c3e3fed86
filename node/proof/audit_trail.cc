#include "node/proof/audit_trail.h"

#include <algorithm>
#include <map>

#include "crypto/hash.h"
#include "crypto/str_cat.h"

namespace threatmesh {

using threatmesh::v1::AuditCheckpoint;
using threatmesh::v1::AuditEntry;
using threatmesh::v1::Signed;
using threatmesh::v1::StoredAuditEntry;

const std::string& AuditGenesisHash() {
  static const std::string zero(crypto::kDigestSize, '\0');
  return zero;
}

absl::Status VerifyAuditTrail(const std::vector<StoredAuditEntry>& entries,
                              const std::vector<Signed>& checkpoints,
                              const crypto::PublicKey& node_key, uint64_t* unsealed) {
  auto fail = [](auto&&... parts) { return absl::DataLossError(StrCat(parts...)); };
  std::map<uint64_t, std::string> hash_of;  // entry seq -> SHA-256 of its bytes
  uint64_t expected = entries.empty() ? 1 : entries.front().seq();
  if (expected != 1) {
    return fail("audit entries 1 to ", expected - 1, " were removed (the trail starts at ",
                expected, ")");
  }
  std::string prev_hash = AuditGenesisHash();
  for (const StoredAuditEntry& stored : entries) {
    if (stored.seq() != expected) {
      return fail("audit entries ", expected, " to ", stored.seq() - 1, " were removed");
    }
    AuditEntry entry;
    if (!entry.ParseFromString(stored.entry())) {
      return fail("audit entry ", stored.seq(), " was altered: it no longer parses");
    }
    if (entry.seq() != stored.seq()) {
      return fail("audit entry ", stored.seq(), " was moved: the entry stored there is entry ",
                  entry.seq());
    }
    if (entry.prev_hash() != prev_hash) {
      if (stored.seq() == 1) return fail("audit entry 1 was altered: its prev_hash is not zero");
      return fail("audit entry ", stored.seq() - 1, " was altered: its hash does not match ",
                  "the prev_hash of entry ", stored.seq());
    }
    prev_hash = crypto::Sha256(stored.entry());
    hash_of[stored.seq()] = prev_hash;
    ++expected;
  }
  const uint64_t last = expected - 1;
  uint64_t sealed = 0;
  for (const Signed& envelope : checkpoints) {
    AuditCheckpoint checkpoint;
    if (!checkpoint.ParseFromString(envelope.payload()) ||
        !crypto::Verify(node_key, crypto::kAuditDomain, envelope.payload(), envelope.signature())) {
      return fail("an audit checkpoint does not carry a valid signature of node ",
                  node_key.Fingerprint(), "; the checkpoint was altered or forged");
    }
    if (checkpoint.seq() > last) {
      return fail("audit entries ", last + 1, " to ", checkpoint.seq(),
                  " were removed: a signed checkpoint seals entry ", checkpoint.seq());
    }
    if (hash_of[checkpoint.seq()] != checkpoint.head_hash()) {
      return fail("audit entry ", checkpoint.seq(),
                  " was altered: it does not match the signed checkpoint that seals it");
    }
    sealed = std::max(sealed, checkpoint.seq());
  }
  if (unsealed != nullptr) *unsealed = last - sealed;
  return absl::OkStatus();
}

}  // namespace threatmesh
