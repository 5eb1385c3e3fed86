// The RocksDB store: one class (RocksStore) behind the Store interface, with its grouping
// writer, reads, side tables and recovery from write errors. Longer than 800 lines on
// purpose: every use of its three locks (the writer's queue, the database handle that a
// reopen swaps, the resume backoff) is in this one file, where the lock discipline can be
// read, and checked by -Wthread-safety, as a whole.
#include "storage/store.h"

#include <pthread.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/slice.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <span>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/log.h"
#include "crypto/mutex.h"
#include "crypto/str_cat.h"
#include "crypto/uuid.h"
#include "storage/rocks_status.h"

namespace threatmesh::storage {
namespace {

// Marks read per record at most: a flood of forged retractions naming one record cannot make
// reading it expensive (only its author's count, and an author needs one).
constexpr std::size_t kMaxMarks = 64;

constexpr std::string_view kMetaSchemaVersion = "schema_version";
// Present once the UUID index holds every record (written with the first open of a store).
constexpr std::string_view kMetaUuidIndex = "uuid_index";
constexpr std::size_t kUuidSize = 16;
// Tokens start with a version byte so their layout can change without misreading old ones.
constexpr char kTokenVersion = 1;
// The records and custody families hash their memtables by this many leading id bytes.
constexpr std::size_t kHashedIdPrefix = 4;
constexpr std::size_t kHashedIdBuckets = 1 << 18;
// A group at least this large means the store is busy enough to linger for more puts.
constexpr std::size_t kBusyGroupSize = 8;
// A lingering writer commits as soon as no put arrived for this long; blocking callers that
// have all queued wait this long for nothing. Each check wakes the writer, which costs CPU
// (about 13 µs on the project's virtual machine), so while puts keep arriving the pause
// checked for doubles: a steady stream wakes the writer a few times per group, not once
// every 200 µs.
constexpr std::chrono::microseconds kLingerQuietGap{200};

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view ToView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

std::string EncodeToken(std::string_view last_key) {
  std::string raw(1, kTokenVersion);
  raw.append(last_key);
  return crypto::HexEncode(raw);
}

// The index key a token resumes after; it must lie under `prefix` (or anywhere when empty).
absl::StatusOr<std::string> DecodeToken(std::string_view token, std::string_view prefix) {
  std::optional<std::string> raw = crypto::HexDecode(token);
  if (!raw || raw->empty() || (*raw)[0] != kTokenVersion ||
      raw->compare(1, prefix.size(), prefix) != 0) {
    return absl::InvalidArgumentError(
        "continuation token does not belong to this query; repeat the query without a token");
  }
  return raw->substr(1);
}

absl::StatusOr<std::size_t> CheckLimit(std::size_t limit) {
  if (limit == 0) return kDefaultLimit;
  if (limit > kMaxLimit) {
    return absl::InvalidArgumentError(
        StrCat("limit ", limit, " is above the maximum of ", kMaxLimit, "; page with tokens"));
  }
  return limit;
}

// RocksDB's own log, sent to the node's log (warnings and errors only) instead of a LOG file
// in the data directory: a LOG file on a full disk makes RocksDB 7.8 abort on its next line,
// and an operator finds the node's log in the journal anyway.
class NodeLogger final : public rocksdb::Logger {
 public:
  NodeLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    Log(level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? LogLevel::kError : LogLevel::kWarning,
        StrCat("rocksdb: ", line));
  }
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::WARN_LEVEL, format, ap);
  }
};

// Records are counted per kind, from the first kind on.
constexpr std::size_t kFirstKind = static_cast<std::size_t>(RecordKind::kIndicator);
constexpr int kKindSlots = 6;  // RecordKind::kIndicator .. kKeyRevocation
constexpr int kTlpSlots = 6;   // Tlp 0 (unspecified) .. 5 (RED)
// Records stored per kind and TLP label, kKindSlots x kTlpSlots counts of 8 bytes each,
// written in the batch of every group (so always what the store holds, even after a crash).
constexpr std::string_view kMetaKindTlpCounts = "kind_tlp_counts";

// A put as the writer needs it. Everything derived from the body (index keys without their
// sequence, marks, the custody value, the kind) is computed in the caller's thread, where the
// body is still in cache, and the body is freed there; the writer fills in sequences.
// The id and every key share one buffer: the writer thread frees the put, and freeing
// blocks another thread allocated is malloc's slow path, so a put holds few blocks.
struct GroupWrites;

// One key to write and its value.
struct Write {
  std::string_view key;
  std::string_view value;
};

struct PendingPut {
  // A key inside `keys`.
  struct Key {
    ColumnFamily family;
    uint32_t offset;
    uint32_t size;
  };
  // The id, then each index key (its prefix, then 8 bytes the writer fills with the
  // sequence), then each mark key.
  std::string keys;
  absl::InlinedVector<Key, 8> index;
  absl::InlinedVector<std::pair<Key, std::string_view>, 2> marks;  // kRetracted key -> value
  std::string signed_bytes;
  std::string custody;  // serialized CustodyChains; empty for a record authored here
  int kind_slot = -1;   // index into the per-kind counts, or -1
  int tlp_slot = -1;    // the record's TLP label, 0 .. kTlpSlots - 1, or -1
  Store::PutCallback done;

  std::string_view id() const { return std::string_view(keys).substr(0, kIdSize); }
  std::string_view key(const Key& k) const {
    return std::string_view(keys).substr(k.offset, k.size);
  }
};

PendingPut Prepare(RecordToStore record, Store::PutCallback done) {
  PendingPut p;
  const threatmesh::v1::RecordBody& body = record.body;
  std::vector<IndexEntry> prefixes = IndexPrefixesFor(body);
  prefixes.push_back({kIndexUuid, RecordUuid(record.id)});
  std::string_view retracted, superseded;
  if (body.has_retraction() && body.retraction().target().size() == kIdSize) {
    retracted = body.retraction().target();
  }
  if (body.supersedes().size() == kIdSize) superseded = body.supersedes();
  std::size_t size = kIdSize;
  for (const IndexEntry& e : prefixes) size += e.key.size() + 8;
  if (!retracted.empty()) size += 2 * kIdSize;
  if (!superseded.empty()) size += 2 * kIdSize;
  p.keys.reserve(size);
  p.keys.append(record.id);
  for (const IndexEntry& e : prefixes) {
    p.index.push_back(
        {e.family, static_cast<uint32_t>(p.keys.size()), static_cast<uint32_t>(e.key.size() + 8)});
    p.keys.append(e.key);
    p.keys.append(8, '\0');
  }
  // A mark's key is the target's id, then the marking record's.
  auto add_mark = [&](std::string_view target, std::string_view value) {
    p.marks.push_back({{kRetracted, static_cast<uint32_t>(p.keys.size()), 2 * kIdSize}, value});
    p.keys.append(target);
    p.keys.append(record.id);
  };
  if (!retracted.empty()) add_mark(retracted, "r");
  if (!superseded.empty()) add_mark(superseded, "s");
  if (record.chain.hops_size() > 0) {
    threatmesh::v1::CustodyChains chains;
    *chains.add_chains() = std::move(record.chain);
    p.custody = chains.SerializeAsString();
  }
  if (std::optional<RecordKind> kind = KindOf(record.body)) {
    const int k = static_cast<int>(*kind) - static_cast<int>(kFirstKind);
    if (k >= 0 && k < kKindSlots) p.kind_slot = k;
  }
  if (const int t = static_cast<int>(record.body.tlp()); t >= 0 && t < kTlpSlots) p.tlp_slot = t;
  p.signed_bytes = std::move(record.signed_bytes);
  p.done = std::move(done);
  return p;
}

