#include "node/core/custody.h"

#include <gtest/gtest.h>

#include <functional>

#include "crypto/hash.h"
#include "crypto/str_cat.h"
#include "testing/test_util.h"

namespace threatmesh {
namespace {

using v1::CustodyChain;
using v1::Hop;
using v1::RecordBody;
using v1::Tlp;

class CustodyTest : public ::testing::Test {
 protected:
  // Nodes 0..5; node 0 is the author.
  std::vector<crypto::KeyPair> nodes_ = [] {
    std::vector<crypto::KeyPair> v;
    for (int i = 0; i < 10; ++i) v.push_back(crypto::KeyPair::Generate());
    return v;
  }();
  std::string Key(int i) { return std::string(nodes_[i].public_key().bytes()); }

  RecordBody Body(Tlp tlp, uint32_t max_hops, bool may_relay, std::vector<int> recipients = {}) {
    RecordBody body = testing::IndicatorBody(nodes_[0], v1::INDICATOR_TYPE_DOMAIN, "a.example.com");
    body.set_tlp(tlp);
    body.mutable_handling()->set_max_hops(max_hops);
    body.mutable_handling()->set_may_relay(may_relay);
    for (int r : recipients) body.mutable_handling()->add_recipients(Key(r));
    return body;
  }
  std::string Id(const RecordBody& body) { return crypto::Sha256(body.SerializeAsString()); }

  // The chain along `path` (node indexes, starting at the author).
  CustodyChain Chain(const std::string& id, const std::vector<int>& path) {
    CustodyChain chain;
    for (std::size_t i = 0; i + 1 < path.size(); ++i) {
      SignHop(chain, id, nodes_[path[i]], Key(path[i + 1]), testing::kTestNowMs + i, "default");
    }
    return chain;
  }

  // A chain that CheckChain must refuse at node `self`, with a part of its message.
  struct UnsoundCase {
    std::string name;
    std::function<CustodyChain()> chain;
    int self;
    std::string message_part;
  };

  // Chains whose hops are not the author's, not validly signed, or for another record.
  std::vector<UnsoundCase> SignatureCases(const std::string& id) {
    return {
        {"empty", [] { return CustodyChain(); }, 1, "without a custody chain"},
        {"not from the author",
         [&] {
           return Chain(id, {1, 2});
         },
         2, "hop 0 is not sent by the record's author"},
        {"forged signature",
         [&] {
           CustodyChain c = Chain(id, {0, 1, 2});
           (*c.mutable_hops(1)->mutable_signature())[0] ^= 1;
           return c;
         },
         2, "hop 1 does not carry a valid signature"},
        {"altered hop",
         [&] {
           CustodyChain c = Chain(id, {0, 1, 2});
           Hop h;
           h.ParseFromString(c.hops(0).payload());
           h.set_policy("other");
           c.mutable_hops(0)->set_payload(h.SerializeAsString());
           return c;
         },
         2, "hop 0 does not carry a valid signature"},
        {"another record",
         [&] {
           return Chain(std::string(32, 'x'), {0, 1});
         },
         1, "hop 0 is for another record"},
    };
  }

  // Chains whose hops do not follow each other, or end elsewhere, or loop.
  std::vector<UnsoundCase> LinkCases(const std::string& id) {
    return {
        {"missing hop",
         [&] {
           CustodyChain c = Chain(id, {0, 1, 2, 3});
           c.mutable_hops()->DeleteSubrange(1, 1);
           return c;
         },
         3, "hop 1 is not sent by the receiver of the hop before"},
        {"reordered hops",
         [&] {
           CustodyChain c = Chain(id, {0, 1, 2, 3});
           c.mutable_hops()->SwapElements(1, 2);
           return c;
         },
         3, "hop 1 is not sent by the receiver of the hop before"},
        {"broken link",
         [&] {
           // Hops signed by the right nodes, but hop 1 names a previous hop that never was.
           CustodyChain c = Chain(id, {0, 1});
           CustodyChain other = Chain(id, {0, 1});
           Hop h;
           h.ParseFromString(other.hops(0).payload());
           h.set_at(h.at() + 1);
           other.mutable_hops(0)->set_payload(h.SerializeAsString());
           SignHop(other, id, nodes_[1], Key(2), testing::kTestNowMs, "default");
           *c.add_hops() = other.hops(1);
           return c;
         },
         2, "hop 1 does not link to the hop before"},
        {"addressed elsewhere",
         [&] {
           return Chain(id, {0, 1, 2});
         },
         3, "addressed to node"},
        {"loop",
         [&] {
           return Chain(id, {0, 1, 2, 1});
         },
         1, "already in its chain"},
    };
  }

