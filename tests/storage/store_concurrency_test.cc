// Several threads putting distinct and duplicate records at once.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "storage/store.h"
#include "testing/test_util.h"

namespace threatmesh::storage {
namespace {

TEST(StoreConcurrencyTest, EachIdStoredOnceAndTheFeedIsGapFree) {
  testing::TempDir dir;
  StoreOptions options;
  options.create_if_missing = true;
  absl::StatusOr<std::unique_ptr<Store>> opened = Store::Open(dir.Sub("s"), options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  Store& store = **opened;

  constexpr int kThreads = 8;
  constexpr int kDistinct = 800;  // each thread owns kDistinct / kThreads of these
  constexpr int kShared = 100;    // every thread puts all of these
  crypto::KeyPair key = crypto::KeyPair::Generate();
  std::vector<RecordToStore> records;
  for (int i = 0; i < kDistinct + kShared; ++i) {
    records.push_back(
        testing::ToStore(testing::IndicatorBody(key, threatmesh::v1::INDICATOR_TYPE_DOMAIN,
                                                "host" + std::to_string(i) + ".example.com"),
                         key));
  }

  std::mutex mu;
  std::map<std::string, int> stored_by_id;  // id -> successful puts
  std::set<uint64_t> seqs;
  std::atomic<int> duplicates{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kDistinct + kShared; ++i) {
        const bool mine = i < kDistinct ? i % kThreads == t : true;
        if (!mine) continue;
        absl::StatusOr<uint64_t> seq = store.Put(records[i]);
        if (seq.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          ++stored_by_id[records[i].id];
          seqs.insert(*seq);
        } else if (absl::IsAlreadyExists(seq.status())) {
          ++duplicates;
        } else {
          ++errors;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();

  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(stored_by_id.size(), static_cast<std::size_t>(kDistinct + kShared));
  for (const auto& [id, n] : stored_by_id) EXPECT_EQ(n, 1);
  EXPECT_EQ(duplicates.load(), kShared * (kThreads - 1));
  // Sequences returned are exactly 1..N, and the feed holds each id once, in that order.
  ASSERT_EQ(seqs.size(), static_cast<std::size_t>(kDistinct + kShared));
  EXPECT_EQ(*seqs.begin(), 1u);
  EXPECT_EQ(*seqs.rbegin(), static_cast<uint64_t>(kDistinct + kShared));
  absl::StatusOr<LogPage> log = store.ReadLog(1, kMaxLimit);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->entries.size(), static_cast<std::size_t>(kDistinct + kShared));
  std::set<std::string> feed_ids;
  for (std::size_t i = 0; i < log->entries.size(); ++i) {
    EXPECT_EQ(log->entries[i].seq, i + 1);
    feed_ids.insert(log->entries[i].id);
  }
  EXPECT_EQ(feed_ids.size(), log->entries.size());
  EXPECT_EQ(store.NextSeq(), static_cast<uint64_t>(kDistinct + kShared + 1));
}

TEST(StoreConcurrencyTest, AsyncPutsAreAllAnsweredAndClosingFinishesThem) {
  testing::TempDir dir;
  StoreOptions options;
  options.create_if_missing = true;
  crypto::KeyPair key = crypto::KeyPair::Generate();
  constexpr int kRecords = 1000;
  std::vector<RecordToStore> records;
  for (int i = 0; i < kRecords; ++i) {
    records.push_back(testing::ToStore(
        testing::IndicatorBody(key, threatmesh::v1::INDICATOR_TYPE_IPV4,
                               "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256)),
        key));
  }
  std::atomic<int> stored{0}, duplicates{0}, other{0};
  auto count = [&](absl::StatusOr<uint64_t> r) {
    if (r.ok()) {
      ++stored;
    } else if (absl::IsAlreadyExists(r.status())) {
      ++duplicates;
    } else {
      ++other;
    }
  };
  {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir.Sub("s"), options);
    ASSERT_TRUE(store.ok()) << store.status();
    for (const RecordToStore& r : records) (*store)->PutAsync(r, count);
    for (int i = 0; i < 100; ++i) (*store)->PutAsync(records[i], count);
    // Closing the store right away must still answer and commit every queued put.
  }
  EXPECT_EQ(stored.load(), kRecords);
  EXPECT_EQ(duplicates.load(), 100);
  EXPECT_EQ(other.load(), 0);
  absl::StatusOr<std::unique_ptr<Store>> reopened = Store::Open(dir.Sub("s"), {});
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->NextSeq(), static_cast<uint64_t>(kRecords + 1));
  for (const RecordToStore& r : records) EXPECT_TRUE(*(*reopened)->Contains(r.id));
}

}  // namespace
}  // namespace threatmesh::storage