class RocksStore final : public Store {
 public:
  RocksStore(std::string dir, const StoreOptions& options, std::unique_ptr<rocksdb::DB> db,
             std::vector<rocksdb::ColumnFamilyHandle*> handles, rocksdb::DBOptions db_options,
             std::vector<rocksdb::ColumnFamilyDescriptor> descriptors)
      : dir_(std::move(dir)),
        options_(options),
        db_options_(std::move(db_options)),
        descriptors_(std::move(descriptors)),
        db_(std::move(db)),
        handles_(handles) {}

  ~RocksStore() override {
    {
      MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (writer_.joinable()) writer_.join();
    WriterMutexLock lock(&db_mu_);
    CloseDb();
  }

  absl::Status Init() {
    if (absl::Status s = Recount(); !s.ok()) return s;
    if (absl::Status s = FillUuidIndex(); !s.ok()) return s;
    if (absl::Status s = FillKindTlpCounts(); !s.ok()) return s;
    writer_ = std::thread([this] { WriterLoop(); });
    return absl::OkStatus();
  }

  // The next sequence and the counts per kind, from the database (at open, and after a
  // reopen, whose WAL replay may hold a batch that was written but not acknowledged). With
  // db_mu_ held exclusively, or before the writer starts.
  absl::Status Recount() {
    // The next sequence follows the last log entry; the log is gap-free from 1.
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(kLog)));
    it->SeekToLast();
    {
      MutexLock lock(&mu_);
      next_seq_ = it->Valid() ? DecodeSeq(ToView(it->key())) + 1 : 1;
    }
    if (it->Valid() && it->value().size() >= kIdSize + 8) {
      last_added_us_ = static_cast<int64_t>(DecodeSeq(ToView(it->value()).substr(kIdSize, 8)));
    }
    if (!it->status().ok()) return FromRocks(it->status(), StrCat("reading the log of ", dir_));
    // Counts per kind come from the kind index once; the writer keeps them from then on.
    // (About a third of a second per million records.)
    std::array<uint64_t, kKindSlots> counts{};
    std::unique_ptr<rocksdb::Iterator> kinds(
        db_->NewIterator(rocksdb::ReadOptions(), cf(kIndexKind)));
    for (kinds->SeekToFirst(); kinds->Valid(); kinds->Next()) {
      const auto k = static_cast<unsigned char>(kinds->key()[0]);
      if (k >= kFirstKind && k < kFirstKind + counts.size()) ++counts[k - kFirstKind];
    }
    if (!kinds->status().ok()) {
      return FromRocks(kinds->status(), StrCat("reading the kind index of ", dir_));
    }
    for (std::size_t k = 0; k < counts.size(); ++k) kind_counts_[k] = counts[k];
    // Per kind and TLP: as the last group wrote them (absent in a store of an older build
    // until FillKindTlpCounts).
    // (Read here without taking db_mu_, which the caller may hold.)
    std::string by_tlp;
    const rocksdb::Status read =
        db_->Get(rocksdb::ReadOptions(), cf(kMeta), ToSlice(kMetaKindTlpCounts), &by_tlp);
    if (!read.ok() && !read.IsNotFound()) {
      return FromRocks(read, StrCat("reading the record counts of ", dir_));
    }
    if (read.ok() && by_tlp.size() == kind_tlp_counts_.size() * 8) {
      for (std::size_t i = 0; i < kind_tlp_counts_.size(); ++i) {
        kind_tlp_counts_[i] = DecodeSeq(std::string_view(by_tlp).substr(i * 8, 8));
      }
    }
    return absl::OkStatus();
  }

  // The counts per kind and TLP of a store written before they were kept, from its records,
  // once (about two seconds per million records). Before the writer starts.
  absl::Status FillKindTlpCounts() {
    if (GetMeta(kMetaKindTlpCounts).ok()) return absl::OkStatus();
    std::array<uint64_t, kKindSlots * kTlpSlots> counts{};
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(kRecords)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      threatmesh::v1::Signed envelope;
      threatmesh::v1::RecordBody body;
      if (!envelope.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())) ||
          !body.ParseFromString(envelope.payload())) {
        continue;  // validated when stored: not expected
      }
      const std::optional<RecordKind> kind = KindOf(body);
      const int k = kind ? static_cast<int>(*kind) - static_cast<int>(kFirstKind) : -1;
      const int t = static_cast<int>(body.tlp());
      if (k >= 0 && k < kKindSlots && t >= 0 && t < kTlpSlots) ++counts[k * kTlpSlots + t];
    }
    if (!it->status().ok()) return FromRocks(it->status(), StrCat("counting records in ", dir_));
    std::string value;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      kind_tlp_counts_[i] = counts[i];
      value += EncodeSeq(counts[i]);
    }
    return PutMeta(kMetaKindTlpCounts, value);
  }

  // The UUID index of a store written before there was one, from its log, once (meta
  // "uuid_index" then says it is complete). Before the writer starts. About a second per
  // million records; a crash midway writes it again from the start at the next open.
  absl::Status FillUuidIndex() {
    if (GetMeta(kMetaUuidIndex).ok()) return absl::OkStatus();
    const uint64_t end = NextSeq();
    if (end > 1) LogInfo(StrCat("indexing the UUIDs of ", end - 1, " records in ", dir_));
    for (uint64_t seq = 1; seq < end;) {
      absl::StatusOr<LogPage> page = ReadLog(seq, kMaxLimit);
      if (!page.ok()) return page.status();
      if (page->entries.empty()) break;
      rocksdb::WriteBatch batch;
      for (const LogEntry& e : page->entries) {
        const rocksdb::Status s =
            batch.Put(cf(kIndexUuid), RecordUuid(e.id) + EncodeSeq(e.seq), e.id);
        if (!s.ok()) return FromRocks(s, StrCat("indexing UUIDs in ", dir_));
      }
      const rocksdb::Status s = db_->Write(rocksdb::WriteOptions(), &batch);
      if (!s.ok()) return FromRocks(s, StrCat("indexing UUIDs in ", dir_));
      seq = page->next_seq;
    }
    return PutMeta(kMetaUuidIndex, "1");  // synced: the batches before it are durable too
  }

  void PutAsync(RecordToStore record, PutCallback done) override {
    if (record.id.size() != kIdSize) {
      done(absl::InvalidArgumentError(
          StrCat("record id is ", record.id.size(), " bytes, expected ", kIdSize)));
      return;
    }
    PendingPut prepared = Prepare(std::move(record), std::move(done));
    {
      // The writer waits on conditions of the queue (not empty; a whole group), which the
      // unlock here checks: it wakes only for the first put, or a lingering writer for a
      // whole group.
      MutexLock lock(&mu_);
      if (!stopping_) {
        queue_.push_back(std::move(prepared));
        return;
      }
    }
    prepared.done(absl::UnavailableError("the store is closing"));
  }

  void PutAllAsync(std::vector<QueuedPut> puts) override {
    std::vector<PendingPut> prepared;
    prepared.reserve(puts.size());
    for (QueuedPut& p : puts) {
      if (p.record.id.size() != kIdSize) {
        p.done(absl::InvalidArgumentError(
            StrCat("record id is ", p.record.id.size(), " bytes, expected ", kIdSize)));
        continue;
      }
      prepared.push_back(Prepare(std::move(p.record), std::move(p.done)));
    }
    std::size_t queued = 0;
    {
      MutexLock lock(&mu_);
      for (; queued < prepared.size() && !stopping_; ++queued) {
        queue_.push_back(std::move(prepared[queued]));
      }
    }
    // The ones not queued (the store is closing): answered here, outside the lock.
    for (std::size_t i = queued; i < prepared.size(); ++i) {
      prepared[i].done(absl::UnavailableError("the store is closing"));
    }
  }

  absl::StatusOr<bool> Contains(std::string_view id) override {
    // A pinned read copies nothing; the records family's bloom filter answers most misses.
    rocksdb::PinnableSlice value;
    ReaderMutexLock lock(&db_mu_);
    if (!db_) return Closed();
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kRecords), ToSlice(id), &value);
    if (s.ok()) return true;
    if (s.IsNotFound()) return false;
    return FromRocks(s, StrCat("reading ", dir_));
  }

  absl::StatusOr<std::string> Get(std::string_view id) override {
    return GetFrom(kRecords, id, "record");
  }

  std::vector<absl::StatusOr<std::string>> GetMany(
      const std::vector<std::string_view>& ids) override {
    std::vector<absl::StatusOr<std::string>> out;
    out.reserve(ids.size());
    ReadMany(ids, out, [&](std::size_t i, const rocksdb::Status& s, rocksdb::PinnableSlice& value) {
      if (s.IsNotFound()) {
        out.push_back(absl::NotFoundError(StrCat("no record ", crypto::HexEncode(ids[i]))));
      } else if (!s.ok()) {
        out.push_back(FromRocks(s, StrCat("reading ", dir_)));
      } else {
        out.push_back(value.ToString());
      }
    });
    return out;
  }

  std::vector<absl::StatusOr<bool>> ContainsMany(
      const std::vector<std::string_view>& ids) override {
    std::vector<absl::StatusOr<bool>> out;
    out.reserve(ids.size());
    ReadMany(ids, out, [&](std::size_t, const rocksdb::Status& s, rocksdb::PinnableSlice&) {
      if (s.ok() || s.IsNotFound()) {
        out.push_back(s.ok());
      } else {
        out.push_back(FromRocks(s, StrCat("reading ", dir_)));
      }
    });
    return out;
  }

  // One MultiGet of records; `each(i, status, value)` for every id in order, or, when the
  // store is closed, Closed() in `out` for every id.
  template <typename Answer, typename Each>
  void ReadMany(const std::vector<std::string_view>& ids, std::vector<Answer>& out, Each each) {
    std::vector<rocksdb::Slice> keys;
    keys.reserve(ids.size());
    for (std::string_view id : ids) keys.push_back(ToSlice(id));
    std::vector<rocksdb::PinnableSlice> values(ids.size());
    std::vector<rocksdb::Status> statuses(ids.size());
    ReaderMutexLock lock(&db_mu_);
    if (!db_) {
      out.assign(ids.size(), Answer(Closed()));
      return;
    }
    if (!ids.empty()) {
      db_->MultiGet(rocksdb::ReadOptions(), cf(kRecords), keys.size(), keys.data(), values.data(),
                    statuses.data());
    }
    for (std::size_t i = 0; i < ids.size(); ++i) each(i, statuses[i], values[i]);
  }

  absl::StatusOr<threatmesh::v1::CustodyChains> GetCustody(std::string_view id) override {
    threatmesh::v1::CustodyChains chains;
    absl::StatusOr<std::string> raw = GetFrom(kCustody, id, "custody of record");
    if (absl::IsNotFound(raw.status())) {
      // A record authored here is stored without a custody entry: its one chain is empty.
      absl::StatusOr<bool> held = Contains(id);
      if (!held.ok()) return held.status();
      if (!*held) return absl::NotFoundError(StrCat("no record ", crypto::HexEncode(id)));
      chains.add_chains();
      return chains;
    }
    if (!raw.ok()) return raw.status();
    if (!chains.ParseFromString(*raw)) {
      return absl::DataLossError(StrCat("custody of record ", crypto::HexEncode(id), " in ", dir_,
                                        " is corrupted; restore the store from a backup"));
    }
    return chains;
  }

  absl::StatusOr<Page> FindIndicator(int type, std::string_view value,
                                     const PageRequest& page) override {
    return ScanPrefix(kIndexIndicator, IndicatorPrefix(type, value), page);
  }

  absl::StatusOr<Page> FindDomainSuffix(std::string_view domain, const PageRequest& page) override {
    if (domain.empty()) return absl::InvalidArgumentError("domain suffix is empty");
    return ScanPrefix(kIndexDomain, DomainPrefix(domain), page);
  }

  absl::StatusOr<Page> FindContainingIp(std::string_view ip_text, const PageRequest& page) override;

  absl::StatusOr<Page> FindByAuthor(std::string_view author, int64_t from_ms, int64_t to_ms,
                                    const PageRequest& page) override {
    if (author.size() != crypto::kPublicKeySize) {
      return absl::InvalidArgumentError(
          StrCat("author key is ", author.size(), " bytes, expected ", crypto::kPublicKeySize));
    }
    if (to_ms < from_ms) {
      return absl::InvalidArgumentError("time range ends before it starts; swap from and to");
    }
    return ScanRange(kIndexAuthorTime, AuthorTimePrefix(author, from_ms),
                     AuthorTimePrefix(author, to_ms), std::string(author), page);
  }

  absl::StatusOr<Page> FindByTag(std::string_view tag, const PageRequest& page) override {
    if (tag.empty()) return absl::InvalidArgumentError("tag is empty");
    return ScanPrefix(kIndexTag, TagPrefix(tag), page);
  }

  absl::StatusOr<Page> FindByKind(RecordKind kind, const PageRequest& page) override {
    return ScanPrefix(kIndexKind, KindPrefix(kind), page);
  }

  absl::StatusOr<LogPage> ReadLog(uint64_t from_seq, std::size_t limit) override {
    absl::StatusOr<std::size_t> n = CheckLimit(limit);
    if (!n.ok()) return n.status();
    LogPage out;
    out.next_seq = from_seq;
    ReaderMutexLock lock(&db_mu_);
    if (!db_) return Closed();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(kLog)));
    for (it->Seek(EncodeSeq(from_seq)); it->Valid() && out.entries.size() < *n; it->Next()) {
      // Entries written before the time was kept hold the id alone.
      const std::string_view value = ToView(it->value());
      LogEntry e{DecodeSeq(ToView(it->key())), std::string(value.substr(0, kIdSize)),
                 value.size() >= kIdSize + 8
                     ? static_cast<int64_t>(DecodeSeq(value.substr(kIdSize, 8)))
                     : 0};
      out.next_seq = e.seq + 1;
      out.entries.push_back(std::move(e));
    }
    if (!it->status().ok()) return FromRocks(it->status(), StrCat("reading the log of ", dir_));
    return out;
  }

  absl::StatusOr<LogEntry> FindByUuid(std::string_view uuid) override {
    if (uuid.size() != kUuidSize) {
      return absl::InvalidArgumentError(StrCat("a UUID is 16 bytes; not ", uuid.size()));
    }
    uint64_t seq = 0;
    {
      ReaderMutexLock lock(&db_mu_);
      if (!db_) return Closed();
      std::unique_ptr<rocksdb::Iterator> it(
          db_->NewIterator(rocksdb::ReadOptions(), cf(kIndexUuid)));
      it->Seek(ToSlice(uuid));
      if (!it->status().ok()) return FromRocks(it->status(), StrCat("reading ", dir_));
      if (!it->Valid() || it->key().size() != kUuidSize + 8 ||
          !it->key().starts_with(ToSlice(uuid))) {
        return absl::NotFoundError(StrCat("no record has UUID ", crypto::FormatUuid(uuid)));
      }
      seq = DecodeSeq(ToView(it->key()).substr(kUuidSize));
    }
    absl::StatusOr<LogPage> page = ReadLog(seq, 1);
    if (!page.ok()) return page.status();
    if (page->entries.empty() || page->entries[0].seq != seq) {
      return absl::DataLossError(StrCat("the UUID index of ", dir_, " names sequence ", seq,
                                        ", which the log does not hold; the store is damaged, "
                                        "restore it from a backup"));
    }
    return page->entries[0];
  }

  uint64_t NextSeq() override {
    MutexLock lock(&mu_);
    return next_seq_;
  }

  absl::StatusOr<std::string> GetMeta(std::string_view name) override {
    return GetFrom(kMeta, name, "meta value");
  }

  absl::Status PutMeta(std::string_view name, std::string_view value) override {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return WriteResuming([&] { return db_->Put(wo, cf(kMeta), ToSlice(name), ToSlice(value)); });
  }

  bool WaitForSeq(uint64_t seq, std::chrono::milliseconds timeout) override {
    const std::atomic<uint64_t> never{0};
    return WaitForSeqOr(seq, timeout, never, 0);
  }

  bool WaitForSeqOr(uint64_t seq, std::chrono::milliseconds timeout,
                    const std::atomic<uint64_t>& wake, uint64_t seen) override {
    struct Committed {
      RocksStore* store;
      uint64_t seq;
      const std::atomic<uint64_t>* wake;
      uint64_t seen;
      bool operator()() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(store->mu_) {
        return store->next_seq_ > seq || store->stopping_ || wake->load() != seen;
      }
    } committed{this, seq, &wake, seen};
    MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(Condition(&committed), absl::FromChrono(timeout)) &&
           next_seq_ > seq;
  }

  void Wake() override {
    // Releasing the lock has the waiters' conditions evaluated again.
    MutexLock lock(&mu_);
  }

  absl::StatusOr<std::vector<Mark>> MarksOf(std::string_view id) override {
    const std::string prefix(id);
    const std::string upper = UpperBound(prefix);
    rocksdb::ReadOptions ro;
    rocksdb::Slice upper_slice(upper);
    ro.iterate_upper_bound = &upper_slice;
    ReaderMutexLock lock(&db_mu_);
    if (!db_) return Closed();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(kRetracted)));
    std::vector<Mark> out;
    for (it->Seek(ToSlice(prefix)); it->Valid() && out.size() < kMaxMarks; it->Next()) {
      if (it->key().size() == kIdSize) {
        out.push_back(Mark{it->value().ToString(), false});  // the older layout
      } else if (it->key().size() == 2 * kIdSize) {
        out.push_back(Mark{it->key().ToString().substr(kIdSize), it->value() == "s"});
      }
    }
    if (!it->status().ok()) return FromRocks(it->status(), StrCat("reading ", dir_));
    return out;
  }

  WriterStats Writer() const override { return {group_sizes_.Read(), commit_seconds_.Read()}; }

  uint64_t CountOf(RecordKind kind, threatmesh::v1::Tlp tlp) override {
    const int k = static_cast<int>(kind) - static_cast<int>(kFirstKind);
    const int t = static_cast<int>(tlp);
    if (k < 0 || k >= kKindSlots || t < 0 || t >= kTlpSlots) return 0;
    return kind_tlp_counts_[static_cast<std::size_t>(k * kTlpSlots + t)].load();
  }

  uint64_t CountOf(RecordKind kind) override {
    const std::size_t i = static_cast<std::size_t>(kind) - kFirstKind;
    return i < kind_counts_.size() ? kind_counts_[i].load() : 0;
  }

  absl::Status PutAux(ColumnFamily family, std::string_view key, std::string_view value,
                      bool sync) override {
    if (absl::Status ok = CheckAux(family); !ok.ok()) return ok;
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    return WriteResuming([&] { return db_->Put(wo, cf(family), ToSlice(key), ToSlice(value)); });
  }

  absl::Status DeleteAux(ColumnFamily family, std::string_view key, bool sync) override {
    if (absl::Status ok = CheckAux(family); !ok.ok()) return ok;
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    return WriteResuming([&] { return db_->Delete(wo, cf(family), ToSlice(key)); });
  }

  // Runs `write`; when it fails because of an earlier background error (RocksDB refuses
  // writes until resumed), resumes and runs it once more. Side-table writes (the audit trail
  // above all: every call writes one) must bring the store back by themselves, or a store
  // that stopped on a cause now gone (descriptors, disk space) stays stopped.
  template <typename Write>
  absl::Status WriteResuming(Write write) {
    for (int attempt = 0;; ++attempt) {
      rocksdb::Status s;
      {
        ReaderMutexLock lock(&db_mu_);
        if (!db_ && attempt > 0) return Closed();
        s = db_ ? write() : rocksdb::Status::IOError("closed");
      }
      if (s.ok()) return absl::OkStatus();
      if (attempt > 0 || !TryResume()) {
        ReaderMutexLock lock(&db_mu_);
        if (!db_) return Closed();
        return FromRocks(s, StrCat("writing to ", dir_));
      }
    }
  }

  // Calls DB::Resume, at most every `resume_backoff_` (100 ms, doubling to 5 s while it
  // fails); whether the store then takes writes again.
  // An error RocksDB cannot resume from in place (one while opening the next WAL file is
  // taken as fatal) is left by closing the store and opening it again, as a restart would:
  // the WAL replays every acknowledged write. Must be called without db_mu_ held.
  bool TryResume() {
    MutexLock lock(&resume_mu_);
    const auto now = std::chrono::steady_clock::now();
    if (now < next_resume_) return false;
    rocksdb::Status s;
    bool reopen = false;
    {
      ReaderMutexLock db_lock(&db_mu_);
      if (db_) {
        s = db_->Resume();
        // Resume answers an error it cannot leave in place (fatal or worse) with that error.
        reopen = s.severity() > rocksdb::Status::Severity::kHardError;
      } else {
        reopen = true;  // closed after a failed reopen
      }
    }
    if ((!reopen && s.ok()) || (reopen && Reopen())) {
      resume_backoff_ = std::chrono::milliseconds(100);
      return true;
    }
    next_resume_ = now + resume_backoff_;
    resume_backoff_ =
        std::min<std::chrono::milliseconds>(resume_backoff_ * 2, std::chrono::seconds(5));
    return false;
  }

  absl::StatusOr<std::string> GetAux(ColumnFamily family, std::string_view key) override {
    if (absl::Status ok = CheckAux(family); !ok.ok()) return ok;
    return GetFrom(family, key, StrCat(kColumnFamilyNames[family], " entry"));
  }

  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ScanAux(
      ColumnFamily family, std::string_view prefix, std::string_view from,
      std::size_t limit) override {
    if (absl::Status ok = CheckAux(family); !ok.ok()) return ok;
    const std::string upper = UpperBound(std::string(prefix));
    rocksdb::ReadOptions ro;
    rocksdb::Slice upper_slice(upper);
    ro.iterate_upper_bound = &upper_slice;
    ReaderMutexLock lock(&db_mu_);
    if (!db_) return Closed();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(family)));
    std::vector<std::pair<std::string, std::string>> out;
    for (it->Seek(ToSlice(from > prefix ? from : prefix)); it->Valid() && out.size() < limit;
         it->Next()) {
      out.emplace_back(it->key().ToString(), it->value().ToString());
    }
    if (!it->status().ok()) return FromRocks(it->status(), StrCat("reading ", dir_));
    return out;
  }

  absl::StatusOr<std::pair<std::string, std::string>> LastAux(ColumnFamily family,
                                                              std::string_view prefix) override {
    if (absl::Status ok = CheckAux(family); !ok.ok()) return ok;
    const std::string upper = UpperBound(std::string(prefix));
    ReaderMutexLock lock(&db_mu_);
    if (!db_) return Closed();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(family)));
    it->SeekForPrev(upper);
    if (it->Valid() && ToView(it->key()) == upper) it->Prev();
    if (!it->status().ok()) return FromRocks(it->status(), StrCat("reading ", dir_));
    if (!it->Valid() || !it->key().starts_with(ToSlice(prefix))) {
      return absl::NotFoundError(StrCat("no ", kColumnFamilyNames[family], " entry"));
    }
    return std::make_pair(it->key().ToString(), it->value().ToString());
  }

  uint64_t DiskSize() override {
    uint64_t sst = 0, wal = 0;
    {
      ReaderMutexLock lock(&db_mu_);
      if (db_) db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kLiveSstFilesSize, &sst);
    }
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
      if (entry.path().extension() == ".log") wal += entry.file_size(ec);
    }
    return sst + wal;
  }

 private:
  // With db_mu_ held.
  rocksdb::ColumnFamilyHandle* cf(ColumnFamily f) const { return handles_[f]; }

  // What a call gets while the store is closed between a failed reopen and the next try.
  absl::Status Closed() const ABSL_SHARED_LOCKS_REQUIRED(db_mu_) {
    return absl::UnavailableError(
        StrCat("the store in ", dir_, " could not be reopened after an error (", reopen_error_,
               "). Free what it names (descriptors: raise LimitNOFILE or lower max-connections; "
               "disk space): it is tried again with each write. Nothing acknowledged was lost"));
  }

  // With db_mu_ held exclusively.
  void CloseDb() {
    if (!db_) return;
    for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
    rocksdb::Status s = db_->Close();
    (void)s;  // Nothing to do with a close error: every acknowledged write is already synced.
    db_.reset();
    handles_.clear();
  }

  // Closes the database and opens it again (the WAL replays); whether it is open.
  bool Reopen() {
    WriterMutexLock lock(&db_mu_);
    CloseDb();
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(db_options_, dir_, descriptors_, &handles, &raw);
    if (!s.ok()) {
      reopen_error_ = s.ToString();
      LogError(StrCat("reopening the store in ", dir_, " failed: ", reopen_error_));
      return false;
    }
    db_.reset(raw);
    handles_ = std::move(handles);
    if (absl::Status counted = Recount(); !counted.ok()) {
      reopen_error_ = std::string(counted.message());
      CloseDb();
      return false;
    }
    LogInfo(StrCat("the store in ", dir_, " was reopened after an error"));
    return true;
  }

  static absl::Status CheckAux(ColumnFamily family) {
    switch (family) {
      case kPeers:
      case kAudit:
      case kEvidence:
      case kMeta:
      case kTokens:
      case kImports:
        return absl::OkStatus();
      default:
        return absl::InvalidArgumentError(
            StrCat("the ", kColumnFamilyNames[family],
                   " family is written only with records; use Put or PutAsync"));
    }
  }

  absl::StatusOr<std::string> GetFrom(ColumnFamily family, std::string_view key,
                                      std::string_view what) {
    std::string value;
    ReaderMutexLock lock(&db_mu_);
    if (!db_) return Closed();
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(family), ToSlice(key), &value);
    if (s.IsNotFound()) {
      std::string shown = family == kMeta ? std::string(key) : crypto::HexEncode(key);
      return absl::NotFoundError(StrCat("no ", what, " ", shown));
    }
    if (!s.ok()) return FromRocks(s, StrCat("reading ", dir_));
    return value;
  }

  // Ids of the entries under `prefix`, after the token's key.
  absl::StatusOr<Page> ScanPrefix(ColumnFamily family, const std::string& prefix,
                                  const PageRequest& page) {
    return ScanRange(family, prefix, UpperBound(prefix), prefix, page);
  }

  // Ids of the entries in [lower, upper), after the token's key. `token_prefix` is what
  // every key of this query starts with.
  absl::StatusOr<Page> ScanRange(ColumnFamily family, const std::string& lower,
                                 const std::string& upper, const std::string& token_prefix,
                                 const PageRequest& page) {
    absl::StatusOr<std::size_t> limit = CheckLimit(page.limit);
    if (!limit.ok()) return limit.status();
    std::string after;
    if (!page.token.empty()) {
      absl::StatusOr<std::string> decoded = DecodeToken(page.token, token_prefix);
      if (!decoded.ok()) return decoded.status();
      after = std::move(*decoded);
    }
    Page out;
    std::string last_key;
    absl::StatusOr<bool> more = Scan(family, lower, upper, after, *limit, out.ids, last_key);
    if (!more.ok()) return more.status();
    if (*more) out.next_token = EncodeToken(last_key);
    return out;
  }

  // Appends to `ids` the ids of the entries in [lower, upper) whose keys come after `after`
  // (empty: all), until `ids` holds `limit`; `last_key` is then the key of the last one.
  // Returns whether entries are left.
  absl::StatusOr<bool> Scan(ColumnFamily family, const std::string& lower, const std::string& upper,
                            const std::string& after, std::size_t limit,
                            std::vector<std::string>& ids, std::string& last_key) {
    rocksdb::ReadOptions ro;
    rocksdb::Slice upper_slice(upper);
    ro.iterate_upper_bound = &upper_slice;
    ReaderMutexLock lock(&db_mu_);
    if (!db_) return Closed();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(family)));
    bool more = false;
    for (it->Seek(after > lower ? after : lower); it->Valid(); it->Next()) {
      if (!after.empty() && ToView(it->key()) == after) continue;
      if (ids.size() >= limit) {
        more = true;
        break;
      }
      last_key = it->key().ToString();
      ids.push_back(it->value().ToString());
    }
    if (!it->status().ok()) return FromRocks(it->status(), StrCat("reading ", dir_));
    return more;
  }

  // The smallest key above every key that starts with `prefix`.
  static std::string UpperBound(std::string prefix) {
    while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) {
      prefix.pop_back();
    }
    if (prefix.empty()) return std::string(kIdSize + 64, '\xff');  // no key is that large
    prefix.back() = static_cast<char>(prefix.back() + 1);
    return prefix;
  }

  void WriterLoop();
  void CommitGroup(std::span<PendingPut> group);
  void AcceptGroup(std::span<PendingPut> group, GroupWrites& w);
  absl::Status WriteGroup(GroupWrites& w);
  bool ResumedForGroup(std::span<PendingPut> group);

  const std::string dir_;
  const StoreOptions options_;
  const rocksdb::DBOptions db_options_;  // to reopen with
  const std::vector<rocksdb::ColumnFamilyDescriptor> descriptors_;
  // Shared by every use of db_ and handles_; exclusive to swap them (Reopen). db_ is null
  // only between a failed reopen and the next.
  mutable Mutex db_mu_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::string reopen_error_ ABSL_GUARDED_BY(db_mu_);

  bool StoppingOrQueued() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !queue_.empty();
  }
  bool StoppingOrGroupFull() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || queue_.size() >= options_.max_group_size;
  }

  Mutex mu_;
  std::vector<PendingPut> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Written by the writer thread, and by Recount while no group is being committed;
  // WaitForSeq waits on it.
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  // Records per kind, from RecordKind::kIndicator on; written only by the writer thread.
  std::array<std::atomic<uint64_t>, kKindSlots> kind_counts_{};
  std::array<std::atomic<uint64_t>, kKindSlots * kTlpSlots> kind_tlp_counts_{};
  Histogram group_sizes_{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512}};
  Histogram commit_seconds_{Histogram::LatencyBounds()};
  absl::Status write_error_;  // writer thread only: the last failed write, until resumed
  Mutex resume_mu_;
  std::chrono::steady_clock::time_point next_resume_ ABSL_GUARDED_BY(resume_mu_);
  // The time given to the last group committed (the writer thread's, or Recount's with the
  // writer stopped).
  int64_t last_added_us_ = 0;
  std::chrono::milliseconds resume_backoff_ ABSL_GUARDED_BY(resume_mu_){100};
  std::thread writer_;
};

