#include "node/interop/misp_import.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "node/interop/misp.h"
#include "testing/test_util.h"

namespace threatmesh::interop {
namespace {

namespace v1 = ::threatmesh::v1;

std::map<std::string, const v1::PublishRequest*> ByValue(const StixImport& read) {
  std::map<std::string, const v1::PublishRequest*> out;
  for (const auto& [id, r] : read.requests) out[r.body().indicator().value()] = &r;
  return out;
}

// What the node's own MISP feed says reads back as the same values, types and labels.
TEST(MispImportTest, TheFeedTheNodeWritesReadsBack) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  std::ostringstream event, hashes;
  MispFeedWriter writer(event, hashes, {std::string(key.public_key().bytes()), "ACME SOC", 0});
  const std::vector<std::tuple<v1::IndicatorType, std::string, v1::Tlp>> values = {
      {v1::INDICATOR_TYPE_IPV4, "192.0.2.1", v1::TLP_CLEAR},
      {v1::INDICATOR_TYPE_IPV6, "2001:db8::1", v1::TLP_GREEN},
      {v1::INDICATOR_TYPE_CIDR, "10.0.0.0/8", v1::TLP_AMBER},
      {v1::INDICATOR_TYPE_DOMAIN, "evil.example.com", v1::TLP_AMBER_STRICT},
      {v1::INDICATOR_TYPE_URL, "http://evil.example.com/it's|x", v1::TLP_RED},
      {v1::INDICATOR_TYPE_EMAIL, "a@evil.example.com", v1::TLP_GREEN},
      {v1::INDICATOR_TYPE_MD5, std::string(32, 'a'), v1::TLP_GREEN},
      {v1::INDICATOR_TYPE_SHA1, std::string(40, 'b'), v1::TLP_GREEN},
      {v1::INDICATOR_TYPE_SHA256, std::string(64, 'c'), v1::TLP_GREEN},
      {v1::INDICATOR_TYPE_ASN, "AS64500", v1::TLP_GREEN},
      {v1::INDICATOR_TYPE_JA3, std::string(32, 'd'), v1::TLP_GREEN},
      {v1::INDICATOR_TYPE_USER_AGENT, "Evil \"Bot\" \xc3\xbc", v1::TLP_GREEN},
  };
  std::string why;
  for (const auto& [type, value, tlp] : values) {
    v1::RecordBody body = testing::IndicatorBody(key, type, value, testing::kTestNowMs);
    body.set_tlp(tlp);
    ASSERT_TRUE(writer.Add(testing::StoredRecordOf(body, key), &why)) << value << ": " << why;
  }
  writer.Finish();
  absl::StatusOr<StixImport> read = ReadMisp(event.str(), "e.json", v1::TLP_AMBER);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->skipped.empty()) << read->skipped.front().second;
  std::map<std::string, const v1::PublishRequest*> by_value = ByValue(*read);
  ASSERT_EQ(by_value.size(), values.size());
  for (const auto& [type, value, tlp] : values) {
    const v1::PublishRequest* r = by_value[value];
    ASSERT_NE(r, nullptr) << value;
    EXPECT_EQ(r->body().indicator().type(), type) << value;
    EXPECT_EQ(r->body().tlp(), tlp) << value;
    EXPECT_EQ(r->source_ref().rfind("misp:" + writer.event_uuid() + "/", 0), 0u) << value;
    EXPECT_NE(r->body().indicator().description().find("by ACME SOC"), std::string::npos);
  }
  absl::StatusOr<std::vector<std::string>> events = MispManifestEvents(writer.Manifest());
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(*events, std::vector<std::string>{writer.event_uuid()});
}

