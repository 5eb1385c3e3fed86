#include "storage/side_keys.h"

#include "crypto/str_cat.h"
#include "storage/index_keys.h"

namespace threatmesh::storage {

std::string PeerKey(std::string_view name) { return StrCat(kPeerKeyPrefix, name); }
std::string PeerCursorKey(std::string_view name) { return StrCat(kPeerCursorKeyPrefix, name); }

std::string AuditEntryKey(uint64_t seq) { return StrCat(kAuditEntryPrefix, EncodeSeq(seq)); }
std::string AuditCheckpointKey(uint64_t seq) {
  return StrCat(kAuditCheckpointPrefix, EncodeSeq(seq));
}
uint64_t AuditSeqOfKey(std::string_view key) { return DecodeSeq(key.substr(1)); }

std::string EvidenceKey(std::string_view record_id, int hops) { return StrCat(record_id, hops); }

}  // namespace threatmesh::storage