absl::StatusOr<Page> RocksStore::FindContainingIp(std::string_view ip_text,
                                                  const PageRequest& page) {
  // A CIDR argument asks for the ranges that contain the whole network.
  int max_len = -1;
  std::string_view addr = ip_text;
  if (std::size_t slash = ip_text.find('/'); slash != std::string_view::npos) {
    addr = ip_text.substr(0, slash);
    if (!absl::SimpleAtoi(std::string(ip_text.substr(slash + 1)), &max_len)) max_len = -2;
  }
  std::optional<IpAddress> ip = ParseIp(addr);
  if (!ip || max_len < -1 || max_len > ip->bits()) {
    return absl::InvalidArgumentError(
        StrCat("\"", ip_text,
               "\" is not an IPv4 or IPv6 address or network (e.g. 10.1.2.3, 2001:db8::1)"));
  }
  if (max_len == -1) max_len = ip->bits();
  absl::StatusOr<std::size_t> limit = CheckLimit(page.limit);
  if (!limit.ok()) return limit.status();

  // One prefix scan per prefix length, shortest first; the token is the last key returned,
  // whose second byte is the prefix length to resume at.
  int first_len = 0;
  std::string after;
  if (!page.token.empty()) {
    absl::StatusOr<std::string> decoded =
        DecodeToken(page.token, std::string(1, static_cast<char>(ip->family)));
    if (!decoded.ok()) return decoded.status();
    after = *decoded;
    first_len = after.size() > 1 ? static_cast<unsigned char>(after[1]) : 0;
    if (after.size() < 2 || first_len > max_len ||
        after.compare(0, CidrPrefix(*ip, first_len).size(), CidrPrefix(*ip, first_len)) != 0) {
      return absl::InvalidArgumentError(
          "continuation token does not belong to this query; repeat the query without a token");
    }
  }
  Page out;
  std::string last_key;
  for (int len = first_len; len <= max_len; ++len) {
    const std::string prefix = CidrPrefix(*ip, len);
    absl::StatusOr<bool> more =
        Scan(kIndexCidr, prefix, UpperBound(prefix), len == first_len ? after : std::string(),
             *limit, out.ids, last_key);
    if (!more.ok()) return more.status();
    if (*more) {
      out.next_token = EncodeToken(last_key);
      return out;
    }
  }
  return out;
}

