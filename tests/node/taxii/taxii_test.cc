// The TAXII 2.1 server without sockets: TaxiiService over a real node, driven with requests
// as the HTTP server hands them over.
#include "node/taxii/taxii.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "crypto/encoding.h"
#include "crypto/str_cat.h"
#include "node/interop/stix.h"
#include "testing/node_api_harness.h"
#include "testing/test_util.h"

namespace threatmesh::taxii {
namespace {

namespace v1 = ::threatmesh::v1;
using Json = nlohmann::json;

class TaxiiTest : public ::testing::Test {
 public:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(h_.Open(data_, SystemNowMs));
    TaxiiOptions options;
    options.max_page = 50;
    taxii_ = std::make_unique<TaxiiService>(*api_, options);
    reader_ = tokens_->Create("opencti", v1::ROLE_READ, 1)->secret;
  }

  std::string Publish(const std::string& domain, v1::Tlp tlp = v1::TLP_GREEN,
                      const std::string& supersedes = "") {
    absl::StatusOr<v1::PublishResponse> r = h_.PublishDomain(domain, tlp, supersedes);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->id() : "";
  }

  http::Response Get(const std::string& target, const std::string& token = "",
                     const std::string& accept = "application/taxii+json;version=2.1") {
    http::Request r;
    r.method = "GET";
    r.target = target;
    r.headers["authorization"] = "Bearer " + (token.empty() ? reader_ : token);
    if (!accept.empty()) r.headers["accept"] = accept;
    r.headers["host"] = "127.0.0.1:9443";
    return taxii_->Handle(r);
  }

  static Json Body(const http::Response& r) { return Json::parse(r.body); }

  std::string Objects() const {
    return StrCat(kApiRoot, "collections/", DefaultCollectionId(), "/objects/");
  }

  // The indicators' values of a page, and its `next` (empty on the last page).
  static std::vector<std::string> Values(const Json& page) {
    std::vector<std::string> out;
    if (!page.contains("objects")) return out;
    for (const Json& o : page["objects"]) {
      if (o["type"] == "indicator") out.push_back(o["name"]);
    }
    return out;
  }

