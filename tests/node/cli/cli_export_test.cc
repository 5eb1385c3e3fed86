// threatmesh export as a user runs it: the real binary against a served node, each format
// written whole to its file, filters, retractions, and the zone's serial.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "node/cli/cli_fixture.h"

namespace threatmesh {
namespace {

using testing::CliTest;
using testing::Result;
using testing::Slurp;

class CliExportTest : public CliTest {
 protected:
  void SetUp() override {
    StartNode();
    domain_ = PublishId({"--type", "domain", "--value", "evil.example.com", "--label", "apt1",
                         "--confidence", "70"});
    ip_ = PublishId({"--type", "ipv4", "--value", "192.0.2.1"});
    url_ = PublishId({"--type", "url", "--value", "http://evil.example.com/it's"});
    gone_ = PublishId({"--type", "domain", "--value", "gone.example.com"});
    ASSERT_EQ(RunOn("retract", {gone_, "--reason", "false positive"}).exit_code, 0);
  }

  // Runs export with `args`; the output file's text in `text`.
  Result Export(std::vector<std::string> args, const std::string& out, std::string* text) {
    args.insert(args.end(), {"--out", dir_.Sub(out)});
    Result r = RunOn("export", args);
    *text = Slurp(dir_.Sub(out));
    return r;
  }

  std::string domain_, ip_, url_, gone_;
};

TEST_F(CliExportTest, PlainLeavesOutRetractedRecordsUnlessAsked) {
  std::string text;
  Result r = Export({"--format", "plain"}, "list.txt", &text);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(text, "evil.example.com\n192.0.2.1\nhttp://evil.example.com/it's\n");
  EXPECT_NE(r.err.find("export: 3 records as plain"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("left out 1: retracted"), std::string::npos) << r.err;
  r = Export({"--format", "plain", "--type", "domain", "--include-retracted"}, "domains.txt",
             &text);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(text, "evil.example.com\ngone.example.com\n");
  r = Export({"--format", "plain", "--tag", "apt1"}, "tagged.txt", &text);
  EXPECT_EQ(text, "evil.example.com\n");
}

TEST_F(CliExportTest, StixIsOneBundleWithEveryIndicator) {
  std::string text;
  Result r = Export({"--format", "stix", "--include-retracted"}, "bundle.json", &text);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json bundle = nlohmann::json::parse(text);
  std::map<std::string, nlohmann::json> indicators;
  for (const nlohmann::json& o : bundle["objects"]) {
    if (o["type"] == "indicator") indicators[o["name"].get<std::string>()] = o;
  }
  ASSERT_EQ(indicators.size(), 4u) << text;
  EXPECT_EQ(indicators["http://evil.example.com/it's"]["pattern"],
            "[url:value = 'http://evil.example.com/it\\'s']");
  EXPECT_EQ(indicators["evil.example.com"]["confidence"], 70);
  EXPECT_EQ(indicators["gone.example.com"]["revoked"], true);
  EXPECT_FALSE(indicators["evil.example.com"].contains("revoked"));
  // The retraction itself is no object of its own.
  EXPECT_NE(r.err.find("left out 1: a retraction is exported as its target's revoked version"),
            std::string::npos)
      << r.err;
}

TEST_F(CliExportTest, RpzLoadsInNamedCheckzoneAndItsSerialGrows) {
  std::string text;
  Result r = Export({"--format", "rpz", "--rpz-action", "drop"}, "threatmesh.rpz", &text);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(text.find("evil.example.com CNAME rpz-drop.\n"), std::string::npos) << text;
  EXPECT_NE(text.find("32.1.2.0.192.rpz-ip CNAME rpz-drop.\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("gone.example.com"), std::string::npos) << text;
  const std::string check =
      "/usr/bin/named-checkzone -q rpz.threatmesh " + dir_.Sub("threatmesh.rpz");
  const int status = std::system(check.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex("IN SOA \\S+ \\S+ ([0-9]+) ")));
  const unsigned long first = std::stoul(m[1].str());
  ASSERT_EQ(Export({"--format", "rpz"}, "threatmesh.rpz", &text).exit_code, 0);
  ASSERT_TRUE(std::regex_search(text, m, std::regex("IN SOA \\S+ \\S+ ([0-9]+) ")));
  EXPECT_GT(std::stoul(m[1].str()), first);
}

TEST_F(CliExportTest, BadArgumentsAndAMissingDirectoryWriteNothing) {
  Result bad = RunOn("export", {"--format", "yaml"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("unknown export format \"yaml\"; use stix, plain, csv, zeek-intel or rpz"),
            std::string::npos)
      << bad.err;
  Result action = RunOn("export", {"--format", "rpz", "--rpz-action", "block"});
  EXPECT_EQ(action.exit_code, 1);
  EXPECT_NE(action.err.find("unknown RPZ action"), std::string::npos) << action.err;
  Result nodir = RunOn("export", {"--format", "csv", "--out", dir_.Sub("no/such/dir/x.csv")});
  EXPECT_EQ(nodir.exit_code, 1);
  EXPECT_NE(nodir.err.find("create its directory first"), std::string::npos) << nodir.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("no")));
}

}  // namespace
}  // namespace threatmesh
