#include "node/interop/stix_import.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "node/core/record_view.h"
#include "node/interop/stix.h"

namespace threatmesh::interop {
namespace {

namespace v1 = ::threatmesh::v1;

TEST(StixImportTest, PatternsOfOneValueOrAnOrOfValuesAreRead) {
  struct Case {
    std::string pattern;
    std::vector<std::pair<v1::IndicatorType, std::string>> want;
  };
  const Case cases[] = {
      {"[domain-name:value = 'evil.example.com']",
       {{v1::INDICATOR_TYPE_DOMAIN, "evil.example.com"}}},
      {"[ipv4-addr:value = '192.0.2.1' OR ipv4-addr:value = '192.0.2.2']",
       {{v1::INDICATOR_TYPE_IPV4, "192.0.2.1"}, {v1::INDICATOR_TYPE_IPV4, "192.0.2.2"}}},
      {"[ipv6-addr:value = '2001:db8::1'] OR [ipv4-addr:value ISSUBSET '10.0.0.0/8']",
       {{v1::INDICATOR_TYPE_IPV6, "2001:db8::1"}, {v1::INDICATOR_TYPE_CIDR, "10.0.0.0/8"}}},
      {"[file:hashes.'SHA-256' = 'aa']", {{v1::INDICATOR_TYPE_SHA256, "aa"}}},
      {"[file:hashes.MD5 = 'bb']", {{v1::INDICATOR_TYPE_MD5, "bb"}}},
      {"[url:value = 'http://a.example/it\\'s\\\\x']",
       {{v1::INDICATOR_TYPE_URL, "http://a.example/it's\\x"}}},
      {"[autonomous-system:number = 64500]", {{v1::INDICATOR_TYPE_ASN, "AS64500"}}},
      {"[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'Bot']",
       {{v1::INDICATOR_TYPE_USER_AGENT, "Bot"}}},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<PatternValue>> values = PatternValues(c.pattern);
    ASSERT_TRUE(values.ok()) << c.pattern << ": " << values.status();
    ASSERT_EQ(values->size(), c.want.size()) << c.pattern;
    for (std::size_t i = 0; i < c.want.size(); ++i) {
      EXPECT_EQ((*values)[i].type, c.want[i].first) << c.pattern;
      EXPECT_EQ((*values)[i].value, c.want[i].second) << c.pattern;
    }
  }
}

// What every pattern of the export reads back as the value it was written from.
TEST(StixImportTest, EveryExportedPatternReadsBack) {
  const std::pair<v1::IndicatorType, const char*> values[] = {
      {v1::INDICATOR_TYPE_IPV4, "192.0.2.1"},
      {v1::INDICATOR_TYPE_IPV6, "2001:db8::1"},
      {v1::INDICATOR_TYPE_CIDR, "2001:db8::/32"},
      {v1::INDICATOR_TYPE_DOMAIN, "evil.example.com"},
      {v1::INDICATOR_TYPE_URL, "http://evil.example.com/a'b\\c"},
      {v1::INDICATOR_TYPE_EMAIL, "x@evil.example.com"},
      {v1::INDICATOR_TYPE_MD5, "d41d8cd98f00b204e9800998ecf8427e"},
      {v1::INDICATOR_TYPE_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
      {v1::INDICATOR_TYPE_SHA256,
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {v1::INDICATOR_TYPE_ASN, "AS64500"},
      {v1::INDICATOR_TYPE_JA3, "e7d705a3286e19ea42f587b344ee6865"},
      {v1::INDICATOR_TYPE_USER_AGENT, "Evil \\ 'Bot' ü"},
  };
  for (const auto& [type, value] : values) {
    absl::StatusOr<std::vector<PatternValue>> back = PatternValues(StixPattern(type, value));
    ASSERT_TRUE(back.ok()) << value << ": " << back.status();
    ASSERT_EQ(back->size(), 1u);
    EXPECT_EQ((*back)[0].type, type) << value;
    EXPECT_EQ((*back)[0].value, value);
  }
}

TEST(StixImportTest, WhatIsNotOneValueOrAnOrIsSkippedWithItsReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"[ipv4-addr:value = '1.2.3.4' AND domain-name:value = 'a.example']", "AND"},
      {"[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [domain-name:value = 'a.example']", "FOLLOWEDBY"},
      {"[ipv4-addr:value = '1.2.3.4'] WITHIN 300 SECONDS", "WITHIN"},
      {"[process:name = 'evil.exe']", "no indicator type for the object path process:name"},
      {"[domain-name:value LIKE '%.example']", "only = and ISSUBSET"},
      {"[domain-name:value = 'a.example'", "expected ]"},
      {"[domain-name:value = 'a.example", "expected a string literal"},
  };
  for (const auto& [pattern, says] : cases) {
    absl::StatusOr<std::vector<PatternValue>> values = PatternValues(pattern);
    ASSERT_FALSE(values.ok()) << pattern;
    EXPECT_NE(values.status().message().find(says), std::string::npos)
        << pattern << ": " << values.status();
  }
}

// A feed written by another producer, in the style of a government or vendor feed.
TEST(StixImportTest, AVendorBundleImportsWhatMapsAndNamesWhatIsSkipped) {
  std::ifstream in(std::filesystem::path(THREATMESH_SOURCE_DIR) /
                   "tests/node/interop/vendor_feed.json");
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<StixImport> read = ReadStix(text.str(), "vendor_feed.json", v1::TLP_AMBER);
  ASSERT_TRUE(read.ok()) << read.status();
  std::map<std::string, v1::PublishRequest> by_value;
  for (const auto& [id, r] : read->requests) by_value[r.body().indicator().value()] = r;
  ASSERT_EQ(by_value.size(), 5u);
  const v1::RecordBody& c2 = by_value.at("c2.badcorp.example").body();
  EXPECT_EQ(c2.tlp(), v1::TLP_AMBER);  // TLP 1.0 amber
  EXPECT_EQ(c2.confidence(), 85u);
  EXPECT_EQ(c2.labels_size(), 1);
  EXPECT_NE(c2.indicator().description().find("Imported from vendor_feed.json: indicator--"),
            std::string::npos);
  EXPECT_EQ(by_value.at("198.51.100.7").body().tlp(), v1::TLP_GREEN);  // TLP 2.0 green
  EXPECT_EQ(by_value.at("198.51.100.8").body().tlp(), v1::TLP_GREEN);
  // One record per value of the OR, each with its own source reference.
  EXPECT_EQ(by_value.at("198.51.100.7").source_ref(),
            "stix:indicator--7a1b3c5d-0000-4e5f-8a9b-000000000002@2026-11-21T09:30:00.000Z#0");
  EXPECT_EQ(by_value.at("198.51.100.8").source_ref(),
            "stix:indicator--7a1b3c5d-0000-4e5f-8a9b-000000000002@2026-11-21T09:30:00.000Z#1");
  EXPECT_EQ(by_value.at("http://badcorp.example/dl?f='x'").body().tlp(), v1::TLP_CLEAR);
  EXPECT_EQ(
      by_value.at("2f2d4a3e7b1c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70").body().tlp(),
      v1::TLP_RED);  // a TLP marking the bundle defines itself
  std::map<std::string, std::string> skipped(read->skipped.begin(), read->skipped.end());
  auto said = [&](const std::string& id, const std::string& part) {
    auto it = skipped.find(id);
    return it != skipped.end() && it->second.find(part) != std::string::npos;
  };
  EXPECT_TRUE(said("indicator--7a1b3c5d-0000-4e5f-8a9b-000000000004", "AND")) << skipped.size();
  EXPECT_TRUE(said("indicator--7a1b3c5d-0000-4e5f-8a9b-000000000005", "not a TLP label"));
  EXPECT_TRUE(said("indicator--7a1b3c5d-0000-4e5f-8a9b-000000000006", "pattern_type sigma"));
  EXPECT_TRUE(said("indicator--7a1b3c5d-0000-4e5f-8a9b-000000000007", "revoked"));
  EXPECT_TRUE(said("malware--4c1f7e2a-9b0d-4f6e-8a31-5d2c7b9e1f00", "a malware is not imported"));
  EXPECT_TRUE(said("report--0e3b7d91-2c4a-4f58-9a6b-1d2e3f4a5b6c", "a report is not imported"));
  EXPECT_TRUE(
      said("relationship--5b6c7d8e-9f00-4a1b-8c2d-3e4f5a6b7c8d", "a relationship is not imported"));
}

TEST(StixImportTest, WhatIsNotStixIsRefusedWhole) {
  const std::pair<const char*, const char*> cases[] = {
      {"{\"type\": \"bundle\", \"objects\": [", "cut short"},
      {"{\"type\": \"bundle\", \"objects\": [{\"type\": \"note\"}]} x", "not JSON"},
      {"[1, 2]", "a JSON array"},
      {"42", "a lone JSON value"},
      {"{\"type\": \"bundle\"}", "without an \"objects\" array"},
      {"{\"id\": \"x\"}", "no \"type\""},
      {"{\"type\": \"report\", \"objects\": []}", "not a bundle or an envelope"},
      {"", "cut short"},
  };
  for (const auto& [text, why] : cases) {
    absl::StatusOr<StixImport> read = ReadStix(text, "f", v1::TLP_AMBER);
    ASSERT_FALSE(read.ok()) << text;
    EXPECT_NE(read.status().message().find(why), std::string::npos)
        << text << ": " << read.status();
  }
}

// An indicator object as a producer might write it.
std::string Indicator(const std::string& n, const std::string& pattern,
                      const std::string& extra = "") {
  return "{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": \"indicator--0000000" + n +
         "-0000-4000-8000-000000000000\", \"created\": \"2026-11-01T00:00:00.000Z\", "
         "\"modified\": \"2026-11-01T00:00:00.000Z\", \"pattern_type\": \"stix\", "
         "\"valid_from\": \"2026-11-01T00:00:00.000Z\", \"pattern\": \"" +
         pattern + "\"" + extra + "}";
}

// A marking defined after the object that uses it, and a TAXII envelope instead of a
// bundle: the first pass learns the marking, so the object keeps its label.
TEST(StixImportTest, AMarkingDefinedLaterInTheFileStillApplies) {
  const std::string envelope =
      "{\"more\": false, \"objects\": [" +
      Indicator("1", "[domain-name:value = 'late.example']",
                ", \"object_marking_refs\": [\"marking-definition--aaaaaaaa-0000-4000-8000-"
                "000000000000\"]") +
      ", {\"type\": \"marking-definition\", \"spec_version\": \"2.1\", \"id\": "
      "\"marking-definition--aaaaaaaa-0000-4000-8000-000000000000\", \"created\": "
      "\"2026-01-01T00:00:00.000Z\", \"definition_type\": \"tlp\", \"definition\": {\"tlp\": "
      "\"red\"}}]}";
  absl::StatusOr<StixImport> read = ReadStix(envelope, "f", v1::TLP_CLEAR);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->requests.size(), 1u);
  EXPECT_EQ(read->requests[0].second.body().tlp(), v1::TLP_RED);
  EXPECT_TRUE(read->skipped.empty());
}

// Sightings of an indicator in the file become one sighting per value of its pattern,
// whether they come before or after it; a sighting of an indicator that was not imported is
// named.
TEST(StixImportTest, SightingsOfImportedIndicatorsAreImported) {
  auto sighting = [](const std::string& n, const std::string& of, const std::string& extra) {
    return "{\"type\": \"sighting\", \"spec_version\": \"2.1\", \"id\": \"sighting--0000000" + n +
           "-0000-4000-8000-000000000000\", \"created\": \"2026-11-02T00:00:00.000Z\", "
           "\"modified\": \"2026-11-02T00:00:00.000Z\", \"sighting_of_ref\": \"" +
           of + "\"" + extra + "}";
  };
  const std::string of1 = "indicator--00000001-0000-4000-8000-000000000000";
  const std::string bundle =
      "{\"type\": \"bundle\", \"id\": \"bundle--00000000-0000-4000-8000-000000000000\", "
      "\"objects\": [" +
      sighting("1", of1,
               ", \"count\": 7, \"first_seen\": \"2026-11-02T01:00:00.000Z\", \"last_seen\": "
               "\"2026-11-02T02:00:00.000Z\"") +
      ", " +
      Indicator(
          "1", "[ipv4-addr:value = '192.0.2.1' OR ipv4-addr:value = '192.0.2.2']",
          ", \"object_marking_refs\": [\"" + std::string(TlpMarkingId(v1::TLP_GREEN)) + "\"]") +
      ", " + sighting("2", of1, "") + ", " +
      sighting("3", "indicator--00000009-0000-4000-8000-000000000000", "") + ", " +
      sighting("4", of1, ", \"count\": 0") + "]}";
  absl::StatusOr<StixImport> read = ReadStix(bundle, "f", v1::TLP_AMBER);
  ASSERT_TRUE(read.ok()) << read.status();
  std::vector<const v1::PublishRequest*> sightings;
  for (const auto& [id, r] : read->requests) {
    if (r.body().has_sighting()) sightings.push_back(&r);
  }
  ASSERT_EQ(sightings.size(), 4u);  // two sightings, two values each
  std::map<std::string, const v1::PublishRequest*> by_ref;
  for (const v1::PublishRequest* r : sightings) by_ref[r->source_ref()] = r;
  const v1::PublishRequest* first =
      by_ref.at("stix:sighting--00000001-0000-4000-8000-000000000000@2026-11-02T00:00:00.000Z#1");
  EXPECT_EQ(first->body().sighting().type(), v1::INDICATOR_TYPE_IPV4);
  EXPECT_EQ(first->body().sighting().value(), "192.0.2.2");
  EXPECT_EQ(first->body().sighting().count(), 7u);
  EXPECT_EQ(first->body().sighting().first_seen(), *ParseTime("2026-11-02T01:00:00.000Z"));
  EXPECT_EQ(first->body().sighting().last_seen(), *ParseTime("2026-11-02T02:00:00.000Z"));
  EXPECT_EQ(first->body().tlp(), v1::TLP_AMBER);  // its own marking (none), not its indicator's
  const v1::PublishRequest* second =
      by_ref.at("stix:sighting--00000002-0000-4000-8000-000000000000@2026-11-02T00:00:00.000Z#0");
  EXPECT_EQ(second->body().sighting().count(), 1u);
  EXPECT_EQ(second->body().sighting().first_seen(), *ParseTime("2026-11-02T00:00:00.000Z"));
  std::map<std::string, std::string> skipped(read->skipped.begin(), read->skipped.end());
  EXPECT_NE(skipped["sighting--00000003-0000-4000-8000-000000000000"].find("not imported"),
            std::string::npos);
  EXPECT_NE(skipped["sighting--00000004-0000-4000-8000-000000000000"].find("count is 0"),
            std::string::npos);
}

// An object over the limit is skipped without being held, named by its id; the objects
// around it import. Requests (and skipped objects) come in batches of the size asked.
TEST(StixImportTest, AnOversizeObjectIsSkippedAndTheRestStreamsInBatches) {
  std::string text = "{\"type\": \"bundle\", \"objects\": [";
  for (int i = 0; i < 5; ++i) {
    text +=
        Indicator(std::to_string(i), "[domain-name:value = 'd" + std::to_string(i) + ".example']") +
        ", ";
  }
  text += Indicator("9", "[domain-name:value = 'big.example']",
                    ", \"description\": \"" + std::string(64 << 10, 'x') + "\"");
  text += ", 17]}";
  StixImporter importer("f", v1::TLP_GREEN, /*max_object_bytes=*/16 << 10);
  std::istringstream scan(text);
  ASSERT_TRUE(importer.Scan(scan).ok());
  EXPECT_EQ(importer.objects(), 7u);
  std::istringstream in(text);
  std::vector<std::size_t> batches;
  StixImport all;
  ASSERT_TRUE(importer
                  .Read(in, 2,
                        [&](StixImport& b) {
                          batches.push_back(b.requests.size());
                          for (auto& s : b.skipped) all.skipped.push_back(s);
                        })
                  .ok());
  // Two, two, then the last request with the oversize object and the number (two skipped:
  // a batch), then the end.
  EXPECT_EQ(batches, (std::vector<std::size_t>{2, 2, 1, 0}));
  std::map<std::string, std::string> skipped(all.skipped.begin(), all.skipped.end());
  EXPECT_NE(skipped["indicator--00000009-0000-4000-8000-000000000000"].find("over 16 KB"),
            std::string::npos)
      << skipped.size();
  EXPECT_EQ(skipped["(not an object)"], "not a JSON object");
}

}  // namespace
}  // namespace threatmesh::interop
