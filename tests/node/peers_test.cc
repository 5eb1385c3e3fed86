#include "node/peers.h"

#include <gtest/gtest.h>

#include "crypto/keys.h"
#include "testing/test_util.h"

namespace threatmesh {
namespace {

class PeersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions options;
    options.create_if_missing = true;
    store_ = std::move(*storage::Store::Open(dir_.Sub("store"), options));
    peers_ = std::move(*PeerRegistry::Load(*store_, Self()));
  }
  std::string Self() { return std::string(self_.public_key().bytes()); }
  PeerConfig Peer(const std::string& name, const crypto::KeyPair& key,
                  const std::string& address = "127.0.0.1:7421") {
    PeerConfig p;
    p.set_name(name);
    p.set_address(address);
    p.set_node_key(std::string(key.public_key().bytes()));
    return p;
  }

  testing::TempDir dir_;
  crypto::KeyPair self_ = crypto::KeyPair::Generate();
  crypto::KeyPair a_ = crypto::KeyPair::Generate();
  crypto::KeyPair b_ = crypto::KeyPair::Generate();
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<PeerRegistry> peers_;
};

TEST_F(PeersTest, AddListRemoveAndReload) {
  ASSERT_TRUE(peers_->Add(Peer("hub", a_), 5).ok());
  ASSERT_TRUE(peers_->Add(Peer("branch", b_, ""), 6).ok());  // dials in only
  std::vector<PeerConfig> list = peers_->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name(), "branch");
  EXPECT_EQ(list[1].policy(), "default");
  EXPECT_EQ(list[1].added_at(), 5);
  ASSERT_TRUE(peers_->FindByKey(std::string(a_.public_key().bytes())).has_value());
  EXPECT_EQ(peers_->FindByKey(std::string(a_.public_key().bytes()))->name(), "hub");

  peers_ = std::move(*PeerRegistry::Load(*store_, Self()));
  EXPECT_EQ(peers_->List().size(), 2u);
  ASSERT_TRUE(peers_->Remove("hub").ok());
  EXPECT_TRUE(absl::IsNotFound(peers_->Remove("hub")));
  peers_ = std::move(*PeerRegistry::Load(*store_, Self()));
  ASSERT_EQ(peers_->List().size(), 1u);
  EXPECT_FALSE(peers_->FindByKey(std::string(a_.public_key().bytes())).has_value());
}

// A peer that rotated its key is stored under the new key; the old one no longer finds it.
TEST_F(PeersTest, ReplaceKeyPersistsAndRefusesATakenKey) {
  ASSERT_TRUE(peers_->Add(Peer("hub", a_), 1).ok());
  ASSERT_TRUE(peers_->Add(Peer("branch", b_), 2).ok());
  crypto::KeyPair next = crypto::KeyPair::Generate();
  const std::string next_key(next.public_key().bytes());
  EXPECT_TRUE(absl::IsNotFound(peers_->ReplaceKey("nobody", next_key)));
  EXPECT_TRUE(
      absl::IsAlreadyExists(peers_->ReplaceKey("hub", std::string(b_.public_key().bytes()))));
  ASSERT_TRUE(peers_->ReplaceKey("hub", next_key).ok());
  peers_ = std::move(*PeerRegistry::Load(*store_, Self()));
  ASSERT_TRUE(peers_->FindByKey(next_key).has_value());
  EXPECT_EQ(peers_->FindByKey(next_key)->name(), "hub");
  EXPECT_EQ(peers_->FindByKey(next_key)->address(), "127.0.0.1:7421");
  EXPECT_FALSE(peers_->FindByKey(std::string(a_.public_key().bytes())).has_value());
}

TEST_F(PeersTest, BadPeersAreRefusedNamingTheField) {
  ASSERT_TRUE(peers_->Add(Peer("hub", a_), 1).ok());
  struct Case {
    std::string name;
    PeerConfig peer;
    absl::StatusCode code;
    std::string message_part;
  };
  PeerConfig short_key = Peer("x", b_);
  short_key.set_node_key("abc");
  const std::vector<Case> cases = {
      {"bad name", Peer("Hub One", b_), absl::StatusCode::kInvalidArgument, "the name must be"},
      {"bad address", Peer("x", b_, "nowhere"), absl::StatusCode::kInvalidArgument,
       "is not host:port"},
      {"port 0", Peer("x", b_, "127.0.0.1:0"), absl::StatusCode::kInvalidArgument,
       "is not host:port"},
      {"short key", short_key, absl::StatusCode::kInvalidArgument, "key is 3 bytes"},
      {"own key", Peer("x", self_), absl::StatusCode::kInvalidArgument, "this node's own key"},
      {"name taken", Peer("hub", b_), absl::StatusCode::kAlreadyExists, "of that name exists"},
      {"key taken", Peer("hub2", a_), absl::StatusCode::kAlreadyExists,
       "is already the peer \"hub\""},
  };
  for (const Case& c : cases) {
    absl::Status s = peers_->Add(c.peer, 2);
    EXPECT_EQ(s.code(), c.code) << c.name << ": " << s;
    EXPECT_NE(s.message().find(c.message_part), std::string::npos) << c.name << ": " << s;
  }
  EXPECT_EQ(peers_->List().size(), 1u);
}

TEST(PeerAddLineTest, IsTheCommandToRunOnTheOtherNode) {
  EXPECT_EQ(PeerAddLine("a", "192.0.2.1:7421", "tmpkxyz"),
            "threatmesh peers add --name a --address 192.0.2.1:7421 --key tmpkxyz");
}

// The config file's peers: added, left alone when unchanged, replaced when changed, removed
// when gone from the file; peers added with 'peers add' are never touched.
TEST_F(PeersTest, ApplyConfigSyncsOnlyTheFilesPeers) {
  crypto::KeyPair c = crypto::KeyPair::Generate();
  ASSERT_TRUE(peers_->Add(Peer("manual", c), 1).ok());
  absl::StatusOr<std::vector<std::string>> changed =
      peers_->ApplyConfig({Peer("hub", a_), Peer("branch", b_, "")}, 2);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(changed->size(), 2u);
  EXPECT_TRUE(peers_->FindByKey(std::string(a_.public_key().bytes()))->from_config());
  changed = peers_->ApplyConfig({Peer("hub", a_), Peer("branch", b_, "")}, 3);
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(changed->empty()) << "nothing changed";
  changed = peers_->ApplyConfig({Peer("hub", a_, "127.0.0.1:9999")}, 4);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(*changed, (std::vector<std::string>{"branch", "hub"}));
  EXPECT_EQ(peers_->FindByKey(std::string(a_.public_key().bytes()))->address(), "127.0.0.1:9999");
  EXPECT_FALSE(peers_->FindByKey(std::string(b_.public_key().bytes())).has_value());
  EXPECT_FALSE(peers_->FindByKey(std::string(c.public_key().bytes()))->from_config());
  // A file peer whose key is already a manual peer's is refused, naming the section.
  changed = peers_->ApplyConfig({Peer("hub", a_), Peer("dup", c)}, 5);
  ASSERT_FALSE(changed.ok());
  EXPECT_NE(changed.status().message().find("[peer.dup]"), std::string::npos);
  // And survive a restart.
  peers_ = std::move(*PeerRegistry::Load(*store_, Self()));
  EXPECT_TRUE(peers_->FindByKey(std::string(a_.public_key().bytes()))->from_config());
}

}  // namespace
}  // namespace threatmesh
