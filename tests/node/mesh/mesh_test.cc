// Nodes peering over loopback: real `threatmesh serve` processes exchanging records over TLS
// with the certificates made at init, bound to the node keys in the handshake.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/key_file.h"
#include "crypto/str_cat.h"
#include "node/api/grpc/client.h"
#include "node/core/custody.h"
#include "node/core/record_builder.h"
#include "node/local_node.h"
#include "node/mesh/grpc/peer_transport.h"
#include "node/mesh/grpc/tls.h"
#include "node/mesh/peer_auth.h"
#include "node/proof/proof.h"
#include "testing/serve_process.h"
#include "testing/test_util.h"
#include "testing/wait.h"
#include "threatmesh/v1/peer.grpc.pb.h"

namespace threatmesh {
namespace {

using namespace threatmesh::v1;  // NOLINT: the API's own types.
using testing::ServeProcess;

struct Node {
  std::string dir;
  std::unique_ptr<ServeProcess> process;
  std::unique_ptr<NodeClient> client;
  std::string key;                // 32 bytes
  std::vector<std::string> args;  // of 'serve', beyond the data dir and API address
};

class MeshTest : public ::testing::Test {
 protected:
  // Creates node `name` and serves it: peering over TLS with the certificate made at init,
  // listening for peers unless `dial_only`.
  Node& Start(const std::string& name, bool dial_only = false,
              std::vector<std::string> extra = {}) {
    Node& n = nodes_[name];
    n.dir = dir_.Sub(name);
    std::string cmd = testing::ThreatmeshBinary() + " init --data-dir " + n.dir + " >/dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    n.args = dial_only ? std::vector<std::string>{"--dial-only", "true"}
                       : std::vector<std::string>{"--peer-listen", "127.0.0.1:0"};
    n.args.insert(n.args.end(), extra.begin(), extra.end());
    Serve(n);
    absl::StatusOr<crypto::PublicKey> key =
        crypto::PublicKey::FromText(n.client->Status()->public_key());
    n.key = std::string(key->bytes());
    return n;
  }

  // Starts (or restarts) the node's process and its admin client.
  void Serve(Node& n) {
    absl::StatusOr<std::unique_ptr<ServeProcess>> p = ServeProcess::Start(n.dir, n.args);
    ASSERT_TRUE(p.ok()) << p.status();
    n.process = std::move(*p);
    std::ifstream token(AdminTokenPath(n.dir));
    ClientOptions options;
    options.address = n.process->address();
    std::getline(token, options.token);
    n.client = *NodeClient::Connect(options);
  }

  // The live state of peer `peer` at node `at`.
  PeerState StateOf(const std::string& at, const std::string& peer) {
    absl::StatusOr<ListPeersResponse> list = nodes_[at].client->ListPeers();
    EXPECT_TRUE(list.ok()) << list.status();
    if (!list.ok()) return {};
    for (const PeerState& st : list->states()) {
      if (st.name() == peer) return st;
    }
    return {};
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
    std::optional<StoredRecord> held;
    testing::WaitUntil([&] { return (held = Held(at, id)).has_value(); }, std::chrono::seconds(30));
    return held;
  }

  // The proof bundle node `at` exports for record `id`, checked offline; unusable (the
  // default verdict) when the export fails.
  ProofResult ProofAt(const std::string& at, const std::string& id) {
    ExportProofRequest request;
    request.set_record_id(id);
    absl::StatusOr<ExportProofResponse> bundle = nodes_[at].client->ExportProof(request);
    EXPECT_TRUE(bundle.ok()) << at << ": " << bundle.status();
    return bundle.ok() ? VerifyProofBundle(bundle->bundle()) : ProofResult();
  }

  // A new self-signed certificate and key, for a test double.
  PeerIdentity Identity(const std::string& name) {
    const std::string cert = dir_.Sub(name + ".crt"), key = dir_.Sub(name + ".key");
    EXPECT_TRUE(WriteSelfSignedCertificate(cert, key, "localhost").ok());
    std::ifstream c(cert), k(key);
    std::stringstream cs, ks;
    cs << c.rdbuf();
    ks << k.rdbuf();
    return PeerIdentity{cs.str(), ks.str()};
  }

