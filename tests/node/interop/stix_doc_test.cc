// The worked examples of docs/STIX.md are what the code writes: each ```json block after a
// "<!-- example: NAME -->" line is compared with the object the bundle writer makes for the
// records below (a fixed key, fixed times: Ed25519 signatures are deterministic). Run with
// THREATMESH_UPDATE_DOCS=1 to write the code's objects into the document instead.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "node/interop/stix.h"
#include "node/interop/stix_verify.h"
#include "testing/test_util.h"

namespace threatmesh::interop {
namespace {

namespace v1 = ::threatmesh::v1;
// In the order the writer puts the properties, which the document keeps.
using Json = nlohmann::ordered_json;

const std::string kDoc = std::string(THREATMESH_SOURCE_DIR) + "/docs/STIX.md";
const std::string kMarker = "<!-- example: ";

struct Example {
  std::string name;
  std::size_t begin = 0, end = 0;  // the JSON text between the fences
};

std::vector<Example> ExamplesIn(const std::string& doc) {
  std::vector<Example> out;
  for (std::size_t at = doc.find(kMarker); at != std::string::npos;
       at = doc.find(kMarker, at + 1)) {
    Example e;
    const std::size_t name_end = doc.find(" -->", at);
    e.name = doc.substr(at + kMarker.size(), name_end - at - kMarker.size());
    e.begin = doc.find("```json\n", name_end) + 8;
    e.end = doc.find("```", e.begin);
    out.push_back(e);
  }
  return out;
}

v1::RecordBody Body(const crypto::KeyPair& key, int64_t at, v1::Tlp tlp) {
  v1::RecordBody b;
  b.set_author(std::string(key.public_key().bytes()));
  b.set_created_at(at);
  b.set_tlp(tlp);
  return b;
}

// One BIND query log line, its client address anonymized.
v1::RecordBody ExcerptBody(const crypto::KeyPair& key, int64_t t0) {
  v1::RecordBody excerpt = Body(key, t0 + 7200000, v1::TLP_GREEN);
  v1::LogExcerpt* x = excerpt.mutable_log_excerpt();
  x->set_source_format("bind-query");
  x->set_window_start(t0 + 600000);
  x->set_window_end(t0 + 660000);
  x->add_lines(
      "01-Jun-2026 00:10:02.114 client @0x1 10.77.3.9#53412 (evil.example.com): query: "
      "evil.example.com IN A + (10.0.0.53)");
  x->set_contact("soc@example.org");
  x->set_collection_method("resolver query log");
  v1::LogEvent* event = x->add_events();
  event->set_time(t0 + 602114);
  for (auto [name, value] : {std::pair{"src_endpoint.ip", "10.77.3.9"},
                             std::pair{"query.hostname", "evil.example.com"}}) {
    v1::EventField* f = event->add_fields();
    f->set_name(name);
    f->set_value(value);
  }
  v1::SanitizationStep* step = x->add_manifest();
  step->set_field("src_endpoint.ip");
  step->set_method("anonymize-prefix-preserving");
  step->set_algorithm("crypto-pan-aes128");
  step->set_key_id("5d41402abc4b2a76");
  return excerpt;
}

// The objects of the documented records, by example name.
std::map<std::string, Json> DocumentedObjects() {
  const crypto::KeyPair key = *crypto::KeyPair::FromSeed("threatmesh docs/STIX.md examples");
  const int64_t t0 = testing::kTestNowMs;  // 2026-06-01T00:00:00Z
  v1::RecordBody ind =
      testing::IndicatorBody(key, v1::INDICATOR_TYPE_DOMAIN, "evil.example.com", t0);
  ind.set_tlp(v1::TLP_AMBER);
  ind.add_labels("apt-x");
  ind.set_confidence(80);
  ind.set_valid_until(t0 + 30LL * 86400000);
  ind.mutable_indicator()->set_description("C2 domain of apt-x");
  const v1::StoredRecord indicator = testing::StoredRecordOf(ind, key);

  v1::RecordBody sight = Body(key, t0 + 3600000, v1::TLP_GREEN);
  sight.mutable_sighting()->set_type(v1::INDICATOR_TYPE_DOMAIN);
  sight.mutable_sighting()->set_value("evil.example.com");
  sight.mutable_sighting()->set_count(12);
  sight.mutable_sighting()->set_first_seen(t0 + 600000);
  sight.mutable_sighting()->set_last_seen(t0 + 3000000);
  sight.mutable_sighting()->set_indicator_id(indicator.id());
  const v1::StoredRecord sighting = testing::StoredRecordOf(sight, key);

  const v1::StoredRecord observed = testing::StoredRecordOf(ExcerptBody(key, t0), key);

  v1::RecordBody old_version =
      testing::IndicatorBody(key, v1::INDICATOR_TYPE_IPV4, "192.0.2.1", t0 + 60000);
  old_version.set_tlp(v1::TLP_CLEAR);
  const v1::StoredRecord first = testing::StoredRecordOf(old_version, key);
  v1::RecordBody new_version =
      testing::IndicatorBody(key, v1::INDICATOR_TYPE_IPV4, "192.0.2.1", t0 + 120000);
  new_version.set_tlp(v1::TLP_CLEAR);
  new_version.set_supersedes(first.id());
  v1::StoredRecord second = testing::StoredRecordOf(new_version, key);
  v1::RecordBody retract = Body(key, t0 + 86400000, v1::TLP_CLEAR);
  retract.mutable_retraction()->set_target(second.id());
  retract.mutable_retraction()->set_reason("false positive: a CDN address");
  const v1::StoredRecord retraction = testing::StoredRecordOf(retract, key);
  second.set_retracted_by(retraction.id());

  const std::vector<v1::StoredRecord> all = {indicator, sighting, observed, first, retraction};
  std::ostringstream out;
  StixBundleWriter writer(out, [&](const std::string& id) -> std::optional<v1::StoredRecord> {
    for (const v1::StoredRecord& r : all) {
      if (r.id() == id) return r;
    }
    return std::nullopt;
  });
  std::string why;
  for (const v1::StoredRecord* r :
       std::initializer_list<const v1::StoredRecord*>{&indicator, &sighting, &observed, &second}) {
    EXPECT_TRUE(writer.Add(*r, &why)) << why;
  }
  writer.Finish();
  std::map<std::string, Json> by_id;
  const Json bundle = Json::parse(out.str());
  for (const Json& o : bundle["objects"]) by_id[o["id"]] = o;
  return {
      {"extension-definition", by_id.at(std::string(kStixExtensionId))},
      {"author", by_id.at(StixIdentityId(ind.author()))},
      {"tlp-marking", by_id.at(std::string(TlpMarkingId(v1::TLP_AMBER)))},
      {"indicator", by_id.at(StixObjectId("indicator", indicator.id()))},
      {"sighting", by_id.at(StixObjectId("sighting", sighting.id()))},
      {"observed-data", by_id.at(StixObjectId("observed-data", observed.id()))},
      {"revoked-indicator", by_id.at(StixObjectId("indicator", first.id()))},
  };
}

TEST(StixDocTest, TheWorkedExamplesAreWhatTheCodeWrites) {
  std::string doc;
  {
    std::ifstream in(kDoc);
    std::stringstream ss;
    ss << in.rdbuf();
    doc = ss.str();
  }
  const std::map<std::string, Json> objects = DocumentedObjects();
  std::vector<Example> examples = ExamplesIn(doc);
  if (std::getenv("THREATMESH_UPDATE_DOCS") != nullptr) {
    // From the last, so that the earlier offsets hold.
    for (auto it = examples.rbegin(); it != examples.rend(); ++it) {
      auto o = objects.find(it->name);
      ASSERT_NE(o, objects.end()) << "no object for the example " << it->name;
      doc.replace(it->begin, it->end - it->begin, o->second.dump(2) + "\n");
    }
    std::ofstream(kDoc) << doc;
    examples = ExamplesIn(doc);
  }
  std::map<std::string, int> shown;
  for (const Example& e : examples) {
    ++shown[e.name];
    auto o = objects.find(e.name);
    ASSERT_NE(o, objects.end()) << "docs/STIX.md shows an example the test does not make: "
                                << e.name;
    const Json text = Json::parse(doc.substr(e.begin, e.end - e.begin), nullptr, false);
    EXPECT_EQ(text, o->second) << "docs/STIX.md, example " << e.name
                               << ", is not what the code writes, which is:\n"
                               << o->second.dump(2)
                               << "\n(THREATMESH_UPDATE_DOCS=1 writes it into the document)";
  }
  for (const auto& [name, object] : objects) {
    EXPECT_EQ(shown[name], 1) << "docs/STIX.md should show the example " << name << " once";
  }
  // Each record's example, as a reader would copy it from the page, verifies on its own.
  for (const Example& e : examples) {
    const std::string text = doc.substr(e.begin, e.end - e.begin);
    if (e.name == "extension-definition" || e.name == "author" || e.name == "tlp-marking") {
      continue;
    }
    ASSERT_TRUE(IsThreatmeshStix(text)) << e.name;
    const ProofResult r = VerifyStix(text, testing::kTestNowMs + 2LL * 86400000);
    EXPECT_EQ(r.verdict, ProofResult::Verdict::kValid)
        << e.name << ": " << (r.failures.empty() ? "" : r.failures[0].message);
  }
}

}  // namespace
}  // namespace threatmesh::interop
