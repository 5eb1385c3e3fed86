// threatmesh export as a user runs it: the real binary against a served node, each format
// written whole to its file, filters, retractions, and the zone's serial.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "node/cli/cli_fixture.h"
#include "testing/wait.h"

namespace threatmesh {
namespace {

using testing::CliTest;
using testing::Result;
using testing::Slurp;

// A port on 127.0.0.1 free for both TCP and UDP just now.
int FreePort() {
  for (int attempt = 0; attempt < 20; ++attempt) {
    const int tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof a;
    if (::bind(tcp, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(tcp, reinterpret_cast<sockaddr*>(&a), &size) != 0) {
      ::close(tcp);
      continue;
    }
    const int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const bool free = ::bind(udp, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(udp);
    ::close(tcp);
    if (free) return ntohs(a.sin_port);
  }
  return -1;
}

// Debian's BIND (named) in the foreground on a loopback port, with the RPZ zone the test
// exports and a zone of its own (example.test) to answer clean names from; stopped on
// destruction.
class Named {
 public:
  Named(const std::string& dir, const std::string& rpz_file) : dir_(dir) {
    std::ofstream(dir_ + "/example.test.zone")
        << "$TTL 300\n@ IN SOA localhost. hostmaster.localhost. 1 3600 600 86400 300\n"
           "@ IN NS localhost.\nclean IN A 192.0.2.10\nevil IN A 192.0.2.66\n"
           "www.evil IN A 192.0.2.67\ngone IN A 192.0.2.77\n";
    port_ = FreePort();
    std::ofstream(dir_ + "/named.conf")
        << "options {\n  directory \"" << dir_ << "\";\n  pid-file \"" << dir_
        << "/named.pid\";\n  listen-on port " << port_
        << " { 127.0.0.1; };\n  listen-on-v6 { none; };\n  recursion yes;\n"
           "  allow-recursion { 127.0.0.1; };\n  dnssec-validation no;\n"
           "  response-policy { zone \"rpz.threatmesh\"; } qname-wait-recurse no;\n};\n"
           "zone \"example.test\" { type primary; file \""
        << dir_ << "/example.test.zone\"; };\nzone \"rpz.threatmesh\" { type primary; file \""
        << rpz_file << "\"; };\n";
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string log = dir_ + "/named.log";
      if (std::freopen(log.c_str(), "w", stdout) == nullptr ||
          std::freopen(log.c_str(), "a", stderr) == nullptr) {
        _exit(127);
      }
      const std::string conf = dir_ + "/named.conf";
      ::execl("/usr/sbin/named", "named", "-g", "-n", "1", "-c", conf.c_str(),
              static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~Named() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // Whether named answers (a clean name) within 20 s.
  bool WaitReady() {
    return testing::WaitUntil([&] { return Dig("clean.example.test") == "192.0.2.10"; },
                              std::chrono::seconds(20), std::chrono::milliseconds(200));
  }
  // Re-reads the zones (SIGHUP), as an operator's 'rndc reload' does.
  void Reload() { ::kill(pid_, SIGHUP); }

  // dig's answer for `name` (A): the address, "NXDOMAIN", or the status line.
  std::string Dig(const std::string& name) {
    const std::string out = dir_ + "/dig.out";
    const std::string cmd = "/usr/bin/dig @127.0.0.1 -p " + std::to_string(port_) + " " + name +
                            " A +time=2 +tries=1 >" + out + " 2>&1";
    (void)std::system(cmd.c_str());
    const std::string text = Slurp(out);
    if (text.find("status: NXDOMAIN") != std::string::npos) return "NXDOMAIN";
    std::smatch m;
    if (std::regex_search(text, m, std::regex("\\tIN\\tA\\t([0-9.]+)"))) return m[1].str();
    return text.substr(0, 200);
  }

  std::string log() const { return Slurp(dir_ + "/named.log"); }

 private:
  const std::string dir_;
  int port_ = -1;
  pid_t pid_ = -1;
};

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
  // verify checks the exported objects against their signed records, offline.
  Result verified = Run({"verify", dir_.Sub("bundle.json")});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("verdict: VALID, every object is its signed record"),
            std::string::npos)
      << verified.out;
  std::string changed = text;
  const std::string pattern = "[domain-name:value = 'evil.example.com']";
  const std::size_t at = changed.find(pattern);
  ASSERT_NE(at, std::string::npos);
  changed.replace(at, pattern.size(), "[domain-name:value = 'good.example.com']");
  std::ofstream(dir_.Sub("changed.json")) << changed;
  Result refused = Run({"verify", dir_.Sub("changed.json")});
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.out.find(" pattern: says"), std::string::npos) << refused.out;
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
  EXPECT_NE(
      bad.err.find(
          "unknown export format \"yaml\"; use stix, misp-feed, plain, csv, zeek-intel or rpz"),
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

// The zone a real BIND loads: a shared domain and its subdomains answer NXDOMAIN, a clean
// name answers normally, and a domain retracted since is answered again after the next
// export and a reload.
TEST_F(CliExportTest, BindEnforcesTheZoneAndForgetsARetractedDomain) {
  ASSERT_EQ(PublishId({"--type", "domain", "--value", "evil.example.test"}).size(), 64u);
  const std::string later = PublishId({"--type", "domain", "--value", "gone.example.test"});
  std::string text;
  ASSERT_EQ(Export({"--format", "rpz", "--type", "domain"}, "threatmesh.rpz", &text).exit_code, 0);
  Named named(dir_.path(), dir_.Sub("threatmesh.rpz"));
  ASSERT_TRUE(named.WaitReady()) << named.log();
  EXPECT_EQ(named.Dig("evil.example.test"), "NXDOMAIN") << named.log();
  EXPECT_EQ(named.Dig("www.evil.example.test"), "NXDOMAIN");
  EXPECT_EQ(named.Dig("gone.example.test"), "NXDOMAIN");
  EXPECT_EQ(named.Dig("clean.example.test"), "192.0.2.10");

  ASSERT_EQ(RunOn("retract", {later, "--reason", "false positive"}).exit_code, 0);
  ASSERT_EQ(Export({"--format", "rpz", "--type", "domain"}, "threatmesh.rpz", &text).exit_code, 0);
  EXPECT_EQ(text.find("gone.example.test"), std::string::npos) << text;
  named.Reload();
  EXPECT_TRUE(testing::WaitUntil([&] { return named.Dig("gone.example.test") == "192.0.2.77"; },
                                 std::chrono::seconds(20), std::chrono::milliseconds(200)))
      << named.Dig("gone.example.test") << "\n"
      << named.log();
  EXPECT_EQ(named.Dig("evil.example.test"), "NXDOMAIN");
}

// Round trip: every indicator type (values with quotes, backslashes, Unicode and IPv6), each
// TLP but RED, exported to STIX at one node and imported at a second, has the same type,
// value, TLP, validity, confidence and labels there; a second import stores nothing.
TEST_F(CliExportTest, StixRoundTripToASecondNode) {
  struct Value {
    const char* type;
    const char* value;
    const char* tlp;
  };
  const Value values[] = {
      {"ipv6", "2001:db8::7", "clear"},
      {"cidr", "2001:db8::/32", "green"},
      {"email", "o'brien@evil.example.com", "amber"},
      {"md5", "d41d8cd98f00b204e9800998ecf8427e", "amber+strict"},
      {"sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", "green"},
      {"sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "green"},
      {"asn", "AS64500", "green"},
      {"ja3", "e7d705a3286e19ea42f587b344ee6865", "green"},
      {"user-agent", "Evil \\ 'Bot' \xc3\xbc 1.0", "green"},
  };
  for (const Value& v : values) {
    ASSERT_EQ(PublishId({"--type", v.type, "--value", v.value, "--tlp", v.tlp, "--label", "rt",
                         "--confidence", "60"})
                  .size(),
              64u)
        << v.value;
  }
  std::string text;
  ASSERT_EQ(Export({"--format", "stix"}, "a.json", &text).exit_code, 0);
  std::string csv_a;
  ASSERT_EQ(Export({"--format", "csv"}, "a.csv", &csv_a).exit_code, 0);

  const std::string b_dir = dir_.Sub("b");
  ASSERT_EQ(Run({"init", "--data-dir", b_dir}).exit_code, 0);
  absl::StatusOr<std::unique_ptr<testing::ServeProcess>> b = testing::ServeProcess::Start(b_dir);
  ASSERT_TRUE(b.ok()) << b.status();
  const std::vector<std::string> at_b = {"--node", (*b)->address(), "--data-dir", b_dir};
  auto run_b = [&](std::vector<std::string> args) {
    args.insert(args.end(), at_b.begin(), at_b.end());
    return Run(args);
  };
  Result imported = run_b({"import", dir_.Sub("a.json")});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_NE(imported.out.find("import: 12 imported, 0 already present"), std::string::npos)
      << imported.out;
  Result again = run_b({"import", dir_.Sub("a.json")});
  EXPECT_NE(again.out.find("import: 0 imported, 12 already present"), std::string::npos)
      << again.out;
  ASSERT_EQ(run_b({"export", "--format", "csv", "--out", dir_.Sub("b.csv")}).exit_code, 0);
  // The same rows but for what the importing node sets itself: id, author, creation time,
  // description.
  auto rows = [](const std::string& csv) {
    std::set<std::string> out;
    std::istringstream lines(csv);
    std::string line;
    std::getline(lines, line);  // header
    while (std::getline(lines, line)) {
      std::vector<std::string> f;
      std::string cell;
      std::istringstream cells(line);
      // Good enough for these rows: values hold no comma.
      while (std::getline(cells, cell, ',')) f.push_back(cell);
      if (f.size() >= 8)
        out.insert(f[1] + "|" + f[2] + "|" + f[3] + "|" + f[4] + "|" + f[5] + "|" + f[6] + "|" +
                   f[7]);
    }
    return out;
  };
  EXPECT_EQ(rows(Slurp(dir_.Sub("b.csv"))), rows(csv_a));
  EXPECT_EQ(rows(csv_a).size(), 12u);
}

// A feed another tool wrote: what maps is imported once, what does not is named with its
// reason; a file that is not STIX, or is cut short, imports nothing.
TEST_F(CliExportTest, ImportOfAVendorFeedNamesWhatItSkips) {
  const std::string feed =
      std::string(THREATMESH_SOURCE_DIR) + "/tests/node/interop/vendor_feed.json";
  const long before = StoredCount();
  Result r = RunOn("import", {feed});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("import: 5 imported, 0 already present"), std::string::npos) << r.out;
  for (const char* reason :
       {"AND: only single values and OR of values are imported", "refused, not downgraded",
        "pattern_type sigma", "revoked by its producer", "a malware is not imported",
        "a relationship is not imported", "a report is not imported"}) {
    EXPECT_NE(r.out.find(reason), std::string::npos) << reason << "\n" << r.out;
  }
  EXPECT_EQ(StoredCount(), before + 5);
  Result again = RunOn("import", {feed, "--json"});
  EXPECT_NE(again.out.find("\"imported\":0,\"already_present\":5"), std::string::npos) << again.out;
  EXPECT_EQ(StoredCount(), before + 5);

  const std::string text = Slurp(feed);
  std::ofstream(dir_.Sub("cut.json")) << text.substr(0, text.size() / 2);
  std::ofstream(dir_.Sub("not.json")) << "id,type,value\n1,domain,a.example\n";
  for (const char* bad : {"cut.json", "not.json", "missing.json"}) {
    Result refused = RunOn("import", {dir_.Sub(bad)});
    EXPECT_EQ(refused.exit_code, 1) << bad << ": " << refused.out;
    EXPECT_FALSE(refused.err.empty()) << bad;
  }
  EXPECT_EQ(StoredCount(), before + 5);
}

// A MISP feed directory: the event (one per export, the same uuid each time), its hashes and
// the manifest that names it.
TEST_F(CliExportTest, MispFeedIsADirectoryMispCanFollow) {
  Result r =
      RunOn("export", {"--format", "misp-feed", "--out", dir_.Sub("feed"), "--source", "ACME SOC"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json manifest = nlohmann::json::parse(Slurp(dir_.Sub("feed/manifest.json")));
  ASSERT_EQ(manifest.size(), 1u);
  const std::string uuid = manifest.begin().key();
  const nlohmann::json event =
      nlohmann::json::parse(Slurp(dir_.Sub("feed/" + uuid + ".json")))["Event"];
  EXPECT_EQ(event["Orgc"]["name"], "ACME SOC");
  std::set<std::string> values;
  for (const nlohmann::json& a : event["Attribute"]) values.insert(a["value"].get<std::string>());
  EXPECT_EQ(values, (std::set<std::string>{"evil.example.com", "192.0.2.1",
                                           "http://evil.example.com/it's"}));
  std::istringstream hashes(Slurp(dir_.Sub("feed/hashes.csv")));
  int lines = 0;
  for (std::string line; std::getline(hashes, line); ++lines) {
    EXPECT_NE(line.find("," + uuid), std::string::npos) << line;
  }
  EXPECT_EQ(lines, 3);
  ASSERT_EQ(RunOn("export", {"--format", "misp-feed", "--out", dir_.Sub("feed")}).exit_code, 0);
  EXPECT_TRUE(nlohmann::json::parse(Slurp(dir_.Sub("feed/manifest.json"))).contains(uuid));
  Result no_dir = RunOn("export", {"--format", "misp-feed"});
  EXPECT_EQ(no_dir.exit_code, 1);
  EXPECT_NE(no_dir.err.find("give --out DIR"), std::string::npos) << no_dir.err;
}

// CSV in both directions: the node's own CSV export imports (as new records of this node,
// their values already held by the import's references afterwards), and a second import
// adds nothing.
TEST_F(CliExportTest, CsvExportImportsAndOnlyOnce) {
  std::string csv;
  ASSERT_EQ(Export({"--format", "csv"}, "list.csv", &csv).exit_code, 0);
  const long before = StoredCount();
  Result r = RunOn("import", {dir_.Sub("list.csv"), "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("import: 3 imported, 0 already present"), std::string::npos) << r.out;
  EXPECT_EQ(StoredCount(), before + 3);
  Result again = RunOn("import", {dir_.Sub("list.csv"), "--format", "csv"});
  EXPECT_NE(again.out.find("import: 0 imported, 3 already present"), std::string::npos)
      << again.out;
  Result misp = RunOn("import", {dir_.Sub("list.csv"), "--format", "misp"});
  EXPECT_EQ(misp.exit_code, 1);
  EXPECT_NE(misp.err.find("not JSON (or cut short); nothing was imported"), std::string::npos)
      << misp.err;
}

}  // namespace
}  // namespace threatmesh