  testing::TempDir dir_;
  std::string data_ = dir_.Sub("node");
  testing::NodeApiHarness h_;
  std::unique_ptr<LocalNode>& node_ = h_.node;
  std::unique_ptr<TokenStore>& tokens_ = h_.tokens;
  std::unique_ptr<AuditLog>& audit_ = h_.audit;
  std::unique_ptr<NodeApi>& api_ = h_.api;
  std::unique_ptr<TaxiiService> taxii_;
  std::string reader_;
};

TEST_F(TaxiiTest, DiscoveryApiRootAndCollections) {
  http::Response d = Get("/taxii2/");
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(Body(d)["api_roots"], Json::array({"http://127.0.0.1:9443/threatmesh/"}));
  EXPECT_EQ(d.headers[0].second, "application/taxii+json;version=2.1");
  http::Response root = Get("/threatmesh/");
  ASSERT_EQ(root.status, 200);
  EXPECT_EQ(Body(root)["versions"], Json::array({"application/taxii+json;version=2.1"}));
  http::Response list = Get("/threatmesh/collections/");
  ASSERT_EQ(list.status, 200);
  const Json c = Body(list)["collections"][0];
  EXPECT_EQ(c["id"], DefaultCollectionId());
  EXPECT_EQ(c["can_read"], true);
  EXPECT_EQ(c["can_write"], false);
  http::Response one = Get("/threatmesh/collections/" + DefaultCollectionId() + "/");
  EXPECT_EQ(Body(one)["id"], DefaultCollectionId());
}

// Tokens come as Bearer or as HTTP Basic's password; anything else is 401 with a challenge,
// the same whether or not the resource exists.
TEST_F(TaxiiTest, CredentialsAndErrors) {
  http::Request basic;
  basic.method = "GET";
  basic.target = "/taxii2/";
  basic.headers["authorization"] = "Basic " + crypto::Base64Encode("anyone:" + reader_);
  EXPECT_EQ(taxii_->Handle(basic).status, 200);
  for (const char* target : {"/taxii2/", "/threatmesh/collections/no-such-collection/objects/"}) {
    http::Response r = Get(target, "tmt_wrong");
    EXPECT_EQ(r.status, 401) << target;
    bool challenged = false;
    for (const auto& [name, value] : r.headers) {
      challenged |= name == "WWW-Authenticate" && value.find("Basic") != std::string::npos;
    }
    EXPECT_TRUE(challenged);
    EXPECT_EQ(Body(r)["http_status"], "401");
  }
  EXPECT_EQ(Get("/threatmesh/collections/no-such-collection/objects/").status, 404);
  EXPECT_EQ(Get("/nowhere/").status, 404);
  EXPECT_EQ(Get("/taxii2/", "", "application/xml").status, 406);
  EXPECT_EQ(Get("/taxii2/", "", "application/taxii+json;version=2.0").status, 406);
  EXPECT_EQ(Get("/taxii2/", "", "*/*").status, 200);
  EXPECT_EQ(Get(Objects() + "?limit=0").status, 400);
  EXPECT_EQ(Get(Objects() + "?limit=x").status, 400);
  EXPECT_EQ(Get(Objects() + "?next=abc").status, 400);
  EXPECT_EQ(Get(Objects() + "?added_after=yesterday").status, 400);
  EXPECT_EQ(Get(Objects() + "?match[version]=newest").status, 400);
  http::Response unknown = Get(Objects() + "?match[colour]=red");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(Body(unknown)["description"].get<std::string>().find("match[colour]"),
            std::string::npos);
  http::Request post;
  post.method = "POST";
  post.target = Objects();
  post.headers["authorization"] = "Bearer " + reader_;
  EXPECT_EQ(taxii_->Handle(post).status, 403);
  post.method = "DELETE";
  EXPECT_EQ(taxii_->Handle(post).status, 405);
}

// Pages follow the change feed: records published between pages are on a later page, and
// every record is on exactly one page.
TEST_F(TaxiiTest, PagesMissNothingAndRepeatNothingWhileRecordsArrive) {
  std::set<std::string> published;
  for (int i = 0; i < 120; ++i) {
    published.insert(Publish("d" + std::to_string(i) + ".example"));
  }
  std::multiset<std::string> seen;
  std::string next;
  int pages = 0;
  for (; pages < 100; ++pages) {
    http::Response r = Get(Objects() + "?limit=40" + (next.empty() ? "" : "&next=" + next));
    ASSERT_EQ(r.status, 200) << r.body;
    const Json page = Body(r);
    for (const std::string& v : Values(page)) seen.insert(v);
    EXPECT_LE(Values(page).size(), 40u);
    if (pages < 3) {  // more arrive while the client pages
      for (int i = 0; i < 10; ++i) {
        const std::string name = "late" + std::to_string(pages * 10 + i) + ".example";
        Publish(name);
      }
    }
    if (!page["more"].get<bool>()) break;
    next = page["next"];
  }
  EXPECT_EQ(seen.size(), 150u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 150u) << "a value twice";
  EXPECT_GE(pages, 3);
}

// A client that goes on with added_after = the last page's X-TAXII-Date-Added-Last (as
// `taxii pull` does) misses nothing even where a page ends inside one commit: every record
// has its own time added.
TEST_F(TaxiiTest, AddedAfterTheLastDateAddedMissesNothingWithinOneCommit) {
  std::size_t n = 0;
  v1::AuditEntry audit;
  const v1::PublishStreamResponse published = api_->PublishMany(
      [&](v1::PublishRequest& r) {
        if (n == 60) return false;
        r.Clear();
        r.mutable_body()->set_tlp(v1::TLP_GREEN);
        r.mutable_body()->mutable_indicator()->set_type(v1::INDICATOR_TYPE_DOMAIN);
        r.mutable_body()->mutable_indicator()->set_value("batch" + std::to_string(n++) +
                                                         ".example");
        return true;
      },
      audit);
  ASSERT_EQ(published.stored(), 60u);
  std::multiset<std::string> seen;
  std::string after;
  for (int page = 0; page < 100; ++page) {
    http::Response r = Get(Objects() + "?match[type]=indicator&limit=7" +
                           (after.empty() ? "" : "&added_after=" + after));
    ASSERT_EQ(r.status, 200) << r.body;
    const std::vector<std::string> values = Values(Body(r));
    if (values.empty()) break;
    seen.insert(values.begin(), values.end());
    for (const auto& [name, value] : r.headers) {
      if (name == "X-TAXII-Date-Added-Last") after = value;
    }
  }
  EXPECT_EQ(seen.size(), 60u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 60u);
}

// Versions: by default the last version of each object; a retraction makes a new, revoked
// version of its target, served where the retraction sits in the feed.
TEST_F(TaxiiTest, VersionsSupersessionAndRetraction) {
  const std::string first = Publish("v.example");
  // (A version's STIX `modified` is its record's creation time, in milliseconds.)
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  const std::string second = Publish("v.example", v1::TLP_GREEN, first);
  const std::string other = Publish("w.example");
  v1::RetractRequest retract;
  retract.set_target(other);
  v1::AuditEntry audit;
  ASSERT_TRUE(api_->Retract(retract, audit).ok());
  const Json last = Body(Get(Objects()));
  ASSERT_EQ(last["objects"].is_array(), true);
  std::map<std::string, std::vector<Json>> by_name;
  for (const Json& o : last["objects"]) {
    if (o["type"] == "indicator") by_name[o["name"]].push_back(o);
  }
  ASSERT_EQ(by_name["v.example"].size(), 1u);
  EXPECT_NE(by_name["v.example"][0]["created"], by_name["v.example"][0]["modified"]);
  ASSERT_EQ(by_name["w.example"].size(), 1u);
  EXPECT_EQ(by_name["w.example"][0]["revoked"], true);
  const Json all = Body(Get(Objects() + "?match[version]=all"));
  int v_versions = 0, w_versions = 0;
  std::string v_id;
  for (const Json& o : all["objects"]) {
    if (o["type"] != "indicator") continue;
    if (o["name"] == "v.example") ++v_versions, v_id = o["id"];
    if (o["name"] == "w.example") ++w_versions;
  }
  EXPECT_EQ(v_versions, 2);
  EXPECT_EQ(w_versions, 2);  // as published, then revoked
  const Json firsts = Body(Get(Objects() + "?match[version]=first&match[type]=indicator"));
  EXPECT_EQ(Values(firsts), (std::vector<std::string>{"v.example", "w.example"}));
  for (const Json& o : firsts["objects"]) EXPECT_EQ(o["type"], "indicator");
  const Json by_id = Body(Get(Objects() + "?match[version]=all&match[id]=" + v_id));
  EXPECT_EQ(Values(by_id), (std::vector<std::string>{"v.example", "v.example"}));
  // The manifest: one entry per object version, with its date added.
  const Json manifest = Body(
      Get(StrCat(kApiRoot, "collections/", DefaultCollectionId(), "/manifest/?match[id]=", v_id)));
  ASSERT_EQ(manifest["objects"].size(), 1u);
  EXPECT_EQ(manifest["objects"][0]["version"], by_name["v.example"][0]["modified"]);
  EXPECT_EQ(manifest["objects"][0]["media_type"], "application/stix+json;version=2.1");
  EXPECT_FALSE(manifest["objects"][0]["date_added"].get<std::string>().empty());
}

// objects/{id}/ serves one object's versions (the last by default), objects/{id}/versions/ their
// `modified` times; both page with limit and next, and an object the collection does not
// show is a 404 like one that does not exist.
TEST_F(TaxiiTest, AnObjectByIdAndItsVersions) {
  const std::string first = Publish("o.example");
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  const std::string second = Publish("o.example", v1::TLP_GREEN, first);
  Publish("between.example");
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  v1::RetractRequest retract;
  retract.set_target(second);
  v1::AuditEntry audit;
  ASSERT_TRUE(api_->Retract(retract, audit).ok());
  const std::string id = interop::StixObjectId("indicator", first);
  const std::string base = Objects() + id + "/";
  const Json last = Body(Get(base));
  ASSERT_EQ(last["objects"].size(), 1u) << last;
  EXPECT_EQ(last["objects"][0]["id"], id);
  EXPECT_EQ(last["objects"][0]["revoked"], true);
  EXPECT_EQ(last["more"], false);
  const Json all = Body(Get(base + "?match[version]=all"));
  ASSERT_EQ(all["objects"].size(), 3u) << all;
  const Json first_only = Body(Get(base + "?match[version]=first"));
  ASSERT_EQ(first_only["objects"].size(), 1u);
  EXPECT_EQ(first_only["objects"][0]["created"], first_only["objects"][0]["modified"]);
  // The versions, oldest first, and the same three one page at a time.
  http::Response versions = Get(base + "versions/");
  ASSERT_EQ(versions.status, 200) << versions.body;
  const Json v = Body(versions);
  ASSERT_EQ(v["versions"].size(), 3u) << v;
  EXPECT_EQ(v["versions"][0], all["objects"][0]["modified"]);
  EXPECT_EQ(v["versions"][2], last["objects"][0]["modified"]);
  std::map<std::string, std::string> headers(versions.headers.begin(), versions.headers.end());
  EXPECT_NE(headers["X-TAXII-Date-Added-First"], headers["X-TAXII-Date-Added-Last"]);
  std::vector<std::string> paged;
  std::string next;
  for (int page = 0; page < 5; ++page) {
    const Json p = Body(Get(base + "versions/?limit=1" + (next.empty() ? "" : "&next=" + next)));
    ASSERT_LE(p["versions"].size(), 1u);
    for (const Json& one : p["versions"]) paged.push_back(one);
    if (p["more"] == false) break;
    next = p["next"];
  }
  EXPECT_EQ(paged, v["versions"].get<std::vector<std::string>>());
  // Not found: no such object, not a STIX id, an identity, a RED object, a stranger's token.
  const std::string red = interop::StixObjectId("indicator", Publish("red.example", v1::TLP_RED));
  for (const std::string& missing :
       {std::string("indicator--00000000-0000-4000-8000-000000000000"), std::string("nothing"),
        interop::StixIdentityId(node_->key().public_key().bytes()), red}) {
    http::Response r = Get(Objects() + missing + "/");
    EXPECT_EQ(r.status, 404) << missing << " " << r.body;
    EXPECT_EQ(Get(Objects() + missing + "/versions/").status, 404) << missing;
  }
  EXPECT_EQ(Get(Objects() + id + "/other/").status, 404);
  EXPECT_EQ(Get(base + "?limit=0").status, 400);
}

// The view: RED is served by no default collection, AMBER+STRICT not to a client token; the
// headers name the dates added; added_after starts after them.
TEST_F(TaxiiTest, TheViewTheHeadersAndAddedAfter) {
  Publish("red.example", v1::TLP_RED);
  Publish("strict.example", v1::TLP_AMBER_STRICT);
  Publish("green.example", v1::TLP_GREEN);
  http::Response member = Get(Objects() + "?match[type]=indicator");
  EXPECT_EQ(Values(Body(member)), (std::vector<std::string>{"strict.example", "green.example"}));
  const std::string client =
      tokens_->Create("partner", v1::ROLE_READ, 1, v1::AUDIENCE_CLIENT)->secret;
  EXPECT_EQ(Values(Body(Get(Objects(), client))), (std::vector<std::string>{"green.example"}));
  std::map<std::string, std::string> headers(member.headers.begin(), member.headers.end());
  ASSERT_TRUE(headers.count("X-TAXII-Date-Added-First"));
  ASSERT_TRUE(headers.count("X-TAXII-Date-Added-Last"));
  // Nothing was added after the last one.
  const Json after = Body(Get(Objects() + "?added_after=" + headers["X-TAXII-Date-Added-Last"]));
  EXPECT_FALSE(after.contains("objects")) << after.dump();
  EXPECT_EQ(after["more"], false);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Publish("later.example");
  EXPECT_EQ(Values(Body(Get(Objects() + "?added_after=" + headers["X-TAXII-Date-Added-Last"]))),
            (std::vector<std::string>{"later.example"}));
}

// Collections from the config: "partners" (GREEN domains, read by opencti) and "inbox"
// (read and written by feeder, a publish token); the token of feeder.
std::string UseCollections(TaxiiTest& t) {
  TaxiiOptions options;
  TaxiiCollectionConfig partners;
  partners.name = "partners";
  partners.max_tlp = v1::TLP_GREEN;
  partners.types = {v1::INDICATOR_TYPE_DOMAIN};
  partners.readers = {"opencti"};
  TaxiiCollectionConfig inbox;
  inbox.name = "inbox";
  inbox.readers = {"feeder"};
  inbox.writers = {"feeder"};
  options.collections = {partners, inbox};
  t.taxii_ = std::make_unique<TaxiiService>(*t.api_, options);
  return t.tokens_->Create("feeder", v1::ROLE_PUBLISH, 1)->secret;
}

// Each collection is a view, shown to the tokens that may read or write it.
TEST_F(TaxiiTest, ConfiguredCollectionsAreViewsForTheirTokens) {
  const std::string feeder = UseCollections(*this);
  Publish("green.example", v1::TLP_GREEN);
  Publish("amber.example", v1::TLP_AMBER);
  auto ids = [&](const std::string& token) {
    std::set<std::string> out;
    const Json list = Body(Get("/threatmesh/collections/", token));
    for (const Json& c : list["collections"]) out.insert(c["id"].get<std::string>());
    return out;
  };
  EXPECT_EQ(ids(reader_), (std::set<std::string>{DefaultCollectionId(), CollectionId("partners")}));
  EXPECT_EQ(ids(feeder), (std::set<std::string>{DefaultCollectionId(), CollectionId("inbox")}));
  const std::string partner_objects =
      StrCat(kApiRoot, "collections/", CollectionId("partners"), "/objects/");
  EXPECT_EQ(Values(Body(Get(partner_objects))), (std::vector<std::string>{"green.example"}));
  EXPECT_EQ(Get(partner_objects, feeder).status, 404);  // not among its collections
}

// A POST to a writable collection imports what maps, names what does not, and answers with a
// status resource; the same envelope again stores nothing new.
TEST_F(TaxiiTest, APostImportsTheEnvelopeAndAnswersWithAStatus) {
  const std::string feeder = UseCollections(*this);
  http::Request post;
  post.method = "POST";
  post.target = StrCat(kApiRoot, "collections/", CollectionId("inbox"), "/objects/");
  post.headers["authorization"] = "Bearer " + feeder;
  post.headers["content-type"] = "application/taxii+json;version=2.1";
  post.body = R"({"objects": [
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--00000001-0000-4000-8000-000000000000",
     "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
     "pattern_type": "stix", "valid_from": "2026-11-01T00:00:00.000Z",
     "pattern": "[domain-name:value = 'posted.example']",
     "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--00000002-0000-4000-8000-000000000000",
     "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
     "pattern_type": "stix", "valid_from": "2026-11-01T00:00:00.000Z",
     "pattern": "[domain-name:value = 'secret.example']",
     "object_marking_refs": ["marking-definition--00000000-0000-4000-8000-00000000beef"]}]})";
  http::Response posted = taxii_->Handle(post);
  ASSERT_EQ(posted.status, 202) << posted.body;
  const Json status = Body(posted);
  EXPECT_EQ(status["status"], "complete");
  EXPECT_EQ(status["success_count"], 1);
  EXPECT_EQ(status["failure_count"], 1);
  EXPECT_EQ(status["failures"][0]["id"], "indicator--00000002-0000-4000-8000-000000000000");
  EXPECT_NE(status["failures"][0]["message"].get<std::string>().find("not downgraded"),
            std::string::npos);
  const std::string status_path = StrCat(kApiRoot, "status/", status["id"].get<std::string>(), "/");
  EXPECT_EQ(Body(Get(status_path, feeder)), status);
  EXPECT_EQ(Get(StrCat(kApiRoot, "status/00000000-0000-4000-8000-000000000000/"), feeder).status,
            404);
  // The imported record is the node's: the default collection serves it; once.
  EXPECT_EQ(Values(Body(Get(Objects()))), std::vector<std::string>{"posted.example"});
  ASSERT_EQ(taxii_->Handle(post).status, 202);
  EXPECT_EQ(Values(Body(Get(Objects()))), std::vector<std::string>{"posted.example"});
  // Wrong media type, not STIX, and a token that may not write.
  post.headers["content-type"] = "application/json";
  EXPECT_EQ(taxii_->Handle(post).status, 415);
  post.headers["content-type"] = "application/taxii+json;version=2.1";
  post.body = "{\"objects\": [";
  EXPECT_EQ(taxii_->Handle(post).status, 400);
  post.headers["authorization"] = "Bearer " + reader_;
  EXPECT_EQ(taxii_->Handle(post).status, 404);
}

