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

}  // namespace
}  // namespace threatmesh