void RocksStore::WriterLoop() {
  // RocksDB's per-thread perf counters cost a few percent of every write; nothing reads them.
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  pthread_setname_np(pthread_self(), "tm-writer");  // for top -H and perf
  std::size_t last_group_size = 0;
  std::chrono::steady_clock::time_point last_commit;  // when the last group was committed
  std::vector<PendingPut> taken;  // reused, so its storage cycles between it and the queue
  for (;;) {
    {
      MutexLock lock(&mu_);
      mu_.Await(Condition(this, &RocksStore::StoppingOrQueued));
      if (queue_.empty()) return;  // stopping, and every queued put is answered
      // Under load (the last group was not small) wait a moment for more puts, so that
      // fewer syncs carry the same records; a lone put is never delayed.
      // Lingering stops early once puts stop arriving (a pause of kLingerQuietGap, doubled
      // at each check that saw new puts): blocking callers that have all queued gain
      // nothing from waiting longer.
      // Busy means the last group was not small and its commit ended within the linger:
      // after a quiet spell, the first puts are committed at once.
      if (last_group_size >= kBusyGroupSize && options_.group_linger.count() > 0 &&
          std::chrono::steady_clock::now() - last_commit < options_.group_linger) {
        const auto deadline = std::chrono::steady_clock::now() + options_.group_linger;
        const Condition full(this, &RocksStore::StoppingOrGroupFull);
        auto gap = kLingerQuietGap;
        for (std::size_t seen = queue_.size();; gap *= 2) {
          const auto now = std::chrono::steady_clock::now();
          const auto wake = std::min(deadline, now + gap);
          if (mu_.AwaitWithTimeout(full, absl::FromChrono(wake - now)) || wake == deadline ||
              queue_.size() == seen) {
            break;
          }
          seen = queue_.size();
        }
      }
      // Take the whole queue in O(1), so producers never wait on the lock for long.
      taken.swap(queue_);
    }
    for (std::size_t i = 0; i < taken.size(); i += options_.max_group_size) {
      std::span<PendingPut> group(taken.data() + i,
                                  std::min(options_.max_group_size, taken.size() - i));
      last_group_size = group.size();
      const auto started = std::chrono::steady_clock::now();
      CommitGroup(group);
      group_sizes_.Observe(static_cast<double>(group.size()));
      commit_seconds_.Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    taken.clear();
    last_commit = std::chrono::steady_clock::now();
  }
}

// After a failed write (a full disk, no descriptors left) RocksDB refuses writes until it
// has recovered: for a full disk its file manager polls the free space and recovers by
// itself; otherwise TryResume resumes it, or reopens it, at most every few seconds. Whether
// the group may be written; if not, every put of it has been answered.
bool RocksStore::ResumedForGroup(std::span<PendingPut> group) {
  if (write_error_.ok()) return true;
  if (!TryResume()) {
    absl::Status stuck(write_error_.code(),
                       StrCat(write_error_.message(),
                              ". Writes are refused until then (they are tried again every "
                              "few seconds); reads still work"));
    for (PendingPut& p : group) p.done(stuck);
    return false;
  }
  write_error_ = absl::OkStatus();
  return true;
}

// One group's writes: keys and values are views into the group's puts and `seq_keys`.
// Writes are kept per family so that each family's keys reach its memtable together.
struct GroupWrites {
  // The i-th record accepted is added at `first_us` + i microseconds.
  GroupWrites(std::size_t n, uint64_t first_seq, int64_t first_us)
      : seq_keys(n * 8, '\0'), log_values(n * (kIdSize + 8), '\0'), seq(first_seq) {
    in_batch.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::string t = EncodeSeq(static_cast<uint64_t>(first_us) + i);
      std::memcpy(&log_values[i * (kIdSize + 8) + kIdSize], t.data(), 8);
    }
  }
  std::array<std::vector<Write>, kColumnFamilyCount> writes;
  absl::flat_hash_set<std::string_view> in_batch;
  std::string seq_keys;    // the group's sequence keys, 8 bytes each; sized once
  std::string log_values;  // the group's log values: id (32 bytes) || time added (8); sized once
  std::size_t batch_bytes = 0;
  std::vector<std::pair<PendingPut*, uint64_t>> accepted;
  std::array<uint64_t, kKindSlots> group_kinds{};
  // The counts per kind and TLP after this group, and their meta value (written with it).
  std::array<uint64_t, kKindSlots * kTlpSlots> kind_tlps{};
  std::string kind_tlps_value;
  uint64_t seq;  // the next sequence to give
};

