#include "node/audit.h"

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/str_cat.h"
#include "node/proof/audit_trail.h"
#include "storage/side_keys.h"

namespace threatmesh {
namespace {

using threatmesh::v1::AuditCheckpoint;
using threatmesh::v1::AuditEntry;
using threatmesh::v1::Signed;
using threatmesh::v1::StoredAuditEntry;

constexpr std::size_t kMaxCheckpointsRead = 100000;

}  // namespace

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(storage::Store& store,
                                                         const crypto::KeyPair& key, Clock clock) {
  auto log = std::unique_ptr<AuditLog>(new AuditLog(store, key, std::move(clock)));
  MutexLock lock(&log->mu_);  // not shared yet; taken for the analysis
  log->last_hash_ = AuditGenesisHash();
  auto last = store.LastAux(storage::kAudit, storage::kAuditEntryPrefix);
  if (last.ok()) {
    log->last_seq_ = storage::AuditSeqOfKey(last->first);
    log->last_hash_ = crypto::Sha256(last->second);
  } else if (!absl::IsNotFound(last.status())) {
    return last.status();
  }
  auto checkpoint = store.LastAux(storage::kAudit, storage::kAuditCheckpointPrefix);
  if (checkpoint.ok()) {
    log->checkpointed_seq_ = storage::AuditSeqOfKey(checkpoint->first);
  } else if (!absl::IsNotFound(checkpoint.status())) {
    return checkpoint.status();
  }
  return log;
}

absl::StatusOr<uint64_t> AuditLog::Append(AuditEntry entry) {
  MutexLock lock(&mu_);
  entry.set_seq(last_seq_ + 1);
  entry.set_prev_hash(last_hash_);
  entry.set_at(clock_());
  const std::string bytes = entry.SerializeAsString();
  absl::Status put =
      store_.PutAux(storage::kAudit, storage::AuditEntryKey(entry.seq()), bytes, /*sync=*/false);
  if (!put.ok()) return put;
  last_seq_ = entry.seq();
  last_hash_ = crypto::Sha256(bytes);
  return last_seq_;
}

absl::Status AuditLog::Checkpoint() {
  MutexLock lock(&mu_);
  if (last_seq_ == checkpointed_seq_) {
    sealed_at_ms_ = clock_();
    return absl::OkStatus();
  }
  AuditCheckpoint checkpoint;
  checkpoint.set_seq(last_seq_);
  checkpoint.set_head_hash(last_hash_);
  checkpoint.set_at(clock_());
  checkpoint.set_node_key(std::string(key_.public_key().bytes()));
  Signed envelope;
  envelope.set_payload(checkpoint.SerializeAsString());
  envelope.set_signature(key_.Sign(crypto::kAuditDomain, envelope.payload()));
  absl::Status put = store_.PutAux(storage::kAudit, storage::AuditCheckpointKey(last_seq_),
                                   envelope.SerializeAsString(), /*sync=*/true);
  if (!put.ok()) return put;
  checkpointed_seq_ = last_seq_;
  ++checkpoints_;
  sealed_at_ms_ = checkpoint.at();
  return absl::OkStatus();
}

AuditLog::Sealing AuditLog::Sealed() const {
  MutexLock lock(&mu_);
  return {last_seq_, checkpointed_seq_, checkpoints_, sealed_at_ms_};
}

uint64_t AuditLog::Count() const {
  MutexLock lock(&mu_);
  return last_seq_;
}

absl::StatusOr<v1::ReadAuditResponse> AuditLog::Read(uint64_t from_seq, std::size_t limit) const {
  v1::ReadAuditResponse out;
  from_seq = std::max<uint64_t>(from_seq, 1);
  auto entries = store_.ScanAux(storage::kAudit, storage::kAuditEntryPrefix,
                                storage::AuditEntryKey(from_seq), limit);
  if (!entries.ok()) return entries.status();
  out.set_next_seq(from_seq);
  for (auto& [k, v] : *entries) {
    StoredAuditEntry* e = out.add_entries();
    e->set_seq(storage::AuditSeqOfKey(k));
    e->set_entry(std::move(v));
    out.set_next_seq(e->seq() + 1);
  }
  auto checkpoints =
      store_.ScanAux(storage::kAudit, storage::kAuditCheckpointPrefix, "", kMaxCheckpointsRead);
  if (!checkpoints.ok()) return checkpoints.status();
  for (auto& [k, v] : *checkpoints) {
    if (!out.add_checkpoints()->ParseFromString(v)) {
      return absl::DataLossError(StrCat("audit checkpoint ", storage::AuditSeqOfKey(k),
                                        " is unreadable; the audit trail was damaged"));
    }
  }
  out.set_node_key(std::string(key_.public_key().bytes()));
  return out;
}

}  // namespace threatmesh
