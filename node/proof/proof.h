// Proof bundles: everything an auditor needs to check, with nothing but the file, who wrote a
// record, who passed it to whom, whether its author withdrew it, and, for evidence of a
// violation, which relay broke the author's handling. The format, every signed byte string
// and the order of the checks are in docs/PROOF-FORMAT.md; this is the reference
// implementation of both sides. Pure functions; thread-safe.
#ifndef THREATMESH_NODE_PROOF_PROOF_H_
#define THREATMESH_NODE_PROOF_PROOF_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/keys.h"
#include "threatmesh/v1/api.pb.h"
#include "threatmesh/v1/record.pb.h"
#include "threatmesh/v1/storage.pb.h"

namespace threatmesh {

// The format this build writes, and the domain of the holder's signature over it. Version 3
// added hops signed per batch (their inclusion proofs); version 2 the key statements. Files
// of versions 1 (no key statements, domain "threatmesh/proof/v1") and 2 (domain
// "threatmesh/proof/v2") are still read.
inline constexpr std::string_view kProofFormat = "threatmesh-proof/3";
inline constexpr std::string_view kProofDomain = "threatmesh/proof/v3";
inline constexpr std::string_view kProofFormatV2 = "threatmesh-proof/2";
inline constexpr std::string_view kProofDomainV2 = "threatmesh/proof/v2";
inline constexpr std::string_view kProofFormatV1 = "threatmesh-proof/1";
inline constexpr std::string_view kProofDomainV1 = "threatmesh/proof/v1";

// What a bundle holds, before it is signed.
struct ProofMaterial {
  // "record": the copies held, to be checked as intelligence. "violation": copies kept as
  // evidence because a relay broke the author's handling.
  std::string kind = "record";
  threatmesh::v1::Signed record;
  // The custody chains of the copies held (author first); an empty chain stands for a record
  // the holder authored.
  std::vector<threatmesh::v1::CustodyChain> chains;
  // Retractions and supersessions of the record by its author, as signed records.
  std::vector<threatmesh::v1::Signed> marks;
  // Names the holder gives keys (32 bytes -> name), e.g. its peers' names.
  std::vector<std::pair<std::string, std::string>> names;
  // Key rotations and revocations (signed records) about the keys involved.
  std::vector<threatmesh::v1::Signed> key_statements;
  // The format version: 3, or 2 or 1 for a file of an earlier format (read, never written).
  int version = 3;
};

// The bundle as JSON, signed by `holder` at `now_ms`.
std::string ExportProofBundle(const ProofMaterial& material, const crypto::KeyPair& holder,
                              int64_t now_ms);

// The bytes the holder signs (after the domain): see docs/PROOF-FORMAT.md, "The statement".
std::string ProofStatement(const ProofMaterial& material, std::string_view holder_key,
                           int64_t exported_at_ms);

struct ProofFailure {
  // The element at fault: "record", "chains[0][1]" (hop 1 of chain 0), "marks[0]",
  // "holder", "signature" (the holder's over the bundle), or a field of the file.
  std::string element;
  std::string message;
  // The key responsible, where there is one (32 bytes; empty otherwise).
  std::string key;
};

struct ProofResult {
  enum class Verdict { kValid, kInvalid, kUnusable };
  Verdict verdict = Verdict::kUnusable;
  std::string kind;       // "record" or "violation"
  std::string record_id;  // 32 bytes, once known
  // The record's story in plain sentences, in order.
  std::vector<std::string> story;
  // Every failure found (empty when valid).
  std::vector<ProofFailure> failures;
};

// Checks a bundle offline. kUnusable: the file is not a bundle (not JSON, a field missing or
// of the wrong encoding); kInvalid: a check failed; kValid: every check passed, and for a
// violation bundle, the violation is proven.
ProofResult VerifyProofBundle(std::string_view json);

inline constexpr std::string_view kAuditFormat = "threatmesh-audit/1";

// The audit trail as a file: the node's key, every entry (sequence and exact bytes) and every
// signed checkpoint; see docs/PROOF-FORMAT.md, "Audit trail files".
std::string ExportAuditTrail(std::string_view node_key,
                             const std::vector<threatmesh::v1::StoredAuditEntry>& entries,
                             const std::vector<threatmesh::v1::Signed>& checkpoints);

// Checks a proof bundle, or an audit trail file (kind "audit" in the result: the hash chain
// of the entries, and each checkpoint's signature by the node key and the entry it seals),
// told apart by its "format" member: what `threatmesh verify` runs.
ProofResult VerifyOfflineFile(std::string_view json);

// The result as one JSON object, for `verify --json`.
std::string ProofResultJson(const ProofResult& result);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_PROOF_PROOF_H_