void RocksStore::CommitGroup(std::span<PendingPut> group) {
  if (!ResumedForGroup(group)) return;
  ReaderMutexLock db_lock(&db_mu_);
  if (!db_) {
    const absl::Status closed = Closed();
    for (PendingPut& p : group) p.done(closed);
    return;
  }
  uint64_t first_seq;
  {
    MutexLock lock(&mu_);
    first_seq = next_seq_;
  }
  // The time added grows with every record, even when the clock goes back or many records
  // share a millisecond: TAXII's added_after pages by it.
  const int64_t wall = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  const int64_t first_us = std::max(last_added_us_ + 1, wall);
  last_added_us_ = first_us + static_cast<int64_t>(group.size()) - 1;
  GroupWrites w(group.size(), first_seq, first_us);
  AcceptGroup(group, w);
  if (w.accepted.empty()) return;
  // The new counts per kind and TLP go in the group's batch.
  for (std::size_t i = 0; i < w.kind_tlps.size(); ++i) {
    w.kind_tlps[i] += kind_tlp_counts_[i].load();
    w.kind_tlps_value += EncodeSeq(w.kind_tlps[i]);
  }
  w.writes[kMeta].push_back({kMetaKindTlpCounts, w.kind_tlps_value});
  w.batch_bytes += kMetaKindTlpCounts.size() + w.kind_tlps_value.size();
  const absl::Status status = WriteGroup(w);
  if (status.ok()) {
    for (std::size_t k = 0; k < w.group_kinds.size(); ++k) kind_counts_[k] += w.group_kinds[k];
    for (std::size_t i = 0; i < w.kind_tlps.size(); ++i) kind_tlp_counts_[i] = w.kind_tlps[i];
    {
      MutexLock lock(&mu_);
      next_seq_ = w.seq;
    }
  }
  // On failure the sequence is not advanced. A batch whose WAL append completed but whose
  // sync failed may still be replayed at restart; a retried put then gets AlreadyExists.
  for (auto& [p, seq_of_p] : w.accepted) {
    if (status.ok()) {
      p->done(seq_of_p);
    } else {
      p->done(status);
    }
  }
}

