// Peers that misbehave, on real nodes over loopback TLS: a configured peer sending junk, an
// intercepting relay, plaintext and unknown dialers, silent peers, and a stolen key after
// its rotation and revocation.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/key_file.h"
#include "crypto/str_cat.h"
#include "nlohmann/json.hpp"
#include "node/core/custody.h"
#include "node/core/record_builder.h"
#include "node/mesh/mesh_fixture.h"

namespace threatmesh {
namespace {

using namespace threatmesh::v1;  // NOLINT: the API's own types.
using testing::CopyMaker;
using testing::IdOf;
using testing::MeshTest;
using testing::Node;
using testing::ServeProcess;

// Mallory's batch of junk, with `honest` (also returned in it) twice: forged and altered
// records, a chain missing a hop, one with its hops reordered, an AMBER record mallory relays
// against its author's handling, an oversized record, garbage.
PeerMessage JunkBatch(const CopyMaker& make, const crypto::KeyPair& mallory,
                      const crypto::KeyPair& other, PeerRecord* honest) {
  PeerMessage batch;
  RecordBatch* b = batch.mutable_batch();
  *honest = make.Copy(make.BodyBy(mallory, "honest.example.com", TLP_GREEN), mallory, {});
  *b->add_records() = *honest;
  PeerRecord forged = make.Copy(make.BodyBy(mallory, "forged.example.com", TLP_GREEN), mallory, {});
  Signed env;
  env.ParseFromString(forged.signed_record());
  (*env.mutable_signature())[3] ^= 1;
  forged.set_signed_record(env.SerializeAsString());
  *b->add_records() = forged;
  PeerRecord altered =
      make.Copy(make.BodyBy(mallory, "altered.example.com", TLP_GREEN), mallory, {});
  env.ParseFromString(altered.signed_record());
  RecordBody changed;
  changed.ParseFromString(env.payload());
  changed.mutable_indicator()->set_value("changed.example.com");
  env.set_payload(changed.SerializeAsString());
  altered.set_signed_record(env.SerializeAsString());
  *b->add_records() = altered;
  PeerRecord missing_hop =
      make.Copy(make.BodyBy(other, "missing.example.com", TLP_GREEN), other, {&mallory});
  missing_hop.mutable_chain()->mutable_hops()->DeleteSubrange(0, 1);
  *b->add_records() = missing_hop;
  crypto::KeyPair third = crypto::KeyPair::Generate();
  PeerRecord reordered =
      make.Copy(make.BodyBy(other, "reordered.example.com", TLP_GREEN), other, {&third, &mallory});
  reordered.mutable_chain()->mutable_hops()->SwapElements(0, 1);
  *b->add_records() = reordered;
  // AMBER relayed by mallory: the chain is sound, so mallory's own hop is the evidence.
  *b->add_records() =
      make.Copy(make.BodyBy(other, "amber.example.com", TLP_AMBER), other, {&mallory});
  RecordBody big = make.BodyBy(mallory, "big.example.com", TLP_GREEN);
  big.mutable_indicator()->set_description(std::string((1 << 20) + 10, 'x'));
  *b->add_records() = make.Copy(big, mallory, {});
  b->add_records()->set_signed_record("\xff\x01garbage");
  *b->add_records() = *honest;  // a second copy in the same batch: one duplicate
  b->set_through_seq(8);
  return batch;
}

class MeshHostileTest : public MeshTest {
 protected:
  void ConnectMallory(Node& n, const crypto::KeyPair& mallory, std::unique_ptr<Double>& link) {
    ASSERT_NO_FATAL_FAILURE(ConnectAsPeer(n, "n", "mallory", mallory, link));
  }

  // Mallory connects and sends the junk batch; returns once `n` has acknowledged it (decided
  // on every record).
  void SendJunk(Node& n, std::unique_ptr<Double>& link) {
    crypto::KeyPair mallory = crypto::KeyPair::Generate();
    crypto::KeyPair other = crypto::KeyPair::Generate();
    ASSERT_NO_FATAL_FAILURE(ConnectMallory(n, mallory, link));
    PeerRecord honest;
    ASSERT_TRUE(link->SendAndWaitForAck(JunkBatch(CopyMaker{n.key}, mallory, other, &honest)));
  }

