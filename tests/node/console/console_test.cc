// The web console's server side without sockets: ConsoleService over a real node, driven with
// requests as the HTTP server hands them over.
#include "node/console/console.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "crypto/encoding.h"
#include "crypto/str_cat.h"
#include "node/core/clock.h"
#include "testing/node_api_harness.h"
#include "testing/test_util.h"

namespace threatmesh::console {
namespace {

namespace v1 = ::threatmesh::v1;
using Json = nlohmann::json;

class ConsoleTest : public ::testing::Test {
 public:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(h_.Open(dir_.Sub("node"), SystemNowMs));
    console_ = std::make_unique<ConsoleService>(*h_.api);
    reader_ = h_.tokens->Create("analyst", v1::ROLE_READ, 1)->secret;
    admin_ = h_.tokens->Create("operator", v1::ROLE_ADMIN, 1)->secret;
  }

  http::Response Send(const std::string& method, const std::string& target,
                      const std::string& authorization) {
    http::Request r;
    r.method = method;
    r.target = target;
    if (!authorization.empty()) r.headers["authorization"] = authorization;
    return console_->Handle(r);
  }
  http::Response Get(const std::string& target, const std::string& token) {
    return Send("GET", target, "Bearer " + token);
  }

  std::string Publish(const std::string& domain, v1::Tlp tlp) {
    absl::StatusOr<v1::PublishResponse> r = h_.PublishDomain(domain, tlp);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? crypto::HexEncode(r->id()) : "";
  }

  static std::string Header(const http::Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }
  static Json Body(const http::Response& r) { return Json::parse(r.body, nullptr, false); }

  // The methods of the audit trail's entries, oldest first.
  std::vector<std::string> AuditedMethods() {
    std::vector<std::string> out;
    absl::StatusOr<v1::ReadAuditResponse> page = h_.audit->Read(1, 1000);
    for (const v1::StoredAuditEntry& e : page->entries()) {
      v1::AuditEntry entry;
      entry.ParseFromString(e.entry());
      out.push_back(StrCat(entry.who(), " ", entry.method(), " ", entry.code()));
    }
    return out;
  }

