// Key encodings of the store's column families (see column_families.h), and the index
// entries a record yields. Pure functions of their inputs; thread-safe.
//
// Every index entry is prefix || local sequence (8 bytes) -> record id: entries of different
// records never collide, and a prefix scan yields records in commit order.
#ifndef THREATMESH_STORAGE_INDEX_KEYS_H_
#define THREATMESH_STORAGE_INDEX_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/hash.h"
#include "crypto/ip_address.h"
#include "storage/column_families.h"
#include "threatmesh/v1/record.pb.h"

namespace threatmesh::storage {

inline constexpr std::size_t kIdSize = crypto::kRecordIdSize;

// Record kinds as stored in the kind index; the values of RecordBody's oneof field numbers.
enum class RecordKind : uint8_t {
  kIndicator = 16,
  kLogExcerpt = 17,
  kSighting = 18,
  kRetraction = 19,
  kKeyRotation = 20,
  kKeyRevocation = 21,
};

// 8-byte big-endian encoding, so byte order is numeric order.
std::string EncodeSeq(uint64_t seq);
uint64_t DecodeSeq(std::string_view key);

// A signed time in an order-preserving 8-byte form.
std::string EncodeTime(int64_t unix_ms);

// Prefix of every entry for one indicator (type, normalized value).
std::string IndicatorPrefix(int type, std::string_view value);

// "a.b.example.com" -> "com.example.b.a."; the prefix for a suffix search of that domain.
std::string DomainPrefix(std::string_view domain);

// Addresses for the CIDR index (crypto/ip_address.h).
using crypto::IpAddress;
using crypto::ParseIp;

// family || prefix_len || first prefix_len bits of `ip` (the rest zeroed).
std::string CidrPrefix(const IpAddress& ip, int prefix_len);

// author || EncodeTime(unix_ms).
std::string AuthorTimePrefix(std::string_view author, int64_t unix_ms);

std::string TagPrefix(std::string_view tag);

std::string KindPrefix(RecordKind kind);

// A record's UUID, 16 bytes: version 5 of hex(id) in threatmesh's namespace
// (crypto/uuid.h), the UUID of its STIX objects' ids (docs/STIX.md). The prefix of its entry
// in the UUID index.
std::string RecordUuid(std::string_view record_id);

// The store's kind of a body's oneof case, or nullopt when it has none.
std::optional<RecordKind> KindOf(threatmesh::v1::RecordBody::KindCase body_case);
inline std::optional<RecordKind> KindOf(const threatmesh::v1::RecordBody& body) {
  return KindOf(body.kind_case());
}

// One index entry: its key (prefix || sequence) in one family; the value is the record id.
struct IndexEntry {
  ColumnFamily family;
  std::string key;
};

// Every index entry of a record: indicator, domain, CIDR, author+time, tag and kind.
// `seq` is the record's log sequence.
std::vector<IndexEntry> IndexEntriesFor(const threatmesh::v1::RecordBody& body, uint64_t seq);

// The same entries with keys that lack the sequence; a key is its prefix || EncodeSeq(seq).
// The store computes these before a put reaches its writer, which only appends sequences.
std::vector<IndexEntry> IndexPrefixesFor(const threatmesh::v1::RecordBody& body);

}  // namespace threatmesh::storage

#endif  // THREATMESH_STORAGE_INDEX_KEYS_H_