// Answers the duplicates of the group (one MultiGet: it takes the memtables and the file
// versions once instead of once per put), and lays out the writes of the others.
void RocksStore::AcceptGroup(std::span<PendingPut> group, GroupWrites& w) {
  std::vector<rocksdb::Slice> ids;
  ids.reserve(group.size());
  for (const PendingPut& p : group) ids.push_back(ToSlice(p.id()));
  std::vector<rocksdb::PinnableSlice> found(group.size());
  std::vector<rocksdb::Status> lookups(group.size());
  db_->MultiGet(rocksdb::ReadOptions(), cf(kRecords), ids.size(), ids.data(), found.data(),
                lookups.data());
  for (std::size_t i = 0; i < group.size(); ++i) {
    PendingPut& p = group[i];
    if (!lookups[i].ok() && !lookups[i].IsNotFound()) {
      p.done(FromRocks(lookups[i], StrCat("reading ", dir_)));
      continue;
    }
    const std::string_view id = p.id();
    if (lookups[i].ok() || w.in_batch.count(id)) {
      p.done(
          absl::AlreadyExistsError(StrCat("record ", crypto::HexEncode(id), " is already stored")));
      continue;
    }
    const std::string_view seq_key(w.seq_keys.data() + w.accepted.size() * 8, 8);
    const std::string encoded = EncodeSeq(w.seq);
    std::memcpy(w.seq_keys.data() + w.accepted.size() * 8, encoded.data(), 8);
    w.writes[kRecords].push_back({id, p.signed_bytes});
    char* log_value = w.log_values.data() + w.accepted.size() * (kIdSize + 8);
    std::memcpy(log_value, id.data(), kIdSize);
    w.writes[kLog].push_back({seq_key, std::string_view(log_value, kIdSize + 8)});
    w.batch_bytes += id.size() * 2 + p.signed_bytes.size() + 8 + p.custody.size();
    if (!p.custody.empty()) w.writes[kCustody].push_back({id, p.custody});
    if (p.kind_slot >= 0) ++w.group_kinds[p.kind_slot];
    if (p.kind_slot >= 0 && p.tlp_slot >= 0) ++w.kind_tlps[p.kind_slot * kTlpSlots + p.tlp_slot];
    for (const auto& [key, value] : p.marks) {
      w.writes[kRetracted].push_back({p.key(key), value});
      w.batch_bytes += key.size + value.size();
    }
    for (const PendingPut::Key& k : p.index) {
      std::memcpy(p.keys.data() + k.offset + k.size - 8, seq_key.data(), 8);
      w.writes[k.family].push_back({p.key(k), id});
      w.batch_bytes += k.size + id.size();
    }
    w.in_batch.insert(id);
    w.accepted.emplace_back(&p, w.seq++);
  }
}

