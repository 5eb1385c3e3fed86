// Custody: the chain of signed hops a copy of a record carries, author -> ... -> holder.
//
// A hop is a `Hop` (record.proto) in a `Signed` envelope, signed by its `from` under the
// domain "threatmesh/hop/v1". SignHop makes the next hop of a chain; CheckChain decides
// whether a received copy may be stored as intelligence, and, when a relay broke the
// author's handling, names the hop that did, so the copy can be kept as signed evidence;
// MayForward is the sender's own check before it sends a copy on. The rules are those of
// DESIGN.md (Custody; TLP 2.0 in a mesh), written out in docs/FORMAT.md. Pure functions;
// thread-safe.
#ifndef THREATMESH_NODE_CORE_CUSTODY_H_
#define THREATMESH_NODE_CORE_CUSTODY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/keys.h"
#include "node/core/bounded_set.h"
#include "threatmesh/v1/record.pb.h"
#include "threatmesh/v1/storage.pb.h"

namespace threatmesh {

class KeyTable;

// The hop limit a record's handling allows: handling.max_hops, or when that is 0 the TLP's
// default: 1 for AMBER, AMBER+STRICT and RED, kDefaultMaxHops for CLEAR and GREEN. AMBER,
// AMBER+STRICT and RED never allow more than 1, whatever max_hops says.
inline constexpr uint32_t kDefaultMaxHops = 8;
uint32_t EffectiveMaxHops(const threatmesh::v1::RecordBody& body);
// Whether a receiver may pass the record on: may_relay set, and a TLP that allows relaying
// (CLEAR or GREEN).
bool Relayable(const threatmesh::v1::RecordBody& body);

// Appends to `chain` the hop from `from` (the sending node) to `to`, for record `record_id`,
// sent at `at_ms` under outbound policy `policy`. The caller checks MayForward first.
void SignHop(threatmesh::v1::CustodyChain& chain, std::string_view record_id,
             const crypto::KeyPair& from, std::string_view to, int64_t at_ms,
             std::string_view policy);

// One hop of a batch: the chain it extends and the record it is for.
struct BatchHop {
  threatmesh::v1::CustodyChain* chain;
  std::string_view record_id;
};
// Appends to each chain of `hops` the hop from `from` to `to` for its record, sent at `at_ms`
// under outbound policy `policy`, all proven by one signature: over a HopBatch whose Merkle
// tree has the hops' payloads as leaves, in the order of `hops` (docs/FORMAT.md, "Batch
// hops"). A batch of one is a tree of one leaf. The caller checks MayForward for each first.
void SignHopBatch(const std::vector<BatchHop>& hops, const crypto::KeyPair& from,
                  std::string_view to, int64_t at_ms, std::string_view policy);

// Batch statements whose signature has been checked, by SHA-256 of statement || signature:
// once one record of a batch is checked, the others of the batch (and their copies relayed
// on in later batches) cost no signature check for that hop. Bounded: the oldest are
// forgotten first. Thread-safe.
using VerifiedBatches = BoundedSet;

// The batch statements the `chains` carry that `batches` does not hold yet, each once, at
// most `limit`. The records of a received batch share most of them (they travelled
// together), so checking these ahead, beside the records' own signatures
// (CheckBatchStatement), leaves CheckChain no signature of a batch to check: each costs one
// check, not one per record or thread. The limit bounds what a peer's chains of forged
// statements can cost beyond what CheckChain, stopping at the first bad hop, would spend.
[[nodiscard]] std::vector<const threatmesh::v1::BatchInclusion*> UncheckedBatchStatements(
    const std::vector<const threatmesh::v1::CustodyChain*>& chains, const VerifiedBatches& batches,
    std::size_t limit);

// Checks the signature of a batch statement by the sender it names, and adds it to
// `batches` when it holds. A statement that fails is left out: CheckChain then finds and
// names the fault of the hop that carries it.
void CheckBatchStatement(const threatmesh::v1::BatchInclusion& proof, VerifiedBatches& batches);

// Whether the holder of a copy (`self`, 32 bytes) may send it to `to` with the chain it
// holds (empty for a record it authored). FailedPrecondition naming the rule otherwise:
// `to` is the author or already in the chain, the hop limit is reached, the record may not
// be relayed, or `to` is not a RED recipient.
[[nodiscard]] absl::Status MayForward(const threatmesh::v1::RecordBody& body,
                                      const threatmesh::v1::CustodyChain& chain,
                                      std::string_view self, std::string_view to);

// The outcome of checking a received copy.
struct ChainVerdict {
  // The copy may be stored as intelligence.
  bool accepted = false;
  // When not accepted and the chain itself is sound (every hop signed by its sender and
  // linked), the copy breaks the author's handling: `offender` is the index of the first hop
  // that broke it, signed by that hop's sender, and `rule` names the rule. Such a copy is
  // evidence, not intelligence.
  bool violation = false;
  int offender = -1;
  std::string rule;
};

// Checks the chain of a received copy of a verified record (`record_id`, `body`) held by
// `self`: hop 0 is sent by the author; every hop is for this record, signed by its sender,
// linked to the one before (prev_hop = SHA-256 of its payload; to = next from); the last
// hop is to `self`; no node appears twice; and the copy respects the author's handling
// (hop limit, relaying, RED recipients). A chain that is not sound (bad signature, broken
// link, wrong record, not addressed to `self`) is InvalidArgument naming the hop and the
// fault: nothing in it can be attributed. A sound chain that breaks the handling is a
// verdict with violation set. When the chain is not sound and `unsound_hop` is given, it
// receives the index of the hop at fault, or the number of hops when only the last hop's
// receiver is not `self` (-1 for an empty chain). With `keys`, hop 0 may also be sent by a
// key the author's key rotated to (as may the new key of a KeyRotation record), and a hop
// whose sender's key may no longer sign at its time is unsound (node/core/key_table.h). A
// hop signed as one of a batch holds when its payload is the leaf its inclusion path proves
// in the batch statement, the statement names the hop's sender, receiver, time and policy,
// and the sender signed the statement; with `batches`, a statement checked before is not
// checked again. When the chain is not sound and `unsound_kind` is given, it receives a short
// name of the fault for counting ("hop signature", "batch path", "batch signature", ...).
[[nodiscard]] absl::StatusOr<ChainVerdict> CheckChain(
    std::string_view record_id, const threatmesh::v1::RecordBody& body,
    const threatmesh::v1::CustodyChain& chain, std::string_view self,
    const KeyTable* keys = nullptr, int* unsound_hop = nullptr, VerifiedBatches* batches = nullptr,
    std::string* unsound_kind = nullptr);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_CORE_CUSTODY_H_