  // A peer double speaking the protocol as `key` with a TLS identity of its own: an Exchange
  // stream to node `to`, handshake done. `accepted` tells whether the node authenticated it
  // (otherwise `refusal` holds the node's goodbye).
  struct Double {
    std::unique_ptr<Peering::Stub> stub;
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReaderWriter<PeerMessage, PeerMessage>> stream;
    bool accepted = false;
    std::string refusal;

    // Sends `batch` (through_seq set) and waits for the node's ack of it.
    bool SendAndWaitForAck(PeerMessage batch) {
      if (!stream->Write(batch)) return false;
      PeerMessage m;
      while (stream->Read(&m)) {
        if (m.has_ack() && m.ack().cursor() == batch.batch().through_seq()) return true;
      }
      return false;
    }
  };
  std::unique_ptr<Double> Connect(const std::string& to, const crypto::KeyPair& key) {
    auto d = std::make_unique<Double>();
    PeerIdentity tls = Identity(StrCat("double-", ++doubles_));
    d->stub = Peering::NewStub(grpc::CreateCustomChannel(
        nodes_[to].process->peer_address(), PeerChannelCredentials(tls), PeerChannelArguments()));
    d->stream = d->stub->Exchange(&d->ctx);
    PeerMessage hello, theirs, auth, their_auth;
    *hello.mutable_hello() = MakeHello(key);
    if (!d->stream->Write(hello) || !d->stream->Read(&theirs)) return d;
    if (!theirs.has_hello()) {
      d->refusal = theirs.goodbye().reason();
      return d;
    }
    absl::StatusOr<std::string> seen = SeenCertificateHash(d->ctx.auth_context().get());
    if (!seen.ok()) return d;
    *auth.mutable_auth() = SignPeerAuth(key, hello.hello(), theirs.hello(), *seen);
    // A node that refuses may have closed the stream before this write: its goodbye is
    // still there to read.
    (void)d->stream->Write(auth);
    if (!d->stream->Read(&their_auth)) return d;
    if (!their_auth.has_auth()) {
      d->refusal = their_auth.goodbye().reason();
      return d;
    }
    d->accepted = VerifyPeerAuth(theirs.hello(), hello.hello(), their_auth.auth(),
                                 *CertificateHash(tls.cert_pem))
                      .ok();
    return d;
  }

