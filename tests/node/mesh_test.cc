// Nodes peering over loopback: real `threatmesh serve` processes exchanging records
// (insecure peering: plaintext, no certificate binding; TLS peering is still to come).
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "node/client.h"
#include "node/custody.h"
#include "node/local_node.h"
#include "testing/serve_process.h"
#include "testing/test_util.h"

namespace threatmesh {
namespace {

using namespace threatmesh::v1;  // NOLINT: the API's own types.
using testing::ServeProcess;

struct Node {
  std::string dir;
  std::unique_ptr<ServeProcess> process;
  std::unique_ptr<NodeClient> client;
  std::string key;  // 32 bytes
};

class MeshTest : public ::testing::Test {
 protected:
  Node& Start(const std::string& name) {
    Node& n = nodes_[name];
    n.dir = dir_.Sub(name);
    std::string cmd = testing::ThreatmeshBinary() + " init --data-dir " + n.dir + " >/dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    absl::StatusOr<std::unique_ptr<ServeProcess>> p =
        ServeProcess::Start(n.dir, {"--peer-listen", "127.0.0.1:0", "--insecure-peering", "true"});
    EXPECT_TRUE(p.ok()) << p.status();
    n.process = std::move(*p);
    std::ifstream token(AdminTokenPath(n.dir));
    ClientOptions options;
    options.address = n.process->address();
    std::getline(token, options.token);
    n.client = *NodeClient::Connect(options);
    absl::StatusOr<crypto::PublicKey> key =
        crypto::PublicKey::FromText(n.client->Status()->public_key());
    n.key = std::string(key->bytes());
    return n;
  }

  // `from` knows `to`; with `dial`, it dials `to` at its peer port.
  void Peer(const std::string& from, const std::string& to, bool dial) {
    AddPeerRequest r;
    r.mutable_peer()->set_name(to);
    r.mutable_peer()->set_node_key(nodes_[to].key);
    if (dial) r.mutable_peer()->set_address(nodes_[to].process->peer_address());
    ASSERT_TRUE(nodes_[from].client->AddPeer(r).ok());
  }

  // Links a and b; a dials.
  void Link(const std::string& a, const std::string& b) {
    Peer(b, a, false);
    Peer(a, b, true);
  }

  std::string Publish(const std::string& at, const std::string& value, Tlp tlp,
                      std::function<void(RecordBody&)> edit = nullptr) {
    PublishRequest r;
    r.mutable_body()->set_tlp(tlp);
    r.mutable_body()->mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
    r.mutable_body()->mutable_indicator()->set_value(value);
    if (edit) edit(*r.mutable_body());
    absl::StatusOr<PublishResponse> p = nodes_[at].client->Publish(r);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? p->id() : "";
  }

  std::optional<StoredRecord> Held(const std::string& at, const std::string& id) {
    GetRequest g;
    g.set_id(id);
    absl::StatusOr<GetResponse> r = nodes_[at].client->Get(g);
    if (!r.ok()) return std::nullopt;
    return r->record();
  }