// Writes the group as one synced batch.
absl::Status RocksStore::WriteGroup(GroupWrites& w) {
  // In the index families a group's keys scatter over the memtable's skip list (several
  // tags, authors or kinds interleave); sorted, each insert starts its search from the
  // previous one. (Log keys arrive in order already; records and custody are hashed.)
  for (ColumnFamily f : {kIndexIndicator, kIndexDomain, kIndexCidr, kIndexAuthorTime, kIndexTag,
                         kIndexKind, kIndexUuid}) {
    std::sort(w.writes[f].begin(), w.writes[f].end(),
              [](const Write& a, const Write& b) { return a.key < b.key; });
  }
  // Sized once: growing the batch would copy it several times over. Each entry adds a
  // few bytes of framing (a tag, a family id, two lengths).
  std::size_t entries = 0;
  for (const std::vector<Write>& family : w.writes) entries += family.size();
  rocksdb::WriteBatch batch(w.batch_bytes + entries * 12 + 64);
  rocksdb::Status s;
  for (int f = 0; f < kColumnFamilyCount; ++f) {
    for (const Write& one : w.writes[f]) {
      if (s.ok())
        s = batch.Put(cf(static_cast<ColumnFamily>(f)), ToSlice(one.key), ToSlice(one.value));
    }
  }
  absl::Status status;
  if (s.ok()) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    status = FromRocks(db_->Write(wo, &batch), StrCat("writing to ", dir_));
    write_error_ = status;
  } else {
    status = FromRocks(s, StrCat("writing to ", dir_));
  }
  return status;
}

}  // namespace