  testing::TempDir dir_;
  std::map<std::string, Node> nodes_;
  int doubles_ = 0;
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
  // Both dial; once a stream is up on both sides, and a moment more for a second stream
  // that got through first to be replaced, the pair has settled on one.
  (void)testing::WaitUntil(
      [&] { return state("a", "b").connected() && state("b", "a").connected(); },
      std::chrono::milliseconds(30000));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
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
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let any extra copy show
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
  for (int i = 0; i < 300 && held < 800; ++i) {
    held = nodes_["b"].client->Status()->next_seq() - 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
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
  uint64_t seen = 0;
  for (int i = 0; i < 600 && seen < 300; ++i) {
    absl::StatusOr<StatusResponse> s = nodes_["b"].client->Status();
    seen = s.ok() ? s->next_seq() - 1 : 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  nodes_["b"].client.reset();
  nodes_["b"].process->Kill();
  ASSERT_GE(seen, 300u);
  EXPECT_LT(seen, 8000u) << "the kill came after the catch-up ended";

  Serve(nodes_["b"]);
  uint64_t next = 0;
  for (int i = 0; i < 600 && next < 8001; ++i) {
    absl::StatusOr<StatusResponse> s = nodes_["b"].client->Status();
    next = s.ok() ? s->next_seq() : 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(next, 8001u);  // 8000 records, none twice (the feed has no gap and no repeat)
  SearchRequest last;
  last.mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
  last.mutable_indicator()->set_value("k7999.example.com");
  EXPECT_EQ(nodes_["b"].client->Search(last)->records_size(), 1);
}

// A peer that speaks the protocol but sends junk: forged and altered records, broken chains,
// a record relayed against its author's handling, an oversized record, garbage. Each is
// refused and counted by reason, none is stored, and an honest record in the same batch is
// (once: its second copy in the batch counts as a duplicate).
TEST_F(MeshTest, MaliciousPeerIsRefusedRecordByRecord) {
  Node& n = Start("n");
  crypto::KeyPair mallory = crypto::KeyPair::Generate();
  crypto::KeyPair other = crypto::KeyPair::Generate();
  const std::string m_key(mallory.public_key().bytes());
  AddPeerRequest add;
  add.mutable_peer()->set_name("mallory");
  add.mutable_peer()->set_node_key(m_key);
  ASSERT_TRUE(n.client->AddPeer(add).ok());

  // Mallory speaks TLS with a certificate of its own and binds it properly: a peer that is
  // configured, authenticated, and hostile.
  std::unique_ptr<Double> link = Connect("n", mallory);
  ASSERT_TRUE(link->accepted) << link->refusal;

  const int64_t now = SystemNowMs();
  auto body_by = [&](const crypto::KeyPair& author, const std::string& value, Tlp tlp) {
    RecordBody b = testing::IndicatorBody(author, INDICATOR_TYPE_DOMAIN, value, now - 1000);
    b.set_tlp(tlp);
    b.mutable_handling()->set_may_relay(true);
    return b;
  };
  // A copy sent along `path` of keys (the last hop to n).
  auto copy = [&](const RecordBody& body, const crypto::KeyPair& author,
                  std::vector<const crypto::KeyPair*> relays) {
    PeerRecord r;
    r.set_signed_record(SealRecord(body, author));
    Signed envelope;
    envelope.ParseFromString(r.signed_record());
    const std::string id = crypto::RecordId(envelope.payload());
    std::vector<const crypto::KeyPair*> path = {&author};
    path.insert(path.end(), relays.begin(), relays.end());
    for (std::size_t i = 0; i < path.size(); ++i) {
      const std::string to =
          i + 1 < path.size() ? std::string(path[i + 1]->public_key().bytes()) : n.key;
      SignHop(*r.mutable_chain(), id, *path[i], to, now, "p");
    }
    return r;
  };
  PeerMessage batch;
  RecordBatch* b = batch.mutable_batch();
  PeerRecord honest = copy(body_by(mallory, "honest.example.com", TLP_GREEN), mallory, {});
  *b->add_records() = honest;
  PeerRecord forged = copy(body_by(mallory, "forged.example.com", TLP_GREEN), mallory, {});
  Signed env;
  env.ParseFromString(forged.signed_record());
  (*env.mutable_signature())[3] ^= 1;
  forged.set_signed_record(env.SerializeAsString());
  *b->add_records() = forged;
  PeerRecord altered = copy(body_by(mallory, "altered.example.com", TLP_GREEN), mallory, {});
  env.ParseFromString(altered.signed_record());
  RecordBody changed;
  changed.ParseFromString(env.payload());
  changed.mutable_indicator()->set_value("changed.example.com");
  env.set_payload(changed.SerializeAsString());
  altered.set_signed_record(env.SerializeAsString());
  *b->add_records() = altered;
  PeerRecord missing_hop =
      copy(body_by(other, "missing.example.com", TLP_GREEN), other, {&mallory});
  missing_hop.mutable_chain()->mutable_hops()->DeleteSubrange(0, 1);
  *b->add_records() = missing_hop;
  crypto::KeyPair third = crypto::KeyPair::Generate();
  PeerRecord reordered =
      copy(body_by(other, "reordered.example.com", TLP_GREEN), other, {&third, &mallory});
  reordered.mutable_chain()->mutable_hops()->SwapElements(0, 1);
  *b->add_records() = reordered;
  // AMBER relayed by mallory: the chain is sound, so mallory's own hop is the evidence.
  *b->add_records() = copy(body_by(other, "amber.example.com", TLP_AMBER), other, {&mallory});
  RecordBody big = body_by(mallory, "big.example.com", TLP_GREEN);
  big.mutable_indicator()->set_description(std::string((1 << 20) + 10, 'x'));
  *b->add_records() = copy(big, mallory, {});
  b->add_records()->set_signed_record("\xff\x01garbage");
  *b->add_records() = honest;  // a second copy in the same batch: one duplicate
  b->set_through_seq(8);
  // n acknowledges the batch once it has decided on every record.
  ASSERT_TRUE(link->SendAndWaitForAck(batch));

  PeerState state;
  absl::StatusOr<ListPeersResponse> peers = n.client->ListPeers();
  ASSERT_TRUE(peers.ok()) << peers.status();
  for (const PeerState& st : peers->states()) {
    if (st.name() == "mallory") state = st;
  }
  EXPECT_EQ(state.received(), 1u);
  EXPECT_EQ(state.duplicates(), 1u);
  EXPECT_EQ(state.violations(), 1u);
  std::map<std::string, uint64_t> refused(state.refused().begin(), state.refused().end());
  EXPECT_EQ(refused["invalid record"], 3u);     // forged, altered, oversized
  EXPECT_EQ(refused["bad custody chain"], 2u);  // missing hop, reordered hops
  EXPECT_EQ(refused["unparsable record"], 1u);
  EXPECT_EQ(n.client->Status()->next_seq(), 2u);  // only the honest record
  Signed honest_env;
  honest_env.ParseFromString(honest.signed_record());
  EXPECT_TRUE(Held("n", crypto::RecordId(honest_env.payload())).has_value());
  // The AMBER copy is kept as evidence naming mallory's hop.
  absl::StatusOr<ListViolationsResponse> violations = n.client->ListViolations({});
  ASSERT_TRUE(violations.ok()) << violations.status();
  ASSERT_EQ(violations->violations_size(), 1);
  EXPECT_EQ(violations->violations(0).offender_key(), m_key);
  EXPECT_EQ(violations->violations(0).offender_hop(), 1u);
  EXPECT_NE(violations->violations(0).rule().find("hop limit"), std::string::npos)
      << violations->violations(0).rule();
  // The evidence, exported, convinces a third party offline and names the relay.
  ExportProofRequest proof;
  proof.set_record_id(violations->violations(0).record_id());
  proof.set_violation(true);
  absl::StatusOr<ExportProofResponse> bundle = n.client->ExportProof(proof);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  ProofResult checked = VerifyProofBundle(bundle->bundle());
  EXPECT_EQ(checked.verdict, ProofResult::Verdict::kValid);
  EXPECT_EQ(checked.kind, "violation");
  // The evidence holds an AMBER record addressed to n alone: a read or publish token may
  // not export it (the refusal is audited); the record's own proof stays theirs to export.
  for (Role role : {ROLE_READ, ROLE_PUBLISH}) {
    CreateTokenRequest create;
    create.set_name(StrCat("t", static_cast<int>(role)));
    create.set_role(role);
    absl::StatusOr<CreateTokenResponse> token = n.client->CreateToken(create);
    ASSERT_TRUE(token.ok()) << token.status();
    ClientOptions options;
    options.address = n.process->address();
    options.token = token->token();
    std::unique_ptr<NodeClient> limited = *NodeClient::Connect(options);
    absl::StatusOr<ExportProofResponse> refused = limited->ExportProof(proof);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << role;
    EXPECT_NE(refused.status().message().find("violation evidence needs role admin"),
              std::string::npos)
        << refused.status();
    ExportProofRequest own;
    own.set_record_id(crypto::RecordId(honest_env.payload()));
    EXPECT_TRUE(limited->ExportProof(own).ok());
  }
  ReadAuditRequest audit_request;
  audit_request.set_from_seq(1);
  absl::StatusOr<ReadAuditResponse> audit = n.client->ReadAudit(audit_request);
  ASSERT_TRUE(audit.ok()) << audit.status();
  int refusals = 0;
  for (const StoredAuditEntry& e : audit->entries()) {
    AuditEntry entry;
    entry.ParseFromString(e.entry());
    if (entry.method() == "/threatmesh.v1.Admin/ExportProof" &&
        entry.params() == "violation evidence refused" &&
        entry.code() == static_cast<int>(absl::StatusCode::kPermissionDenied)) {
      ++refusals;
    }
  }
  EXPECT_EQ(refusals, 2);
  absl::StatusOr<crypto::PublicKey> relay = crypto::PublicKey::FromBytes(m_key);
  ASSERT_TRUE(relay.ok());
  bool named = false;
  for (const std::string& line : checked.story) {
    named = named || (line.find("VIOLATION") != std::string::npos &&
                      line.find(relay->Fingerprint()) != std::string::npos);
  }
  EXPECT_TRUE(named);
  link->ctx.TryCancel();
}

// Something between two nodes that terminates TLS and presents its own certificate (an
// intercepting proxy), passing every message through unchanged: each node signs the hash of
// the certificate it saw, which is the relay's, so each finds the other's proof bound to a
// certificate that is not its own and refuses. Nothing crosses; both count the refusal.
class Relay final : public Peering::Service {
 public:
  Relay(std::string target, PeerIdentity identity)
      : target_(std::move(target)), identity_(std::move(identity)) {}
  grpc::Status Exchange(grpc::ServerContext* server_ctx,
                        grpc::ServerReaderWriter<PeerMessage, PeerMessage>* in) override {
    auto stub = Peering::NewStub(grpc::CreateCustomChannel(
        target_, PeerChannelCredentials(identity_), PeerChannelArguments()));
    grpc::ClientContext ctx;
    auto out = stub->Exchange(&ctx);
    std::thread back([&] {
      PeerMessage m;
      while (out->Read(&m) && in->Write(m)) ++forwarded_;
      server_ctx->TryCancel();
    });
    PeerMessage m;
    while (in->Read(&m) && out->Write(m)) ++forwarded_;
    ctx.TryCancel();
    back.join();
    out->Finish().ok();
    return grpc::Status::OK;
  }
  std::atomic<int> forwarded_{0};

 private:
  std::string target_;
  PeerIdentity identity_;
};

TEST_F(MeshTest, RelayPresentingItsOwnCertificateIsRefusedOnBothSides) {
  Start("a");
  Start("b");
  PeerIdentity relay_identity = Identity("relay");
  Relay relay(nodes_["b"].process->peer_address(), relay_identity);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", PeerServerCredentials(relay_identity), &port);
  builder.RegisterService(&relay);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(port, 0);
  // a dials b, as it believes, at the relay's address.
  Peer("b", "a", false);
  AddPeerRequest r;
  r.mutable_peer()->set_name("b");
  r.mutable_peer()->set_node_key(nodes_["b"].key);
  r.mutable_peer()->set_address("127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(nodes_["a"].client->AddPeer(r).ok());
  const std::string id = Publish("a", "relayed.example.com", TLP_GREEN);

  // Both sides refuse, each on its own check, and say why.
  auto refusals = [&](const std::string& at) {
    absl::StatusOr<ListPeersResponse> list = nodes_[at].client->ListPeers();
    if (!list.ok()) return uint64_t{0};
    auto it = list->handshakes_refused().find("certificate binding");
    return it == list->handshakes_refused().end() ? uint64_t{0} : it->second;
  };
  (void)testing::WaitUntil([&] { return refusals("a") > 0 && refusals("b") > 0; },
                           std::chrono::milliseconds(30000));
  EXPECT_GE(refusals("a"), 1u);
  EXPECT_GE(refusals("b"), 1u);
  EXPECT_GE(relay.forwarded_.load(), 4);  // the hellos and proofs did pass through it
  PeerState b_at_a = StateOf("a", "b");
  EXPECT_FALSE(b_at_a.connected());
  EXPECT_NE(b_at_a.last_error().find("presents its own TLS certificate"), std::string::npos)
      << b_at_a.last_error();
  EXPECT_GE(b_at_a.refused().at("handshake: certificate binding"), 1u);
  EXPECT_NE(StateOf("b", "a").last_error().find("presents its own TLS certificate"),
            std::string::npos);
  EXPECT_FALSE(Held("b", id).has_value());
  EXPECT_EQ(nodes_["b"].client->Status()->next_seq(), 1u);
  EXPECT_EQ(StateOf("a", "b").sent(), 0u);

  // The same two nodes connected directly exchange at once: the refusal was the relay's doing.
  r.mutable_peer()->set_address(nodes_["b"].process->peer_address());
  ASSERT_TRUE(nodes_["a"]
                  .client
                  ->RemovePeer([] {
                    RemovePeerRequest rm;
                    rm.set_name("b");
                    return rm;
                  }())
                  .ok());
  ASSERT_TRUE(nodes_["a"].client->AddPeer(r).ok());
  EXPECT_TRUE(WaitFor("b", id).has_value());
  nodes_["a"].client.reset();
  nodes_["b"].client.reset();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

// A node set for insecure peering cannot reach one speaking TLS: the transport fails, the
// dialer says so, and nothing crosses.
TEST_F(MeshTest, PlaintextDialerCannotReachTlsPeer) {
  Start("tls");
  Start("plain", /*dial_only=*/true, {"--insecure-peering", "true"});
  Link("plain", "tls");
  const std::string id = Publish("plain", "plain.example.com", TLP_GREEN);
  PeerState st;
  for (int i = 0; i < 300 && st.last_error().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    st = StateOf("plain", "tls");
  }
  EXPECT_FALSE(st.connected());
  EXPECT_FALSE(st.last_error().empty());
  EXPECT_FALSE(Held("tls", id).has_value());
}

// A node that dials one which does not know its key is refused: the listener logs and counts
// it, the dialer is told why.
TEST_F(MeshTest, UnknownKeyIsRefusedAndCounted) {
  Start("a");
  Start("b");
  Peer("a", "b", true);  // b has not added a
  const std::string id = Publish("a", "stranger.example.com", TLP_GREEN);
  uint64_t refused = 0;
  for (int i = 0; i < 300 && refused == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    absl::StatusOr<ListPeersResponse> list = nodes_["b"].client->ListPeers();
    auto it = list->handshakes_refused().find("unknown key");
    refused = it == list->handshakes_refused().end() ? 0 : it->second;
  }
  EXPECT_GE(refused, 1u);
  PeerState st;
  for (int i = 0; i < 100 && st.last_error().empty(); ++i) {
    st = StateOf("a", "b");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(st.last_error().find("is not a configured peer"), std::string::npos) << st.last_error();
  EXPECT_FALSE(Held("b", id).has_value());
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
  for (int i = 0; i < 100 && explained.find("sent") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ExplainPolicyRequest e;
    e.set_record_id(held_back);
    e.set_peer("b");
    absl::StatusOr<ExplainPolicyResponse> r = a.client->ExplainPolicy(e);
    explained = r.ok() && r->sent() ? "sent" : "";
  }
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

// Keepalives and the peer timeout: a connection that never completes its handshake, and a
// peer that goes silent after it, are both cut off once the timeout passes; a quiet but live
// peer (keepalives only) stays connected.
TEST_F(MeshTest, SilentPeersAreCutOffLivePeersStay) {
  Node& n = Start("n", false, {"--peer-timeout-seconds", "3"});
  Start("quiet", false, {"--peer-timeout-seconds", "3"});
  Link("quiet", "n");
  const auto linked = std::chrono::steady_clock::now();
  crypto::KeyPair mute = crypto::KeyPair::Generate();
  AddPeerRequest add;
  add.mutable_peer()->set_name("mute");
  add.mutable_peer()->set_node_key(std::string(mute.public_key().bytes()));
  ASSERT_TRUE(n.client->AddPeer(add).ok());
  PeerIdentity tls = Identity("mute");
  auto connect = [&] {
    return Peering::NewStub(grpc::CreateCustomChannel(
        n.process->peer_address(), PeerChannelCredentials(tls), PeerChannelArguments()));
  };
  // Connects and says nothing at all.
  auto stub1 = connect();
  grpc::ClientContext ctx1;
  auto speechless = stub1->Exchange(&ctx1);
  // Completes the handshake, then says nothing.
  auto stub2 = connect();
  grpc::ClientContext ctx2;
  auto silent = stub2->Exchange(&ctx2);
  PeerMessage hello, theirs, auth;
  *hello.mutable_hello() = MakeHello(mute);
  ASSERT_TRUE(silent->Write(hello));
  ASSERT_TRUE(silent->Read(&theirs));
  *auth.mutable_auth() = SignPeerAuth(mute, hello.hello(), theirs.hello(),
                                      *SeenCertificateHash(ctx2.auth_context().get()));
  ASSERT_TRUE(silent->Write(auth));
  const auto t0 = std::chrono::steady_clock::now();
  PeerMessage m;
  while (silent->Read(&m)) {
  }  // the node's auth, sync, keepalives..., then the end
  const double cut_after =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(cut_after, 2.5);
  EXPECT_LT(cut_after, 10);
  while (speechless->Read(&m)) {
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10);
  // The node notes the end a moment after the client sees it.
  PeerState st = StateOf("n", "mute");
  for (int i = 0; i < 100 && (st.connected() || st.last_error().empty()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    st = StateOf("n", "mute");
  }
  EXPECT_FALSE(st.connected());
  EXPECT_NE(st.last_error().find("sent nothing for 3 s"), std::string::npos) << st.last_error();
  // The quiet pair exchanged only keepalives all along, for longer than the timeout, and is
  // still up.
  std::this_thread::sleep_until(linked + std::chrono::seconds(5));
  EXPECT_TRUE(StateOf("n", "quiet").connected());
  EXPECT_TRUE(StateOf("quiet", "n").connected());
  EXPECT_EQ(StateOf("n", "quiet").last_error(), "");
}

// Key rotation across a line A-B-C. A rotates its key while stopped; B, which knows A by the
// old key, follows the signed rotation A shows when it connects. Records A signed before the
// rotation verify at every node; A's new records arrive; a record signed with the old key
// after the rotation is refused everywhere; the old key opens no stream any more.
TEST_F(MeshTest, KeyRotationHoldsAcrossThreeNodes) {
  Node& a = Start("a");
  Start("b");
  Start("c");
  auto relayable = [](RecordBody& b) { b.mutable_handling()->set_may_relay(true); };
  const std::string before = Publish("a", "before.rotation.example.com", TLP_GREEN, relayable);
  // The old secret, as whoever copied the key file before the rotation has it.
  absl::StatusOr<crypto::KeyPair> stolen = crypto::LoadKeyFile(KeyFilePath(a.dir), "");
  ASSERT_TRUE(stolen.ok()) << stolen.status();
  a.client.reset();
  a.process->Stop();
  const std::string rotate =
      testing::ThreatmeshBinary() + " key rotate --data-dir " + a.dir + " >/dev/null";
  ASSERT_EQ(std::system(rotate.c_str()), 0);
  Serve(a);
  const std::string new_key =
      std::string(crypto::PublicKey::FromText(a.client->Status()->public_key())->bytes());
  ASSERT_NE(new_key, a.key);
  Link("a", "b");  // B is told A's old key
  Link("b", "c");
  a.key = new_key;
  const std::string after = Publish("a", "after.rotation.example.com", TLP_GREEN, relayable);
  for (const std::string n : {"b", "c"}) {
    ASSERT_TRUE(WaitFor(n, before).has_value()) << n;
    ASSERT_TRUE(WaitFor(n, after).has_value()) << n;
    EXPECT_EQ(Held(n, after)->body().author(), new_key);
  }
  EXPECT_TRUE(StateOf("b", "a").connected());
  // B lists A (added with 'peers add') under its new key from then on.
  absl::StatusOr<ListPeersResponse> b_peers = nodes_["b"].client->ListPeers();
  ASSERT_TRUE(b_peers.ok()) << b_peers.status();
  bool listed_new = false;
  for (const PeerConfig& p : b_peers->peers())
    listed_new = listed_new || (p.name() == "a" && p.node_key() == new_key);
  EXPECT_TRUE(listed_new);
  // The rotation itself travelled to every node; records from before it verify everywhere,
  // with the rotation in the bundle (B received `before` from A's new key).
  for (const std::string n : {"a", "b", "c"}) {
    uint64_t rotations = 0;
    absl::StatusOr<StatusResponse> status = nodes_[n].client->Status();
    ASSERT_TRUE(status.ok()) << status.status();
    for (const KindCount& k : status->counts()) {
      if (k.kind() == RECORD_KIND_KEY_ROTATION) rotations = k.count();
    }
    EXPECT_EQ(rotations, 1u) << n;
    ProofResult checked = ProofAt(n, before);
    EXPECT_EQ(checked.verdict, ProofResult::Verdict::kValid) << n;
    bool told = false;
    for (const std::string& line : checked.story) {
      told = told || line.find("rotated to") != std::string::npos;
    }
    EXPECT_TRUE(told) << n;
  }
  // Whoever holds the old key cannot sign for A any more: a record it signs now, relayed by
  // a peer double, is refused as invalid at every node and stored nowhere.
  RecordBody forged_body = testing::IndicatorBody(
      *stolen, INDICATOR_TYPE_DOMAIN, "forged.after.rotation.example.com", SystemNowMs() - 10);
  forged_body.set_tlp(TLP_GREEN);
  forged_body.mutable_handling()->set_may_relay(true);
  const std::string forged = SealRecord(forged_body, *stolen);
  Signed envelope;
  envelope.ParseFromString(forged);
  const std::string forged_id = crypto::RecordId(envelope.payload());
  crypto::KeyPair relay = crypto::KeyPair::Generate();
  for (const std::string n : {"a", "b", "c"}) {
    AddPeerRequest add;
    add.mutable_peer()->set_name("relay");
    add.mutable_peer()->set_node_key(std::string(relay.public_key().bytes()));
    ASSERT_TRUE(nodes_[n].client->AddPeer(add).ok());
    std::unique_ptr<Double> link = Connect(n, relay);
    ASSERT_TRUE(link->accepted) << n << ": " << link->refusal;
    PeerMessage batch;
    PeerRecord* r = batch.mutable_batch()->add_records();
    r->set_signed_record(forged);
    SignHop(*r->mutable_chain(), forged_id, *stolen, std::string(relay.public_key().bytes()),
            SystemNowMs(), "p");
    SignHop(*r->mutable_chain(), forged_id, relay, nodes_[n].key, SystemNowMs(), "p");
    batch.mutable_batch()->set_through_seq(1);
    ASSERT_TRUE(link->SendAndWaitForAck(batch)) << n;
    PeerState state = StateOf(n, "relay");
    EXPECT_EQ(state.received(), 0u) << n;
    EXPECT_EQ(state.refused().count("invalid record") ? state.refused().at("invalid record") : 0,
              1u)
        << n;
    EXPECT_FALSE(Held(n, forged_id).has_value()) << n;
    link->ctx.TryCancel();
  }
  // Nor does the old key open a stream as A.
  std::unique_ptr<Double> impostor = Connect("b", *stolen);
  EXPECT_FALSE(impostor->accepted);
  EXPECT_NE(impostor->refusal.find("no longer its own"), std::string::npos) << impostor->refusal;

  // A revokes the old key from before `before` was signed: the revocation travels like a
  // record, and every node then holds `before` as distrusted and its proof as invalid.
  a.client.reset();
  a.process->Stop();
  const std::string revoke = testing::ThreatmeshBinary() + " key revoke --data-dir " + a.dir +
                             " --since 2020-01-01T00:00:00Z --reason 'key file copied' >/dev/null";
  ASSERT_EQ(std::system(revoke.c_str()), 0);
  Serve(a);
  for (const std::string n : {"b", "c"}) {
    std::optional<StoredRecord> held;
    for (int i = 0; i < 300; ++i) {
      held = Held(n, before);
      if (held && !held->distrusted_by().empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(held.has_value()) << n;
    EXPECT_FALSE(held->distrusted_by().empty()) << n;
    ProofResult checked = ProofAt(n, before);
    EXPECT_EQ(checked.verdict, ProofResult::Verdict::kInvalid) << n;
    ASSERT_FALSE(checked.failures.empty()) << n;
    EXPECT_EQ(checked.failures[0].element, "record") << n;
    EXPECT_NE(checked.failures[0].message.find("key file copied"), std::string::npos)
        << checked.failures[0].message;
  }
}

}  // namespace
}  // namespace threatmesh