  // Each chain is refused as invalid, naming the hop at fault.
  void ExpectRefused(const std::string& id, const RecordBody& body,
                     const std::vector<UnsoundCase>& cases) {
    for (const UnsoundCase& c : cases) {
      const CustodyChain chain = c.chain();
      int bad_hop = -2;
      absl::StatusOr<ChainVerdict> v = CheckChain(id, body, chain, Key(c.self), nullptr, &bad_hop);
      ASSERT_FALSE(v.ok()) << c.name;
      EXPECT_TRUE(absl::IsInvalidArgument(v.status())) << c.name;
      EXPECT_NE(v.status().message().find(c.message_part), std::string::npos)
          << c.name << ": " << v.status();
      // The hop at fault is given by index: the one the message names, the chain's length when
      // only the last receiver is wrong, -1 for an empty chain.
      const std::string named = bad_hop == -1                  ? "without a custody chain"
                                : bad_hop == chain.hops_size() ? "addressed to node"
                                                               : StrCat("hop ", bad_hop, " ");
      EXPECT_NE(v.status().message().find(named), std::string::npos)
          << c.name << ": " << bad_hop << " " << v.status();
    }
  }
};

TEST_F(CustodyTest, HandlingRulesAcceptOrNameTheOffendingHop) {
  struct Case {
    std::string name;
    Tlp tlp;
    uint32_t max_hops;
    bool may_relay;
    std::vector<int> recipients;
    std::vector<int> path;
    int offender;  // -1: accepted
    std::string rule_part;
  };
  const std::vector<Case> cases = {
      {"green, 1 hop", v1::TLP_GREEN, 3, true, {}, {0, 1}, -1, ""},
      {"green, 3 hops of 3", v1::TLP_GREEN, 3, true, {}, {0, 1, 2, 3}, -1, ""},
      {"green, 4 hops of 3", v1::TLP_GREEN, 3, true, {}, {0, 1, 2, 3, 4}, 3, "hop limit of 3"},
      {"green, no relay", v1::TLP_GREEN, 3, false, {}, {0, 1, 2}, 1, "did not allow relaying"},
      {"green, default limit 8", v1::TLP_GREEN, 0, true, {}, {0, 1, 2, 3, 4, 5, 6, 7, 8}, -1, ""},
      {"green, past default limit",
       v1::TLP_GREEN,
       0,
       true,
       {},
       {0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
       8,
       "hop limit of 8"},
      {"clear, max 1", v1::TLP_CLEAR, 1, true, {}, {0, 1, 2}, 1, "hop limit of 1"},
      {"amber, direct", v1::TLP_AMBER, 0, false, {}, {0, 1}, -1, ""},
      {"amber, relayed", v1::TLP_AMBER, 5, true, {}, {0, 1, 2}, 1, "hop limit of 1"},
      {"amber+strict, relayed", v1::TLP_AMBER_STRICT, 0, true, {}, {0, 1, 2}, 1, "hop limit"},
      {"red, to a recipient", v1::TLP_RED, 0, false, {1}, {0, 1}, -1, ""},
      {"red, to another node", v1::TLP_RED, 0, false, {1}, {0, 2}, 0, "not a recipient"},
  };
  for (const Case& c : cases) {
    RecordBody body = Body(c.tlp, c.max_hops, c.may_relay, c.recipients);
    const std::string id = Id(body);
    absl::StatusOr<ChainVerdict> v = CheckChain(id, body, Chain(id, c.path), Key(c.path.back()));
    ASSERT_TRUE(v.ok()) << c.name << ": " << v.status();
    EXPECT_EQ(v->accepted, c.offender < 0) << c.name << ": " << v->rule;
    EXPECT_EQ(v->violation, c.offender >= 0) << c.name;
    EXPECT_EQ(v->offender, c.offender) << c.name;
    EXPECT_NE(v->rule.find(c.rule_part), std::string::npos) << c.name << ": " << v->rule;
    // The sender's own check refuses exactly the hop the receiver would call a violation.
    CustodyChain held = Chain(id, std::vector<int>(c.path.begin(), c.path.end() - 1));
    absl::Status send = MayForward(body, held, Key(c.path[c.path.size() - 2]), Key(c.path.back()));
    EXPECT_EQ(send.ok(), c.offender != static_cast<int>(c.path.size()) - 2)
        << c.name << ": " << send;
  }
}

TEST_F(CustodyTest, UnsoundChainsAreRefusedNamingTheHop) {
  RecordBody body = Body(v1::TLP_GREEN, 5, true);
  const std::string id = Id(body);
  ExpectRefused(id, body, SignatureCases(id));
  ExpectRefused(id, body, LinkCases(id));
}

TEST_F(CustodyTest, NothingGoesToTheAuthorOrBackIntoTheChain) {
  RecordBody body = Body(v1::TLP_CLEAR, 5, true);
  const std::string id = Id(body);
  CustodyChain held = Chain(id, {0, 1, 2});  // held at node 2
  EXPECT_TRUE(MayForward(body, held, Key(2), Key(3)).ok());
  EXPECT_NE(MayForward(body, held, Key(2), Key(0)).message().find("author"), std::string::npos);
  EXPECT_NE(MayForward(body, held, Key(2), Key(1)).message().find("already in"), std::string::npos);
  EXPECT_NE(MayForward(body, held, Key(2), Key(2)).message().find("this node"), std::string::npos);
  // The author's own first send.
  EXPECT_TRUE(MayForward(body, CustodyChain(), Key(0), Key(1)).ok());
}

}  // namespace
}  // namespace threatmesh
