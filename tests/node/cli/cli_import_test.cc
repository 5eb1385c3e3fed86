// threatmesh import against a real node: MISP feeds, sightings carried over from another
// node's STIX export, and files far larger than what is held in memory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "cli_fixture.h"

namespace threatmesh {
namespace {

using testing::Result;
using testing::Slurp;

class CliImportTest : public testing::CliTest {
 protected:
  void SetUp() override { StartNode(); }

  // The import's summary numbers: "N imported, M already present".
  static std::string Counts(const Result& r) {
    std::smatch m;
    if (!std::regex_search(r.out, m, std::regex("import: ([0-9]+) imported, ([0-9]+) already"))) {
      return "(no summary) " + r.out + r.err;
    }
    return m[1].str() + "/" + m[2].str();
  }
};

// The node's own MISP feed, imported as a feed directory and as one event file: what it
// names is imported once.
TEST_F(CliImportTest, AMispFeedDirectoryImportsOnce) {
  PublishId({"--type", "domain", "--value", "evil.example.com", "--tlp", "green"});
  PublishId({"--type", "asn", "--value", "AS64500", "--tlp", "amber+strict"});
  PublishId({"--type", "cidr", "--value", "2001:db8::/32", "--tlp", "clear"});
  ASSERT_EQ(RunOn("export", {"--format", "misp-feed", "--out", dir_.Sub("feed")}).exit_code, 0);
  const long before = StoredCount();
  Result r = RunOn("import", {dir_.Sub("feed"), "--format", "misp"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Counts(r), "3/0");
  EXPECT_EQ(StoredCount(), before + 3);
  const nlohmann::json manifest = nlohmann::json::parse(Slurp(dir_.Sub("feed/manifest.json")));
  const std::string event_file = dir_.Sub("feed/" + manifest.begin().key() + ".json");
  Result again = RunOn("import", {event_file, "--format", "misp"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Counts(again), "0/3");
  // The imported copies keep their TLP: three values, each twice, at the same label.
  Result csv = RunOn("export", {"--format", "csv", "--out", dir_.Sub("all.csv")});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  const std::string rows = Slurp(dir_.Sub("all.csv"));
  for (const char* row : {",domain,evil.example.com,GREEN,", ",asn,AS64500,AMBER+STRICT,",
                          ",cidr,2001:db8::/32,CLEAR,"}) {
    std::size_t n = 0;
    for (std::size_t at = rows.find(row); at != std::string::npos; at = rows.find(row, at + 1)) {
      ++n;
    }
    EXPECT_EQ(n, 2u) << row << "\n" << rows;
  }
  std::filesystem::create_directories(dir_.Sub("bad"));
  std::ofstream(dir_.Sub("bad/manifest.json")) << "{\"5f0c2a1e-0000-4000-8000-000000000000\": {}}";
  Result missing = RunOn("import", {dir_.Sub("bad"), "--format", "misp"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("5f0c2a1e-0000-4000-8000-000000000000.json"), std::string::npos)
      << missing.err;
}

// A sighting exported by one node arrives at another as a sighting of the same value, with
// its count and times, beside the indicator it names.
TEST_F(CliImportTest, SightingsTravelInStixToASecondNode) {
  PublishId({"--type", "domain", "--value", "seen.example.com", "--tlp", "green"});
  Result sight = RunOn(
      "sight", {"--type", "domain", "--value", "seen.example.com", "--count", "12", "--first-seen",
                "2026-11-01T10:00:00Z", "--last-seen", "2026-11-02T10:00:00Z", "--tlp", "green"});
  ASSERT_EQ(sight.exit_code, 0) << sight.err;
  ASSERT_EQ(RunOn("export", {"--format", "stix", "--out", dir_.Sub("a.json")}).exit_code, 0);

  const std::string b_dir = dir_.Sub("b");
  ASSERT_EQ(Run({"init", "--data-dir", b_dir}).exit_code, 0);
  absl::StatusOr<std::unique_ptr<testing::ServeProcess>> b = testing::ServeProcess::Start(b_dir);
  ASSERT_TRUE(b.ok()) << b.status();
  const std::vector<std::string> at_b = {"--node", (*b)->address(), "--data-dir", b_dir};
  Result imported = Run({"import", dir_.Sub("a.json"), at_b[0], at_b[1], at_b[2], at_b[3]});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(Counts(imported), "2/0");
  ASSERT_EQ(Run({"export", "--format", "stix", "--kind", "sighting", "--out", dir_.Sub("b.json"),
                 at_b[0], at_b[1], at_b[2], at_b[3]})
                .exit_code,
            0);
  const nlohmann::json bundle = nlohmann::json::parse(Slurp(dir_.Sub("b.json")));
  int sightings = 0;
  for (const nlohmann::json& o : bundle["objects"]) {
    if (o["type"] != "sighting") continue;
    ++sightings;
    EXPECT_EQ(o["count"], 12);
    EXPECT_EQ(o["first_seen"], "2026-11-01T10:00:00.000Z");
    EXPECT_EQ(o["last_seen"], "2026-11-02T10:00:00.000Z");
    EXPECT_EQ(o["extensions"].begin().value()["value"], "seen.example.com");
    EXPECT_EQ(o["object_marking_refs"][0],
              "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb");
  }
  EXPECT_EQ(sightings, 1);
}

// A bundle file, written object by object.
class BundleFile {
 public:
  explicit BundleFile(const std::string& path) : out_(path) {
    out_ << "{\"type\": \"bundle\", \"id\": \"bundle--0b0b0b0b-0000-4000-8000-000000000000\", "
            "\"objects\": [";
  }
  ~BundleFile() { Close(); }
  void Indicator(int n, const std::string& extra = "") {
    Next() << "{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": \"indicator--"
           << 10000000 + n << "-0000-4000-8000-000000000000\", \"created\": "
           << "\"2026-11-01T00:00:00.000Z\", \"modified\": \"2026-11-01T00:00:00.000Z\", "
           << "\"pattern_type\": \"stix\", \"valid_from\": \"2026-11-01T00:00:00.000Z\", "
           << "\"pattern\": \"[domain-name:value = 'd" << n << ".example']\"" << extra << "}";
  }
  // `n` notes of about 1 KB each.
  void Notes(int n) {
    const std::string padding(900, 'n');
    for (int i = 0; i < n; ++i) {
      Next() << "{\"type\": \"note\", \"spec_version\": \"2.1\", \"id\": \"note--" << 10000000 + i
             << "-0000-4000-8000-000000000000\", \"content\": \"" << padding << "\"}";
    }
  }
  void Close() {
    if (!closed_) out_ << "]}";
    closed_ = true;
    out_.close();
  }

 private:
  std::ostream& Next() {
    if (!first_) out_ << ",";
    first_ = false;
    return out_;
  }
  std::ofstream out_;
  bool first_ = true;
  bool closed_ = false;
};

// A bundle larger than the importer's memory streams through it, showing its progress.
TEST_F(CliImportTest, ABigBundleStreamsInBoundedMemory) {
  const std::string path = dir_.Sub("big.json");
  {
    BundleFile bundle(path);
    bundle.Indicator(1);
    bundle.Notes(90000);
    bundle.Indicator(2);
  }
  const std::string peak = dir_.Sub("peak");
  Result r = Run({"/usr/bin/time", "-f", "%M", "-o", peak, testing::ThreatmeshBinary(), "import",
                  path, "--node", server_->address(), "--data-dir", data_},
                 /*binary=*/false);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Counts(r), "2/0");
  EXPECT_NE(r.out.find("90000 not imported: a note is not imported"), std::string::npos) << r.out;
  // Progress on stderr in both passes (a line per 64 MB, looked at every 4,096 objects).
  EXPECT_TRUE(std::regex_search(r.err, std::regex("import: checked 6[4-9] of 8[0-9] MB\n")))
      << r.err;
  EXPECT_TRUE(std::regex_search(
      r.err, std::regex("import: read 6[4-9] of 8[0-9] MB: [0-9]+ imported, 0 already present\n")))
      << r.err;
  // Nothing grows with the file: one object at a time, a 1 MB read buffer, the summary's
  // first 1,000 ids per reason.
  const std::string peak_text = Slurp(peak);
  ASSERT_FALSE(peak_text.empty()) << "GNU time wrote no peak";
#ifndef THREATMESH_SANITIZED  // AddressSanitizer keeps freed memory in quarantine
  const long peak_kb = std::stol(peak_text);
  EXPECT_LT(peak_kb, 48 * 1024) << "peak RSS " << peak_kb << " kB";
#endif
}

// An object of 100 MB is skipped with its reason while the objects around it import; the
// memory it takes is that of the JSON reader's one string, not of the object.
TEST_F(CliImportTest, AnObjectOf100MbIsSkippedWithItsReason) {
  const std::string path = dir_.Sub("huge.json");
  {
    BundleFile bundle(path);
    bundle.Indicator(1);
    bundle.Indicator(2, ", \"description\": \"" + std::string(100u << 20, 'x') + "\"");
    bundle.Indicator(3);
  }
  Result r = RunOn("import", {path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Counts(r), "2/0");
  EXPECT_NE(r.out.find("1 not imported: an object of over 16 MB: skipped without being read "
                       "(indicator--10000002-0000-4000-8000-000000000000)"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace threatmesh