  // Waits (up to 30 s) until `at` holds `id`.
  std::optional<StoredRecord> WaitFor(const std::string& at, const std::string& id) {
    for (int i = 0; i < 300; ++i) {
      if (auto r = Held(at, id)) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return std::nullopt;
  }

  testing::TempDir dir_;
  std::map<std::string, Node> nodes_;
};

// Line A-B-C: GREEN that may be relayed reaches C with a verifying chain A->B->C; AMBER
// reaches B and never C; RED naming B reaches B only; CLEAR with max_hops 1 stops at B.
TEST_F(MeshTest, LineHonoursTlpAndHandling) {
  Start("a");
  Start("b");
  Start("c");
  Link("a", "b");
  Link("b", "c");
  const std::string green = Publish("a", "green.example.com", TLP_GREEN, [](RecordBody& b) {
    b.mutable_handling()->set_may_relay(true);
  });
  const std::string amber = Publish("a", "amber.example.com", TLP_AMBER);
  const std::string red = Publish("a", "red.example.com", TLP_RED, [&](RecordBody& b) {
    b.mutable_handling()->add_recipients(nodes_["b"].key);
  });
  const std::string clear = Publish("a", "clear.example.com", TLP_CLEAR, [](RecordBody& b) {
    b.mutable_handling()->set_may_relay(true);
    b.mutable_handling()->set_max_hops(1);
  });
  // A marker published last: once it is at C, everything before it has been decided.
  const std::string marker = Publish("a", "marker.example.com", TLP_CLEAR, [](RecordBody& b) {
    b.mutable_handling()->set_may_relay(true);
  });

  std::optional<StoredRecord> at_c = WaitFor("c", green);
  ASSERT_TRUE(at_c.has_value());
  ASSERT_EQ(at_c->custody().chains_size(), 1);
  const CustodyChain& chain = at_c->custody().chains(0);
  ASSERT_EQ(chain.hops_size(), 2);
  absl::StatusOr<ChainVerdict> verdict = CheckChain(green, at_c->body(), chain, nodes_["c"].key);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_TRUE(verdict->accepted) << verdict->rule;
  Hop first;
  first.ParseFromString(chain.hops(0).payload());
  EXPECT_EQ(first.from(), nodes_["a"].key);
  EXPECT_EQ(first.to(), nodes_["b"].key);

  ASSERT_TRUE(WaitFor("c", marker).has_value());
  for (const std::string& id : {amber, red, clear}) {
    EXPECT_TRUE(WaitFor("b", id).has_value());
    EXPECT_FALSE(Held("c", id).has_value());
  }
  // Nothing came back to its author as a second copy, and B holds each record once.
  EXPECT_EQ(nodes_["a"].client->Status()->next_seq(), 6u);
  EXPECT_EQ(nodes_["b"].client->Status()->next_seq(), 6u);
  EXPECT_EQ(nodes_["c"].client->Status()->next_seq(), 3u);  // green and the marker
}

// C is down while A publishes; when it comes back it catches up from its cursor, then gets
// new records live.
TEST_F(MeshTest, CatchUpAfterDowntimeThenLive) {
  Start("a");
  Start("c");
  Link("c", "a");  // c dials a
  const std::string first = Publish("a", "first.example.com", TLP_GREEN);
  ASSERT_TRUE(WaitFor("c", first).has_value());
  nodes_["c"].client.reset();
  ASSERT_EQ(nodes_["c"].process->Stop(), 0);

  std::vector<PublishRequest> bulk;
  for (int i = 0; i < 500; ++i) {
    PublishRequest& r = bulk.emplace_back();
    r.mutable_body()->set_tlp(TLP_GREEN);
    r.mutable_body()->mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
    r.mutable_body()->mutable_indicator()->set_value("bulk" + std::to_string(i) + ".example.com");
  }
  ASSERT_EQ(nodes_["a"].client->PublishStream(bulk)->stored(), 500u);

  absl::StatusOr<std::unique_ptr<ServeProcess>> p = ServeProcess::Start(
      nodes_["c"].dir, {"--peer-listen", "127.0.0.1:0", "--insecure-peering", "true"});
  ASSERT_TRUE(p.ok()) << p.status();
  nodes_["c"].process = std::move(*p);
  std::ifstream token(AdminTokenPath(nodes_["c"].dir));
  ClientOptions options;
  options.address = nodes_["c"].process->address();
  std::getline(token, options.token);
  nodes_["c"].client = *NodeClient::Connect(options);
  for (int i = 0; i < 300 && nodes_["c"].client->Status()->next_seq() < 502; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(nodes_["c"].client->Status()->next_seq(), 502u);  // 501 records, each once
  const std::string live = Publish("a", "live.example.com", TLP_GREEN);
  EXPECT_TRUE(WaitFor("c", live).has_value());
  EXPECT_EQ(nodes_["c"].client->Status()->next_seq(), 503u);
}

// Both nodes dial each other: one stream survives, the same on both sides, and each record
// crosses the link once.
TEST_F(MeshTest, MutualDialersKeepOneStreamAndSendEachRecordOnce) {
  Start("a");
  Start("b");
  Peer("a", "b", true);
  Peer("b", "a", true);
  auto state = [&](const std::string& at, const std::string& peer) {
    PeerState out;
    absl::StatusOr<ListPeersResponse> list = nodes_[at].client->ListPeers();
    EXPECT_TRUE(list.ok()) << list.status();
    if (!list.ok()) return out;
    for (const PeerState& st : list->states()) {
      if (st.name() == peer) out = st;
    }
    return out;
  };
  // Both dial; once a stream is up on both sides, and a moment more for a second stream
  // that got through first to be replaced, the pair has settled on one.
  for (int i = 0; i < 300 && !(state("a", "b").connected() && state("b", "a").connected()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    ids.push_back(Publish("a", "m" + std::to_string(i) + ".example.com", TLP_GREEN));
  }
  for (const std::string& id : ids) ASSERT_TRUE(WaitFor("b", id).has_value());
  for (int i = 0; i < 100 && state("b", "a").cursor() < 40; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(state("a", "b").connected());
  EXPECT_TRUE(state("b", "a").connected());
  EXPECT_EQ(state("a", "b").sent(), 40u);
  EXPECT_EQ(state("b", "a").received(), 40u);
  EXPECT_EQ(state("b", "a").duplicates(), 0u);
  EXPECT_EQ(state("b", "a").cursor(), 40u);
  EXPECT_EQ(nodes_["a"].client->Status()->next_seq(), 41u);  // nothing came back
}

}  // namespace
}  // namespace threatmesh
