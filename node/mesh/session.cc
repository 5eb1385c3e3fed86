#include "node/mesh/session.h"

#include <deque>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/log.h"
#include "crypto/mutex.h"
#include "crypto/str_cat.h"
#include "node/core/custody.h"
#include "node/core/key_table.h"
#include "node/core/policy.h"
#include "node/core/validate.h"
#include "node/mesh/peer_auth.h"
#include "node/mesh/relay.h"
#include "node/work_pool.h"
#include "storage/index_keys.h"
#include "storage/side_keys.h"

namespace threatmesh {
namespace {

using namespace threatmesh::v1;  // NOLINT: the protocol's own types.

// Records per batch, and batches sent but not yet acknowledged.
constexpr std::size_t kBatchRecords = 256;
constexpr int kWindow = 8;
// Batches read and sifted ahead of the one being checked.
constexpr std::size_t kChecking = 2;
constexpr std::chrono::milliseconds kPoll{250};
// How long the sender waits, once idle, before telling the peer about log entries it passed
// over (none of them for the peer).
constexpr std::chrono::milliseconds kTellSkippedEvery{500};
// At most this many ids sent before their commit are remembered (node/mesh/relay.h).
constexpr std::size_t kMaxEarly = 65536;

// Serializes the writes of the two halves of a session.
class Writer {
 public:
  explicit Writer(PeerStream& stream) : stream_(stream) {}
  bool Write(const PeerMessage& m) {
    MutexLock lock(&mu_);
    return stream_.Write(m);
  }

 private:
  PeerStream& stream_;
  Mutex mu_;
};

class Session {
 public:
  Session(ExchangeContext& context, PeerStream& stream, PeerConfig peer, OutboundPolicy outbound,
          InboundPolicy inbound)
      : context_(context),
        stream_(stream),
        writer_(stream),
        peer_(std::move(peer)),
        outbound_(std::move(outbound)),
        inbound_(std::move(inbound)) {
    self_ = std::string(context_.node().key().public_key().bytes());
    tokens_ = inbound_.max_records_per_second;
  }

  absl::Status Run() {
    { resync_ = context_.TakeResendAll(peer_.name()); }
    PeerMessage sync;
    sync.mutable_sync()->set_cursor(
        resync_ ? 0 : LoadPeerCursor(context_.node().store(), peer_.name()));
    if (!writer_.Write(sync)) return absl::UnavailableError("the peer closed the stream");
    acker_ = std::thread([this] { AckLoop(); });
    checker_ = std::thread([this] { CheckLoop(); });
    absl::Status status = ReadLoop();
    {
      MutexLock lock(&mu_);
      done_ = true;
      if (!check_failure_.ok()) status = check_failure_;
    }
    stream_.Cancel();
    if (sender_.joinable()) sender_.join();
    checker_.join();  // batches still waiting for their checks are dropped: they come again
    acker_.join();    // after the stream ends, its last batches get no ack: they come again
    return status;
  }

