#include "node/interop/feeds.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/hash.h"
#include "node/core/record_builder.h"
#include "testing/test_util.h"

namespace threatmesh::interop {
namespace {

namespace v1 = ::threatmesh::v1;

class FeedsTest : public ::testing::Test {
 protected:
  v1::StoredRecord Indicator(v1::IndicatorType type, const std::string& value,
                             const std::string& description = "") {
    v1::RecordBody body = testing::IndicatorBody(key_, type, value, testing::kTestNowMs);
    body.mutable_indicator()->set_description(description);
    return testing::StoredRecordOf(body, key_);
  }

  // The output of `format` for `records`; the reasons of those left out in `skipped`.
  std::string Export(std::string_view format, const std::vector<v1::StoredRecord>& records,
                     std::vector<std::string>* skipped = nullptr, FeedOptions options = {}) {
    std::ostringstream out;
    absl::StatusOr<std::unique_ptr<FeedWriter>> writer =
        MakeFeedWriter(format, out, std::move(options));
    EXPECT_TRUE(writer.ok()) << writer.status();
    if (!writer.ok()) return "";
    for (const v1::StoredRecord& r : records) {
      std::string why;
      if (!(*writer)->Add(r, &why) && skipped != nullptr) skipped->push_back(why);
    }
    (*writer)->Finish();
    return out.str();
  }

  crypto::KeyPair key_ = crypto::KeyPair::Generate();
};

TEST_F(FeedsTest, RpzIpNamesAreReversedWithThePrefixFirst) {
  const std::pair<const char*, const char*> cases[] = {
      {"192.0.2.1", "32.1.2.0.192.rpz-ip"},
      {"10.0.0.0/8", "8.0.0.0.10.rpz-ip"},
      {"2001:db8::1", "128.1.zz.db8.2001.rpz-ip"},
      {"2001:db8::/32", "32.zz.db8.2001.rpz-ip"},
      {"2001:db8:0:1:0:0:0:5", "128.5.zz.1.0.db8.2001.rpz-ip"},
      {"2001:db8:1:2:3:4:0:5", "128.5.0.4.3.2.1.db8.2001.rpz-ip"},  // one zero word stays
  };
  for (const auto& [value, name] : cases) EXPECT_EQ(RpzIpName(value), name) << value;
  EXPECT_EQ(RpzIpName("evil.example.com"), "");
  EXPECT_EQ(RpzIpName("10.0.0.0/33"), "");
}

TEST_F(FeedsTest, UnknownFormatAndActionAreNamed) {
  std::ostringstream out;
  absl::StatusOr<std::unique_ptr<FeedWriter>> writer = MakeFeedWriter("yaml", out, {});
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.status().message().find("stix, misp-feed, plain, csv, zeek-intel or rpz"),
            std::string::npos);
  EXPECT_FALSE(ParseRpzAction("block").ok());
  EXPECT_EQ(*ParseRpzAction("drop"), RpzAction::kDrop);
}

TEST_F(FeedsTest, PlainWritesEachValueOnceAndOnlyIndicators) {
  v1::StoredRecord sighting = Indicator(v1::INDICATOR_TYPE_DOMAIN, "a.example.com");
  sighting.mutable_body()->mutable_sighting()->set_value("a.example.com");
  std::vector<std::string> skipped;
  EXPECT_EQ(Export("plain",
                   {Indicator(v1::INDICATOR_TYPE_DOMAIN, "a.example.com"),
                    Indicator(v1::INDICATOR_TYPE_IPV4, "192.0.2.1"),
                    Indicator(v1::INDICATOR_TYPE_DOMAIN, "a.example.com"), sighting},
                   &skipped),
            "a.example.com\n192.0.2.1\n");
  EXPECT_EQ(skipped, std::vector<std::string>{"only indicators go into this format"});
}

TEST_F(FeedsTest, CsvQuotesWhatNeedsIt) {
  const std::string csv =
      Export("csv", {Indicator(v1::INDICATOR_TYPE_DOMAIN, "a.example.com", "said \"hi\", twice")});
  std::istringstream lines(csv);
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  EXPECT_EQ(header.rfind("id,type,value,tlp,", 0), 0u);
  EXPECT_NE(row.find(",domain,a.example.com,GREEN,"), std::string::npos) << row;
  EXPECT_NE(row.find(",\"said \"\"hi\"\", twice\"\r"), std::string::npos) << row;
}

TEST_F(FeedsTest, ZeekIntelHasItsHeaderTypesAndNoStrayTabs) {
  std::vector<std::string> skipped;
  const std::string intel =
      Export("zeek-intel",
             {Indicator(v1::INDICATOR_TYPE_DOMAIN, "a.example.com", "two\tparts"),
              Indicator(v1::INDICATOR_TYPE_URL, "https://a.example.com/x"),
              Indicator(v1::INDICATOR_TYPE_CIDR, "10.0.0.0/8"),
              Indicator(v1::INDICATOR_TYPE_ASN, "AS64500")},
             &skipped);
  std::istringstream lines(intel);
  std::vector<std::string> rows;
  for (std::string l; std::getline(lines, l);) rows.push_back(l);
  ASSERT_EQ(rows.size(), 4u) << intel;
  EXPECT_EQ(rows[0], "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url");
  EXPECT_EQ(rows[1], "a.example.com\tIntel::DOMAIN\tthreatmesh\ttwo parts\t-");
  EXPECT_EQ(rows[2].rfind("a.example.com/x\tIntel::URL\t", 0), 0u) << rows[2];
  EXPECT_EQ(rows[3].rfind("10.0.0.0/8\tIntel::SUBNET\t", 0), 0u) << rows[3];
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("asn"), std::string::npos);
}

// The zone is one named-checkzone (Debian's bind9-utils) accepts, with its triggers.
TEST_F(FeedsTest, RpzZoneIsAcceptedByNamedCheckzone) {
  FeedOptions options;
  options.rpz_serial = 2026120401;
  std::vector<std::string> skipped;
  const std::string zone = Export("rpz",
                                  {Indicator(v1::INDICATOR_TYPE_DOMAIN, "evil.example.com"),
                                   Indicator(v1::INDICATOR_TYPE_IPV4, "192.0.2.1"),
                                   Indicator(v1::INDICATOR_TYPE_CIDR, "2001:db8::/32"),
                                   Indicator(v1::INDICATOR_TYPE_URL, "http://evil.example.com/")},
                                  &skipped, options);
  EXPECT_NE(zone.find("evil.example.com CNAME .\n*.evil.example.com CNAME .\n"), std::string::npos)
      << zone;
  EXPECT_NE(zone.find("32.1.2.0.192.rpz-ip CNAME .\n"), std::string::npos);
  EXPECT_EQ(RpzSerialOf(zone), 2026120401u);
  EXPECT_EQ(skipped.size(), 1u);
  testing::TempDir dir;
  std::ofstream(dir.Sub("rpz.zone")) << zone;
  const std::string cmd = "/usr/bin/named-checkzone -q rpz.threatmesh " + dir.Sub("rpz.zone");
  const int status = std::system(cmd.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "named-checkzone refused the zone:\n"
      << zone;
}

}  // namespace
}  // namespace threatmesh::interop