// An event as MISP itself exports it: composite types, objects, tags, attributes not meant
// for detection, a TLP tag the node does not know.
TEST(MispImportTest, AMispEventImportsWhatMapsAndNamesWhatIsSkipped) {
  const std::string event = R"({"response": [{"Event": {
    "uuid": "5f0c2a1e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "info": "Phishing wave 42",
    "Orgc": {"name": "CIRCL", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
    "Tag": [{"name": "tlp:green"}, {"name": "type:OSINT"}],
    "Attribute": [
      {"uuid": "a1", "type": "domain|ip", "value": "login.bank.example|198.51.100.9",
       "to_ids": true, "timestamp": "1764000000", "comment": "credential phish"},
      {"uuid": "a2", "type": "ip-src", "value": "203.0.113.5", "to_ids": false},
      {"uuid": "a3", "type": "filename|sha256", "to_ids": true,
       "value": "invoice.pdf.exe|e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"uuid": "a4", "type": "text", "value": "see report", "to_ids": true},
      {"uuid": "a5", "type": "url", "value": "http://bank.example.test/login", "to_ids": true,
       "Tag": [{"name": "tlp:ex:chr"}]},
      {"uuid": "a6", "type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e", "deleted": true},
      {"uuid": "a7", "type": "ip-dst", "value": "192.0.2.77", "to_ids": true,
       "Tag": [{"name": "tlp:red"}, {"name": "kill-chain:c2"}]}
    ],
    "Object": [{"name": "email", "Attribute": [
      {"uuid": "o1", "type": "email-src", "value": "ceo@bank-example.test", "to_ids": true}]}]
  }}]})";
  absl::StatusOr<StixImport> read = ReadMisp(event, "events.json", v1::TLP_AMBER);
  ASSERT_TRUE(read.ok()) << read.status();
  std::map<std::string, const v1::PublishRequest*> by_value = ByValue(*read);
  ASSERT_EQ(by_value.size(), 5u);
  const v1::RecordBody& domain = by_value.at("login.bank.example")->body();
  EXPECT_EQ(domain.indicator().type(), v1::INDICATOR_TYPE_DOMAIN);
  EXPECT_EQ(domain.tlp(), v1::TLP_GREEN);  // the event's
  EXPECT_EQ(domain.labels_size(), 1);
  EXPECT_EQ(domain.labels(0), "type:OSINT");
  EXPECT_EQ(domain.indicator().description(),
            "credential phish | Imported from events.json: MISP event "
            "5f0c2a1e-3b4d-4e5f-8a9b-0c1d2e3f4a5b (Phishing wave 42) by CIRCL");
  EXPECT_EQ(by_value.at("login.bank.example")->source_ref(),
            "misp:5f0c2a1e-3b4d-4e5f-8a9b-0c1d2e3f4a5b/a1@1764000000#0");
  EXPECT_EQ(by_value.at("198.51.100.9")->body().indicator().type(), v1::INDICATOR_TYPE_IPV4);
  EXPECT_EQ(by_value.at("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
                ->body()
                .indicator()
                .type(),
            v1::INDICATOR_TYPE_SHA256);
  const v1::RecordBody& red = by_value.at("192.0.2.77")->body();
  EXPECT_EQ(red.tlp(), v1::TLP_RED);  // the attribute's own tag wins
  EXPECT_EQ(red.labels(0), "kill-chain:c2");
  EXPECT_EQ(by_value.at("ceo@bank-example.test")->body().indicator().type(),
            v1::INDICATOR_TYPE_EMAIL);
  std::map<std::string, std::string> skipped(read->skipped.begin(), read->skipped.end());
  EXPECT_NE(skipped["attribute a2"].find("to_ids is false"), std::string::npos);
  EXPECT_NE(skipped["attribute a4"].find("no threatmesh type for text"), std::string::npos);
  EXPECT_NE(skipped["attribute a5"].find("tlp:ex:chr is not a TLP label"), std::string::npos);
  EXPECT_NE(skipped["attribute a6"].find("deleted"), std::string::npos);
  EXPECT_EQ(skipped.size(), 4u);
}

TEST(MispImportTest, WhatIsNotAMispEventIsRefusedWhole) {
  for (const char* text : {"{\"Event\": {", "{\"type\": \"bundle\", \"objects\": []}", "[1]", ""}) {
    EXPECT_FALSE(ReadMisp(text, "f", v1::TLP_AMBER).ok()) << text;
  }
  EXPECT_FALSE(MispManifestEvents("[]").ok());
  EXPECT_FALSE(MispManifestEvents("{\"../../etc/passwd\": {}}").ok());
}

}  // namespace
}  // namespace threatmesh::interop
