// Records crossing a mesh of real nodes over loopback TLS: TLP and handling along lines and
// cycles, catch-up after downtime, mutual dialers, configured policies and their reload,
// retractions and supersessions, rate limits, and kill -9 during catch-up.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/key_file.h"
#include "crypto/str_cat.h"
#include "node/core/custody.h"
#include "node/core/record_builder.h"
#include "node/mesh/mesh_fixture.h"

namespace threatmesh {
namespace {

using namespace threatmesh::v1;  // NOLINT: the API's own types.
using testing::MeshTest;
using testing::Node;
using testing::ServeProcess;

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

// Proof bundles of a record that crossed 1, 2 and 4 hops of a real line A-B-C-D-E, exported
// by the node holding each copy, verify offline, with the holder's names for the keys.
TEST_F(MeshTest, ProofBundlesOfRelayedCopiesVerify) {
  const std::vector<std::string> line = {"a", "b", "c", "d", "e"};
  for (const std::string& n : line) Start(n);
  for (std::size_t i = 0; i + 1 < line.size(); ++i) Link(line[i], line[i + 1]);
  const std::string id = Publish("a", "proof.example.com", TLP_CLEAR,
                                 [](RecordBody& b) { b.mutable_handling()->set_may_relay(true); });
  ASSERT_TRUE(WaitFor("e", id).has_value());
  for (int hops : {1, 2, 4}) {
    const std::string& holder = line[hops];
    ExportProofRequest request;
    request.set_record_id(id);
    absl::StatusOr<ExportProofResponse> bundle = nodes_[holder].client->ExportProof(request);
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    ProofResult r = VerifyProofBundle(bundle->bundle());
    ASSERT_EQ(r.verdict, ProofResult::Verdict::kValid) << bundle->bundle();
    EXPECT_EQ(r.record_id, id);
    int hop_lines = 0;
    for (const std::string& s : r.story) hop_lines += s.find(", hop ") != std::string::npos;
    EXPECT_EQ(hop_lines, hops) << holder;
    // The holder names its peers: the one it received the copy from.
    const std::string& sender = line[hops - 1];
    EXPECT_NE(bundle->bundle().find("\"name\": \"" + sender + "\""), std::string::npos)
        << bundle->bundle();
  }
  // A record nobody holds has no bundle.
  ExportProofRequest missing;
  missing.set_record_id(std::string(32, 'x'));
  EXPECT_EQ(nodes_["a"].client->ExportProof(missing).status().code(), absl::StatusCode::kNotFound);
}

// C is down while A publishes 10,000 records; when it comes back it catches up from its
// cursor, with each record once, then gets new records live.
TEST_F(MeshTest, CatchUpAfterDowntimeThenLive) {
  Start("a");
  Start("c");
  Link("c", "a");  // c dials a
  const std::string first = Publish("a", "first.example.com", TLP_GREEN);
  ASSERT_TRUE(WaitFor("c", first).has_value());
  nodes_["c"].client.reset();
  ASSERT_EQ(nodes_["c"].process->Stop(), 0);

  std::vector<PublishRequest> bulk;
  for (int i = 0; i < 10000; ++i) {
    PublishRequest& r = bulk.emplace_back();
    r.mutable_body()->set_tlp(TLP_GREEN);
    r.mutable_body()->mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
    r.mutable_body()->mutable_indicator()->set_value("bulk" + std::to_string(i) + ".example.com");
  }
  ASSERT_EQ(nodes_["a"].client->PublishStream(bulk)->stored(), 10000u);

  Serve(nodes_["c"]);
  (void)testing::WaitUntil([&] { return !(nodes_["c"].client->Status()->next_seq() < 10002); },
                           std::chrono::milliseconds(30000));
  EXPECT_EQ(nodes_["c"].client->Status()->next_seq(), 10002u);  // 10,001 records, each once
  const std::string live = Publish("a", "live.example.com", TLP_GREEN);
  EXPECT_TRUE(WaitFor("c", live).has_value());
  EXPECT_EQ(nodes_["c"].client->Status()->next_seq(), 10003u);
}

// Both nodes dial each other: one stream survives, the same on both sides, and each record
// crosses the link once.
TEST_F(MeshTest, MutualDialersKeepOneStreamAndSendEachRecordOnce) {
  Start("a");
  Start("b");
  Peer("a", "b", true);
  Peer("b", "a", true);
  auto state = [&](const std::string& at, const std::string& peer) { return StateOf(at, peer); };
  // Both dial. The stream dialed by the smaller key wins on both sides, replacing the other
  // if that got through first; once the larger key's dial has been refused because the
  // winner is up, the pair has settled on it.
  const bool a_larger = nodes_["a"].key > nodes_["b"].key;
  const std::string larger = a_larger ? "a" : "b", smaller = a_larger ? "b" : "a";
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        return state("a", "b").connected() && state("b", "a").connected() &&
               state(larger, smaller).last_error().find("is up already") != std::string::npos;
      },
      std::chrono::seconds(30)))
      << state(larger, smaller).last_error();
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    ids.push_back(Publish("a", "m" + std::to_string(i) + ".example.com", TLP_GREEN));
  }
  for (const std::string& id : ids) ASSERT_TRUE(WaitFor("b", id).has_value());
  (void)testing::WaitUntil([&] { return !(state("b", "a").cursor() < 40); },
                           std::chrono::milliseconds(5000));
  EXPECT_TRUE(state("a", "b").connected());
  EXPECT_TRUE(state("b", "a").connected());
  EXPECT_EQ(state("a", "b").sent(), 40u);
  EXPECT_EQ(state("b", "a").received(), 40u);
  EXPECT_EQ(state("b", "a").duplicates(), 0u);
  EXPECT_EQ(state("b", "a").cursor(), 40u);
  EXPECT_EQ(nodes_["a"].client->Status()->next_seq(), 41u);  // nothing came back
}