 private:
  absl::Status ReadLoop() {
    PeerMessage m;
    while (!context_.stopping() && stream_.Read(&m)) {
      last_read_ = std::chrono::steady_clock::now().time_since_epoch().count();
      switch (m.message_case()) {
        case PeerMessage::kSync:
          if (!sender_.joinable()) {
            // After 'peers resync', the whole log once, whatever the peer holds.
            const uint64_t from = resync_ ? 0 : m.sync().cursor();
            {
              MutexLock lock(&mu_);
              acked_ = from;
            }
            Count([from](PeerCounters& c) { c.acked = from; });
            sender_ = std::thread([this, from] { SendLoop(from); });
          }
          break;
        case PeerMessage::kBatch:
          if (absl::Status s = Receive(std::move(m)); !s.ok()) return s;
          break;
        case PeerMessage::kAck: {
          MutexLock lock(&mu_);
          acked_ = std::max(acked_, m.ack().cursor());
          Count([acked = acked_](PeerCounters& c) { c.acked = acked; });
          // The peer held us back to its rate limit: send the next batch no sooner.
          if (m.ack().pause_ms() > 0) {
            resume_at_ = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(std::min<uint32_t>(m.ack().pause_ms(), 10000));
          }
          while (!unacked_.empty() && unacked_.front() <= acked_) unacked_.pop_front();
          in_flight_ = static_cast<int>(unacked_.size());
          break;
        }
        case PeerMessage::kGoodbye:
          return absl::Status(static_cast<absl::StatusCode>(m.goodbye().code()),
                              StrCat("peer ", peer_.name(), " closed: ", m.goodbye().reason()));
        default:
          break;
      }
    }
    if (context_.stopping()) return absl::CancelledError("the node is stopping");
    if (silent_.load()) {
      return absl::DeadlineExceededError(
          StrCat("peer ", peer_.name(), " sent nothing for ",
                 std::chrono::duration_cast<std::chrono::seconds>(context_.peer_timeout()).count(),
                 " s (not even a keepalive); taken for dead, reconnecting"));
    }
    return absl::UnavailableError("the stream ended");
  }

  void Count(const std::function<void(PeerCounters&)>& f) { context_.Update(peer_.name(), f); }

  // Stores what a batch carries that this node takes, then acknowledges it.
  // Waits until the inbound rate limit admits one more record (a token bucket holding one
  // second's worth). Holding the reader back delays the acknowledgements, so the sender's
  // window fills and it slows down; the time waited is counted and sent in the ack.
  void Admit() {
    const double rate = inbound_.max_records_per_second;
    auto now = std::chrono::steady_clock::now();
    tokens_ =
        std::min(rate, tokens_ + rate * std::chrono::duration<double>(now - refilled_).count());
    refilled_ = now;
    if (tokens_ < 1) {
      const auto wait = std::chrono::microseconds(static_cast<int64_t>((1 - tokens_) / rate * 1e6));
      std::this_thread::sleep_for(wait);
      paused_ms_ += static_cast<uint64_t>(wait.count() / 1000);
      Count([&](PeerCounters& c) { c.throttled_ms += static_cast<uint64_t>(wait.count() / 1000); });
      tokens_ = 1;
      refilled_ = std::chrono::steady_clock::now();
    }
    tokens_ -= 1;
  }

  // One received batch on its way to durability: the acknowledger sends its ack once every
  // record taken from it is durable.
  struct PendingBatch {
    uint64_t through = 0;
    uint64_t paused_ms = 0;
    Mutex mu;
    int pending ABSL_GUARDED_BY(mu) = 0;  // puts not yet done
    absl::Status failure ABSL_GUARDED_BY(mu);
    bool Settled() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return pending == 0; }
  };

  // What the checks decided for one received record.
  enum class Outcome { kStore, kDuplicate, kUnparsable, kInvalid, kInbound, kBadChain, kViolation };
  // The reason a refused record is counted under; nullptr when it was not refused.
  static const char* RefusalReason(Outcome outcome) {
    switch (outcome) {
      case Outcome::kUnparsable:
        return "unparsable record";
      case Outcome::kInvalid:
        return "invalid record";
      case Outcome::kInbound:
        return "inbound policy";
      case Outcome::kBadChain:
        return "bad custody chain";
      default:
        return nullptr;
    }
  }
  struct Item {
    const PeerRecord* copy = nullptr;
    std::string id;
    Outcome outcome = Outcome::kStore;
    std::optional<VerifiedRecord> record;
    // What is wrong with an unsound chain (CheckChain's kind of fault); the handling rule a
    // violation broke.
    std::string chain_fault;
    std::string broken_rule;
  };

  // Decides on one received record that is not known here: valid, admitted by the inbound
  // policy, with a sound chain that respects its handling.
  void Check(Item& item) {
    CheckRecord(item);
    if (item.outcome == Outcome::kStore) CheckItemChain(item);
  }

