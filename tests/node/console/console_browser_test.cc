// The web console in a real browser: headless Chromium (Debian's), driven by playwright-core
// (tests/node/console/console_browser.mjs), over a 3-node mesh of real `threatmesh serve`
// processes. Screenshots are saved under the build directory (console-screenshots/).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "crypto/encoding.h"
#include "crypto/str_cat.h"
#include "nlohmann/json.hpp"
#include "node/mesh/mesh_fixture.h"

namespace threatmesh {
namespace {

using namespace threatmesh::v1;  // NOLINT: the API's own types.
using Json = nlohmann::json;
using testing::CopyMaker;
using testing::IdOf;
using testing::MeshTest;
using testing::Node;

constexpr char kChromium[] = "/usr/bin/chromium";
constexpr char kMarkup[] = "<img src=x onerror=\"document.title='owned'\">";

// The standard output of `command`.
std::string Output(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

class ConsoleBrowserTest : public MeshTest {
 protected:
  std::string Token(Node& n, const std::string& name, Role role) {
    CreateTokenRequest create;
    create.set_name(name);
    create.set_role(role);
    absl::StatusOr<CreateTokenResponse> token = n.client->CreateToken(create);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? token->token() : "";
  }

  // A record a publishes and then retracts, once c holds the retraction: its id.
  std::string RetractedAtC() {
    const std::string id = Publish("a", "withdrawn.example.net", TLP_GREEN, [](RecordBody& b) {
      b.mutable_handling()->set_may_relay(true);
    });
    if (!WaitFor("c", id).has_value()) return "";
    RetractRequest retract;
    retract.set_target(id);
    retract.set_reason("false positive");
    absl::StatusOr<PublishResponse> retraction = nodes_["a"].client->Retract(retract);
    EXPECT_TRUE(retraction.ok()) << retraction.status();
    if (!retraction.ok() || !WaitFor("c", retraction->id()).has_value()) return "";
    return Held("c", id)->retracted_by() == retraction->id() ? id : "";
  }

  // Mallory, a configured peer of c, relays an AMBER record of someone else's to c: c keeps
  // the copy as evidence against mallory. Returns the record's id.
  std::string RelayAmberThroughMallory(Node& c, std::unique_ptr<Double>& link) {
    crypto::KeyPair mallory = crypto::KeyPair::Generate();
    crypto::KeyPair other = crypto::KeyPair::Generate();
    EXPECT_NO_FATAL_FAILURE(ConnectAsPeer(c, "c", "mallory", mallory, link));
    if (link == nullptr || !link->accepted) return "";
    CopyMaker make{c.key};
    PeerMessage batch;
    *batch.mutable_batch()->add_records() =
        make.Copy(make.BodyBy(other, "amber.example.org", TLP_AMBER), other, {&mallory});
    batch.mutable_batch()->set_through_seq(1);
    EXPECT_TRUE(link->SendAndWaitForAck(batch));
    return IdOf(batch.batch().records(0));
  }

  // The bundle c exports for `id`, and the same with one hex digit of hop 1's payload changed.
  void WriteBundles(Node& c, const std::string& id, const std::string& valid,
                    const std::string& tampered) {
    ExportProofRequest request;
    request.set_record_id(id);
    absl::StatusOr<ExportProofResponse> bundle = c.client->ExportProof(request);
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    std::ofstream(valid) << bundle->bundle();
    Json j = Json::parse(bundle->bundle());
    std::string payload = j["chains"][0][1]["payload"];
    payload.back() = payload.back() == '0' ? '1' : '0';
    j["chains"][0][1]["payload"] = payload;
    std::ofstream(tampered) << j.dump(1);
  }

  // `threatmesh verify --json FILE`'s verdict.
  static std::string VerdictOfTheCli(const std::string& file) {
    const std::string out = Output(StrCat(testing::ThreatmeshBinary(), " verify --json ", file));
    Json j = Json::parse(out, nullptr, false);
    return j.is_object() ? j.value("verdict", "") : "(no JSON: " + out + ")";
  }

  static std::string Screenshots() { return StrCat(THREATMESH_BINARY_DIR, "/console-screenshots"); }

  // Runs the browser script against c's console with tokens of its own and `scene` (more of
  // the script's environment); what the pages showed, or null after a failure naming why.
  Json Browse(Node& c, const std::string& scene) {
    std::filesystem::create_directories(Screenshots());
    const std::string out = Output(
        StrCat("CONSOLE_URL=", c.process->taxii_address(),
               " ADMIN_TOKEN=", Token(c, "console-admin", ROLE_ADMIN),
               " READ_TOKEN=", Token(c, "console-read", ROLE_READ), scene, " SHOTS=", Screenshots(),
               " CHROMIUM=", kChromium, " WEB_DIR=", THREATMESH_SOURCE_DIR, "/node/console/web",
               " node ", THREATMESH_SOURCE_DIR, "/tests/node/console/console_browser.mjs"));
    const std::size_t last = out.rfind("\n{");
    Json r = Json::parse(out.substr(last == std::string::npos ? 0 : last), nullptr, false);
    EXPECT_TRUE(r.is_object()) << "the browser script printed: " << out;
    return r.is_object() ? r : Json();
  }

  // With the read token: the wrong token's refusal, the search, the record of `id` whose
  // graph holds `keys` (author, holder, relay) and two signed hops, its markup shown as text,
  // and the refusal of the peers page.
  static void ExpectTheAnalystsPages(const Json& r, const std::string& id, const Json& keys) {
    EXPECT_TRUE(r["wrongToken"]["loginShown"].get<bool>());
    EXPECT_NE(r["wrongToken"]["message"].get<std::string>().find("refused the token"),
              std::string::npos)
        << r["wrongToken"];
    EXPECT_NE(r["search"]["ids"].dump().find(id), std::string::npos) << r["search"];
    const Json& record = r["record"];
    EXPECT_EQ(record["verdict"], "valid");
    EXPECT_EQ(record["nodes"], keys) << record;
    EXPECT_EQ(record["signedHops"], 2);
    EXPECT_EQ(record["breachEdges"], 0);
    EXPECT_EQ(record["images"], 0) << record;
    EXPECT_NE(record["title"], "owned");
    EXPECT_NE(record["payload"].get<std::string>().find("<img src=x onerror="), std::string::npos)
        << record;
    EXPECT_NE(r["readPeers"].get<std::string>().find("needs role admin"), std::string::npos)
        << r["readPeers"];
  }

  // With the admin token: the violation (one red hop, the relay named as mallory, c's name
  // for its key), the peers and the mesh (c, b and mallory), and the audit trail filtered to
  // the analyst's token, which lists its reads and nothing of the administrator's.
  static void ExpectTheAdministratorsPages(const Json& r) {
    const Json& v = r["violation"];
    EXPECT_EQ(v["verdict"], "valid") << v;  // the evidence verifies: the violation is proven
    EXPECT_EQ(v["breachEdges"], 1) << v;
    ASSERT_EQ(v["breachText"].size(), 1u) << v;
    EXPECT_NE(v["breachText"][0].get<std::string>().find("Relay mallory"), std::string::npos) << v;
    EXPECT_NE(v["breachEdgeText"].dump().find("VIOLATION by mallory"), std::string::npos) << v;
    EXPECT_NE(r["violations"].dump().find("mallory"), std::string::npos) << r["violations"];
    EXPECT_EQ(r["peers"]["meshNodes"].size(), 3u) << r["peers"];
    EXPECT_EQ(r["peers"]["rows"].size(), 2u) << r["peers"];
    const std::string audit = r["audit"].dump();
    EXPECT_NE(audit.find("/console/api/search"), std::string::npos) << audit;
    EXPECT_NE(audit.find("/console/api/record"), std::string::npos) << audit;
    EXPECT_EQ(audit.find("console-admin"), std::string::npos) << audit;
  }
};

// An analyst logs in (after a wrong token, which gets the login page back with the reason),
// searches, opens a record that crossed two hops and finds its graph: three nodes, two signed
// hops. The read token may not see the peers. An administrator opens a violation and finds
// the relay named, sees the peers and the mesh, and the audit trail of the analyst's reads.
// An auditor drops a valid and a tampered bundle on the offline page and gets the verdicts of
// `threatmesh verify`. The token never appears in a URL; every API request carries it in the
// Authorization header.
TEST_F(ConsoleBrowserTest, AnalystAndAuditorUseTheConsoleInChromium) {
  ASSERT_TRUE(std::filesystem::exists(kChromium))
      << kChromium << " is missing: run deploy/install-deps.sh (Debian's chromium package)";
  Node& a = Start("a");
  Start("b");
  Node& c = Start("c", false, {"--taxii-listen", "127.0.0.1:0"});
  Link("a", "b");
  Link("b", "c");
  // Its description is markup, as a hostile author might write: the pages show it as text.
  const std::string id = Publish("a", "console.example.net", TLP_GREEN, [](RecordBody& b) {
    b.mutable_handling()->set_may_relay(true);
    b.mutable_indicator()->set_description(kMarkup);
  });
  std::optional<StoredRecord> at_c = WaitFor("c", id);
  ASSERT_TRUE(at_c.has_value());
  ASSERT_EQ(at_c->custody().chains(0).hops_size(), 2);
  const std::string retracted = RetractedAtC();
  ASSERT_FALSE(retracted.empty());
  std::unique_ptr<Double> link;
  const std::string violation = RelayAmberThroughMallory(c, link);
  ASSERT_FALSE(violation.empty());
  const std::string valid = dir_.Sub("valid.proof.json");
  const std::string tampered = dir_.Sub("tampered.proof.json");
  ASSERT_NO_FATAL_FAILURE(WriteBundles(c, id, valid, tampered));

  const Json r =
      Browse(c, StrCat(" RECORD_ID=", crypto::HexEncode(id),
                       " SEARCH_DOMAIN=example.net VIOLATION_ID=", crypto::HexEncode(violation),
                       " BUNDLE_VALID=", valid, " BUNDLE_TAMPERED=", tampered,
                       " RETRACTED_ID=", crypto::HexEncode(retracted)));
  ASSERT_TRUE(r.is_object());
  EXPECT_TRUE(r["errors"].empty()) << r["errors"].dump(1);
  ExpectTheAnalystsPages(
      r, crypto::HexEncode(id),
      {crypto::HexEncode(a.key), crypto::HexEncode(c.key), crypto::HexEncode(nodes_["b"].key)});
  ExpectTheAdministratorsPages(r);
  EXPECT_EQ(r["retracted"]["marks"], Json::array({"retraction"})) << r["retracted"];
  // Marked in the verdict and in the record's status.
  EXPECT_NE(r["retracted"]["withdrawn"].dump().find("Retracted by its author"), std::string::npos)
      << r["retracted"];
  EXPECT_NE(r["retracted"]["status"].dump().find("retracted by"), std::string::npos)
      << r["retracted"];
  // The offline page agrees with `threatmesh verify` on both bundles.
  EXPECT_EQ(VerdictOfTheCli(valid), "valid");
  EXPECT_EQ(VerdictOfTheCli(tampered), "invalid");
  EXPECT_EQ(r["offline"]["valid"]["verdict"], VerdictOfTheCli(valid)) << r["offline"];
  EXPECT_EQ(r["offline"]["tampered"]["verdict"], VerdictOfTheCli(tampered)) << r["offline"];
  EXPECT_EQ(r["offline"]["valid"]["graphNodes"], 3) << r["offline"];
  // The token only ever in a header.
  EXPECT_TRUE(r["tokenInUrl"].empty()) << r["tokenInUrl"];
  EXPECT_GT(r["apiRequests"].get<int>(), 8);
  EXPECT_TRUE(r["apiWithoutBearer"].empty()) << r["apiWithoutBearer"];
  for (const char* name : {"record", "violation", "peers", "offline-valid", "offline-tampered"}) {
    EXPECT_TRUE(std::filesystem::exists(StrCat(Screenshots(), "/", name, ".png"))) << name;
  }
  link->ctx.TryCancel();
}

}  // namespace
}  // namespace threatmesh
