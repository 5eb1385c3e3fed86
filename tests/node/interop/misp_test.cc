#include "node/interop/misp.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "node/core/record_builder.h"
#include "testing/test_util.h"

namespace threatmesh::interop {
namespace {

namespace v1 = ::threatmesh::v1;
using Json = nlohmann::json;

v1::StoredRecord Stored(const crypto::KeyPair& key, v1::IndicatorType type,
                        const std::string& value, v1::Tlp tlp) {
  v1::RecordBody body = testing::IndicatorBody(key, type, value, testing::kTestNowMs);
  body.set_tlp(tlp);
  return testing::StoredRecordOf(body, key);
}

TEST(MispFeedTest, OneEventWithAnAttributePerIndicatorItsHashesAndManifest) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  std::ostringstream event, hashes;
  MispFeedOptions options;
  options.node_key = std::string(key.public_key().bytes());
  options.org_name = "ACME SOC";
  options.now_ms = testing::kTestNowMs;
  MispFeedWriter writer(event, hashes, options);
  std::string why;
  ASSERT_TRUE(
      writer.Add(Stored(key, v1::INDICATOR_TYPE_DOMAIN, "evil.example.com", v1::TLP_GREEN), &why));
  ASSERT_TRUE(writer.Add(Stored(key, v1::INDICATOR_TYPE_ASN, "AS64500", v1::TLP_AMBER), &why));
  ASSERT_TRUE(writer.Add(
      Stored(key, v1::INDICATOR_TYPE_SHA256, std::string(64, 'a'), v1::TLP_CLEAR), &why));
  writer.Finish();
  const Json e = Json::parse(event.str())["Event"];
  EXPECT_EQ(e["uuid"], MispEventUuid(options.node_key));
  EXPECT_EQ(e["uuid"], writer.event_uuid());
  EXPECT_EQ(e["Orgc"]["name"], "ACME SOC");
  EXPECT_EQ(e["date"], "2026-06-01");
  EXPECT_EQ(e["Tag"][0]["name"], "tlp:amber");  // the most restrictive of its attributes
  ASSERT_EQ(e["Attribute"].size(), 3u);
  EXPECT_EQ(e["Attribute"][0]["type"], "domain");
  EXPECT_EQ(e["Attribute"][0]["category"], "Network activity");
  EXPECT_EQ(e["Attribute"][0]["value"], "evil.example.com");
  EXPECT_EQ(e["Attribute"][0]["to_ids"], true);
  EXPECT_EQ(e["Attribute"][0]["Tag"][0]["name"], "tlp:green");
  EXPECT_EQ(e["Attribute"][1]["type"], "AS");
  EXPECT_EQ(e["Attribute"][1]["value"], "64500");
  EXPECT_EQ(e["Attribute"][2]["type"], "sha256");
  EXPECT_EQ(e["Attribute"][2]["category"], "Payload delivery");
  EXPECT_EQ(hashes.str().substr(0, hashes.str().find('\n')),
            crypto::HexEncode(crypto::Md5("evil.example.com")) + "," + writer.event_uuid());
  const Json manifest = Json::parse(writer.Manifest());
  ASSERT_TRUE(manifest.contains(writer.event_uuid()));
  EXPECT_EQ(manifest[writer.event_uuid()]["Tag"][0]["name"], "tlp:amber");
  EXPECT_EQ(manifest[writer.event_uuid()]["timestamp"], testing::kTestNowMs / 1000);
  // The same node's next export is the same event.
  EXPECT_EQ(MispEventUuid(options.node_key), writer.event_uuid());
}

TEST(MispFeedTest, WhatMispHasNoTypeForIsLeftOutWithItsReason) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  std::ostringstream event, hashes;
  MispFeedWriter writer(event, hashes, {std::string(key.public_key().bytes()), "x", 0});
  v1::StoredRecord sighting = Stored(key, v1::INDICATOR_TYPE_DOMAIN, "a.example", v1::TLP_GREEN);
  sighting.mutable_body()->mutable_sighting()->set_value("a.example");
  std::string why;
  EXPECT_FALSE(writer.Add(sighting, &why));
  EXPECT_EQ(why, "only indicators go into this format");
  EXPECT_EQ(MispAttributeType(v1::INDICATOR_TYPE_UNSPECIFIED).first, "");
}

}  // namespace
}  // namespace threatmesh::interop