// Every request is in the audit trail, named by its token.
TEST_F(TaxiiTest, EveryRequestIsAudited) {
  Publish("a.example");
  ASSERT_EQ(Get(Objects()).status, 200);
  ASSERT_EQ(Get("/taxii2/", "tmt_wrong").status, 401);
  absl::StatusOr<v1::ReadAuditResponse> trail = audit_->Read(1, 100);
  ASSERT_TRUE(trail.ok()) << trail.status();
  std::vector<v1::AuditEntry> taxii;
  for (const v1::StoredAuditEntry& e : trail->entries()) {
    v1::AuditEntry entry;
    ASSERT_TRUE(entry.ParseFromString(e.entry()));
    if (entry.method().rfind("TAXII ", 0) == 0) taxii.push_back(entry);
  }
  ASSERT_EQ(taxii.size(), 2u);
  EXPECT_EQ(taxii[0].who(), "opencti");
  EXPECT_EQ(taxii[0].method(), "TAXII GET " + Objects());
  EXPECT_EQ(taxii[0].record_ids_size(), 1);
  EXPECT_NE(taxii[0].params().find("status=200"), std::string::npos);
  EXPECT_EQ(taxii[1].who(), "");
  EXPECT_EQ(taxii[1].code(), static_cast<int>(absl::StatusCode::kUnauthenticated));
}

}  // namespace
}  // namespace threatmesh::taxii
