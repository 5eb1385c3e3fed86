// Crash safety: a writer process is killed with SIGKILL in the middle of a stream of puts;
// every acknowledged put must survive, and every record present must have all its entries.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>

#include "crypto/encoding.h"
#include "storage/store.h"
#include "testing/test_util.h"

namespace threatmesh::storage {
namespace {

using threatmesh::v1::RecordBody;

constexpr int kWriterThreads = 4;
constexpr int kMaxPutsPerThread = 20000;  // bound on the child's loop
constexpr std::size_t kAcksBeforeKill = 400;

// Runs in the child: puts records from several threads and reports each acknowledged id
// (32 bytes, one atomic pipe write) on `fd`. Never returns.
[[noreturn]] void WriterProcess(const std::string& dir, int round, int fd) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir, {});
  if (!store.ok()) _exit(3);
  crypto::KeyPair key = crypto::KeyPair::Generate();
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriterThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kMaxPutsPerThread; ++i) {
        RecordBody body =
            testing::IndicatorBody(key, threatmesh::v1::INDICATOR_TYPE_DOMAIN,
                                   "r" + std::to_string(round) + "-t" + std::to_string(t) + "-" +
                                       std::to_string(i) + ".crash.example");
        body.add_labels("crash");
        RecordToStore record = testing::ToStore(body, key);
        const std::string id = record.id;
        absl::StatusOr<uint64_t> seq = (*store)->Put(std::move(record));
        if (!seq.ok()) _exit(4);
        if (write(fd, id.data(), id.size()) != static_cast<ssize_t>(id.size())) _exit(5);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  _exit(0);
}

// Runs a writer process for `round` on the store at `path` and kills it with SIGKILL after
// kAcksBeforeKill acknowledged puts; adds every id it acknowledged to `acknowledged`.
void KillAWriter(const std::string& path, int round, std::set<std::string>* acknowledged) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    WriterProcess(path, round, fds[1]);
  }
  close(fds[1]);
  std::size_t acks_this_round = 0;
  char buf[32];
  while (acks_this_round < kAcksBeforeKill) {
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n != static_cast<ssize_t>(sizeof buf)) break;
    acknowledged->insert(std::string(buf, sizeof buf));
    ++acks_this_round;
  }
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  // Acks already in the pipe were acknowledged before the kill; collect them too.
  for (;;) {
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n != static_cast<ssize_t>(sizeof buf)) break;
    acknowledged->insert(std::string(buf, sizeof buf));
  }
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status))
      << "writer ended by itself (status " << status << ") before it was killed";
  ASSERT_EQ(acks_this_round, kAcksBeforeKill);
}

// Every record in the feed is complete: record, custody and every index entry.
void ExpectEveryRecordComplete(Store& store, std::size_t acknowledged) {
  absl::StatusOr<LogPage> log = store.ReadLog(1, kMaxLimit);
  ASSERT_TRUE(log.ok());
  ASSERT_GE(log->entries.size(), acknowledged);
  std::set<std::string> tagged;
  PageRequest page{kMaxLimit, ""};
  for (;;) {
    absl::StatusOr<Page> p = store.FindByTag("crash", page);
    ASSERT_TRUE(p.ok());
    tagged.insert(p->ids.begin(), p->ids.end());
    if (p->next_token.empty()) break;
    page.token = p->next_token;
  }
  EXPECT_EQ(tagged.size(), log->entries.size());
  for (std::size_t i = 0; i < log->entries.size(); ++i) {
    const LogEntry& e = log->entries[i];
    ASSERT_EQ(e.seq, i + 1) << "gap in the change feed";
    absl::StatusOr<std::string> bytes = store.Get(e.id);
    ASSERT_TRUE(bytes.ok()) << "log entry without its record";
    ASSERT_TRUE(store.GetCustody(e.id).ok()) << "record without custody";
    threatmesh::v1::Signed envelope;
    RecordBody body;
    ASSERT_TRUE(envelope.ParseFromString(*bytes) && body.ParseFromString(envelope.payload()));
    absl::StatusOr<Page> exact =
        store.FindIndicator(body.indicator().type(), body.indicator().value(), {});
    ASSERT_TRUE(exact.ok());
    EXPECT_EQ(exact->ids, std::vector<std::string>{e.id}) << "missing indicator entry";
    absl::StatusOr<Page> suffix = store.FindDomainSuffix(body.indicator().value(), {});
    ASSERT_TRUE(suffix.ok());
    EXPECT_EQ(suffix->ids, std::vector<std::string>{e.id}) << "missing domain entry";
    EXPECT_TRUE(tagged.count(e.id)) << "missing tag entry";
  }
  absl::StatusOr<Page> kinds = store.FindByKind(RecordKind::kIndicator, {kMaxLimit, ""});
  ASSERT_TRUE(kinds.ok());
  EXPECT_EQ(kinds->ids.size(), log->entries.size());
}

TEST(StoreCrashTest, AcknowledgedPutsSurviveSigkill) {
  testing::TempDir dir;
  const std::string path = dir.Sub("s");
  {
    StoreOptions options;
    options.create_if_missing = true;
    ASSERT_TRUE(Store::Open(path, options).ok());
  }
  std::set<std::string> acknowledged;
  for (int round = 0; round < 3; ++round) {
    ASSERT_NO_FATAL_FAILURE(KillAWriter(path, round, &acknowledged));
    absl::StatusOr<std::unique_ptr<Store>> opened = Store::Open(path, {});
    ASSERT_TRUE(opened.ok()) << "round " << round << ": " << opened.status();
    Store& store = **opened;
    for (const std::string& id : acknowledged) {
      ASSERT_TRUE(*store.Contains(id))
          << "acknowledged record " << crypto::HexEncode(id) << " lost in round " << round;
    }
    ASSERT_NO_FATAL_FAILURE(ExpectEveryRecordComplete(store, acknowledged.size()))
        << "round " << round;
  }
}

}  // namespace
}  // namespace threatmesh::storage