absl::StatusOr<uint64_t> Store::Put(RecordToStore record) {
  std::promise<absl::StatusOr<uint64_t>> promise;
  std::future<absl::StatusOr<uint64_t>> result = promise.get_future();
  PutAsync(std::move(record),
           [&promise](absl::StatusOr<uint64_t> r) { promise.set_value(std::move(r)); });
  return result.get();
}

namespace {

rocksdb::DBOptions StoreDbOptions(const StoreOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  db_options.max_background_jobs = 2;
  // Table files kept open at once: bounded, so the store's descriptors fit the reserve the
  // node keeps from connections (node/serve/listener.h).
  db_options.max_open_files = 200;
  // One writer thread commits every batch, so concurrent memtable writes buy nothing.
  db_options.allow_concurrent_memtable_write = false;
  db_options.info_log = std::make_shared<NodeLogger>();

  return db_options;
}

// Every family the directory has, including ones a newer build added, so that the schema
// check can say what happened instead of RocksDB's "not opened" error.
absl::StatusOr<std::vector<std::string>> FamilyNames(const rocksdb::DBOptions& db_options,
                                                     const std::string& dir, bool exists) {
  std::vector<std::string> names;
  for (std::string_view n : kColumnFamilyNames) names.emplace_back(n);
  if (exists) {
    std::vector<std::string> on_disk;
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, dir, &on_disk);
    if (!s.ok()) return FromRocks(s, StrCat("opening the store in ", dir));
    for (const std::string& n : on_disk) {
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    }
  }
  return names;
}

// Each family's options: bloom filters for all, insert hints where keys come in order, a
// hashed memtable where keys are only read by id.
std::vector<rocksdb::ColumnFamilyDescriptor> FamilyDescriptors(
    const std::vector<std::string>& names, const StoreOptions& store_options) {
  rocksdb::ColumnFamilyOptions cf_options;
  // Bloom filters let a put's duplicate check, and a lookup of an absent id, skip the disk.
  rocksdb::BlockBasedTableOptions table_options;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
  if (store_options.write_buffer_bytes > 0) {
    cf_options.write_buffer_size = store_options.write_buffer_bytes;
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (std::size_t i = 0; i < names.size(); ++i) {
    rocksdb::ColumnFamilyOptions options = cf_options;
    // Families whose keys arrive in order within a prefix (the log by sequence, the kind
    // index by kind then sequence, the author index by author then time) keep an insert
    // hint per prefix, so a put does not search the memtable from the top for them.
    std::size_t hint_prefix = 0;
    if (i == kLog) hint_prefix = 1;
    if (i == kIndexKind) hint_prefix = 1;
    if (i == kIndexAuthorTime) hint_prefix = kIdSize;
    if (hint_prefix > 0) {
      options.memtable_insert_with_hint_prefix_extractor.reset(
          rocksdb::NewFixedPrefixTransform(hint_prefix));
    }
    if (i == kRecords || i == kCustody) {
      // Only ever read by id: a hashed memtable makes a put's insert and duplicate check
      // O(1) instead of a walk down a skip list of random 32-byte ids.
      options.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(kHashedIdPrefix));
      options.memtable_factory.reset(rocksdb::NewHashLinkListRepFactory(kHashedIdBuckets));
    }
    if (i == kRetracted) {
      // Read by a record's id as prefix (the marks on it), for every record a TAXII page or an
      // export serves, and most records have none: a prefix bloom filter lets that seek skip
      // the files that hold no mark on it.
      options.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(kIdSize));
    }
    descriptors.emplace_back(names[i], options);
  }
  return descriptors;
}

// Reads the schema version of an opened store, or writes it into a new one; refuses a store
// this build cannot read.
absl::Status CheckSchema(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* meta, const std::string& dir,
                         bool exists) {
  std::string version;
  rocksdb::Status s = db.Get(rocksdb::ReadOptions(), meta, ToSlice(kMetaSchemaVersion), &version);
  if (s.IsNotFound()) {
    if (exists) {
      return absl::DataLossError(
          StrCat(dir,
                 " holds a RocksDB database without a threatmesh schema version; it is not "
                 "a threatmesh store, point --data-dir elsewhere"));
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    version = std::to_string(kSchemaVersion);
    s = db.Put(wo, meta, ToSlice(kMetaSchemaVersion), version);
  }
  if (!s.ok()) return FromRocks(s, StrCat("opening the store in ", dir));
  int on_disk_version = 0;
  if (!absl::SimpleAtoi(version, &on_disk_version) || on_disk_version <= 0) {
    return absl::DataLossError(StrCat("the schema version in ", dir, " is unreadable (\"", version,
                                      "\"); the store is damaged, restore it from a backup"));
  }
  if (on_disk_version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        StrCat("the store in ", dir, " has schema version ", on_disk_version,
               ", written by a newer threatmesh; this build reads up to version ", kSchemaVersion,
               ". Upgrade threatmesh, or use another --data-dir"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir,
                                                   const StoreOptions& options) {
  std::error_code ec;
  bool exists = std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec);
  if (!exists && !options.create_if_missing) {
    return absl::NotFoundError(StrCat("no threatmesh store in ", dir,
                                      "; create one with 'threatmesh init --data-dir DIR' or "
                                      "check --data-dir"));
  }
  if (!exists) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return absl::UnavailableError(
          StrCat("cannot create store directory ", dir, ": ", ec.message()));
    }
  }

  const rocksdb::DBOptions db_options = StoreDbOptions(options);
  absl::StatusOr<std::vector<std::string>> names = FamilyNames(db_options, dir, exists);
  if (!names.ok()) return names.status();
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = FamilyDescriptors(*names, options);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir, descriptors, &handles, &raw_db);
  if (!s.ok()) return FromRocks(s, StrCat("opening the store in ", dir));
  std::unique_ptr<rocksdb::DB> db(raw_db);
  if (absl::Status schema = CheckSchema(*db, handles[kMeta], dir, exists); !schema.ok()) {
    for (rocksdb::ColumnFamilyHandle* h : handles) db->DestroyColumnFamilyHandle(h);
    return schema;
  }
  auto store =
      std::make_unique<RocksStore>(dir, options, std::move(db), handles, db_options, descriptors);
  absl::Status init = store->Init();
  if (!init.ok()) return init;
  return store;
}

}  // namespace threatmesh::storage
