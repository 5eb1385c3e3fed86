// Key layouts of the side tables (column_families.h): peers and their cursors, the audit
// trail, kept evidence. Beside the index encodings (index_keys.h), so that every byte layout
// the store holds is read in one folder.
#ifndef THREATMESH_STORAGE_SIDE_KEYS_H_
#define THREATMESH_STORAGE_SIDE_KEYS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace threatmesh::storage {

// kPeers: "p/" || name -> PeerConfig; "c/" || name -> the peer's cursor (8 bytes).
inline constexpr std::string_view kPeerKeyPrefix = "p/";
inline constexpr std::string_view kPeerCursorKeyPrefix = "c/";
std::string PeerKey(std::string_view name);
std::string PeerCursorKey(std::string_view name);

// kAudit: "e" || seq (8 bytes big-endian) -> AuditEntry bytes; "c" || seq -> the Signed
// envelope of the AuditCheckpoint sealing entries 1..seq.
inline constexpr std::string_view kAuditEntryPrefix = "e";
inline constexpr std::string_view kAuditCheckpointPrefix = "c";
std::string AuditEntryKey(uint64_t seq);
std::string AuditCheckpointKey(uint64_t seq);
// The sequence of an audit key of either kind.
uint64_t AuditSeqOfKey(std::string_view key);

// kEvidence: record id (32 bytes) || the copy's hop count in decimal -> PeerRecord, the copy
// that broke its author's handling. A scan of the id's prefix finds every copy kept.
std::string EvidenceKey(std::string_view record_id, int hops);

}  // namespace threatmesh::storage

#endif  // THREATMESH_STORAGE_SIDE_KEYS_H_
