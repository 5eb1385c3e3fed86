#include "node/local_node.h"

#include <gtest/gtest.h>

#include "crypto/hash.h"
#include "crypto/mutex.h"
#include "crypto/str_cat.h"
#include "node/core/record_builder.h"
#include "node/work_pool.h"
#include "testing/test_util.h"

namespace threatmesh {
namespace {

class LocalNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<crypto::PublicKey> key = LocalNode::Init(data_, {});
    ASSERT_TRUE(key.ok()) << key.status();
    NodeConfig config;
    config.data_dir = data_;
    config.clock = [] { return testing::kTestNowMs; };
    absl::StatusOr<std::unique_ptr<LocalNode>> node = LocalNode::Open(config);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = std::move(*node);
  }

  std::size_t FeedSize() { return node_->store().ReadLog(1, 0)->entries.size(); }

  testing::TempDir dir_;
  std::string data_ = dir_.Sub("node");
  std::unique_ptr<LocalNode> node_;
};

TEST_F(LocalNodeTest, PublishSignsAsThisNodeAndStores) {
  IndicatorSpec spec;
  spec.type = "domain";
  spec.value = "Evil.Example.COM.";
  spec.tlp = "green";
  absl::StatusOr<threatmesh::v1::RecordBody> body =
      BuildIndicator(spec, node_->key().public_key(), node_->Now());
  ASSERT_TRUE(body.ok()) << body.status();
  absl::StatusOr<VerifiedRecord> published = node_->Publish(*body);
  ASSERT_TRUE(published.ok()) << published.status();
  EXPECT_EQ(published->body.author(), node_->key().public_key().bytes());
  EXPECT_EQ(published->body.created_at(), testing::kTestNowMs);
  absl::StatusOr<VerifiedRecord> got = node_->Get(published->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->signed_bytes, published->signed_bytes);
  EXPECT_EQ(got->body.indicator().value(), "evil.example.com");
}

// A publishing stream's records, signed on a pool and stored as one group: each gets its
// own outcome, in order, with consecutive sequence numbers; an invalid one and a repeat
// are refused without holding back the others.
TEST_F(LocalNodeTest, PublishAllSignsOnThePoolAndStoresOneGroupInOrder) {
  std::vector<threatmesh::v1::RecordBody> bodies;
  for (int i = 0; i < 20; ++i) {
    threatmesh::v1::RecordBody body = testing::IndicatorBody(
        node_->key(), threatmesh::v1::INDICATOR_TYPE_DOMAIN, StrCat("d", i, ".example.com"));
    body.clear_author();
    body.set_created_at(0);
    bodies.push_back(std::move(body));
  }
  bodies.push_back(bodies[3]);                               // the same record again
  bodies.emplace_back().set_tlp(threatmesh::v1::TLP_GREEN);  // no kind: invalid
  Mutex mu;
  std::vector<absl::StatusOr<LocalNode::Published>> results(bodies.size(),
                                                            absl::UnknownError("no answer"));
  std::size_t answered = 0;
  std::vector<LocalNode::PublishCallback> dones;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    dones.push_back([&, i](absl::StatusOr<LocalNode::Published> r) {
      MutexLock lock(&mu);
      results[i] = std::move(r);
      ++answered;
    });
  }
  WorkPool pool(1);
  node_->PublishAllAsync(bodies, std::move(dones), &pool);
  {
    MutexLock lock(&mu);
    mu.Await(Condition(
        +[](std::size_t* n) { return *n == 22; }, &answered));
  }
  for (std::size_t i = 0; i < 20; ++i) {
    ASSERT_TRUE(results[i].ok()) << i << " " << results[i].status();
    EXPECT_EQ(results[i]->seq, i + 1);  // the order of the stream
    absl::StatusOr<VerifiedRecord> got = node_->Get(results[i]->id);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->body.author(), node_->key().public_key().bytes());
    EXPECT_EQ(got->body.created_at(), testing::kTestNowMs);
    EXPECT_EQ(got->body.indicator().value(), StrCat("d", i, ".example.com"));
  }
  EXPECT_EQ(results[20].status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(results[21].status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FeedSize(), 20u);
}

