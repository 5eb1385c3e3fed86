#include "node/core/policy.h"

#include <gtest/gtest.h>

#include <functional>

#include "crypto/hash.h"
#include "node/core/custody.h"
#include "node/core/key_table.h"
#include "testing/test_util.h"

namespace threatmesh {
namespace {

using v1::RecordBody;

class PolicyTest : public ::testing::Test {
 protected:
  crypto::KeyPair self_ = crypto::KeyPair::Generate();
  crypto::KeyPair peer_ = crypto::KeyPair::Generate();
  crypto::KeyPair other_ = crypto::KeyPair::Generate();
  std::string Self() { return std::string(self_.public_key().bytes()); }
  std::string Peer() { return std::string(peer_.public_key().bytes()); }

  RecordBody Own() {
    RecordBody b = testing::IndicatorBody(self_, v1::INDICATOR_TYPE_DOMAIN, "a.example.com");
    b.set_tlp(v1::TLP_GREEN);
    b.mutable_handling()->set_may_relay(true);
    b.add_labels("apt-x");
    b.set_confidence(70);
    return b;
  }

  struct OutboundCase {
    std::string name;
    PolicySettings settings;
    std::function<void(RecordBody&)> edit;
    bool relayed;  // held from another author through one hop
    bool allowed;
    std::string rule_part;
  };

  // TLP and communities.
  std::vector<OutboundCase> LabelCases() {
    return {
        {"defaults send GREEN", {}, nullptr, false, true, "sent (TLP:GREEN, hop 1"},
        {"AMBER by default (the label decides)",
         {},
         [](RecordBody& b) { b.set_tlp(v1::TLP_AMBER); },
         false,
         true,
         "sent (TLP:AMBER"},
        {"AMBER above the max",
         {{"max-tlp", "green"}},
         [](RecordBody& b) { b.set_tlp(v1::TLP_AMBER); },
         false,
         false,
         "TLP:AMBER is above the highest sent, TLP:GREEN"},
        {"AMBER allowed",
         {{"max-tlp", "amber"}},
         [](RecordBody& b) { b.set_tlp(v1::TLP_AMBER); },
         false,
         true,
         "sent"},
        {"CLEAR under GREEN",
         {{"max-tlp", "green"}},
         [](RecordBody& b) { b.set_tlp(v1::TLP_CLEAR); },
         false,
         true,
         "sent"},
        {"GREEN community shared",
         {{"communities", "fin, energy"}},
         [](RecordBody& b) { b.mutable_handling()->add_communities("energy"); },
         false,
         true,
         "sent"},
        {"GREEN community not shared",
         {{"communities", "fin"}},
         [](RecordBody& b) { b.mutable_handling()->add_communities("energy"); },
         false,
         false,
         "communities the peer is not in"},
    };
  }

  // What the peer takes: kinds, indicator types, tags, confidence.
  std::vector<OutboundCase> SelectionCases() {
    return {
        {"kind sent", {{"kinds", "indicator,sighting"}}, nullptr, false, true, "sent"},
        {"kind not sent",
         {{"kinds", "sighting"}},
         nullptr,
         false,
         false,
         "kind indicator is not sent"},
        {"indicator type sent", {{"indicator-types", "domain, url"}}, nullptr, false, true, "sent"},
        {"indicator type not sent",
         {{"indicator-types", "ipv4"}},
         nullptr,
         false,
         false,
         "indicator type domain is not sent"},
        {"tag included", {{"tags-include", "apt-x,apt-y"}}, nullptr, false, true, "sent"},
        {"no included tag",
         {{"tags-include", "apt-y"}},
         nullptr,
         false,
         false,
         "none of the tags sent (apt-y)"},
        {"tag excluded",
         {{"tags-exclude", "apt-x"}},
         nullptr,
         false,
         false,
         "tag \"apt-x\" is excluded"},
        {"confidence enough", {{"min-confidence", "70"}}, nullptr, false, true, "sent"},
        {"confidence too low",
         {{"min-confidence", "71"}},
         nullptr,
         false,
         false,
         "confidence 70 is below the minimum of 71"},
        {"no confidence stated",
         {{"min-confidence", "1"}},
         [](RecordBody& b) { b.clear_confidence(); },
         false,
         false,
         "states no confidence"},
    };
  }