  testing::TempDir dir_;
  testing::NodeApiHarness h_;
  std::unique_ptr<ConsoleService> console_;
  std::string reader_, admin_;
};

// The pages hold no data: served to anyone, with a policy that lets them run only the
// node's own script and style; anything but GET and HEAD is refused.
TEST_F(ConsoleTest, PagesAreServedToAnyoneUnderAStrictPolicy) {
  http::Response index = Send("GET", "/console/", "");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(Header(index, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(index.body.find("<script src=\"console.js\""), std::string::npos);
  EXPECT_NE(Header(index, "Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(Header(index, "X-Frame-Options"), "DENY");
  http::Response script = Send("GET", "/console/console.js", "");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(Header(script, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_GT(script.body.size(), 10000u);  // the bundle, with dagre and noble in it
  EXPECT_EQ(Send("GET", "/console/licenses.txt", "").status, 200);
  EXPECT_EQ(Send("GET", "/console/nothing.js", "").status, 404);
  http::Response bare = Send("GET", "/console", "");
  EXPECT_EQ(bare.status, 308);
  EXPECT_EQ(Header(bare, "Location"), "/console/");
  http::Response post = Send("POST", "/console/api/search", "Bearer " + admin_);
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(Header(post, "Allow"), "GET, HEAD");
  EXPECT_TRUE(ConsoleService::Owns("/console"));
  EXPECT_TRUE(ConsoleService::Owns("/console/api/session"));
  EXPECT_FALSE(ConsoleService::Owns("/consoles"));
}

// The API needs a Bearer token; without one, or with a wrong one, it answers 401 with what to
// do, and no WWW-Authenticate (the page shows its login form, not the browser's dialog). A
// token in the URL counts for nothing.
TEST_F(ConsoleTest, TheApiNeedsATokenInTheHeader) {
  for (const std::string& auth : {std::string(), std::string("Bearer wrong"),
                                  "Basic " + crypto::Base64Encode("x:" + reader_)}) {
    http::Response r = Send("GET", "/console/api/session", auth);
    EXPECT_EQ(r.status, 401) << auth;
    EXPECT_NE(Body(r)["error"].get<std::string>().find("log in with a token"), std::string::npos);
    EXPECT_EQ(Header(r, "WWW-Authenticate"), "");
    EXPECT_EQ(Header(r, "Cache-Control"), "no-store");
  }
  EXPECT_EQ(Send("GET", "/console/api/session?token=" + reader_, "").status, 401);
  http::Response ok = Get("/console/api/session", reader_);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(Body(ok)["caller"]["name"], "analyst");
  EXPECT_EQ(Body(ok)["caller"]["role"], "read");
  EXPECT_EQ(Body(ok)["node"]["public_key"], h_.api->Status().public_key());
}

// Search takes the options of `threatmesh search`, named without their dashes, and refuses
// what the CLI refuses with the same words.
TEST_F(ConsoleTest, SearchTakesTheFiltersOfTheCli) {
  const std::string green = Publish("a.example.com", v1::TLP_GREEN);
  Publish("b.example.com", v1::TLP_AMBER);
  Publish("other.example.org", v1::TLP_GREEN);
  Json all = Body(Get("/console/api/search?domain-suffix=example.com", reader_));
  EXPECT_EQ(all["records"].size(), 2u) << all;
  Json green_only =
      Body(Get("/console/api/search?domain-suffix=example.com&max-tlp=green", reader_));
  ASSERT_EQ(green_only["records"].size(), 1u) << green_only;
  EXPECT_EQ(green_only["records"][0]["id"], green);
  EXPECT_EQ(green_only["records"][0]["summary"], "indicator domain a.example.com");
  EXPECT_EQ(green_only["records"][0]["retracted_by"], "");
  Json paged = Body(Get("/console/api/search?domain-suffix=example.com&limit=1", reader_));
  EXPECT_EQ(paged["records"].size(), 1u);
  EXPECT_FALSE(paged["next_page_token"].get<std::string>().empty());

  http::Response unknown = Get("/console/api/search?domain-suffix=x.com&bogus=1", reader_);
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(Body(unknown)["error"].get<std::string>().find("bogus"), std::string::npos)
      << unknown.body;
  http::Response two = Get("/console/api/search?domain-suffix=x.com&tag=y", reader_);
  EXPECT_EQ(two.status, 400);
  EXPECT_NE(Body(two)["error"].get<std::string>().find("exactly one query"), std::string::npos);
  http::Response tlp = Get("/console/api/search?tag=x&max-tlp=purple", reader_);
  EXPECT_EQ(tlp.status, 400);
}

// A record's page: its fields, what withdrew it, and its proof bundle for the browser to
// verify. An unknown or malformed id says so.
TEST_F(ConsoleTest, ARecordComesWithItsProofBundle) {
  const std::string id = Publish("a.example.com", v1::TLP_GREEN);
  http::Response r = Get("/console/api/record?id=" + id, reader_);
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = Body(r);
  EXPECT_EQ(j["record"]["id"], id);
  EXPECT_EQ(j["record"]["tlp"], "GREEN");
  EXPECT_EQ(j["bundle"]["format"], "threatmesh-proof/3");
  EXPECT_EQ(j["bundle"]["kind"], "record");
  EXPECT_EQ(j["superseded_by"], "");
  EXPECT_EQ(Get("/console/api/record?id=" + std::string(64, '0'), reader_).status, 404);
  http::Response bad = Get("/console/api/record?id=xyz", reader_);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(Body(bad)["error"].get<std::string>().find("64 hex"), std::string::npos);
  http::Response proof = Get("/console/api/proof?id=" + id, reader_);
  EXPECT_EQ(proof.status, 200);
  EXPECT_EQ(Body(proof)["format"], "threatmesh-proof/3");
}

// Peers, violations, the audit trail and violation evidence are for admin tokens; a read
// token is refused with the role it lacks, and every request, refused or not, is audited.
TEST_F(ConsoleTest, RolesDecideThePagesAndEveryRequestIsAudited) {
  const std::string id = Publish("a.example.com", v1::TLP_GREEN);
  for (const std::string& what :
       std::vector<std::string>{"peers", "violations", "audit", "proof?violation=1&id=" + id}) {
    http::Response r = Get("/console/api/" + what, reader_);
    EXPECT_EQ(r.status, 403) << what;
    EXPECT_NE(Body(r)["error"].get<std::string>().find("needs role admin"), std::string::npos)
        << what << ": " << r.body;
    // An admin gets them (this record has no violation evidence: 404).
    EXPECT_EQ(Get("/console/api/" + what, admin_).status, what.starts_with("proof") ? 404 : 200)
        << what;
  }
  EXPECT_EQ(Get("/console/api/nothing", admin_).status, 404);
  const std::vector<std::string> audited = AuditedMethods();
  const std::string refused = StrCat("analyst CONSOLE GET /console/api/peers ",
                                     static_cast<int>(absl::StatusCode::kPermissionDenied));
  EXPECT_NE(std::find(audited.begin(), audited.end(), refused), audited.end());
  EXPECT_NE(std::find(audited.begin(), audited.end(), "operator CONSOLE GET /console/api/audit 0"),
            audited.end());
}

// The audit trail newest first, filtered by token name, method and code, a page at a time.
TEST_F(ConsoleTest, TheAuditTrailIsFilteredNewestFirst) {
  for (int i = 0; i < 5; ++i) Get("/console/api/session", reader_);
  Get("/console/api/peers", reader_);  // refused: code 7
  Json page = Body(Get("/console/api/audit?who=analyst&limit=3", admin_));
  ASSERT_EQ(page["entries"].size(), 3u) << page;
  EXPECT_GT(page["entries"][0]["seq"], page["entries"][1]["seq"]);
  EXPECT_EQ(page["entries"][0]["method"], "CONSOLE GET /console/api/peers");
  EXPECT_EQ(page["entries"][0]["role"], "read");
  EXPECT_GT(page["next_before"].get<uint64_t>(), 0u);
  Json older = Body(Get(
      StrCat("/console/api/audit?who=analyst&limit=3&before=", page["next_before"].get<uint64_t>()),
      admin_));
  ASSERT_EQ(older["entries"].size(), 3u) << older;
  EXPECT_LT(older["entries"][0]["seq"], page["entries"][2]["seq"]);
  Json refused = Body(Get("/console/api/audit?code=7", admin_));
  ASSERT_EQ(refused["entries"].size(), 1u) << refused;
  EXPECT_EQ(refused["entries"][0]["who"], "analyst");
  Json none = Body(Get("/console/api/audit?method=TAXII", admin_));
  EXPECT_TRUE(none["entries"].empty());
  EXPECT_EQ(none["next_before"], 0);
}

}  // namespace
}  // namespace threatmesh::console