TEST_F(LocalNodeTest, IngestRefusesBadRecordsAndStoresNothing) {
  crypto::KeyPair other = crypto::KeyPair::Generate();
  threatmesh::v1::RecordBody body =
      testing::IndicatorBody(other, threatmesh::v1::INDICATOR_TYPE_IPV4, "192.0.2.1");
  std::string bytes = testing::Seal(body, other);
  bytes[bytes.size() - 1] ^= 1;  // break the signature
  absl::StatusOr<VerifiedRecord> forged = node_->Ingest(bytes, {});
  EXPECT_EQ(forged.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(forged.status().message().find("signature does not verify"), std::string::npos);
  EXPECT_EQ(node_->Ingest("garbage", {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FeedSize(), 0u);
}

TEST_F(LocalNodeTest, DuplicateIsRecognisedByIdBeforeAnySignatureCheck) {
  crypto::KeyPair other = crypto::KeyPair::Generate();
  threatmesh::v1::RecordBody body =
      testing::IndicatorBody(other, threatmesh::v1::INDICATOR_TYPE_IPV4, "192.0.2.1");
  const std::string bytes = testing::Seal(body, other);
  threatmesh::v1::CustodyChain chain;
  chain.add_hops()->set_payload("hop from the peer");
  ASSERT_TRUE(node_->Ingest(bytes, chain).ok());
  // The same payload with a broken signature: known by its id, so AlreadyExists rather
  // than a signature error proves the duplicate cost no verification.
  threatmesh::v1::Signed envelope;
  ASSERT_TRUE(envelope.ParseFromString(bytes));
  envelope.set_signature(std::string(64, '\0'));
  absl::StatusOr<VerifiedRecord> again = node_->Ingest(envelope.SerializeAsString(), {});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists) << again.status();
  EXPECT_EQ(FeedSize(), 1u);
  absl::StatusOr<threatmesh::v1::CustodyChains> custody =
      node_->store().GetCustody(crypto::RecordId(envelope.payload()));
  ASSERT_TRUE(custody.ok());
  EXPECT_EQ(custody->chains(0).hops_size(), 1);
}

// Only the author's own retraction or newer version withdraws a record; another author's,
// stored before or after it, neither withdraws it nor hides the author's.
TEST_F(LocalNodeTest, OnlyTheAuthorWithdrawsARecord) {
  crypto::KeyPair author = crypto::KeyPair::Generate();
  crypto::KeyPair stranger = crypto::KeyPair::Generate();
  using threatmesh::v1::INDICATOR_TYPE_DOMAIN;
  threatmesh::v1::RecordBody target =
      testing::IndicatorBody(author, INDICATOR_TYPE_DOMAIN, "target.example.com");
  absl::StatusOr<VerifiedRecord> t = node_->Ingest(testing::Seal(target, author), {});
  ASSERT_TRUE(t.ok()) << t.status();
  auto retraction_by = [&](const crypto::KeyPair& key, const std::string& reason) {
    threatmesh::v1::RecordBody r = testing::IndicatorBody(key, INDICATOR_TYPE_DOMAIN, "x.example");
    r.clear_indicator();
    r.mutable_retraction()->set_target(t->id);
    r.mutable_retraction()->set_reason(reason);
    return node_->Ingest(testing::Seal(r, key), {});
  };
  auto newer_by = [&](const crypto::KeyPair& key, const std::string& value) {
    threatmesh::v1::RecordBody r = testing::IndicatorBody(key, INDICATOR_TYPE_DOMAIN, value);
    r.set_supersedes(t->id);
    return node_->Ingest(testing::Seal(r, key), {});
  };
  ASSERT_TRUE(retraction_by(stranger, "first forged").ok());
  ASSERT_TRUE(newer_by(stranger, "forged.example.com").ok());
  absl::StatusOr<LocalNode::Withdrawal> w = node_->WithdrawnBy(t->id, target);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_FALSE(w->any());

  absl::StatusOr<VerifiedRecord> real = retraction_by(author, "false positive");
  ASSERT_TRUE(real.ok()) << real.status();
  absl::StatusOr<VerifiedRecord> newer = newer_by(author, "target2.example.com");
  ASSERT_TRUE(newer.ok()) << newer.status();
  ASSERT_TRUE(retraction_by(stranger, "second forged").ok());
  w = node_->WithdrawnBy(t->id, target);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->retracted_by, real->id);
  EXPECT_EQ(w->superseded_by, newer->id);
}

TEST(LocalNodeOpenTest, KeyFileOfAnotherNodeIsRefused) {
  testing::TempDir dir;
  ASSERT_TRUE(LocalNode::Init(dir.Sub("a"), {}).ok());
  ASSERT_TRUE(LocalNode::Init(dir.Sub("b"), {}).ok());
  ASSERT_EQ(std::rename((dir.Sub("b") + "/node.key").c_str(), (dir.Sub("a") + "/node.key").c_str()),
            0);
  NodeConfig config;
  config.data_dir = dir.Sub("a");
  absl::StatusOr<std::unique_ptr<LocalNode>> node = LocalNode::Open(config);
  EXPECT_EQ(node.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(node.status().message().find("not the key this store was created with"),
            std::string::npos)
      << node.status();
}

}  // namespace
}  // namespace threatmesh