  // The record's own checks: its author's signature, the validation rules, the inbound policy.
  void CheckRecord(Item& item) {
    const PeerRecord& r = *item.copy;
    absl::StatusOr<VerifiedRecord> record =
        ValidateRecord(r.signed_record(), context_.node().validation(), context_.node().Now());
    if (!record.ok()) {
      item.outcome = Outcome::kInvalid;
      return;
    }
    if (!ExplainInbound(inbound_, record->body, r.signed_record().size(), peer_.node_key(),
                        &context_.node().keys())
             .allowed) {
      item.outcome = Outcome::kInbound;
      return;
    }
    item.record = std::move(*record);
  }

  // The checks of a valid record's chain: sound, and respecting the record's handling.
  void CheckItemChain(Item& item) {
    absl::StatusOr<ChainVerdict> verdict =
        CheckChain(item.id, item.record->body, item.copy->chain(), self_, &context_.node().keys(),
                   nullptr, &context_.node().verified_batches(), &item.chain_fault);
    if (!verdict.ok()) {
      item.outcome = Outcome::kBadChain;
    } else if (verdict->violation) {
      item.outcome = Outcome::kViolation;
      item.broken_rule = std::move(verdict->rule);
    }
  }

  // A received batch between the reading thread, which sifts it, and the checker, which
  // checks, stores and counts it.
  struct Received {
    PeerMessage message;
    std::vector<Item> items;
    uint64_t paused_ms = 0;
  };

  // Sifts a batch and queues it for the checker, so that the next batch is read and sifted
  // while this one is checked. Known ids are dropped before any signature check.
  absl::Status Receive(PeerMessage m) {
    auto received = std::make_unique<Received>();
    received->message = std::move(m);
    const RecordBatch& batch = received->message.batch();
    received->items.resize(static_cast<std::size_t>(batch.records_size()));
    paused_ms_ = 0;
    if (absl::Status s = Sift(batch, received->items); !s.ok()) return s;
    received->paused_ms = paused_ms_;
    MutexLock lock(&mu_);
    mu_.Await(Condition(this, &Session::RoomToCheck));
    if (!check_failure_.ok()) return check_failure_;
    if (done_) return absl::CancelledError("the session is ending");
    to_check_.push_back(std::move(received));
    return absl::OkStatus();
  }

  // Checks the batches the reading thread queued, in order, until the session ends; a
  // failure ends the stream.
  void CheckLoop() {
    for (;;) {
      std::unique_ptr<Received> next;
      {
        MutexLock lock(&mu_);
        mu_.Await(Condition(this, &Session::DoneOrToCheck));
        if (done_) return;
        next = std::move(to_check_.front());
        to_check_.pop_front();
      }
      if (absl::Status s = CheckAndStore(*next); !s.ok()) {
        MutexLock lock(&mu_);
        check_failure_ = s;
        stream_.Cancel();
        return;
      }
    }
  }

  // Checks a sifted batch and hands what passes to the store without waiting for durability
  // (the acknowledger does); the signature checks run on the work pool.
  absl::Status CheckAndStore(Received& received) {
    std::vector<Item>& items = received.items;
    CheckAll(items);
    auto pending = std::make_shared<PendingBatch>();
    pending->through = received.message.batch().through_seq();
    pending->paused_ms = received.paused_ms;
    PeerCounters delta;
    std::vector<storage::Store::QueuedPut> puts;
    if (absl::Status s = Settle(items, pending, delta, puts); !s.ok()) return s;
    storage::Store& store = context_.node().store();
    // Offered to the other sessions, when there are any, while the commit is in flight.
    if (!puts.empty() && context_.LiveStreams() > 1) {
      std::vector<std::shared_ptr<const RelayedRecord>> relayed;
      relayed.reserve(puts.size());
      for (const storage::Store::QueuedPut& p : puts) {
        relayed.push_back(std::make_shared<const RelayedRecord>(p.record));
      }
      context_.relay().Offer(std::move(relayed));
      store.Wake();
    }
    store.PutAllAsync(std::move(puts));  // one group, one sync
    const int64_t now = delta.received > 0 ? context_.node().Now() : 0;
    Count([&](PeerCounters& c) {
      if (now > 0) c.last_received_ms = now;
      c.received += delta.received;
      c.duplicates += delta.duplicates;
      c.violations += delta.violations;
      for (const auto& [reason, n] : delta.refused) c.refused[reason] += n;
    });
    {
      MutexLock lock(&mu_);
      to_ack_.push_back(std::move(pending));
    }
    return absl::OkStatus();
  }

