// The exchange between two nodes in one process: RunExchange on both ends of an in-memory
// stream (testing/memory_stream.h), with an injected clock; no processes, no sockets.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "crypto/hash.h"
#include "crypto/log.h"
#include "crypto/mutex.h"
#include "node/core/record_builder.h"
#include "node/local_node.h"
#include "node/mesh/exchange.h"
#include "node/peers.h"
#include "node/work_pool.h"
#include "testing/memory_stream.h"
#include "testing/test_util.h"
#include "testing/wait.h"

namespace threatmesh {
namespace {

// One node with what an exchange needs: its store, peer table, policies and workers.
struct Side {
  Side(const testing::TempDir& dir, const std::string& name) {
    const std::string data = dir.Sub(name);
    EXPECT_TRUE(LocalNode::Init(data, {}).ok());
    NodeConfig config;
    config.data_dir = data;
    config.clock = [] { return testing::kTestNowMs; };
    node = std::move(*LocalNode::Open(config));
    peers = std::move(
        *PeerRegistry::Load(node->store(), std::string(node->key().public_key().bytes())));
    PolicySet set;
    set.outbound.emplace("default", *ParseOutboundPolicy("default", {}));
    set.inbound.emplace("default", *ParseInboundPolicy("default", {}));
    policies = std::make_unique<PolicyHolder>(std::move(set));
    context = std::make_unique<ExchangeContext>(*node, *peers, crypto::Sha256(""), stopping,
                                                *policies, pool, std::chrono::seconds(5));
  }
  // Configures `other` as peer `name`.
  void Know(const Side& other, const std::string& name) {
    PeerConfig p;
    p.set_name(name);
    p.set_node_key(std::string(other.node->key().public_key().bytes()));
    p.set_policy("default");
    p.set_inbound_policy("default");
    ASSERT_TRUE(peers->Add(p, testing::kTestNowMs).ok());
  }
  std::string Publish(const std::string& domain) {
    IndicatorSpec spec;
    spec.type = "domain";
    spec.value = domain;
    spec.tlp = "green";
    absl::StatusOr<v1::RecordBody> body =
        BuildIndicator(spec, node->key().public_key(), node->Now());
    EXPECT_TRUE(body.ok()) << body.status();
    absl::StatusOr<VerifiedRecord> r = node->Publish(*body);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->id : "";
  }

  std::unique_ptr<LocalNode> node;
  std::unique_ptr<PeerRegistry> peers;
  std::unique_ptr<PolicyHolder> policies;
  std::atomic<bool> stopping{false};
  WorkPool pool{1};
  std::unique_ptr<ExchangeContext> context;
};

// Runs the exchange between `a` (dialing) and `b` until Stop.
class Link {
 public:
  Link(Side& a, Side& b) : a_(a), b_(b) {
    auto [one, two] = testing::MemoryStreamPair();
    a_end_ = std::move(one);
    b_end_ = std::move(two);
    a_thread_ = std::thread([this] { a_status_ = RunExchange(*a_.context, *a_end_, true); });
    b_thread_ = std::thread([this] { b_status_ = RunExchange(*b_.context, *b_end_, false); });
  }
  ~Link() { Stop(); }
  void Stop() {
    if (!a_thread_.joinable()) return;
    a_.stopping = b_.stopping = true;
    a_end_->Cancel();
    a_thread_.join();
    b_thread_.join();
  }
  const absl::Status& a_status() const { return a_status_; }
  const absl::Status& b_status() const { return b_status_; }

 private:
  Side& a_;
  Side& b_;
  std::unique_ptr<testing::MemoryPeerStream> a_end_, b_end_;
  absl::Status a_status_, b_status_;
  std::thread a_thread_, b_thread_;
};

class ExchangeSessionTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  Side a_{dir_, "a"};
  Side b_{dir_, "b"};
};

TEST_F(ExchangeSessionTest, RecordsFlowBothWaysWithASignedHop) {
  a_.Know(b_, "b");
  b_.Know(a_, "a");
  const std::string before = a_.Publish("before.example.com");  // caught up on connecting
  Link link(a_, b_);
  ASSERT_TRUE(testing::WaitUntil([&] { return b_.node->Get(before).ok(); }));
  const std::string live = b_.Publish("live.example.com");  // pushed while connected
  ASSERT_TRUE(testing::WaitUntil([&] { return a_.node->Get(live).ok(); }));
  // The copy B holds carries one hop, from A to B, signed by A.
  absl::StatusOr<v1::CustodyChains> chains = b_.node->store().GetCustody(before);
  ASSERT_TRUE(chains.ok()) << chains.status();
  ASSERT_EQ(chains->chains_size(), 1);
  ASSERT_EQ(chains->chains(0).hops_size(), 1);
  v1::Hop hop;
  ASSERT_TRUE(hop.ParseFromString(chains->chains(0).hops(0).payload()));
  EXPECT_EQ(hop.from(), a_.node->key().public_key().bytes());
  EXPECT_EQ(hop.to(), b_.node->key().public_key().bytes());
  EXPECT_EQ(hop.at(), testing::kTestNowMs);  // the injected clock
  ASSERT_TRUE(testing::WaitUntil([&] { return b_.context->Counters()["a"].received == 1; }));
  EXPECT_TRUE(b_.context->Counters()["a"].connected);
  link.Stop();
  EXPECT_FALSE(b_.context->Counters()["a"].connected);
}

TEST_F(ExchangeSessionTest, AnUnknownNodeIsRefusedInTheHandshakeAndCounted) {
  a_.Know(b_, "b");  // B does not know A
  const std::string id = a_.Publish("kept.example.com");
  Link link(a_, b_);
  ASSERT_TRUE(
      testing::WaitUntil([&] { return b_.context->RefusedHandshakes()["unknown key"] == 1; }));
  link.Stop();
  EXPECT_EQ(link.b_status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(link.b_status().message().find("is not a configured peer"), std::string::npos);
  // A hears why in the goodbye; nothing crossed.
  EXPECT_EQ(link.a_status().code(), absl::StatusCode::kPermissionDenied) << link.a_status();
  EXPECT_FALSE(b_.node->Get(id).ok());
}

TEST_F(ExchangeSessionTest, ARefusedHandshakeIsLoggedAsAWarningWithItsReason) {
  Mutex mu;
  std::vector<std::string> warnings;
  ScopedLogSink sink([&](const LogEvent& e) {
    MutexLock lock(&mu);
    if (e.level == LogLevel::kWarning) warnings.emplace_back(e.text);
  });
  a_.Know(b_, "b");  // B does not know A
  Link link(a_, b_);
  ASSERT_TRUE(
      testing::WaitUntil([&] { return b_.context->RefusedHandshakes()["unknown key"] == 1; }));
  link.Stop();
  MutexLock lock(&mu);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].rfind("peer connection refused (unknown key): ", 0), 0u) << warnings[0];
  EXPECT_NE(warnings[0].find("is not a configured peer"), std::string::npos) << warnings[0];
}

}  // namespace
}  // namespace threatmesh
