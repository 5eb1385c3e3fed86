#include "node/interop/stix_import.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

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
  EXPECT_FALSE(ReadStix("{\"type\": \"bundle\", \"objects\": [", "f", v1::TLP_AMBER).ok());
  EXPECT_FALSE(ReadStix("[1, 2]", "f", v1::TLP_AMBER).ok());
  EXPECT_FALSE(ReadStix("{\"type\": \"bundle\"}", "f", v1::TLP_AMBER).ok());
}

}  // namespace
}  // namespace threatmesh::interop