// Five nodes with cycles: every node stores the record once, its author never gets it back,
// and no link carries it more than once in either direction.
TEST_F(MeshTest, FiveNodesWithCyclesCarryEachRecordOncePerLink) {
  const std::vector<std::string> names = {"a", "b", "c", "d", "e"};
  for (const std::string& n : names) Start(n);
  const std::vector<std::pair<std::string, std::string>> links = {
      {"a", "b"}, {"b", "c"}, {"c", "d"}, {"d", "e"}, {"e", "a"}, {"a", "c"}, {"b", "e"}};
  for (const auto& [x, y] : links) Link(x, y);
  const std::string id = Publish("a", "cycle.example.com", TLP_GREEN,
                                 [](RecordBody& b) { b.mutable_handling()->set_may_relay(true); });
  for (const std::string& n : names) ASSERT_TRUE(WaitFor(n, id).has_value()) << n;
  // Every copy sent has been taken and acknowledged, so any extra copy would show now.
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        for (const auto& [x, y] : links) {
          for (const auto& [from, to] : {std::pair{x, y}, std::pair{y, x}}) {
            const PeerState st = StateOf(from, to);
            if (!st.connected() || st.lag() != 0) return false;
          }
        }
        return true;
      },
      std::chrono::seconds(30)));
  for (const std::string& n : names) {
    EXPECT_EQ(nodes_[n].client->Status()->next_seq(), 2u) << n << " holds one record";
  }
  for (const auto& [x, y] : links) {
    for (const auto& [from, to] : {std::pair{x, y}, std::pair{y, x}}) {
      EXPECT_LE(StateOf(from, to).sent(), 1u) << from << " -> " << to;
    }
  }
  for (const char* peer : {"b", "c", "e"}) {
    EXPECT_EQ(StateOf("a", peer).received(), 0u) << "a got its record back";
    EXPECT_EQ(StateOf("a", peer).duplicates(), 0u);
  }
}