  // Custody: own records only, relaying, RED recipients.
  std::vector<OutboundCase> CustodyCases() {
    return {
        {"own only, own record", {{"own-only", "true"}}, nullptr, false, true, "sent"},
        {"own only, relayed record",
         {{"own-only", "true"}},
         nullptr,
         true,
         false,
         "only records authored by this node"},
        {"relayed, allowed", {}, nullptr, true, true, "hop 2 of at most 8"},
        {"relayed, author forbids",
         {},
         [](RecordBody& b) { b.mutable_handling()->set_may_relay(false); },
         true,
         false,
         "custody: the author did not allow relaying"},
        {"RED to a non-recipient, policy allows RED",
         {{"max-tlp", "red"}},
         [&](RecordBody& b) {
           b.set_tlp(v1::TLP_RED);
           b.mutable_handling()->add_recipients(std::string(other_.public_key().bytes()));
         },
         false,
         false,
         "custody: node"},
        {"RED to the recipient",
         {{"max-tlp", "red"}},
         [&](RecordBody& b) {
           b.set_tlp(v1::TLP_RED);
           b.mutable_handling()->add_recipients(Peer());
         },
         false,
         true,
         "sent (TLP:RED"},
    };
  }

  // Each case checked against the decision and the rule it names.
  void ExpectOutbound(const std::vector<OutboundCase>& cases) {
    for (const OutboundCase& c : cases) {
      absl::StatusOr<OutboundPolicy> policy = ParseOutboundPolicy("p", c.settings);
      ASSERT_TRUE(policy.ok()) << c.name << ": " << policy.status();
      RecordBody body = Own();
      v1::CustodyChain chain;
      if (c.relayed) {
        body.set_author(std::string(other_.public_key().bytes()));
        SignHop(chain, crypto::Sha256(body.SerializeAsString()), other_, Self(), 1, "p");
      }
      if (c.edit) c.edit(body);
      Decision d = ExplainOutbound(*policy, body, chain, Self(), Peer());
      EXPECT_EQ(d.allowed, c.allowed) << c.name << ": " << d.rule;
      EXPECT_NE(d.rule.find(c.rule_part), std::string::npos) << c.name << ": " << d.rule;
    }
  }
};

// Every outbound field, each case checked against the decision and the rule it names.
TEST_F(PolicyTest, OutboundEveryField) {
  ExpectOutbound(LabelCases());
  ExpectOutbound(SelectionCases());
  ExpectOutbound(CustodyCases());
}

TEST_F(PolicyTest, InboundEveryField) {
  const std::string listed = other_.public_key().ToText();
  struct Case {
    std::string name;
    PolicySettings settings;
    bool by_peer;  // the record's author is the peer (else `other_`)
    std::size_t size;
    bool allowed;
    std::string rule_part;
  };
  const std::vector<Case> cases = {
      {"any author", {}, false, 100, true, "taken"},
      {"peer only, peer's record", {{"accept-authors", "peer"}}, true, 100, true, "taken"},
      {"peer only, relayed record",
       {{"accept-authors", "peer"}},
       false,
       100,
       false,
       "only the peer's own records"},
      {"listed author", {{"accept-authors", listed}}, false, 100, true, "taken"},
      {"unlisted author",
       {{"accept-authors", listed}},
       true,
       100,
       false,
       "not one of the accepted authors"},
      {"size within", {{"max-record-bytes", "2048"}}, false, 2048, true, "taken"},
      {"size above",
       {{"max-record-bytes", "2048"}},
       false,
       2049,
       false,
       "2049 bytes, above the limit of 2048"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<InboundPolicy> policy = ParseInboundPolicy("in", c.settings);
    ASSERT_TRUE(policy.ok()) << c.name << ": " << policy.status();
    RecordBody body = testing::IndicatorBody(c.by_peer ? peer_ : other_, v1::INDICATOR_TYPE_DOMAIN,
                                             "a.example.com");
    Decision d = ExplainInbound(*policy, body, c.size, Peer());
    EXPECT_EQ(d.allowed, c.allowed) << c.name << ": " << d.rule;
    EXPECT_NE(d.rule.find(c.rule_part), std::string::npos) << c.name << ": " << d.rule;
  }
}

TEST_F(PolicyTest, BadSettingsNameThePolicyAndTheSetting) {
  struct Case {
    PolicySettings settings;
    bool inbound;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {{{"max-tlp", "white"}}, false, "policy \"p\": max-tlp = \"white\""},
      {{{"kinds", "indicator,blog"}}, false, "kinds = \"blog\""},
      {{{"indicator-types", "hostname"}}, false, "indicator-types = \"hostname\""},
      {{{"min-confidence", "101"}}, false, "from 0 to 100"},
      {{{"own-only", "maybe"}}, false, "true or false"},
      {{{"colour", "red"}}, false, "unknown setting \"colour\""},
      {{{"accept-authors", "tmpkabc"}}, true, "accept-authors = \"tmpkabc\""},
      {{{"max-record-bytes", "10"}}, true, "from 1024"},
      {{{"max-records-per-second", "0"}}, true, "from 1"},
      {{{"max-tlp", "red"}}, true, "unknown setting \"max-tlp\""},
  };
  for (const Case& c : cases) {
    absl::Status s = c.inbound ? ParseInboundPolicy("p", c.settings).status()
                               : ParseOutboundPolicy("p", c.settings).status();
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << c.message_part;
    EXPECT_NE(s.message().find(c.message_part), std::string::npos) << s;
  }
}

// A node is the same node under the keys it rotated through: its old records count as its
// own, a peer's old records as the peer's, a listed author's new key as listed. Key
// statements pass the content filters, so a peer can always judge signatures.
TEST_F(PolicyTest, RotatedKeysAreTheSameNodeAndStatementsPassContentFilters) {
  crypto::KeyPair self_before = crypto::KeyPair::Generate();
  crypto::KeyPair peer_before = crypto::KeyPair::Generate();
  KeyTable keys;
  for (const std::string& sealed : {SealRotation(self_before, self_, testing::kTestNowMs),
                                    SealRotation(peer_before, peer_, testing::kTestNowMs)}) {
    v1::Signed s;
    ASSERT_TRUE(s.ParseFromString(sealed));
    RecordBody b;
    ASSERT_TRUE(b.ParseFromString(s.payload()));
    ASSERT_TRUE(keys.Add(crypto::Sha256(s.payload()), b).ok());
  }
  absl::StatusOr<OutboundPolicy> own_only = ParseOutboundPolicy("p", {{"own-only", "true"}});
  ASSERT_TRUE(own_only.ok());
  RecordBody old_own = Own();
  old_own.set_author(std::string(self_before.public_key().bytes()));
  EXPECT_TRUE(ExplainOutbound(*own_only, old_own, {}, Self(), Peer(), &keys).allowed);
  EXPECT_FALSE(ExplainOutbound(*own_only, old_own, {}, Self(), Peer()).allowed);

  absl::StatusOr<OutboundPolicy> narrow = ParseOutboundPolicy(
      "p", {{"kinds", "indicator"}, {"tags-include", "apt-y"}, {"min-confidence", "90"}});
  ASSERT_TRUE(narrow.ok()) << narrow.status();
  v1::Signed rotation;
  rotation.ParseFromString(SealRotation(self_before, self_, testing::kTestNowMs));
  RecordBody rotation_body;
  rotation_body.ParseFromString(rotation.payload());
  Decision statement = ExplainOutbound(*narrow, rotation_body, {}, Self(), Peer(), &keys);
  EXPECT_TRUE(statement.allowed) << statement.rule;
  Decision indicator = ExplainOutbound(*narrow, Own(), {}, Self(), Peer(), &keys);
  EXPECT_FALSE(indicator.allowed);
  EXPECT_NE(indicator.rule.find("none of the tags"), std::string::npos) << indicator.rule;

  absl::StatusOr<InboundPolicy> peer_only = ParseInboundPolicy("in", {{"accept-authors", "peer"}});
  ASSERT_TRUE(peer_only.ok());
  RecordBody by_peer_before =
      testing::IndicatorBody(peer_before, v1::INDICATOR_TYPE_DOMAIN, "a.example.com");
  EXPECT_TRUE(ExplainInbound(*peer_only, by_peer_before, 100, Peer(), &keys).allowed);
  EXPECT_FALSE(ExplainInbound(*peer_only, by_peer_before, 100, Peer()).allowed);
  absl::StatusOr<InboundPolicy> listed =
      ParseInboundPolicy("in", {{"accept-authors", peer_before.public_key().ToText()}});
  ASSERT_TRUE(listed.ok());
  RecordBody by_peer_now =
      testing::IndicatorBody(peer_, v1::INDICATOR_TYPE_DOMAIN, "a.example.com");
  EXPECT_TRUE(ExplainInbound(*listed, by_peer_now, 100, Peer(), &keys).allowed);
  Decision unlisted = ExplainInbound(*listed, by_peer_now, 100, Peer());
  EXPECT_FALSE(unlisted.allowed);
  EXPECT_NE(unlisted.rule.find("not one of the accepted authors"), std::string::npos);
}

}  // namespace
}  // namespace threatmesh