  // What node `n` counted of mallory's junk batch, and what it stored: only the honest record.
  void ExpectJunkCounted(Node& n, const std::string& honest_id) {
    PeerState state = StateOf("n", "mallory");
    EXPECT_EQ(state.received(), 1u);
    EXPECT_EQ(state.duplicates(), 1u);
    EXPECT_EQ(state.violations(), 1u);
    std::map<std::string, uint64_t> refused(state.refused().begin(), state.refused().end());
    EXPECT_EQ(refused["invalid record"], 3u);     // forged, altered, oversized
    EXPECT_EQ(refused["bad custody chain"], 2u);  // missing hop, reordered hops
    EXPECT_EQ(refused["unparsable record"], 1u);
    EXPECT_EQ(n.client->Status()->next_seq(), 2u);  // only the honest record
    EXPECT_TRUE(Held("n", honest_id).has_value());
  }

  // The evidence holds an AMBER record addressed to n alone: a read or publish token may not
  // export it (the refusal is audited); the record's own proof stays theirs to export.
  void ExpectEvidenceOnlyForAdmins(Node& n, const ExportProofRequest& proof,
                                   const std::string& honest_id) {
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
      own.set_record_id(honest_id);
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
  }
};

// A peer that speaks the protocol but sends junk: forged and altered records, broken chains,
// a record relayed against its author's handling, an oversized record, garbage. Each is
// refused and counted by reason, none is stored, and an honest record in the same batch is
// (once: its second copy in the batch counts as a duplicate).
TEST_F(MeshHostileTest, MaliciousPeerIsRefusedRecordByRecord) {
  Node& n = Start("n");
  crypto::KeyPair mallory = crypto::KeyPair::Generate();
  crypto::KeyPair other = crypto::KeyPair::Generate();
  const std::string m_key(mallory.public_key().bytes());
  std::unique_ptr<Double> link;
  ASSERT_NO_FATAL_FAILURE(ConnectMallory(n, mallory, link));
  PeerRecord honest;
  // n acknowledges the batch once it has decided on every record.
  ASSERT_TRUE(link->SendAndWaitForAck(JunkBatch(CopyMaker{n.key}, mallory, other, &honest)));
  ExpectJunkCounted(n, IdOf(honest));

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
  ASSERT_NO_FATAL_FAILURE(ExpectEvidenceOnlyForAdmins(n, proof, IdOf(honest)));
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

// With log-format = json, every line the node writes (stdout and stderr, from start to stop)
// is one JSON object with time, level and msg; the violation mallory relays is a warning
// naming mallory and the record in fields of their own, and mallory's connection an info
// event naming it. (The shape a JSON log shipper or `journalctl -o cat` gets.)
TEST_F(MeshHostileTest, JsonLogNamesThePeerAndTheRecordOfAViolation) {
  Node& n = Start("n", false, {"--log-format", "json"});
  std::unique_ptr<Double> link;
  ASSERT_NO_FATAL_FAILURE(SendJunk(n, link));
  absl::StatusOr<ListViolationsResponse> violations = n.client->ListViolations({});
  ASSERT_TRUE(violations.ok()) << violations.status();
  ASSERT_EQ(violations->violations_size(), 1);
  const std::string record = crypto::HexEncode(violations->violations(0).record_id());
  link->ctx.TryCancel();
  const std::string startup = n.process->startup_output();
  // The test's client goes first: an idle gRPC channel answers the server's shutdown only on
  // its next backup poll, and the stop would wait out its 10 s grace.
  n.client.reset();
  ASSERT_EQ(n.process->Stop(), 0);
  std::ifstream err_file(n.dir + "/../serve.err");
  std::stringstream err;
  err << err_file.rdbuf();

  std::vector<nlohmann::json> events;
  for (const std::string& text : {startup, n.process->RestOfStdout(), err.str()}) {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      nlohmann::json e = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      ASSERT_TRUE(e.is_object()) << "not a JSON object: " << line;
      ASSERT_TRUE(e["time"].is_string() && e["level"].is_string() && e["msg"].is_string()) << line;
      EXPECT_TRUE(std::regex_match(e["time"].get<std::string>(),
                                   std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
          << line;
      const std::string level = e["level"];
      EXPECT_TRUE(level == "info" || level == "warning" || level == "error") << line;
      events.push_back(std::move(e));
    }
  }
  auto find = [&](const std::string& level, const std::string& text) -> const nlohmann::json* {
    for (const nlohmann::json& e : events) {
      if (e["level"] == level && e["msg"].get<std::string>().find(text) != std::string::npos) {
        return &e;
      }
    }
    return nullptr;
  };
  const nlohmann::json* serving = find("info", "serving on");
  ASSERT_NE(serving, nullptr);
  EXPECT_EQ((*serving)["listen"], n.process->address());
  const nlohmann::json* connected = find("info", "peer mallory connected");
  ASSERT_NE(connected, nullptr);
  EXPECT_EQ((*connected)["peer"], "mallory");
  const nlohmann::json* violation = find("warning", "broke its handling");
  ASSERT_NE(violation, nullptr);
  EXPECT_EQ((*violation)["peer"], "mallory");
  EXPECT_EQ((*violation)["record"], record);
  EXPECT_NE(find("info", "stopped"), nullptr);
}

// GET /metrics of `n` (its TAXII listener) with `token` (none: no header): HTTP status and
// body, through curl. The body is also saved as `file` for promtool.
std::pair<int, std::string> Scrape(const Node& n, const std::string& token,
                                   const std::string& file) {
  std::string cmd = "curl -s --max-time 20 -o " + file + " -w '%{http_code}'";
  if (!token.empty()) cmd += " -H 'Authorization: Bearer " + token + "'";
  cmd += " '" + n.process->taxii_address() + "/metrics'";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return {0, ""};
  char code[16] = {0};
  const std::size_t got = std::fread(code, 1, sizeof code - 1, pipe);
  ::pclose(pipe);
  std::ifstream in(file);
  std::stringstream body;
  body << in.rdbuf();
  return {got > 0 ? std::atoi(code) : 0, body.str()};
}

// The samples of an exposition by series ("name{labels}" as written), comments left out.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

// The alert rules pass `promtool check rules`, and they and the dashboard ask only for
// families the exposition `body` has.
void ExpectDeployFilesUseOnlyExposedFamilies(const std::string& body) {
  const std::string rules = std::string(THREATMESH_SOURCE_DIR) + "/deploy/prometheus-alerts.yml";
  EXPECT_EQ(std::system(("promtool check rules " + rules + " >/dev/null 2>&1").c_str()), 0);
  std::set<std::string> families;
  const std::regex type_line(R"(# TYPE (\w+) (\w+))");
  for (std::sregex_iterator it(body.begin(), body.end(), type_line), end; it != end; ++it) {
    families.insert((*it)[1]);
  }
  std::ifstream dashboard_file(std::string(THREATMESH_SOURCE_DIR) +
                               "/deploy/grafana-dashboard.json");
  const nlohmann::json dashboard = nlohmann::json::parse(dashboard_file, nullptr, false);
  ASSERT_TRUE(dashboard.is_object()) << "deploy/grafana-dashboard.json does not parse";
  std::string exprs;
  for (const nlohmann::json& panel : dashboard["panels"]) {
    ASSERT_FALSE(panel["targets"].empty()) << panel["title"];
    for (const nlohmann::json& target : panel["targets"])
      exprs += target["expr"].get<std::string>();
  }
  std::ifstream rules_file(rules);
  std::stringstream rules_text;
  rules_text << rules_file.rdbuf();
  exprs += rules_text.str();
  const std::regex name(R"(threatmesh_\w+)");
  int names = 0;
  for (std::sregex_iterator it(exprs.begin(), exprs.end(), name), end; it != end; ++it, ++names) {
    std::string family = it->str();
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (!families.count(family) && family.ends_with(suffix)) {
        family.resize(family.size() - std::strlen(suffix));
      }
    }
    EXPECT_TRUE(families.count(family)) << it->str() << " is used but not exposed";
  }
  EXPECT_GT(names, 30);
}

// A node that has published, peered with a real node and been sent junk by mallory: its
// /metrics says what happened, in numbers checked against the events (and against `peers
// list`); promtool accepts the exposition. Without a valid token the answer is 401.
TEST_F(MeshHostileTest, MetricsCountWhatHappenedAndPromtoolAcceptsThem) {
  Node& n = Start("n", false, {"--taxii-listen", "127.0.0.1:0"});
  Start("b");
  Link("n", "b");
  for (int i = 0; i < 3; ++i) {
    (void)Publish("n", StrCat("m", i, ".example.com"), TLP_GREEN,
                  [](RecordBody& b) { b.mutable_handling()->set_may_relay(true); });
  }
  std::unique_ptr<Double> link;
  ASSERT_NO_FATAL_FAILURE(SendJunk(n, link));
  ASSERT_TRUE(testing::WaitUntil([&] {
    const PeerState b = StateOf("n", "b");
    return b.connected() && b.sent() >= 3 && b.lag() == 0;
  }));
  CreateTokenRequest create;
  create.set_name("scraper");
  create.set_role(ROLE_READ);
  absl::StatusOr<CreateTokenResponse> token = n.client->CreateToken(create);
  ASSERT_TRUE(token.ok()) << token.status();

  EXPECT_EQ(Scrape(n, "", dir_.Sub("none.txt")).first, 401);
  EXPECT_EQ(Scrape(n, "tmt_wrong", dir_.Sub("wrong.txt")).first, 401);
  const auto [status, body] = Scrape(n, token->token(), dir_.Sub("metrics.txt"));
  ASSERT_EQ(status, 200) << body;
  std::map<std::string, double> m = Samples(body);
  const PeerState b = StateOf("n", "b");
  // 3 published, 1 from mallory; all GREEN.
  EXPECT_EQ(m["threatmesh_records{kind=\"indicator\",tlp=\"green\"}"], 4);
  EXPECT_EQ(m["threatmesh_records{kind=\"indicator\",tlp=\"amber\"}"], 0);
  EXPECT_EQ(m.count("threatmesh_records{kind=\"sighting\",tlp=\"red\"}"), 1u);
  EXPECT_EQ(m["threatmesh_log_entries"], 4);
  EXPECT_GT(m["threatmesh_store_size_bytes"], 0);
  EXPECT_EQ(m["threatmesh_api_requests_total{method=\"/threatmesh.v1.Records/Publish\","
              "code=\"OK\"}"],
            3);
  EXPECT_EQ(m["threatmesh_api_request_duration_seconds_count{method=\"/threatmesh.v1.Records/"
              "Publish\"}"],
            3);
  EXPECT_EQ(m["threatmesh_peer_up{peer=\"b\"}"], 1);
  EXPECT_EQ(m["threatmesh_peer_records_sent_total{peer=\"b\"}"], b.sent());
  EXPECT_GE(b.sent(), 3u);
  EXPECT_EQ(m["threatmesh_peer_lag_records{peer=\"b\"}"], 0);
  EXPECT_EQ(m["threatmesh_peer_records_received_total{peer=\"mallory\"}"], 1);
  EXPECT_EQ(m["threatmesh_peer_records_duplicate_total{peer=\"mallory\"}"], 1);
  EXPECT_EQ(m["threatmesh_peer_violations_total{peer=\"mallory\"}"], 1);
  EXPECT_EQ(m["threatmesh_peer_records_refused_total{peer=\"mallory\",reason=\"invalid record\"}"],
            3);
  EXPECT_EQ(
      m["threatmesh_peer_records_refused_total{peer=\"mallory\",reason=\"bad custody chain\"}"], 2);
  EXPECT_GT(m["threatmesh_peer_last_record_timestamp_seconds{peer=\"mallory\"}"], 1.7e9);
  EXPECT_EQ(m["threatmesh_peer_last_record_timestamp_seconds{peer=\"b\"}"], 0);  // sent none
  EXPECT_GE(m["threatmesh_store_write_group_size_count"], 2);
  EXPECT_EQ(m["threatmesh_store_write_group_size_sum"], 4);  // each record committed once
  EXPECT_GT(m["threatmesh_audit_entries"], 0);
  // The two refused scrapes are not API calls; no TAXII request was made.
  EXPECT_EQ(m.count("threatmesh_taxii_requests_total{method=\"GET discovery\",code=\"200\"}"), 0u);

  const std::string check = "promtool check metrics < " + dir_.Sub("metrics.txt") + " 2>&1";
  EXPECT_EQ(std::system(check.c_str()), 0) << "promtool (deploy/install-deps.sh installs it)";
  link->ctx.TryCancel();
  ExpectDeployFilesUseOnlyExposedFamilies(body);
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

// Mallory's batch of forged batch hops (docs/FORMAT.md, "Batch hops"), beside one sound
// record: a hop carrying the proof of another leaf of its batch, a hop under a statement
// mallory signed whose root does not cover it, and a batch statement signed by a key other
// than mallory's. Each is refused and counted under its fault.
PeerMessage ForgedBatchHops(const CopyMaker& make, const crypto::KeyPair& mallory,
                            const crypto::KeyPair& other, PeerRecord* sound) {
  PeerMessage message;
  RecordBatch* batch = message.mutable_batch();
  std::vector<PeerRecord> copies(4);
  std::vector<std::string> ids;
  std::vector<BatchHop> hops;
  for (int i = 0; i < 4; ++i) {
    copies[i].set_signed_record(
        SealRecord(make.BodyBy(mallory, StrCat("b", i, ".example.com"), TLP_GREEN), mallory));
    ids.push_back(IdOf(copies[i]));
  }
  for (int i = 0; i < 4; ++i) hops.push_back({copies[i].mutable_chain(), ids[i]});
  SignHopBatch(hops, mallory, make.to_key, make.now, "p");
  *sound = copies[0];
  // The proof of leaf 0 on leaf 1's hop.
  *copies[1].mutable_chain()->mutable_hops(0)->mutable_batch() = copies[0].chain().hops(0).batch();
  // A statement of another tree, validly signed by mallory.
  HopBatch other_tree;
  other_tree.ParseFromString(copies[2].chain().hops(0).batch().statement());
  other_tree.set_root(crypto::Sha256("another tree"));
  BatchInclusion* proof = copies[2].mutable_chain()->mutable_hops(0)->mutable_batch();
  proof->set_statement(other_tree.SerializeAsString());
  proof->set_signature(mallory.Sign(crypto::kHopBatchDomain, proof->statement()));
  // The statement signed by another key.
  proof = copies[3].mutable_chain()->mutable_hops(0)->mutable_batch();
  proof->set_signature(other.Sign(crypto::kHopBatchDomain, proof->statement()));
  for (PeerRecord& c : copies) *batch->add_records() = std::move(c);
  batch->set_through_seq(4);
  return message;
}

TEST_F(MeshHostileTest, ForgedBatchHopsAreRefusedAndCountedByFault) {
  Node& n = Start("n");
  crypto::KeyPair mallory = crypto::KeyPair::Generate();
  crypto::KeyPair other = crypto::KeyPair::Generate();
  std::unique_ptr<Double> link;
  ASSERT_NO_FATAL_FAILURE(ConnectMallory(n, mallory, link));
  PeerRecord sound;
  ASSERT_TRUE(link->SendAndWaitForAck(ForgedBatchHops(CopyMaker{n.key}, mallory, other, &sound)));
  PeerState state = StateOf("n", "mallory");
  EXPECT_EQ(state.received(), 1u);
  std::map<std::string, uint64_t> refused(state.refused().begin(), state.refused().end());
  EXPECT_EQ(refused["bad custody chain: batch path"], 2u);       // another leaf, another tree
  EXPECT_EQ(refused["bad custody chain: batch signature"], 1u);  // another key
  EXPECT_EQ(refused.size(), 2u);
  EXPECT_EQ(n.client->Status()->next_seq(), 2u);  // only the sound record
  EXPECT_TRUE(Held("n", IdOf(sound)).has_value());
}

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
  testing::WaitUntil([&] { return !(st = StateOf("plain", "tls")).last_error().empty(); },
                     std::chrono::seconds(30));
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
  testing::WaitUntil(
      [&] {
        absl::StatusOr<ListPeersResponse> list = nodes_["b"].client->ListPeers();
        if (!list.ok()) return false;
        auto it = list->handshakes_refused().find("unknown key");
        refused = it == list->handshakes_refused().end() ? 0 : it->second;
        return refused != 0;
      },
      std::chrono::seconds(30));
  EXPECT_GE(refused, 1u);
  PeerState st;
  testing::WaitUntil([&] { return !(st = StateOf("a", "b")).last_error().empty(); },
                     std::chrono::seconds(5));
  EXPECT_NE(st.last_error().find("is not a configured peer"), std::string::npos) << st.last_error();
  EXPECT_FALSE(Held("b", id).has_value());
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
  PeerState st;
  testing::WaitUntil(
      [&] {
        st = StateOf("n", "mute");
        return !st.connected() && !st.last_error().empty();
      },
      std::chrono::seconds(5));
  EXPECT_FALSE(st.connected());
  EXPECT_NE(st.last_error().find("sent nothing for 3 s"), std::string::npos) << st.last_error();
  // The quiet pair exchanged only keepalives all along, for longer than the timeout, and is
  // still up.
  std::this_thread::sleep_until(linked + std::chrono::seconds(5));
  EXPECT_TRUE(StateOf("n", "quiet").connected());
  EXPECT_TRUE(StateOf("quiet", "n").connected());
  EXPECT_EQ(StateOf("n", "quiet").last_error(), "");
}

// The steps of KeyRotationHoldsAcrossThreeNodes.
class KeyRotationTest : public MeshHostileTest {
 protected:
  // Runs `threatmesh key ARGS --data-dir` on node `a` while it is stopped, then serves it
  // again.
  void KeyCommandWhileStopped(Node& a, const std::string& args) {
    a.client.reset();
    a.process->Stop();
    const std::string cmd =
        testing::ThreatmeshBinary() + " key " + args + " --data-dir " + a.dir + " >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    Serve(a);
  }

  // The rotation itself travelled to every node; `before` verifies everywhere, with the
  // rotation in the bundle (B received it from A's new key).
  void ExpectRotationEverywhere(const std::string& before) {
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
  }

  // Whoever holds the old key cannot sign for A any more: a record it signs now, relayed by
  // a peer double, is refused as invalid at every node and stored nowhere.
  void ExpectOldKeySignsNothing(const crypto::KeyPair& stolen) {
    RecordBody forged_body = testing::IndicatorBody(
        stolen, INDICATOR_TYPE_DOMAIN, "forged.after.rotation.example.com", SystemNowMs() - 10);
    forged_body.set_tlp(TLP_GREEN);
    forged_body.mutable_handling()->set_may_relay(true);
    const std::string forged = SealRecord(forged_body, stolen);
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
      SignHop(*r->mutable_chain(), forged_id, stolen, std::string(relay.public_key().bytes()),
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
    std::unique_ptr<Double> impostor = Connect("b", stolen);
    EXPECT_FALSE(impostor->accepted);
    EXPECT_NE(impostor->refusal.find("no longer its own"), std::string::npos) << impostor->refusal;
  }

  // After A revoked its old key from before `before` was signed, B and C hold `before` as
  // distrusted and its proof as invalid.
  void ExpectDistrustedAfterRevocation(const std::string& before) {
    for (const std::string n : {"b", "c"}) {
      std::optional<StoredRecord> held;
      testing::WaitUntil(
          [&] {
            held = Held(n, before);
            return held && !held->distrusted_by().empty();
          },
          std::chrono::seconds(30));
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
};

// Key rotation across a line A-B-C. A rotates its key while stopped; B, which knows A by the
// old key, follows the signed rotation A shows when it connects. Records A signed before the
// rotation verify at every node; A's new records arrive; a record signed with the old key
// after the rotation is refused everywhere; the old key opens no stream any more; once A
// revokes it, what it signed is distrusted everywhere.
TEST_F(KeyRotationTest, KeyRotationHoldsAcrossThreeNodes) {
  Node& a = Start("a");
  Start("b");
  Start("c");
  auto relayable = [](RecordBody& b) { b.mutable_handling()->set_may_relay(true); };
  const std::string before = Publish("a", "before.rotation.example.com", TLP_GREEN, relayable);
  // The old secret, as whoever copied the key file before the rotation has it.
  absl::StatusOr<crypto::KeyPair> stolen = crypto::LoadKeyFile(KeyFilePath(a.dir), "");
  ASSERT_TRUE(stolen.ok()) << stolen.status();
  ASSERT_NO_FATAL_FAILURE(KeyCommandWhileStopped(a, "rotate"));
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
  ASSERT_NO_FATAL_FAILURE(ExpectRotationEverywhere(before));
  ASSERT_NO_FATAL_FAILURE(ExpectOldKeySignsNothing(*stolen));
  // The revocation travels like a record.
  ASSERT_NO_FATAL_FAILURE(
      KeyCommandWhileStopped(a, "revoke --since 2020-01-01T00:00:00Z --reason 'key file copied'"));
  ExpectDistrustedAfterRevocation(before);
}

}  // namespace
}  // namespace threatmesh
