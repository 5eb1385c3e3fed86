// A full disk: puts fail with a clear ResourceExhausted, nothing acknowledged is lost,
// writing resumes by itself once space is freed, and a restart finds everything. Needs root to
// mount a small tmpfs; skipped otherwise.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "storage/store.h"
#include "testing/test_util.h"

namespace threatmesh::storage {
namespace {

class SmallDisk {
 public:
  explicit SmallDisk(const std::string& path) : path_(path) {
    std::filesystem::create_directories(path_);
    mounted_ = ::mount("tmpfs", path_.c_str(), "tmpfs", 0, "size=6m") == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  bool Grow() { return ::mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT, "size=512m") == 0; }

 private:
  std::string path_;
  bool mounted_ = false;
};

TEST(StoreDiskFullTest, FullDiskIsReportedAndLosesNothing) {
  testing::TempDir dir;
  SmallDisk disk(dir.Sub("disk"));
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (not root?)";
  const std::string path = dir.Sub("disk") + "/store";
  StoreOptions options;
  options.create_if_missing = true;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path, options);
  ASSERT_TRUE(store.ok()) << store.status();

  crypto::KeyPair key = crypto::KeyPair::Generate();
  std::vector<std::string> acknowledged;
  absl::Status failure;
  for (int i = 0; i < 200000 && failure.ok(); ++i) {
    threatmesh::v1::RecordBody body = testing::IndicatorBody(
        key, threatmesh::v1::INDICATOR_TYPE_DOMAIN, "h" + std::to_string(i) + ".full.example");
    body.mutable_indicator()->set_description(std::string(2000, 'x'));
    RecordToStore record = testing::ToStore(body, key);
    std::string id = record.id;
    absl::StatusOr<uint64_t> seq = (*store)->Put(std::move(record));
    if (seq.ok()) {
      acknowledged.push_back(id);
    } else {
      failure = seq.status();
    }
  }
  ASSERT_FALSE(failure.ok()) << "the disk never filled";
  EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted) << failure;
  EXPECT_NE(failure.message().find("disk is full"), std::string::npos) << failure;
  ASSERT_FALSE(acknowledged.empty());
  for (const std::string& id : acknowledged) EXPECT_TRUE(*(*store)->Contains(id));

  // Once space is freed, writing resumes by itself: RocksDB polls the free space (every
  // few seconds; it wants one write buffer, 64 MiB, free) and the writer then resumes.
  ASSERT_TRUE(disk.Grow());
  threatmesh::v1::RecordBody after =
      testing::IndicatorBody(key, threatmesh::v1::INDICATOR_TYPE_DOMAIN, "after.full.example");
  absl::StatusOr<uint64_t> resumed = absl::UnavailableError("not tried");
  for (int attempt = 0; attempt < 300 && !resumed.ok(); ++attempt) {  // 30 s at most
    resumed = (*store)->Put(testing::ToStore(after, key));
    if (!resumed.ok()) {
      EXPECT_NE(resumed.status().message().find("free disk space"), std::string::npos)
          << resumed.status();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(resumed.ok()) << resumed.status();
  for (const std::string& id : acknowledged) EXPECT_TRUE(*(*store)->Contains(id));
  store->reset();
  absl::StatusOr<std::unique_ptr<Store>> reopened = Store::Open(path, {});
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  for (const std::string& id : acknowledged) {
    ASSERT_TRUE(*(*reopened)->Contains(id)) << "acknowledged record lost";
  }
  absl::StatusOr<uint64_t> seq = (*reopened)->Put(testing::ToStore(after, key));
  EXPECT_TRUE(seq.ok() || absl::IsAlreadyExists(seq.status())) << seq.status();
  EXPECT_TRUE(*(*reopened)->Contains(testing::ToStore(after, key).id));
  // The change feed has no gap where the failed writes were.
  absl::StatusOr<LogPage> log = (*reopened)->ReadLog(1, kMaxLimit);
  ASSERT_TRUE(log.ok());
  for (std::size_t i = 0; i < log->entries.size(); ++i) EXPECT_EQ(log->entries[i].seq, i + 1);
}

}  // namespace
}  // namespace threatmesh::storage