// A named outbound policy from the config file decides what a peer gets, and policy explain
// gives the same decision with its rule.
TEST_F(MeshTest, ConfiguredPolicyDecidesAndExplains) {
  std::ofstream(dir_.Sub("a.conf")) << "[outbound.partners]\nmax-tlp = green\n"
                                       "tags-exclude = internal\n";
  Start("a", false, {"--config", dir_.Sub("a.conf")});
  Start("b");
  AddPeerRequest unknown;
  unknown.mutable_peer()->set_name("b");
  unknown.mutable_peer()->set_node_key(nodes_["b"].key);
  unknown.mutable_peer()->set_policy("nonesuch");
  absl::Status refused = nodes_["a"].client->AddPeer(unknown);
  EXPECT_TRUE(absl::IsInvalidArgument(refused)) << refused;
  EXPECT_NE(refused.message().find("no outbound policy \"nonesuch\""), std::string::npos);
  Peer("b", "a", false);
  AddPeerRequest add;
  add.mutable_peer()->set_name("b");
  add.mutable_peer()->set_node_key(nodes_["b"].key);
  add.mutable_peer()->set_address(nodes_["b"].process->peer_address());
  add.mutable_peer()->set_policy("partners");
  ASSERT_TRUE(nodes_["a"].client->AddPeer(add).ok());

  struct Case {
    std::string value;
    Tlp tlp;
    std::vector<std::string> tags;
    bool sent;
    std::string rule_part;
  };
  const std::vector<Case> cases = {
      {"amber.example.com", TLP_AMBER, {}, false, "TLP:AMBER is above the highest sent"},
      {"internal.example.com", TLP_GREEN, {"internal"}, false, "tag \"internal\" is excluded"},
      {"shared.example.com", TLP_GREEN, {"apt-x"}, true, "policy \"partners\": sent"},
  };
  std::vector<std::string> ids;
  for (const Case& c : cases) {
    ids.push_back(Publish("a", c.value, c.tlp, [&](RecordBody& b) {
      for (const std::string& t : c.tags) b.add_labels(t);
    }));
  }
  ASSERT_TRUE(WaitFor("b", ids.back()).has_value());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    ExplainPolicyRequest explain;
    explain.set_record_id(ids[i]);
    explain.set_peer("b");
    absl::StatusOr<ExplainPolicyResponse> r = nodes_["a"].client->ExplainPolicy(explain);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->sent(), cases[i].sent) << cases[i].value << ": " << r->rule();
    EXPECT_NE(r->rule().find(cases[i].rule_part), std::string::npos) << r->rule();
    EXPECT_EQ(Held("b", ids[i]).has_value(), cases[i].sent) << cases[i].value;
  }
}

// A retraction travels like a record and marks its target retracted wherever it is held; a
// retracted record is not passed on to a peer that did not have it.
TEST_F(MeshTest, RetractionTravelsAndStopsTheRecord) {
  Start("a");
  Start("b");
  // The address another node's operator needs, as status gives it.
  EXPECT_EQ(nodes_["a"].client->Status()->peer_address(), nodes_["a"].process->peer_address());
  Link("a", "b");
  const std::string id = Publish("a", "oops.example.com", TLP_GREEN,
                                 [](RecordBody& b) { b.mutable_handling()->set_may_relay(true); });
  ASSERT_TRUE(WaitFor("b", id).has_value());
  RetractRequest retract;
  retract.set_target(id);
  retract.set_reason("false positive");
  absl::StatusOr<PublishResponse> retraction = nodes_["a"].client->Retract(retract);
  ASSERT_TRUE(retraction.ok()) << retraction.status();
  ASSERT_TRUE(WaitFor("b", retraction->id()).has_value());
  EXPECT_EQ(Held("b", id)->retracted_by(), retraction->id());
  EXPECT_EQ(Held("a", id)->retracted_by(), retraction->id());

  Start("c");
  Link("b", "c");
  ASSERT_TRUE(WaitFor("c", retraction->id()).has_value());
  EXPECT_FALSE(Held("c", id).has_value()) << "a retracted record was passed on";
}