  // Takes each record of the batch at the inbound rate, and drops those that do not parse
  // or are held already, before any signature check.
  absl::Status Sift(const RecordBatch& batch, std::vector<Item>& items) {
    std::vector<std::string_view> ids;
    for (int i = 0; i < batch.records_size(); ++i) {
      if (context_.stopping()) return absl::CancelledError("the node is stopping");
      Admit();
      Item& item = items[static_cast<std::size_t>(i)];
      item.copy = &batch.records(i);
      Signed envelope;
      if (!envelope.ParseFromString(item.copy->signed_record())) {
        item.outcome = Outcome::kUnparsable;
        continue;
      }
      item.id = crypto::RecordId(envelope.payload());
    }
    // Which are held already: one read of the store for the batch.
    for (const Item& item : items) {
      if (item.outcome == Outcome::kStore) ids.push_back(item.id);
    }
    std::vector<absl::StatusOr<bool>> known = context_.node().store().ContainsMany(ids);
    std::size_t k = 0;
    for (Item& item : items) {
      if (item.outcome != Outcome::kStore) continue;
      if (known[k].ok() && *known[k]) item.outcome = Outcome::kDuplicate;
      ++k;
    }
    return absl::OkStatus();
  }

  // Every check of the records left, spread over the work pool.
  void CheckAll(std::vector<Item>& items) {
    // Every signature first, all at once: each record's author's, and each batch statement
    // the chains carry that is not known yet (the records share them). Then the chains, whose
    // statements are known by then.
    VerifiedBatches& batches = context_.node().verified_batches();
    std::vector<const CustodyChain*> chains;
    for (const Item& item : items) {
      if (item.outcome == Outcome::kStore) chains.push_back(&item.copy->chain());
    }
    // At most two per record plus a chain's worth: a batch of one at hop 7 has 7.
    const std::vector<const BatchInclusion*> statements =
        UncheckedBatchStatements(chains, batches, 2 * chains.size() + kDefaultMaxHops);
    context_.pool().Run(statements.size() + items.size(), [&](std::size_t i) {
      if (i < statements.size()) {
        CheckBatchStatement(*statements[i], batches);
      } else if (Item& item = items[i - statements.size()]; item.outcome == Outcome::kStore) {
        CheckRecord(item);
      }
    });
    context_.pool().Run(items.size(), [&](std::size_t i) {
      if (items[i].outcome == Outcome::kStore) CheckItemChain(items[i]);
    });
    // Key statements take effect at once. Another record of the same batch may depend on
    // one (a revocation signed by the key a rotation names, a hop sent by the new key) or be
    // forbidden by one (signed by the old key after the rotation): the batch is checked again.
    bool learned = false;
    for (Item& item : items) {
      if (item.outcome == Outcome::kStore && IsKeyStatement(item.record->body)) {
        context_.node().Learn(item.id, item.record->body);
        learned = true;
      }
    }
    if (learned) {
      for (Item& item : items) {
        if (item.outcome == Outcome::kDuplicate || item.outcome == Outcome::kUnparsable) continue;
        item.outcome = Outcome::kStore;
        item.record.reset();
        Check(item);
      }
    }
  }

