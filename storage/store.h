// The record store: one RocksDB database holding signed records, their change feed, custody
// chains and indexes (column_families.h).
//
// Thread-safe: any number of threads may call any method at once. Writes go through one
// writer thread that groups concurrent puts into one synced WriteBatch, so they share the
// cost of the fsync; Put returns only once its record is durable. Reads run on the caller's
// thread against the latest committed state.
//
// Errors: NotFound (no such record, no store in the directory), AlreadyExists (a second put
// of an id), InvalidArgument (a bad query or continuation token), FailedPrecondition
// (directory of a newer schema, or locked by another process), DataLoss (corruption),
// ResourceExhausted (disk full), Unavailable (other I/O errors; retry).
#ifndef THREATMESH_STORAGE_STORE_H_
#define THREATMESH_STORAGE_STORE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/histogram.h"
#include "storage/index_keys.h"
#include "threatmesh/v1/record.pb.h"
#include "threatmesh/v1/storage.pb.h"

namespace threatmesh::storage {

// The schema this build writes. A directory with a higher one is refused.
inline constexpr int kSchemaVersion = 1;

struct StoreOptions {
  // Create an empty store when the directory holds none (threatmesh init).
  bool create_if_missing = false;
  // The most puts the writer commits in one batch.
  std::size_t max_group_size = 512;
  // When busy (the previous batch held 8 puts or more), how long the writer waits for more
  // puts before committing, so that more records share one sync. A put that arrives while
  // the store is idle is committed at once, and lingering ends early once puts stop
  // arriving for a millisecond. Each sync costs CPU in the kernel (on a virtual machine,
  // each of its disk requests exits to the host): in tests/bench/core_bench.cc's ingest
  // pipeline, 5 ms instead of 2 ms halved the syncs and raised the rate per core used by
  // about 5% (see the README's Performance section).
  std::chrono::microseconds group_linger{5000};
  // Memtable size per column family; 0: RocksDB's default (64 MiB). Small in tests that need
  // the store to open new files soon.
  std::size_t write_buffer_bytes = 0;
};

// A record that has passed validation (node/core/validate.h), ready to store. The store trusts
// it: it derives index entries from `body` but checks no signature.
struct RecordToStore {
  // SHA-256 of the body's payload bytes (32 bytes).
  std::string id;
  // The Signed envelope exactly as received.
  std::string signed_bytes;
  // The payload parsed.
  threatmesh::v1::RecordBody body;
  // The custody chain of this copy, author first; empty for a record authored here.
  threatmesh::v1::CustodyChain chain;
};

// One page of a query: record ids, and a token for the next page (empty on the last page).
struct Page {
  std::vector<std::string> ids;
  std::string next_token;
};

struct LogEntry {
  uint64_t seq = 0;
  std::string id;
  // When the store committed it, unix microseconds: greater than every earlier entry's (0 for
  // entries of stores written before this was kept).
  int64_t added_us = 0;
};

// Entries of the change feed from a sequence on; `next_seq` is where the next read starts.
struct LogPage {
  std::vector<LogEntry> entries;
  uint64_t next_seq = 0;
};

// Paging for every query: at most `limit` ids (0 means kDefaultLimit; above kMaxLimit is
// InvalidArgument), continuing after `token` when it is not empty.
struct PageRequest {
  std::size_t limit = 0;
  std::string token;
};
inline constexpr std::size_t kDefaultLimit = 100;
inline constexpr std::size_t kMaxLimit = 10000;

class Store {
 public:
  // Opens the store under `dir`. NotFound when there is none and create_if_missing is off;
  // FailedPrecondition when another process holds it or it has a newer schema; DataLoss when
  // it is corrupted. Each message names the directory and what to do.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& dir,
                                                                   const StoreOptions& options);

  // Finishes the queued puts, then closes the database.
  virtual ~Store() = default;

  // Stores the record, its log entry, its custody chain and its index entries atomically and
  // durably, and returns its log sequence. AlreadyExists when the id is stored already, in
  // which case nothing is written. Blocks until the record is durable.
  [[nodiscard]] absl::StatusOr<uint64_t> Put(RecordToStore record);

  // As Put, without blocking: `done` runs once the record is durable (or refused), on the
  // writer thread (or at once on the caller's, for a put refused before it is queued), so
  // it must be quick and must not call Put. Puts queued together are
  // committed in one synced batch; pipelines that validate on several threads use this so
  // that no thread waits for a sync.
  using PutCallback = std::function<void(absl::StatusOr<uint64_t>)>;
  virtual void PutAsync(RecordToStore record, PutCallback done) = 0;
  // PutAsync of several records queued at once, so that they go in one group (one sync)
  // rather than the writer taking the first alone: for a batch received from a peer.
  struct QueuedPut {
    RecordToStore record;
    PutCallback done;
  };
  virtual void PutAllAsync(std::vector<QueuedPut> puts) = 0;

  // True when a record with this id is stored. Cheap: callers use it to drop duplicates
  // before checking a signature.
  [[nodiscard]] virtual absl::StatusOr<bool> Contains(std::string_view id) = 0;

  // The Signed envelope bytes of a record; NotFound when absent.
  [[nodiscard]] virtual absl::StatusOr<std::string> Get(std::string_view id) = 0;

  // Contains of several ids at once (one MultiGet), each answer at its id's place.
  [[nodiscard]] virtual std::vector<absl::StatusOr<bool>> ContainsMany(
      const std::vector<std::string_view>& ids) = 0;

  // Get of several records at once (one RocksDB MultiGet: cheaper per record than a Get each),
  // each answer at its id's place.
  [[nodiscard]] virtual std::vector<absl::StatusOr<std::string>> GetMany(
      const std::vector<std::string_view>& ids) = 0;

