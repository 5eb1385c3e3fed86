#include "node/interop/stix.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/uuid.h"
#include "node/core/indicator.h"
#include "node/core/record_builder.h"
#include "node/interop/pattern_grammar.h"
#include "testing/test_util.h"

namespace threatmesh::interop {
namespace {

namespace v1 = ::threatmesh::v1;
using Json = nlohmann::json;

v1::StoredRecord Stored(const v1::RecordBody& body, const crypto::KeyPair& key) {
  return testing::StoredRecordOf(body, key);
}

struct PatternCase {
  v1::IndicatorType type;
  std::string value;  // normalized
  std::string pattern;
};

// Every type, with values holding quotes, backslashes, Unicode and IPv6.
const std::vector<PatternCase>& PatternCases() {
  static const std::vector<PatternCase> cases = {
      {v1::INDICATOR_TYPE_IPV4, "192.0.2.1", "[ipv4-addr:value = '192.0.2.1']"},
      {v1::INDICATOR_TYPE_IPV6, "2001:db8::1", "[ipv6-addr:value = '2001:db8::1']"},
      {v1::INDICATOR_TYPE_CIDR, "10.0.0.0/8", "[ipv4-addr:value ISSUBSET '10.0.0.0/8']"},
      {v1::INDICATOR_TYPE_CIDR, "2001:db8::/32", "[ipv6-addr:value ISSUBSET '2001:db8::/32']"},
      {v1::INDICATOR_TYPE_DOMAIN, "evil.example.com", "[domain-name:value = 'evil.example.com']"},
      {v1::INDICATOR_TYPE_URL, "http://evil.example.com/a?b='c'&d=\\e",
       "[url:value = 'http://evil.example.com/a?b=\\'c\\'&d=\\\\e']"},
      {v1::INDICATOR_TYPE_EMAIL, "o'brien@evil.example.com",
       "[email-addr:value = 'o\\'brien@evil.example.com']"},
      {v1::INDICATOR_TYPE_MD5, "d41d8cd98f00b204e9800998ecf8427e",
       "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']"},
      {v1::INDICATOR_TYPE_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709",
       "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']"},
      {v1::INDICATOR_TYPE_SHA256,
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "[file:hashes.'SHA-256' = "
       "'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']"},
      {v1::INDICATOR_TYPE_ASN, "AS64500", "[autonomous-system:number = 64500]"},
      {v1::INDICATOR_TYPE_JA3, "e7d705a3286e19ea42f587b344ee6865",
       "[x-threatmesh-ja3:value = 'e7d705a3286e19ea42f587b344ee6865']"},
      {v1::INDICATOR_TYPE_USER_AGENT, "Evil \\ Bot 'ü' 1.0",
       "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = "
       "'Evil \\\\ Bot \\'ü\\' 1.0']"},
  };
  return cases;
}

TEST(StixPatternTest, EveryTypeHasItsPatternAndItParsesUnderTheGrammar) {
  std::set<int> types;
  for (const PatternCase& c : PatternCases()) {
    types.insert(c.type);
    // The values are as the node stores them.
    absl::StatusOr<std::string> normalized = NormalizeIndicator(c.type, c.value);
    ASSERT_TRUE(normalized.ok()) << c.value << ": " << normalized.status();
    ASSERT_EQ(*normalized, c.value);
    const std::string pattern = StixPattern(c.type, c.value);
    EXPECT_EQ(pattern, c.pattern) << IndicatorTypeName(c.type);
    std::string error;
    EXPECT_TRUE(testing::PatternGrammar::Check(pattern, &error)) << pattern << ": " << error;
  }
  EXPECT_EQ(types.size(), 12u) << "a type without a case";
}

// The checker refuses what the grammar refuses, so that its approval means something.
TEST(StixPatternTest, TheGrammarCheckerRefusesBrokenPatterns) {
  for (const char* bad :
       {"[domain-name:value = 'a'", "domain-name:value = 'a'", "[domain-name:value = 'it's']",
        "[domain-name:value = 'a\\b']", "[domain-name value = 'a']", "[1domain:value = 'a']",
        "[domain-name:value = ]", "[domain-name:value == 'a']", "[file:hashes.SHA-256 = 'a']",
        "[autonomous-system:number = 01]", "[domain-name:value = 'a'] AND",
        "[[domain-name:value = 'a']]"}) {
    std::string error;
    EXPECT_FALSE(testing::PatternGrammar::Check(bad, &error)) << bad;
  }
  std::string error;
  EXPECT_TRUE(testing::PatternGrammar::Check(
      "([ipv4-addr:value = '1.2.3.4'] OR [ipv4-addr:value ISSUBSET '10.0.0.0/8']) AND "
      "[file:hashes[*] != 'x' AND file:size > -1]",
      &error))
      << error;
}

TEST(StixIdTest, IdsAreVersion5UuidsOfTheRecordIdAndTheSameEverywhere) {
  const std::string record_id = crypto::Sha256("record");
  const std::string id = StixObjectId("indicator", record_id);
  ASSERT_EQ(id.size(), std::string("indicator--").size() + 36);
  EXPECT_EQ(id.rfind("indicator--", 0), 0u);
  EXPECT_EQ(id[11 + 14], '5') << id;
  EXPECT_EQ(id, StixObjectId("indicator", record_id));
  EXPECT_NE(id, StixObjectId("indicator", crypto::Sha256("another")));
  // Python: uuid.uuid5(uuid.UUID("9508b2d5-64f7-46c9-b1fe-6dfc5b2e389c"), HEX).
  EXPECT_EQ(id.substr(11),
            crypto::Uuid5(*crypto::ParseUuid(kStixNamespace), crypto::HexEncode(record_id)));
  EXPECT_EQ(StixIdentityId(std::string(32, 'k')).rfind("identity--", 0), 0u);
}

class StixBundleTest : public ::testing::Test {
 protected:
  // The bundle `records` make, parsed; `skipped` collects the reasons of those left out.
  // The writer may look up `records` and `known` by id.
  Json Bundle(const std::vector<v1::StoredRecord>& records,
              std::vector<std::string>* skipped = nullptr,
              const std::vector<v1::StoredRecord>& known = {}) {
    std::ostringstream out;
    StixBundleWriter writer(out, [&](const std::string& id) -> std::optional<v1::StoredRecord> {
      for (const auto* list : {&records, &known}) {
        for (const v1::StoredRecord& r : *list) {
          if (r.id() == id) return r;
        }
      }
      return std::nullopt;
    });
    for (const v1::StoredRecord& r : records) {
      std::string why;
      if (!writer.Add(r, &why) && skipped != nullptr) skipped->push_back(why);
    }
    writer.Finish();
    return Json::parse(out.str());
  }