  // What each record's outcome asks: its put (all in one group), kept evidence, counts.
  absl::Status Settle(std::vector<Item>& items, const std::shared_ptr<PendingBatch>& pending,
                      PeerCounters& delta, std::vector<storage::Store::QueuedPut>& puts) {
    storage::Store& store = context_.node().store();
    // A second copy of a record in the same batch is a duplicate, as it would be in the next.
    absl::flat_hash_set<std::string> stored_in_batch;
    for (Item& item : items) {
      if (item.outcome == Outcome::kStore && !stored_in_batch.insert(item.id).second) {
        item.outcome = Outcome::kDuplicate;
      }
      if (const char* reason = RefusalReason(item.outcome)) {
        // A batch hop's faults are counted each under its own name.
        const bool batch_fault = item.chain_fault.rfind("batch", 0) == 0;
        ++delta.refused[batch_fault ? StrCat(reason, ": ", item.chain_fault) : reason];
        continue;
      }
      switch (item.outcome) {
        case Outcome::kDuplicate:
          ++delta.duplicates;
          break;
        case Outcome::kViolation: {
          // Signed evidence of a broken handling rule: kept, never served as intelligence.
          absl::Status kept = store.PutAux(
              storage::kEvidence, storage::EvidenceKey(item.id, item.copy->chain().hops_size()),
              item.copy->SerializeAsString(), /*sync=*/false);
          if (!kept.ok()) return kept;
          ++delta.violations;
          const std::string hex = crypto::HexEncode(item.id);
          LogWarning(StrCat("peer ", peer_.name(), " sent record ", ShortId(item.id),
                            " with a custody chain that broke its handling (", item.broken_rule,
                            "); kept as evidence, not stored as intelligence"),
                     {.peer = peer_.name(), .record = hex});
          break;
        }
        case Outcome::kStore: {
          {
            MutexLock lock(&pending->mu);
            ++pending->pending;
          }
          const CustodyChain& chain = item.copy->chain();
          from_peer_.Add(item.id);
          puts.push_back(storage::Store::QueuedPut{
              storage::RecordToStore{std::move(item.id), std::move(item.record->signed_bytes),
                                     std::move(item.record->body),
                                     chain.hops_size() > 0 ? chain : CustodyChain()},
              [pending](absl::StatusOr<uint64_t> seq) {
                MutexLock lock(&pending->mu);
                if (!seq.ok() && !absl::IsAlreadyExists(seq.status())) {
                  pending->failure = seq.status();
                }
                --pending->pending;
              }});
          ++delta.received;
          break;
        }
        default:  // refusals, counted above
          break;
      }
    }
    return absl::OkStatus();
  }

  // Acknowledges received batches in order, each once its records are durable: moves the
  // cursor held for the peer, then tells it (with any pause the rate limit asks for). A
  // failed put ends the stream without moving the cursor, so the batch comes again.
  void AckLoop() {
    storage::Store& store = context_.node().store();
    for (;;) {
      std::shared_ptr<PendingBatch> next;
      {
        MutexLock lock(&mu_);
        // Also the session's watchdog: a peer that stays silent past the timeout is cut off
        // (this ends a read or write blocked on it, too).
        while (!mu_.AwaitWithTimeout(Condition(this, &Session::DoneOrToAck),
                                     absl::FromChrono(kPoll))) {
          const auto since = std::chrono::steady_clock::now().time_since_epoch() -
                             std::chrono::steady_clock::duration(last_read_.load());
          if (since > context_.peer_timeout()) {
            silent_ = true;
            stream_.Cancel();
            return;
          }
        }
        if (to_ack_.empty()) return;  // done_
        next = to_ack_.front();
      }
      absl::Status failure;
      {
        MutexLock lock(&next->mu);
        next->mu.Await(Condition(next.get(), &PendingBatch::Settled));
        failure = next->failure;
      }
      // The records are durable (synced); the cursor needs no sync of its own: it can only
      // be lost together with what follows it in the write-ahead log, and a lost cursor
      // costs duplicates, which are dropped by id.
      if (failure.ok()) {
        failure = store.PutAux(storage::kPeers, storage::PeerCursorKey(peer_.name()),
                               storage::EncodeSeq(next->through), /*sync=*/false);
      }
      PeerMessage ack;
      ack.mutable_ack()->set_cursor(next->through);
      ack.mutable_ack()->set_pause_ms(
          static_cast<uint32_t>(std::min<uint64_t>(next->paused_ms, UINT32_MAX)));
      if (!failure.ok() || !writer_.Write(ack)) {
        if (!failure.ok()) {
          Count([&](PeerCounters& c) { c.last_error = std::string(failure.message()); });
        }
        stream_.Cancel();
        MutexLock lock(&mu_);
        to_ack_.clear();
        return;
      }
      MutexLock lock(&mu_);
      to_ack_.pop_front();
    }
  }