  // The custody chains held for a record (one empty chain for a record authored here);
  // NotFound when the record is absent.
  [[nodiscard]] virtual absl::StatusOr<threatmesh::v1::CustodyChains> GetCustody(
      std::string_view id) = 0;

  // Indicators and sightings of exactly (type, normalized value).
  [[nodiscard]] virtual absl::StatusOr<Page> FindIndicator(int type, std::string_view value,
                                                           const PageRequest& page) = 0;
  // Records naming `domain` or a name under it (domain, URL host and e-mail domain).
  [[nodiscard]] virtual absl::StatusOr<Page> FindDomainSuffix(std::string_view domain,
                                                              const PageRequest& page) = 0;
  // IP and CIDR indicators whose range contains `ip` (an address, or a CIDR to find the
  // ranges that contain all of it), shortest prefix first.
  [[nodiscard]] virtual absl::StatusOr<Page> FindContainingIp(std::string_view ip,
                                                              const PageRequest& page) = 0;
  // Records of `author` (32 bytes) created in [from_ms, to_ms), oldest first.
  [[nodiscard]] virtual absl::StatusOr<Page> FindByAuthor(std::string_view author, int64_t from_ms,
                                                          int64_t to_ms,
                                                          const PageRequest& page) = 0;
  // Records carrying the label `tag`.
  [[nodiscard]] virtual absl::StatusOr<Page> FindByTag(std::string_view tag,
                                                       const PageRequest& page) = 0;
  // Records of one kind, in commit order.
  [[nodiscard]] virtual absl::StatusOr<Page> FindByKind(RecordKind kind,
                                                        const PageRequest& page) = 0;

  // The record whose UUID (index_keys.h, RecordUuid) is `uuid` (16 bytes), as its log entry;
  // NotFound when none is stored.
  [[nodiscard]] virtual absl::StatusOr<LogEntry> FindByUuid(std::string_view uuid) = 0;

  // The change feed from `from_seq` (inclusive), at most `limit` entries (0: kDefaultLimit).
  [[nodiscard]] virtual absl::StatusOr<LogPage> ReadLog(uint64_t from_seq, std::size_t limit) = 0;
  // The sequence the next stored record will get (1 for an empty store).
  virtual uint64_t NextSeq() = 0;

  // Small values of the meta family (schema version, node key id).
  [[nodiscard]] virtual absl::StatusOr<std::string> GetMeta(std::string_view name) = 0;
  [[nodiscard]] virtual absl::Status PutMeta(std::string_view name, std::string_view value) = 0;

  // Records stored of `kind` labelled `tlp`.
  virtual uint64_t CountOf(RecordKind kind, threatmesh::v1::Tlp tlp) = 0;

  // Bytes the store takes on disk (SST and WAL files).
  virtual uint64_t DiskSize() = 0;

  // The writer's groups so far: records per group committed, and each commit's time (the
  // write and its sync), in seconds.
  struct WriterStats {
    Histogram::Snapshot group_size;
    Histogram::Snapshot commit_seconds;
  };
  virtual WriterStats Writer() const = 0;

  // Blocks until the record with sequence `seq` is stored (NextSeq() > seq) or `timeout`
  // passes, and returns whether it is. For followers of the change feed.
  virtual bool WaitForSeq(uint64_t seq, std::chrono::milliseconds timeout) = 0;
  // As WaitForSeq, but also returns (false, unless the record is stored) once `wake` differs
  // from `seen` and Wake() has been called since it changed: for a follower that also waits
  // on something besides the log (node/mesh/relay.h).
  virtual bool WaitForSeqOr(uint64_t seq, std::chrono::milliseconds timeout,
                            const std::atomic<uint64_t>& wake, uint64_t seen) = 0;
  // Has every WaitForSeqOr look at its `wake` again.
  virtual void Wake() = 0;

  // Records stored of one kind.
  virtual uint64_t CountOf(RecordKind kind) = 0;

  // The stored records that retract or supersede record `id`, in id order; empty when none
  // does. (Whether their authors may mark the record is for the caller to check.)
  struct Mark {
    std::string by;           // the marking record's id
    bool supersedes = false;  // false: a retraction
  };
  [[nodiscard]] virtual absl::StatusOr<std::vector<Mark>> MarksOf(std::string_view id) = 0;

  // Side tables: single values in the families that hold no records (kPeers, kAudit,
  // kEvidence, kMeta, kTokens); any other family is InvalidArgument. They bypass the record
  // writer. A write with `sync` is durable when it returns; one without survives a crash of
  // the process but not of the machine.
  [[nodiscard]] virtual absl::Status PutAux(ColumnFamily family, std::string_view key,
                                            std::string_view value, bool sync) = 0;
  [[nodiscard]] virtual absl::Status DeleteAux(ColumnFamily family, std::string_view key,
                                               bool sync) = 0;
  // NotFound when the key is absent.
  [[nodiscard]] virtual absl::StatusOr<std::string> GetAux(ColumnFamily family,
                                                           std::string_view key) = 0;
  // Up to `limit` (key, value) pairs with keys starting with `prefix`, from `from` on (or
  // from the prefix's first key when `from` sorts before it), in key order.
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ScanAux(
      ColumnFamily family, std::string_view prefix, std::string_view from, std::size_t limit) = 0;
  // The last key with `prefix`, and its value; NotFound when there is none.
  [[nodiscard]] virtual absl::StatusOr<std::pair<std::string, std::string>> LastAux(
      ColumnFamily family, std::string_view prefix) = 0;
};

}  // namespace threatmesh::storage

#endif  // THREATMESH_STORAGE_STORE_H_
