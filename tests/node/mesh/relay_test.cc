// The relay queue: what a session offers reaches every taker once, in order, and a taker too
// far behind skips what was overwritten (the log brings it).
#include "node/mesh/relay.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace threatmesh {
namespace {

std::vector<std::shared_ptr<const RelayedRecord>> Records(int from, int to) {
  std::vector<std::shared_ptr<const RelayedRecord>> out;
  for (int i = from; i < to; ++i) {
    auto r = std::make_shared<RelayedRecord>();
    r->id = std::to_string(i);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<std::string> Ids(const std::vector<std::shared_ptr<const RelayedRecord>>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r->id);
  return out;
}

TEST(RelayQueueTest, EachTakerGetsEachRecordOnceInOrder) {
  RelayQueue queue(8);
  uint64_t first = queue.head().load(), second = queue.head().load();
  EXPECT_EQ(queue.Offer(Records(0, 3)), 3u);
  EXPECT_EQ(Ids(queue.Take(&first, 2)), (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(Ids(queue.Take(&first, 10)), (std::vector<std::string>{"2"}));
  EXPECT_TRUE(queue.Take(&first, 10).empty());
  EXPECT_EQ(first, 3u);
  queue.Offer(Records(3, 5));
  EXPECT_EQ(Ids(queue.Take(&second, 10)), (std::vector<std::string>{"0", "1", "2", "3", "4"}));
  EXPECT_EQ(Ids(queue.Take(&first, 10)), (std::vector<std::string>{"3", "4"}));
  // A taker that starts now sees only what comes next.
  uint64_t late = queue.head().load();
  queue.Offer(Records(5, 6));
  EXPECT_EQ(Ids(queue.Take(&late, 10)), (std::vector<std::string>{"5"}));
}

TEST(RelayQueueTest, ATakerTooFarBehindSkipsWhatWasOverwritten) {
  RelayQueue queue(4);
  uint64_t cursor = 0;
  queue.Offer(Records(0, 10));
  EXPECT_EQ(Ids(queue.Take(&cursor, 100)), (std::vector<std::string>{"6", "7", "8", "9"}));
  EXPECT_EQ(cursor, 10u);
}

}  // namespace
}  // namespace threatmesh