  // Streams this node's log from `from` (exclusive) on, forever; once every log entry is
  // sent, also what the node's other sessions are committing (node/mesh/relay.h).
  void SendLoop(uint64_t from) {
    storage::Store& store = context_.node().store();
    pos_ = told_ = from;
    last_write_ = std::chrono::steady_clock::now();
    relay_cursor_ = context_.relay().head().load();
    while (!context_.stopping()) {
      if (!AwaitRoom()) return;
      if (store.NextSeq() <= pos_ + 1) {
        const Step relayed = SendRelayed();
        if (relayed == Step::kFailed) return;
        if (relayed == Step::kTook) continue;
        if (!store.WaitForSeqOr(pos_ + 1, kPoll, context_.relay().head(), relay_cursor_)) {
          if (context_.relay().head().load() != relay_cursor_) continue;
          if (!WhileIdle()) return;
          continue;
        }
      }
      // Whatever was offered for relaying until now reaches this session through the log.
      relay_cursor_ = context_.relay().head().load();
      if (!SendFromLog()) return;
    }
  }

  // Waits until the window has room and the peer's pause is over; false once done.
  bool AwaitRoom() {
    MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(Condition(this, &Session::DoneOrRoom), absl::FromChrono(kPoll))) {
      if (context_.stopping()) return false;
    }
    if (done_) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now < resume_at_) {
      mu_.AwaitWithTimeout(Condition(&done_), absl::FromChrono(resume_at_ - now));
    }
    return !done_;
  }

  // With nothing to send: tells the peer about entries passed over, or keeps the stream
  // alive. False when the stream failed.
  bool WhileIdle() {
    const auto quiet = std::chrono::steady_clock::now() - last_write_;
    if (pos_ > told_ && quiet > kTellSkippedEvery) {
      // Entries passed over (none for this peer): move its cursor now that all is quiet.
      PeerMessage m;
      m.mutable_batch()->set_through_seq(pos_);
      return Send(m, {});
    }
    if (quiet > context_.peer_timeout() / 3) {
      PeerMessage keepalive;
      keepalive.mutable_keepalive();
      if (!writer_.Write(keepalive)) return false;
      last_write_ = std::chrono::steady_clock::now();
    }
    return true;
  }

  // Sends the next page of the log; false when the stream failed.
  bool SendFromLog() {
    absl::StatusOr<storage::LogPage> page =
        context_.node().store().ReadLog(pos_ + 1, kBatchRecords);
    if (!page.ok() || page->entries.empty()) return true;
    PeerMessage m;
    RecordBatch* batch = m.mutable_batch();
    std::vector<std::string> ids;
    for (const storage::LogEntry& e : page->entries) {
      pos_ = e.seq;
      if (early_.erase(e.id) > 0) continue;  // sent before its commit
      // What the peer sent here never goes back to it (it is in the chain): not even read.
      if (from_peer_.Contains(e.id)) continue;
      if (std::optional<PeerRecord> r = Outgoing(e)) {
        *batch->add_records() = std::move(*r);
        ids.push_back(e.id);
      }
    }
    // A batch with nothing for the peer only moves its cursor: that can wait for a quiet
    // moment (WhileIdle) or for a page's worth, which saves both sides a message per record
    // that is not for the peer (such as the records it sent here).
    if (ids.empty() && pos_ - told_ < kBatchRecords) return true;
    return Send(m, ids);
  }

  // What took records from the relay queue did.
  enum class Step { kNothing, kTook, kFailed };

  // Sends the records other sessions checked and are committing, unless stored already (the
  // log brings those). Their batch moves the peer's cursor no further: their log entries,
  // skipped later, do.
  Step SendRelayed() {
    std::vector<std::shared_ptr<const RelayedRecord>> taken =
        context_.relay().Take(&relay_cursor_, kBatchRecords);
    if (taken.empty()) return Step::kNothing;
    std::vector<std::string_view> ids;
    for (const auto& r : taken) ids.push_back(r->id);
    std::vector<absl::StatusOr<bool>> stored = context_.node().store().ContainsMany(ids);
    PeerMessage m;
    std::vector<std::string> sent;
    for (std::size_t i = 0; i < taken.size(); ++i) {
      const RelayedRecord& r = *taken[i];
      if (!stored[i].ok() || *stored[i] || early_.contains(r.id)) continue;
      if (!Passes(r.id, r.body, r.chain)) continue;
      PeerRecord* out = m.mutable_batch()->add_records();
      out->set_signed_record(r.signed_bytes);
      *out->mutable_chain() = r.chain;
      sent.push_back(r.id);
      early_.insert(r.id);
    }
    if (sent.empty()) return Step::kTook;
    // Bounded: an id whose commit failed never shows in the log; forgetting costs at most a
    // duplicate, which the peer drops by id.
    if (early_.size() > kMaxEarly) early_.clear();
    if (!Send(m, sent)) return Step::kFailed;
    Count([n = sent.size()](PeerCounters& c) { c.sent_early += n; });
    return Step::kTook;
  }

  // Signs the hops of batch `m` (one signature for all: docs/FORMAT.md, "Batch hops"), sets
  // its through_seq to the current position and sends it, counted in the window until
  // acknowledged. `ids`: its records' ids, in order.
  bool Send(PeerMessage& m, const std::vector<std::string>& ids) {
    RecordBatch* batch = m.mutable_batch();
    if (!ids.empty()) {
      std::vector<BatchHop> hops;
      hops.reserve(ids.size());
      for (int i = 0; i < batch->records_size(); ++i) {
        hops.push_back({batch->mutable_records(i)->mutable_chain(), ids[i]});
      }
      SignHopBatch(hops, context_.node().key(), peer_.node_key(), context_.node().Now(),
                   outbound_.name);
    }
    batch->set_through_seq(pos_);
    {
      MutexLock lock(&mu_);
      unacked_.push_back(pos_);
      ++in_flight_;
    }
    if (!writer_.Write(m)) return false;
    told_ = pos_;
    last_write_ = std::chrono::steady_clock::now();
    if (!ids.empty()) Count([n = ids.size()](PeerCounters& c) { c.sent += n; });
    return true;
  }

  // The record at log entry `e` as sent to this peer (its chain still without the hop to the
  // peer, which the batch signs), or nothing when it is not for it.
  std::optional<PeerRecord> Outgoing(const storage::LogEntry& e) {
    storage::Store& store = context_.node().store();
    absl::StatusOr<std::string> bytes = store.Get(e.id);
    absl::StatusOr<CustodyChains> chains = store.GetCustody(e.id);
    Signed envelope;
    RecordBody body;
    if (!bytes.ok() || !chains.ok() || chains->chains_size() == 0 ||
        !envelope.ParseFromString(*bytes) || !body.ParseFromString(envelope.payload()) ||
        !Passes(e.id, body, chains->chains(0))) {
      return std::nullopt;
    }
    PeerRecord r;
    r.set_signed_record(std::move(*bytes));
    *r.mutable_chain() = std::move(*chains->mutable_chains(0));
    r.set_seq(e.seq);
    return r;
  }

  // Whether record `id` with this chain (as stored here) goes to this peer.
  bool Passes(const std::string& id, const RecordBody& body, const CustodyChain& chain) {
    if (!ExplainOutbound(outbound_, body, chain, self_, peer_.node_key(), &context_.node().keys())
             .allowed) {
      return false;
    }
    // The peer authored it under a key it has since rotated away from.
    if (context_.node().keys().Succeeds(body.author(), peer_.node_key())) return false;
    // A record its author withdrew (retracted or superseded) is not passed on; the
    // retraction or the newer version travels instead.
    absl::StatusOr<LocalNode::Withdrawal> withdrawn = context_.node().WithdrawnBy(id, body);
    return withdrawn.ok() && !withdrawn->any();
  }

  ExchangeContext& context_;
  PeerStream& stream_;
  Writer writer_;
  const PeerConfig peer_;
  std::string self_;
  const OutboundPolicy outbound_;
  const InboundPolicy inbound_;
  // The inbound rate limit's bucket; reader thread only.
  double tokens_ = 0;
  std::chrono::steady_clock::time_point refilled_ = std::chrono::steady_clock::now();
  uint64_t paused_ms_ = 0;
  // When the last message came (steady clock ticks), and whether the watchdog cut the
  // peer off for its silence.
  std::atomic<std::chrono::steady_clock::rep> last_read_{
      std::chrono::steady_clock::now().time_since_epoch().count()};
  std::atomic<bool> silent_{false};
  // This stream replays both logs from the start ('peers resync').
  bool resync_ = false;
  // The sender thread's: the last log position sent or passed over, the through_seq of the
  // last batch sent, when it was sent, the relay queue's position, and the ids sent from
  // the relay queue whose log entries have not come yet.
  uint64_t pos_ = 0;
  uint64_t told_ = 0;
  std::chrono::steady_clock::time_point last_write_;
  uint64_t relay_cursor_ = 0;
  absl::flat_hash_set<std::string> early_;
  // The ids of the latest records this session stored from its peer (checker thread adds,
  // sender thread asks).
  BoundedSet from_peer_{65536};
  bool DoneOrToAck() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_ || !to_ack_.empty(); }
  bool DoneOrToCheck() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_ || !to_check_.empty(); }
  bool RoomToCheck() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return done_ || !check_failure_.ok() || to_check_.size() < kChecking;
  }
  bool DoneOrRoom() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_ || in_flight_ < kWindow; }

  Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t acked_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<uint64_t> unacked_ ABSL_GUARDED_BY(mu_);  // through_seq of each batch not acked
  // Batches received, not yet acknowledged.
  std::deque<std::shared_ptr<PendingBatch>> to_ack_ ABSL_GUARDED_BY(mu_);
  // Batches sifted, waiting for the checker; why the checker stopped, if it failed.
  std::deque<std::unique_ptr<Received>> to_check_ ABSL_GUARDED_BY(mu_);
  absl::Status check_failure_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::chrono::steady_clock::time_point resume_at_ ABSL_GUARDED_BY(mu_);
  // Last: they use everything above until Run joins them.
  std::thread sender_;
  std::thread acker_;
  std::thread checker_;
};

}  // namespace

PeerMessage GoodbyeFor(const absl::Status& s) {
  PeerMessage m;
  m.mutable_goodbye()->set_code(static_cast<int>(s.code()));
  m.mutable_goodbye()->set_reason(std::string(s.message()));
  return m;
}

absl::Status RunSession(ExchangeContext& context, PeerStream& stream, const PeerConfig& peer,
                        const OutboundPolicy& outbound, const InboundPolicy& inbound) {
  Session session(context, stream, peer, outbound, inbound);
  return session.Run();
}

}  // namespace threatmesh
