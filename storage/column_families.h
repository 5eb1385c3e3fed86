// Every column family of the threatmesh store, declared once. Append-only: a family is
// never renamed or reused, and adding one raises kSchemaVersion in store.cc only when old
// builds must not open the directory any more. Key encodings are in index_keys.h (records and
// indices) and side_keys.h (peers, audit, evidence).
#ifndef THREATMESH_STORAGE_COLUMN_FAMILIES_H_
#define THREATMESH_STORAGE_COLUMN_FAMILIES_H_

#include <array>
#include <string_view>

namespace threatmesh::storage {

enum ColumnFamily : int {
  // RocksDB's own default family; unused by threatmesh.
  kDefault = 0,
  // record id (32 bytes) -> the Signed envelope bytes exactly as received.
  kRecords,
  // local sequence (8 bytes big-endian) -> record id (32 bytes) || time added (unix
  // microseconds, 8 bytes big-endian, increasing from entry to entry): the change feed every
  // subscriber and every peer
  // stream reads. Gap-free: one entry per stored record, in commit order. (Stores written
  // before the time was kept hold the id alone; both read the same way.)
  kLog,
  // record id -> CustodyChains (storage.proto): every custody chain held for the record.
  // A record authored here has no entry (its one chain is empty).
  kCustody,
  // Index families: key = prefix || sequence (8 bytes), value = record id.
  // prefix = indicator type (1 byte) || value || 0x00: exact indicator and sighting lookup.
  kIndexIndicator,
  // prefix = reversed domain labels, each followed by "." || 0x00: domain suffix search.
  kIndexDomain,
  // prefix = family (4|6) || prefix length || network bytes: which ranges contain an IP.
  kIndexCidr,
  // prefix = author (32) || created_at (8, order-preserving): an author's records by time.
  kIndexAuthorTime,
  // prefix = label || 0x00: records carrying a tag.
  kIndexTag,
  // prefix = kind (1 byte): records of one kind.
  kIndexKind,
  // peer name -> cursor and counters (written by peering).
  kPeers,
  // audit sequence -> hash-chained access-log entry (written by the node's API).
  kAudit,
  // violation id -> evidence of a broken handling rule (written by peering).
  kEvidence,
  // name -> value: schema version, node key id.
  kMeta,
  // SHA-256 of an API token (32 bytes) -> TokenInfo (api.proto): name, role, creation.
  kTokens,
  // Marks on a record, written with the record that makes them: target id (32 bytes) ||
  // marker id (32 bytes) -> "r" for a retraction naming the target, "s" for a record that
  // supersedes it. Whether the marker's author may mark the target (only its own author may)
  // is checked on reading. (Stores written before supersession hold target id -> retraction
  // id, which reads the same way.)
  kRetracted,
  // Source reference of an imported object ("stix:indicator--UUID@MODIFIED", ...) -> the id
  // of the record it was imported as (written by the node's API): a second import of the
  // same object stores nothing.
  kImports,
  // Index family, key = prefix || sequence -> record id as above, with prefix = the record's
  // UUID (16 bytes, RecordUuid in index_keys.h): the UUID its STIX ids carry, so that
  // "indicator--UUID" finds its record (TAXII's objects/{id}). Filled for older stores when
  // they are opened.
  kIndexUuid,
  kColumnFamilyCount,
};

inline constexpr std::array<std::string_view, kColumnFamilyCount> kColumnFamilyNames = {
    "default",       "records",    "log",      "custody",
    "idx_indicator", "idx_domain", "idx_cidr", "idx_author_time",
    "idx_tag",       "idx_kind",   "peers",    "audit",
    "evidence",      "meta",       "tokens",   "retracted",
    "imports",       "idx_uuid",
};

}  // namespace threatmesh::storage

#endif  // THREATMESH_STORAGE_COLUMN_FAMILIES_H_
