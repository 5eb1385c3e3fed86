#include "node/core/key_table.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "crypto/hash.h"
#include "crypto/key_file.h"
#include "node/core/custody.h"
#include "node/core/record_builder.h"
#include "node/core/validate.h"
#include "node/local_node.h"
#include "testing/test_util.h"

namespace threatmesh {
namespace {

using v1::CustodyChain;
using v1::RecordBody;
using v1::Signed;

constexpr int64_t kT = testing::kTestNowMs - 60000;  // when key a rotates to key b

class KeyTableTest : public ::testing::Test {
 protected:
  crypto::KeyPair a_ = crypto::KeyPair::Generate(), b_ = crypto::KeyPair::Generate(),
                  c_ = crypto::KeyPair::Generate(), stranger_ = crypto::KeyPair::Generate();
  static std::string Bytes(const crypto::KeyPair& k) { return std::string(k.public_key().bytes()); }

  // Validates `sealed` against `table` (or none) and, when it passes, takes it into `table`.
  absl::Status Take(KeyTable* table, const std::string& sealed) {
    ValidationOptions options;
    options.keys = table;
    absl::StatusOr<VerifiedRecord> r = ValidateRecord(sealed, options, testing::kTestNowMs);
    if (!r.ok()) return r.status();
    return table != nullptr ? table->Add(r->id, r->body) : absl::OkStatus();
  }
  std::string Id(const std::string& sealed) {
    Signed s;
    s.ParseFromString(sealed);
    return crypto::RecordId(s.payload());
  }
  // An indicator by `key` dated `at`.
  std::string Indicator(const crypto::KeyPair& key, int64_t at) {
    RecordBody body =
        testing::IndicatorBody(key, v1::INDICATOR_TYPE_DOMAIN, "c2.evil-example.com", at);
    body.set_tlp(v1::TLP_GREEN);
    body.mutable_handling()->set_may_relay(true);
    return SealRecord(body, key);
  }
};

// Each statement's own rules, with and without what the table knows (a -> b known).
TEST_F(KeyTableTest, StatementsAreCheckedOnTheirOwnAndAgainstTheTable) {
  struct Case {
    const char* name;
    std::function<std::string()> make;
    bool with_table;
    const char* refusal;  // nullptr: accepted
  };
  auto edited_rotation = [&](std::function<void(RecordBody&)> edit) {
    Signed s;
    s.ParseFromString(SealRotation(a_, c_, kT + 5));
    RecordBody body;
    body.ParseFromString(s.payload());
    edit(body);
    return SealRecord(body, a_);
  };
  const std::vector<Case> cases = {
      {"rotation", [&] { return SealRotation(b_, c_, kT + 10); }, true, nullptr},
      {"rotation without the new key's consent",
       [&] {
         return edited_rotation([&](RecordBody& b) {
           b.mutable_key_rotation()->set_new_key_signature(stranger_.Sign(
               crypto::kKeyRotationDomain,
               RotationStatement(b.author(), b.key_rotation().new_key(), b.created_at())));
         });
       },
       false, "new_key_signature"},
      {"rotation whose consent is for another time",
       [&] { return edited_rotation([&](RecordBody& b) { b.set_created_at(kT + 6); }); }, false,
       "new_key_signature"},
      {"rotation to the author's own key",
       [&] {
         return edited_rotation(
             [&](RecordBody& b) { b.mutable_key_rotation()->set_new_key(Bytes(a_)); });
       },
       false, "own key"},
      {"rotation to a short key",
       [&] {
         return edited_rotation(
             [&](RecordBody& b) { b.mutable_key_rotation()->set_new_key(std::string(31, 'k')); });
       },
       false, "32-byte"},
      {"second rotation of a key", [&] { return SealRotation(a_, c_, kT - 5); }, true,
       "already rotated"},
      {"rotation back to an earlier key", [&] { return SealRotation(b_, a_, kT + 10); }, true,
       "rotate back"},
      {"revocation by the key itself",
       [&] { return SealRevocation(c_, Bytes(c_), kT, "lost", kT + 1); }, false, nullptr},
      {"revocation by the key it rotated to",
       [&] { return SealRevocation(b_, Bytes(a_), kT, "stolen", kT + 1); }, true, nullptr},
      {"revocation by the successor, no table",
       [&] { return SealRevocation(b_, Bytes(a_), kT, "stolen", kT + 1); }, false,
       "neither that key"},
      {"revocation by a stranger",
       [&] { return SealRevocation(stranger_, Bytes(a_), kT, "spite", kT + 1); }, true,
       "neither that key"},
      {"revocation from after itself",
       [&] { return SealRevocation(c_, Bytes(c_), kT + 2, "lost", kT + 1); }, false,
       "after the revocation"},
      {"revocation without a time", [&] { return SealRevocation(c_, Bytes(c_), 0, "lost", kT); },
       false, "no compromised_since"},
      {"revocation of a short key",
       [&] { return SealRevocation(c_, std::string(5, 'k'), kT, "lost", kT + 1); }, false,
       "5-byte key"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    KeyTable table;
    ASSERT_TRUE(Take(&table, SealRotation(a_, b_, kT)).ok());
    absl::Status s = Take(c.with_table ? &table : nullptr, c.make());
    if (c.refusal == nullptr) {
      EXPECT_TRUE(s.ok()) << s;
    } else {
      EXPECT_FALSE(s.ok());
      EXPECT_NE(s.message().find(c.refusal), std::string::npos) << s;
    }
  }
}

// A rotated key signs up to its rotation time; a revoked key signs before its compromise.
TEST_F(KeyTableTest, WhatAKeyMaySignDependsOnTheDate) {
  KeyTable table;
  ASSERT_TRUE(Take(&table, SealRotation(a_, b_, kT)).ok());
  EXPECT_TRUE(table.CheckKeyAt(Bytes(a_), kT).ok());
  absl::Status late = table.CheckKeyAt(Bytes(a_), kT + 1);
  EXPECT_EQ(late.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(late.message().find("was rotated to " + b_.public_key().Fingerprint()),
            std::string::npos)
      << late;
  EXPECT_TRUE(table.CheckKeyAt(Bytes(b_), kT + 1).ok());
  // A record by a, validated against the table: before the rotation yes, after it no.
  ValidationOptions options;
  options.keys = &table;
  EXPECT_TRUE(ValidateRecord(Indicator(a_, kT - 1), options, testing::kTestNowMs).ok());
  EXPECT_FALSE(ValidateRecord(Indicator(a_, kT + 1), options, testing::kTestNowMs).ok());
  EXPECT_TRUE(ValidateRecord(Indicator(a_, kT + 1), {}, testing::kTestNowMs).ok());

  // Two revocations of c: the earlier compromise holds.
  ASSERT_TRUE(Take(&table, SealRevocation(c_, Bytes(c_), kT, "lost", kT + 10)).ok());
  ASSERT_TRUE(Take(&table, SealRevocation(c_, Bytes(c_), kT - 100, "really lost", kT + 20)).ok());
  EXPECT_TRUE(table.CheckKeyAt(Bytes(c_), kT - 101).ok());
  absl::Status revoked = table.CheckKeyAt(Bytes(c_), kT - 100);
  EXPECT_NE(revoked.message().find("revoked since"), std::string::npos) << revoked;
  EXPECT_NE(revoked.message().find("really lost"), std::string::npos) << revoked;
  ASSERT_TRUE(table.ForbiddenBy(Bytes(c_), kT).has_value());
  EXPECT_FALSE(table.ForbiddenBy(Bytes(c_), kT - 101).has_value());
}

TEST_F(KeyTableTest, RotationsAndStatementsAreFoundFromAnyKeyOfTheLine) {
  KeyTable table;
  const std::string r1 = SealRotation(a_, b_, kT), r2 = SealRotation(b_, c_, kT + 100),
                    revocation = SealRevocation(c_, Bytes(a_), kT - 50, "stolen", kT + 200);
  ASSERT_TRUE(Take(&table, r1).ok());
  ASSERT_TRUE(Take(&table, r2).ok());
  ASSERT_TRUE(Take(&table, revocation).ok());
  EXPECT_TRUE(table.Succeeds(Bytes(a_), Bytes(c_)));
  EXPECT_FALSE(table.Succeeds(Bytes(c_), Bytes(a_)));
  EXPECT_EQ(table.RotationsTo(Bytes(c_)), (std::vector<std::string>{Id(r1), Id(r2)}));
  EXPECT_TRUE(table.RotationsTo(Bytes(a_)).empty());
  std::vector<std::string> about = table.StatementsAbout(Bytes(b_));
  std::sort(about.begin(), about.end());
  std::vector<std::string> all = {Id(r1), Id(r2), Id(revocation)};
  std::sort(all.begin(), all.end());
  EXPECT_EQ(about, all);
  EXPECT_TRUE(table.StatementsAbout(Bytes(stranger_)).empty());
  EXPECT_EQ(table.size(), 3u);
  // The same statement again changes nothing.
  Signed s;
  s.ParseFromString(r1);
  RecordBody body;
  body.ParseFromString(s.payload());
  ASSERT_TRUE(table.Add(Id(r1), body).ok());
  EXPECT_EQ(table.size(), 3u);
}

// Custody: hop 0 may come from the author's new key (known from the table, or named by the
// rotation record being carried); a hop the old key signs after the rotation is unsound.
TEST_F(KeyTableTest, ChainsFollowTheAuthorsNewKey) {
  KeyTable table;
  const std::string rotation = SealRotation(a_, b_, kT);
  ASSERT_TRUE(Take(&table, rotation).ok());
  const std::string record = Indicator(a_, kT - 1000);
  absl::StatusOr<VerifiedRecord> r = ValidateRecord(record, {}, testing::kTestNowMs);
  ASSERT_TRUE(r.ok());
  CustodyChain by_new;
  SignHop(by_new, r->id, b_, Bytes(c_), kT + 10, "p");
  EXPECT_TRUE(CheckChain(r->id, r->body, by_new, Bytes(c_), &table).ok());
  absl::StatusOr<ChainVerdict> unknown = CheckChain(r->id, r->body, by_new, Bytes(c_));
  EXPECT_FALSE(unknown.ok());
  CustodyChain by_old_late;
  SignHop(by_old_late, r->id, a_, Bytes(c_), kT + 10, "p");
  int bad = -1;
  absl::StatusOr<ChainVerdict> late =
      CheckChain(r->id, r->body, by_old_late, Bytes(c_), &table, &bad);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(bad, 0);
  EXPECT_NE(late.status().message().find("was rotated to"), std::string::npos) << late.status();
  CustodyChain by_old_before;
  SignHop(by_old_before, r->id, a_, Bytes(c_), kT - 10, "p");
  EXPECT_TRUE(CheckChain(r->id, r->body, by_old_before, Bytes(c_), &table).ok());
  // The rotation record itself, sent on by the new key, needs no table.
  absl::StatusOr<VerifiedRecord> rot = ValidateRecord(rotation, {}, testing::kTestNowMs);
  ASSERT_TRUE(rot.ok());
  CustodyChain rot_chain;
  SignHop(rot_chain, rot->id, b_, Bytes(c_), kT + 10, "p");
  EXPECT_TRUE(CheckChain(rot->id, rot->body, rot_chain, Bytes(c_)).ok());
}

// A node's rotation: the new key signs from then on, the old records stay, and a rotation
// that stopped before the key file was replaced is finished by running it again.
TEST(LocalNodeKeyTest, RotationReplacesTheKeyAndResumesWhenInterrupted) {
  testing::TempDir dir;
  const std::string data = dir.Sub("node");
  ASSERT_TRUE(LocalNode::Init(data, {}).ok());
  NodeConfig config;
  config.data_dir = data;
  std::string old_key, old_record;
  {
    std::unique_ptr<LocalNode> node = std::move(*LocalNode::Open(config));
    old_key = node->key().public_key().bytes();
    RecordBody body =
        testing::IndicatorBody(node->key(), v1::INDICATOR_TYPE_DOMAIN, "old.example.com");
    body.set_created_at(0);
    absl::StatusOr<VerifiedRecord> r = node->Publish(body);
    ASSERT_TRUE(r.ok()) << r.status();
    old_record = r->id;
  }
  const std::string key_path = KeyFilePath(data);
  std::filesystem::copy_file(key_path, dir.Sub("old.key"));
  absl::StatusOr<crypto::PublicKey> next = LocalNode::RotateKey(config, {});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_NE(next->bytes(), old_key);
  {
    std::unique_ptr<LocalNode> node = std::move(*LocalNode::Open(config));
    EXPECT_EQ(node->key().public_key().bytes(), next->bytes());
    EXPECT_TRUE(node->keys().Succeeds(old_key, next->bytes()));
    EXPECT_TRUE(node->Get(old_record).ok());
    absl::StatusOr<LocalNode::Withdrawal> w =
        node->WithdrawnBy(old_record, node->Get(old_record)->body);
    ASSERT_TRUE(w.ok());
    EXPECT_FALSE(w->any());  // signed before the rotation
    EXPECT_TRUE(node->Publish(testing::IndicatorBody(node->key(), v1::INDICATOR_TYPE_DOMAIN,
                                                     "new.example.com"))
                    .ok());
    // Revoking: not the key in use; the old one, from a time on.
    EXPECT_FALSE(node->RevokeKey(next->bytes(), testing::kTestNowMs, "no").ok());
    EXPECT_FALSE(node->RevokeKey(std::string(32, 'x'), testing::kTestNowMs, "no").ok());
    absl::StatusOr<VerifiedRecord> revoked = node->RevokeKey("", 1000, "laptop stolen");
    ASSERT_TRUE(revoked.ok()) << revoked.status();
    EXPECT_EQ(revoked->body.key_revocation().key(), old_key);
    // The old record is dated after the compromise: no longer passed on.
    w = node->WithdrawnBy(old_record, node->Get(old_record)->body);
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(w->distrusted_by, revoked->id);
  }
  // Interrupted: the store has the rotation, the key file still the old key, the new key
  // beside it. The node refuses to serve with the old key and the command finishes the job.
  std::filesystem::rename(key_path, key_path + ".next");
  std::filesystem::copy_file(dir.Sub("old.key"), key_path);
  absl::StatusOr<std::unique_ptr<LocalNode>> refused = LocalNode::Open(config);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("run it again"), std::string::npos) << refused.status();
  absl::StatusOr<crypto::PublicKey> resumed = LocalNode::RotateKey(config, {});
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->bytes(), next->bytes());
  absl::StatusOr<std::unique_ptr<LocalNode>> reopened = LocalNode::Open(config);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->key().public_key().bytes(), next->bytes());
}

}  // namespace
}  // namespace threatmesh
