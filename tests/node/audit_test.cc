#include "node/audit.h"

#include <gtest/gtest.h>

#include <functional>

#include "crypto/hash.h"
#include "node/proof/audit_trail.h"
#include "testing/test_util.h"

namespace threatmesh {
namespace {

using v1::AuditEntry;
using v1::Signed;
using v1::StoredAuditEntry;

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions options;
    options.create_if_missing = true;
    store_ = std::move(*storage::Store::Open(dir_.Sub("store"), options));
    log_ = std::move(*AuditLog::Open(*store_, key_, [this] { return ++now_; }));
  }

  void AppendCalls(int n) {
    for (int i = 0; i < n; ++i) {
      AuditEntry e;
      e.set_who("analyst");
      e.set_method("/threatmesh.v1.Records/Search");
      e.set_params("tag=t" + std::to_string(i));
      ASSERT_TRUE(log_->Append(e).ok());
    }
  }

  struct Trail {
    std::vector<StoredAuditEntry> entries;
    std::vector<Signed> checkpoints;
  };
  Trail Read() {
    absl::StatusOr<v1::ReadAuditResponse> r = log_->Read(1, 1000);
    EXPECT_TRUE(r.ok()) << r.status();
    return {{r->entries().begin(), r->entries().end()},
            {r->checkpoints().begin(), r->checkpoints().end()}};
  }

  testing::TempDir dir_;
  crypto::KeyPair key_ = crypto::KeyPair::Generate();
  int64_t now_ = testing::kTestNowMs;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditTest, ChainVerifiesAndContinuesAfterReopen) {
  AppendCalls(5);
  ASSERT_TRUE(log_->Checkpoint().ok());
  AppendCalls(2);
  uint64_t unsealed = 99;
  Trail t = Read();
  ASSERT_EQ(t.entries.size(), 7u);
  ASSERT_EQ(t.checkpoints.size(), 1u);
  EXPECT_TRUE(VerifyAuditTrail(t.entries, t.checkpoints, key_.public_key(), &unsealed).ok());
  EXPECT_EQ(unsealed, 2u);

  log_ = std::move(*AuditLog::Open(*store_, key_, [this] { return ++now_; }));
  EXPECT_EQ(log_->Count(), 7u);
  AppendCalls(1);
  ASSERT_TRUE(log_->Checkpoint().ok());
  ASSERT_TRUE(log_->Checkpoint().ok());  // nothing new: no second checkpoint
  t = Read();
  EXPECT_EQ(t.checkpoints.size(), 2u);
  EXPECT_TRUE(VerifyAuditTrail(t.entries, t.checkpoints, key_.public_key(), &unsealed).ok());
  EXPECT_EQ(unsealed, 0u);
  AuditEntry first;
  ASSERT_TRUE(first.ParseFromString(t.entries[0].entry()));
  EXPECT_EQ(first.prev_hash(), std::string(32, '\0'));
  EXPECT_EQ(first.at(), testing::kTestNowMs + 1);
}

TEST_F(AuditTest, VerifyNamesEveryKindOfTampering) {
  AppendCalls(6);
  ASSERT_TRUE(log_->Checkpoint().ok());
  const Trail good = Read();
  auto alter = [](StoredAuditEntry& e) {
    AuditEntry parsed;
    parsed.ParseFromString(e.entry());
    parsed.set_params("tag=innocent");
    e.set_entry(parsed.SerializeAsString());
  };
  struct Case {
    std::string name;
    std::function<void(Trail&)> tamper;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"altered middle", [&](Trail& t) { alter(t.entries[2]); }, "audit entry 3 was altered"},
      {"altered last, sealed", [&](Trail& t) { alter(t.entries[5]); },
       "audit entry 6 was altered: it does not match the signed checkpoint"},
      {"garbage", [](Trail& t) { t.entries[1].set_entry("\xff\xff\xff"); },
       "audit entry 2 was altered: it no longer parses"},
      {"removed middle", [](Trail& t) { t.entries.erase(t.entries.begin() + 3); },
       "audit entries 4 to 4 were removed"},
      {"removed first", [](Trail& t) { t.entries.erase(t.entries.begin()); },
       "audit entries 1 to 1 were removed"},
      {"removed tail", [](Trail& t) { t.entries.resize(4); }, "audit entries 5 to 6 were removed"},
      {"swapped",
       [](Trail& t) { std::swap(*t.entries[1].mutable_entry(), *t.entries[2].mutable_entry()); },
       "audit entry 2 was moved"},
      {"forged checkpoint", [](Trail& t) { t.checkpoints[0].mutable_signature()->at(0) ^= 1; },
       "checkpoint does not carry a valid signature"},
  };
  for (const Case& c : cases) {
    Trail t = good;
    c.tamper(t);
    absl::Status s = VerifyAuditTrail(t.entries, t.checkpoints, key_.public_key());
    EXPECT_TRUE(absl::IsDataLoss(s)) << c.name << ": " << s;
    EXPECT_NE(s.message().find(c.want), std::string::npos) << c.name << ": " << s;
  }
  // Another node's key does not verify the checkpoints.
  EXPECT_FALSE(
      VerifyAuditTrail(good.entries, good.checkpoints, crypto::KeyPair::Generate().public_key())
          .ok());
}

}  // namespace
}  // namespace threatmesh