  // The objects of `bundle` by id.
  static std::map<std::string, Json> ById(const Json& bundle) {
    std::map<std::string, Json> out;
    for (const Json& o : bundle["objects"]) out[o["id"].get<std::string>()] = o;
    return out;
  }

  crypto::KeyPair alice_ = crypto::KeyPair::Generate();
};

TEST_F(StixBundleTest, AnIndicatorCarriesItsPropertiesMarkingAndProvenance) {
  v1::RecordBody body = testing::IndicatorBody(alice_, v1::INDICATOR_TYPE_DOMAIN,
                                               "evil.example.com", testing::kTestNowMs);
  body.set_tlp(v1::TLP_AMBER);
  body.add_labels("apt-x");
  body.set_confidence(80);
  body.set_valid_until(testing::kTestNowMs + 86400000);
  body.mutable_indicator()->set_description("C2 of \"apt-x\"");
  const v1::StoredRecord record = Stored(body, alice_);
  const Json bundle = Bundle({record});
  EXPECT_EQ(bundle["type"], "bundle");
  EXPECT_EQ(bundle["id"].get<std::string>().rfind("bundle--", 0), 0u);
  std::map<std::string, Json> objects = ById(bundle);
  const Json& ind = objects.at(StixObjectId("indicator", record.id()));
  EXPECT_EQ(ind["spec_version"], "2.1");
  EXPECT_EQ(ind["pattern"], "[domain-name:value = 'evil.example.com']");
  EXPECT_EQ(ind["pattern_type"], "stix");
  EXPECT_EQ(ind["created"], "2026-06-01T00:00:00.000Z");
  EXPECT_EQ(ind["valid_from"], "2026-06-01T00:00:00.000Z");
  EXPECT_EQ(ind["valid_until"], "2026-06-02T00:00:00.000Z");
  EXPECT_EQ(ind["confidence"], 80);
  EXPECT_EQ(ind["labels"], Json::array({"apt-x"}));
  EXPECT_EQ(ind["description"], "C2 of \"apt-x\"");
  EXPECT_EQ(ind["object_marking_refs"], Json::array({std::string(TlpMarkingId(v1::TLP_AMBER))}));
  // The author's identity and the marking are in the bundle.
  const std::string author = ind["created_by_ref"];
  EXPECT_EQ(objects.at(author)["type"], "identity");
  const Json& marking = objects.at(std::string(TlpMarkingId(v1::TLP_AMBER)));
  EXPECT_EQ(marking["name"], "TLP:AMBER");
  EXPECT_EQ(marking["extensions"][std::string(kTlp2ExtensionId)]["tlp_2_0"], "amber");
  EXPECT_EQ(objects.at(std::string(kStixExtensionId))["type"], "extension-definition");
  // The extension carries the signed bytes exactly.
  const Json& ext = ind["extensions"][std::string(kStixExtensionId)];
  EXPECT_EQ(ext["record_id"], crypto::HexEncode(record.id()));
  EXPECT_EQ(ext["author"], crypto::HexEncode(body.author()));
  EXPECT_EQ(crypto::Base64Decode(ext["signed_record"].get<std::string>()), record.signed_record());
  EXPECT_EQ(ext["tlp"], "amber");
  EXPECT_EQ(ext["indicator_type"], "domain");
  EXPECT_EQ(ext["value"], "evil.example.com");
}

TEST_F(StixBundleTest, SightingsExcerptsVersionsAndRetractions) {
  v1::RecordBody first =
      testing::IndicatorBody(alice_, v1::INDICATOR_TYPE_IPV4, "192.0.2.1", testing::kTestNowMs);
  const v1::StoredRecord v1_record = Stored(first, alice_);
  v1::RecordBody second = testing::IndicatorBody(alice_, v1::INDICATOR_TYPE_IPV4, "192.0.2.1",
                                                 testing::kTestNowMs + 5000);
  second.set_supersedes(v1_record.id());
  v1::StoredRecord v2_record = Stored(second, alice_);
  v1::RecordBody sight;
  sight.set_author(first.author());
  sight.set_created_at(testing::kTestNowMs + 1000);
  sight.set_tlp(v1::TLP_GREEN);
  sight.mutable_sighting()->set_type(v1::INDICATOR_TYPE_IPV4);
  sight.mutable_sighting()->set_value("192.0.2.1");
  sight.mutable_sighting()->set_count(3);
  sight.mutable_sighting()->set_indicator_id(v1_record.id());
  const v1::StoredRecord sighting = Stored(sight, alice_);
  v1::RecordBody retract;
  retract.set_author(first.author());
  retract.set_created_at(testing::kTestNowMs + 9000);
  retract.set_tlp(v1::TLP_GREEN);
  retract.mutable_retraction()->set_target(v2_record.id());
  const v1::StoredRecord retraction = Stored(retract, alice_);
  v2_record.set_retracted_by(retraction.id());

  std::vector<std::string> skipped;
  // The first version is held but not exported (the export leaves superseded versions out).
  const Json bundle = Bundle({v2_record, sighting, retraction}, &skipped, {v1_record});
  std::map<std::string, Json> objects = ById(bundle);
  // The second version has the first's id and creation time, and is revoked at the
  // retraction's time.
  const Json& ind = objects.at(StixObjectId("indicator", v1_record.id()));
  EXPECT_EQ(ind["created"], "2026-06-01T00:00:00.000Z");
  EXPECT_EQ(ind["modified"], "2026-06-01T00:00:09.000Z");
  EXPECT_EQ(ind["revoked"], true);
  const Json& s = objects.at(StixObjectId("sighting", sighting.id()));
  EXPECT_EQ(s["count"], 3);
  EXPECT_EQ(s["sighting_of_ref"], StixObjectId("indicator", v1_record.id()));
  EXPECT_EQ(s["where_sighted_refs"], Json::array({StixIdentityId(first.author())}));
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("retraction"), std::string::npos) << skipped[0];
}

TEST_F(StixBundleTest, AnExcerptIsObservedDataWithItsObservables) {
  v1::RecordBody body;
  body.set_author(std::string(alice_.public_key().bytes()));
  body.set_created_at(testing::kTestNowMs);
  body.set_tlp(v1::TLP_GREEN);
  v1::LogExcerpt* x = body.mutable_log_excerpt();
  x->set_source_format("zeek-dns");
  x->set_window_start(testing::kTestNowMs - 60000);
  x->set_window_end(testing::kTestNowMs);
  x->add_lines("line one");
  x->set_contact("soc@example.org");
  for (const char* ip : {"10.1.2.3", "10.1.2.3", "2001:db8::7"}) {
    v1::LogEvent* e = x->add_events();
    e->set_time(testing::kTestNowMs - 1000);
    v1::EventField* f = e->add_fields();
    f->set_name("src_endpoint.ip");
    f->set_value(ip);
    f = e->add_fields();
    f->set_name("query.hostname");
    f->set_value("c2.example.com");
  }
  const v1::StoredRecord record = Stored(body, alice_);
  std::map<std::string, Json> objects = ById(Bundle({record}));
  const Json& od = objects.at(StixObjectId("observed-data", record.id()));
  EXPECT_EQ(od["number_observed"], 3);
  EXPECT_EQ(od["first_observed"], "2026-05-31T23:59:00.000Z");
  ASSERT_EQ(od["object_refs"].size(), 3u);  // two addresses, one name
  for (const Json& ref : od["object_refs"]) EXPECT_TRUE(objects.count(ref.get<std::string>()));
  const Json& ext = od["extensions"][std::string(kStixExtensionId)]["excerpt"];
  EXPECT_EQ(ext["source_format"], "zeek-dns");
  EXPECT_EQ(ext["lines"], Json::array({"line one"}));
  EXPECT_EQ(ext["contact"], "soc@example.org");
}

// The hand-written indicators are the objects the JSON library writes, for records with every
// optional property, Unicode, quotes and control-free escapes; a value that is not UTF-8 is
// written by the library, which replaces what is not.
TEST_F(StixBundleTest, HandWrittenIndicatorsAreTheLibrarysObjects) {
  std::vector<v1::StoredRecord> records;
  for (const PatternCase& c : PatternCases()) {
    v1::RecordBody body = testing::IndicatorBody(alice_, c.type, c.value, testing::kTestNowMs);
    body.set_tlp(v1::TLP_GREEN);
    body.add_labels("l\"1");
    body.add_labels("ü");
    body.set_confidence(40);
    body.set_valid_until(testing::kTestNowMs + 1000);
    body.mutable_handling()->set_max_hops(3);
    body.mutable_handling()->set_may_relay(true);
    body.mutable_handling()->add_communities("fin");
    body.mutable_indicator()->set_description("a \\ \"quoted\" / description €");
    v1::KillChainPhase* phase = body.mutable_indicator()->add_kill_chain_phases();
    phase->set_kill_chain_name("mitre-attack");
    phase->set_phase_name("command-and-control");
    records.push_back(Stored(body, alice_));
  }
  v1::RecordBody red = testing::IndicatorBody(alice_, v1::INDICATOR_TYPE_DOMAIN, "red.example.com",
                                              testing::kTestNowMs);
  red.set_tlp(v1::TLP_RED);
  red.mutable_handling()->add_recipients(std::string(32, 'r'));
  records.push_back(Stored(red, alice_));
  v1::StoredRecord not_utf8 = records.back();
  not_utf8.mutable_body()->mutable_indicator()->set_description("bad \xff byte");
  records.push_back(not_utf8);
  auto write = [&](bool fast) {
    std::ostringstream out;
    StixBundleWriter writer(out);
    writer.set_fast_indicators(fast);
    for (const v1::StoredRecord& r : records) {
      std::string why;
      EXPECT_TRUE(writer.Add(r, &why)) << why;
    }
    writer.Finish();
    return out.str();
  };
  const Json fast = Json::parse(write(true));
  const Json library = Json::parse(write(false));
  ASSERT_EQ(fast["objects"].size(), library["objects"].size());
  for (std::size_t i = 0; i < fast["objects"].size(); ++i) {
    EXPECT_EQ(fast["objects"][i], library["objects"][i]) << i;
  }
}

}  // namespace
}  // namespace threatmesh::interop