// A flood from a peer is held to the inbound rate limit: everything arrives, no faster.
TEST_F(MeshTest, InboundRateLimitThrottlesAFlood) {
  std::ofstream(dir_.Sub("b.conf")) << "[inbound.slow]\nmax-records-per-second = 200\n";
  Start("a");
  Start("b", false, {"--config", dir_.Sub("b.conf")});
  AddPeerRequest add;
  add.mutable_peer()->set_name("a");
  add.mutable_peer()->set_node_key(nodes_["a"].key);
  add.mutable_peer()->set_inbound_policy("slow");
  ASSERT_TRUE(nodes_["b"].client->AddPeer(add).ok());
  Peer("a", "b", true);
  std::vector<PublishRequest> flood;
  for (int i = 0; i < 800; ++i) {
    PublishRequest& r = flood.emplace_back();
    r.mutable_body()->set_tlp(TLP_GREEN);
    r.mutable_body()->mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
    r.mutable_body()->mutable_indicator()->set_value("f" + std::to_string(i) + ".example.com");
  }
  ASSERT_EQ(nodes_["a"].client->PublishStream(flood)->stored(), 800u);
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t held = 0;
  testing::WaitUntil(
      [&] {
        absl::StatusOr<StatusResponse> s = nodes_["b"].client->Status();
        held = s.ok() ? s->next_seq() - 1 : 0;
        return held >= 800;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(100));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(held, 800u);
  // 800 records at 200/s with a bucket of 200: at least 3 s.
  EXPECT_GE(seconds, 2.5);
  EXPECT_GT(StateOf("b", "a").throttled_ms(), 1000u);
}

// A node that only dials (behind a firewall) sends and receives over its outbound stream.
TEST_F(MeshTest, DialOnlyNodeSendsAndReceives) {
  Start("hub");
  Start("branch", /*dial_only=*/true);
  Peer("hub", "branch", false);
  Peer("branch", "hub", true);
  const std::string down = Publish("hub", "down.example.com", TLP_GREEN);
  const std::string up = Publish("branch", "up.example.com", TLP_GREEN);
  EXPECT_TRUE(WaitFor("branch", down).has_value());
  EXPECT_TRUE(WaitFor("hub", up).has_value());
}

// kill -9 of the receiving node in the middle of a catch-up: after a restart it resumes from
// its durable cursor and ends with every record exactly once.
TEST_F(MeshTest, KillDuringCatchUpLosesNothingAndStoresNothingTwice) {
  Start("a");
  std::vector<PublishRequest> bulk;
  for (int i = 0; i < 8000; ++i) {
    PublishRequest& r = bulk.emplace_back();
    r.mutable_body()->set_tlp(TLP_GREEN);
    r.mutable_body()->mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
    r.mutable_body()->mutable_indicator()->set_value("k" + std::to_string(i) + ".example.com");
  }
  ASSERT_EQ(nodes_["a"].client->PublishStream(bulk)->stored(), 8000u);
  Start("b");
  Link("b", "a");  // b dials a and catches up
  // Watched closely, so that the kill comes in the middle of the catch-up.
  uint64_t seen = 0;
  testing::WaitUntil(
      [&] {
        absl::StatusOr<StatusResponse> s = nodes_["b"].client->Status();
        seen = s.ok() ? s->next_seq() - 1 : 0;
        return seen >= 300;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(5));
  nodes_["b"].client.reset();
  nodes_["b"].process->Kill();
  ASSERT_GE(seen, 300u);
  EXPECT_LT(seen, 8000u) << "the kill came after the catch-up ended";

  Serve(nodes_["b"]);
  uint64_t next = 0;
  testing::WaitUntil(
      [&] {
        absl::StatusOr<StatusResponse> s = nodes_["b"].client->Status();
        next = s.ok() ? s->next_seq() : 0;
        return next >= 8001;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(100));
  EXPECT_EQ(next, 8001u);  // 8000 records, none twice (the feed has no gap and no repeat)
  SearchRequest last;
  last.mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
  last.mutable_indicator()->set_value("k7999.example.com");
  EXPECT_EQ(nodes_["b"].client->Search(last)->records_size(), 1);
}

// Line A-B-C under a flood: B relays what it checked to C before its own commit. Killed
// (kill -9) mid-flood and restarted, B still ends with every record A acknowledged, and so
// does C, each stored once: a record C got before B's commit was lost by B, comes again from
// A (B had not acknowledged it) and is dropped by id at C.
TEST_F(MeshTest, KillOfARelayMidFloodLosesNothingAndStoresNothingTwice) {
  for (const char* n : {"a", "b", "c"}) Start(n);
  Link("b", "a");
  Link("b", "c");
  constexpr int kRecords = 6000;
  std::atomic<uint64_t> acknowledged{0};
  std::thread flood([&] {
    for (int chunk = 0; chunk < kRecords / 500; ++chunk) {
      std::vector<PublishRequest> bulk;
      for (int i = chunk * 500; i < (chunk + 1) * 500; ++i) {
        PublishRequest& r = bulk.emplace_back();
        r.mutable_body()->set_tlp(TLP_GREEN);
        r.mutable_body()->mutable_handling()->set_may_relay(true);
        r.mutable_body()->mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
        r.mutable_body()->mutable_indicator()->set_value("f" + std::to_string(i) + ".example.com");
      }
      absl::StatusOr<PublishStreamResponse> p = nodes_["a"].client->PublishStream(bulk);
      if (p.ok()) acknowledged += p->stored();
    }
  });
  // Watched closely, so that the kill comes while records flow through B.
  auto held = [&](const std::string& at) {
    absl::StatusOr<StatusResponse> s = nodes_[at].client->Status();
    return s.ok() ? s->next_seq() - 1 : 0;
  };
  uint64_t at_c = 0;
  testing::WaitUntil([&] { return (at_c = held("c")) >= 500; }, std::chrono::seconds(60),
                     std::chrono::milliseconds(2));
  const uint64_t early = StateOf("b", "c").sent_early();
  nodes_["b"].client.reset();
  nodes_["b"].process->Kill();
  flood.join();
  EXPECT_GT(early, 0u) << "B relayed nothing before its commit";
  ASSERT_GE(at_c, 500u);
  EXPECT_LT(at_c, static_cast<uint64_t>(kRecords)) << "the kill came after the flood had passed";
  ASSERT_EQ(acknowledged.load(), static_cast<uint64_t>(kRecords));

  Serve(nodes_["b"]);
  for (const char* n : {"b", "c"}) {
    testing::WaitUntil([&] { return held(n) >= kRecords; }, std::chrono::seconds(60),
                       std::chrono::milliseconds(100));
  }
  // Every record, none twice (the feed has no gap and no repeat), and nothing left to come.
  ASSERT_TRUE(
      testing::WaitUntil([&] { return StateOf("b", "c").lag() == 0; }, std::chrono::seconds(30)));
  EXPECT_EQ(held("b"), static_cast<uint64_t>(kRecords));
  EXPECT_EQ(held("c"), static_cast<uint64_t>(kRecords));
  for (int i : {0, kRecords / 2, kRecords - 1}) {
    SearchRequest q;
    q.mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
    q.mutable_indicator()->set_value("f" + std::to_string(i) + ".example.com");
    EXPECT_EQ(nodes_["c"].client->Search(q)->records_size(), 1) << i;
  }
}

// A small sharing community: two hubs, members peered to one or both, one dial-only, one
// direct member-to-member link. Records published at the members reach every node exactly
// once, and no link direction carries a record twice; with a hub killed and restarted on its
// address meanwhile, every node still ends with every record once.
class IsacTest : public MeshTest {
 protected:
  const std::vector<std::string> names_ = {"h0", "h1", "m0", "m1", "m2", "m3", "m4"};
  const std::vector<std::pair<std::string, std::string>> links_ = {
      {"h0", "h1"}, {"m0", "h0"}, {"m1", "h0"}, {"m1", "h1"}, {"m2", "h1"},
      {"m3", "h0"}, {"m3", "h1"}, {"m4", "h0"}, {"m0", "m2"}};

  void SetUp() override {
    for (const std::string& n : names_) Start(n, /*dial_only=*/n == "m4");
    for (const auto& [dialer, listener] : links_) Link(dialer, listener);
    ASSERT_TRUE(testing::WaitUntil(
        [&] {
          for (const auto& [dialer, listener] : links_) {
            if (!StateOf(dialer, listener).connected()) return false;
          }
          return true;
        },
        std::chrono::seconds(30)));
  }

  // Publishes records "<prefix>N.example.com", N < n, in chunks of 10 at the members in turn.
  void PublishAtMembers(const std::string& prefix, int n) {
    for (int chunk = 0; chunk * 10 < n; ++chunk) {
      std::vector<PublishRequest> bulk;
      for (int i = chunk * 10; i < std::min(n, chunk * 10 + 10); ++i) {
        PublishRequest& r = bulk.emplace_back();
        r.mutable_body()->set_tlp(TLP_GREEN);
        r.mutable_body()->mutable_handling()->set_may_relay(true);
        r.mutable_body()->mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
        r.mutable_body()->mutable_indicator()->set_value(StrCat(prefix, i, ".example.com"));
      }
      const std::string at = StrCat("m", chunk % 5);
      ASSERT_EQ(nodes_[at].client->PublishStream(bulk)->stored(), bulk.size()) << at;
    }
  }

  // Waits until every node holds `n` records, then checks it holds exactly that many.
  void ExpectEveryNodeHolds(uint64_t n) {
    auto held = [&](const std::string& at) {
      absl::StatusOr<StatusResponse> s = nodes_[at].client->Status();
      return s.ok() ? s->next_seq() - 1 : 0;
    };
    for (const std::string& at : names_) {
      testing::WaitUntil([&] { return held(at) >= n; }, std::chrono::seconds(60));
    }
    for (const std::string& at : names_) EXPECT_EQ(held(at), n) << at;
  }
};

TEST_F(IsacTest, EveryNodeHoldsEachRecordOnceAndOutlivesAHub) {
  PublishAtMembers("a", 60);
  ExpectEveryNodeHolds(60);
  for (const auto& [x, y] : links_) {
    for (const auto& [from, to] : {std::pair{x, y}, std::pair{y, x}}) {
      EXPECT_LE(StateOf(from, to).sent(), 60u) << from << " -> " << to;
    }
  }
  // h0 goes down (m4 is cut off with it) while 60 more are published; it comes back on its
  // address, where its members dial it again.
  const std::string address = nodes_["h0"].process->peer_address();
  nodes_["h0"].client.reset();
  nodes_["h0"].process->Kill();
  PublishAtMembers("b", 60);
  nodes_["h0"].args = {"--peer-listen", address};
  Serve(nodes_["h0"]);
  ExpectEveryNodeHolds(120);
}

// Policies and peers from the config file change without a restart: SIGHUP (or 'peers
// reload') applies them to new records; 'peers resync' replays what the old rules held back;
// a [peer.NAME] section removed from the file removes the peer.
TEST_F(MeshTest, ReloadAppliesNewPoliciesAndResyncReplays) {
  Start("b");
  const std::string conf = dir_.Sub("a.conf");
  Node& a = nodes_["a"];
  a.dir = dir_.Sub("a");
  ASSERT_EQ(
      std::system(
          (testing::ThreatmeshBinary() + " init --data-dir " + a.dir + " >/dev/null").c_str()),
      0);
  absl::StatusOr<crypto::PublicKey> b_key = crypto::PublicKey::FromBytes(nodes_["b"].key);
  auto write_conf = [&](const std::string& max_tlp, bool with_peer) {
    std::ofstream out(conf);
    out << "[outbound.partners]\nmax-tlp = " << max_tlp << "\n";
    if (with_peer) {
      out << "[peer.b]\nkey = " << b_key->ToText()
          << "\naddress = " << nodes_["b"].process->peer_address() << "\npolicy = partners\n";
    }
  };
  write_conf("clear", true);
  a.args = {"--config", conf};
  Serve(a);
  a.key = std::string(crypto::PublicKey::FromText(a.client->Status()->public_key())->bytes());
  Peer("b", "a", false);
  const std::string clear = Publish("a", "clear.example.com", TLP_CLEAR);
  const std::string held_back = Publish("a", "held-back.example.com", TLP_GREEN);
  ASSERT_TRUE(WaitFor("b", clear).has_value());
  EXPECT_FALSE(Held("b", held_back).has_value());

  // b's cursor of a's log moves past the record held back (told once a is quiet).
  (void)testing::WaitUntil([&] { return !(StateOf("b", "a").cursor() < 2); },
                           std::chrono::milliseconds(5000));
  ASSERT_EQ(StateOf("b", "a").cursor(), 2u);
  write_conf("green", true);
  a.process->Signal(SIGHUP);
  // The stream restarts under the new policy once the node has reloaded.
  std::string explained;
  testing::WaitUntil([&] {
    ExplainPolicyRequest e;
    e.set_record_id(held_back);
    e.set_peer("b");
    absl::StatusOr<ExplainPolicyResponse> r = a.client->ExplainPolicy(e);
    explained = r.ok() && r->sent() ? "sent" : "";
    return explained == "sent";
  });
  ASSERT_EQ(explained, "sent") << "SIGHUP did not apply the new policy";
  const std::string fresh = Publish("a", "fresh.example.com", TLP_GREEN);
  EXPECT_TRUE(WaitFor("b", fresh).has_value());
  EXPECT_FALSE(Held("b", held_back).has_value()) << "the cursor had passed it";

  ResyncPeerRequest resync;
  resync.set_name("b");
  ASSERT_TRUE(a.client->ResyncPeer(resync).ok());
  EXPECT_TRUE(WaitFor("b", held_back).has_value());
  EXPECT_EQ(nodes_["b"].client->Status()->next_seq(), 4u);  // clear, fresh, held back: once each

  write_conf("green", false);
  absl::StatusOr<ReloadConfigResponse> reloaded = a.client->ReloadConfig();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  ASSERT_EQ(reloaded->peers_changed_size(), 1);
  EXPECT_EQ(reloaded->peers_changed(0), "b");
  EXPECT_EQ(a.client->ListPeers()->peers_size(), 0);

  // A config that does not parse changes nothing.
  std::ofstream(conf) << "[outbound.partners]\nmax-tlp = purple\n";
  absl::StatusOr<ReloadConfigResponse> bad = a.client->ReloadConfig();
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("nothing changed"), std::string::npos);
  ResyncPeerRequest unknown;
  unknown.set_name("nobody");
  EXPECT_EQ(a.client->ResyncPeer(unknown).code(), absl::StatusCode::kNotFound);
}

// A newer version that supersedes a record travels like any record and marks the old one
// superseded wherever both are held; a node that joins later gets the new version and not the
// old. A supersession by anyone but the author marks nothing.
TEST_F(MeshTest, SupersessionTravelsAndMarksTheOldVersion) {
  Start("a");
  Start("b");
  Link("a", "b");
  const std::string v1 = Publish("a", "v1.example.com", TLP_GREEN,
                                 [](RecordBody& b) { b.mutable_handling()->set_may_relay(true); });
  ASSERT_TRUE(WaitFor("b", v1).has_value());
  const std::string v2 = Publish("a", "v2.example.com", TLP_GREEN, [&](RecordBody& b) {
    b.mutable_handling()->set_may_relay(true);
    b.set_supersedes(v1);
  });
  ASSERT_TRUE(WaitFor("b", v2).has_value());
  EXPECT_EQ(Held("a", v1)->superseded_by(), v2);
  EXPECT_EQ(Held("b", v1)->superseded_by(), v2);
  EXPECT_TRUE(Held("b", v2)->superseded_by().empty());
  // b's own record claiming to supersede a's: a mark by another author counts for nothing.
  const std::string forged =
      Publish("b", "forged.example.com", TLP_GREEN, [&](RecordBody& b) { b.set_supersedes(v2); });
  ASSERT_TRUE(WaitFor("a", forged).has_value());
  EXPECT_TRUE(Held("a", v2)->superseded_by().empty());
  EXPECT_TRUE(Held("b", v2)->superseded_by().empty());

  Start("c");
  Link("b", "c");
  ASSERT_TRUE(WaitFor("c", v2).has_value());
  EXPECT_FALSE(Held("c", v1).has_value()) << "a superseded version was passed on";
}

}  // namespace
}  // namespace threatmesh
