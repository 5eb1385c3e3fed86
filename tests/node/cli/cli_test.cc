// The CLI as a user runs it: the real binary in a child process, per-test data directories.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "crypto/keys.h"
#include "crypto/str_cat.h"
#include "testing/serve_process.h"
#include "testing/test_util.h"

namespace threatmesh {
namespace {

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class CliTest : public ::testing::Test {
 protected:
  // Runs the binary with `args`; or, with `binary` false, `args` as a command of its own.
  Result Run(const std::vector<std::string>& args, bool binary = true) {
    // A bound on every command, so that a server that should have refused to start cannot
    // hang the suite.
    std::string cmd =
        "env -u THREATMESH_PASSPHRASE -u THREATMESH_TOKEN -u THREATMESH_NODE "
        "timeout 120";
    if (binary) cmd += " " + Quote(testing::ThreatmeshBinary());
    for (const std::string& a : args) cmd += " " + Quote(a);
    cmd += " </dev/null >" + Quote(dir_.Sub("out")) + " 2>" + Quote(dir_.Sub("err"));
    int status = std::system(cmd.c_str());
    Result r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = Slurp(dir_.Sub("out"));
    r.err = Slurp(dir_.Sub("err"));
    return r;
  }
  // Runs a command on the test node's data directory (and, once it serves, its address).
  Result RunOn(const std::string& command, std::vector<std::string> args) {
    args.insert(args.begin(), {command, "--data-dir", data_});
    if (server_ && command != "init" && command != "serve" && command != "key") {
      args.insert(args.begin() + 1, {"--node", server_->address()});
    }
    return Run(args);
  }
  std::string PublishId(std::vector<std::string> args) {
    args.push_back("--json");
    Result r = RunOn("publish", args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::smatch m;
    std::regex id_re("\"id\":\"([0-9a-f]{64})\"");
    return std::regex_search(r.out, m, id_re) ? m[1].str() : "";
  }
  // Records stored on the node, from its status.
  long StoredCount() {
    Result r = RunOn("status", {"--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::smatch m;
    if (!std::regex_search(r.out, m, std::regex("\"next_seq\":([0-9]+)"))) return -1;
    return std::stol(m[1].str()) - 1;
  }
  void Init() {
    Result r = RunOn("init", {});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // Init, then serve.
  void StartNode() {
    Init();
    absl::StatusOr<std::unique_ptr<testing::ServeProcess>> server =
        testing::ServeProcess::Start(data_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  // DIR/sanitize.key: 32 bytes, readable by its owner only (a secret: refused otherwise).
  void WriteSanitizeKey() {
    {
      std::ofstream key(dir_.Sub("sanitize.key"), std::ios::binary);
      key << std::string(32, 'k');
    }
    ::chmod(dir_.Sub("sanitize.key").c_str(), 0600);
  }

  testing::TempDir dir_;
  std::string data_ = dir_.Sub("node");
  std::unique_ptr<testing::ServeProcess> server_;
};

TEST_F(CliTest, InitPrintsKeyAndRefusesASecondInit) {
  Result r = RunOn("init", {"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\"public_key\":\"tmpk[a-z2-7]{58}\""))) << r.out;
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex("\"fingerprint\":\"([0-9a-f]{4}:){3}[0-9a-f]{4}\"")))
      << r.out;
  struct stat st;
  ASSERT_EQ(::stat((data_ + "/node.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Result text = Run({"init", "--data-dir", dir_.Sub("second")});
  EXPECT_TRUE(std::regex_search(
      text.out, std::regex("peer line   threatmesh peers add --name [a-z0-9.-]+ --address "
                           "HOST:PORT --key tmpk[a-z2-7]{58}")))
      << text.out;
  // The peer port's certificate, made with the key.
  EXPECT_NE(Slurp(data_ + "/peer.crt").find("BEGIN CERTIFICATE"), std::string::npos);
  ASSERT_EQ(::stat((data_ + "/peer.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Result again = RunOn("init", {});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already initialised"), std::string::npos) << again.err;
}

TEST_F(CliTest, PublishGetAndSearchEveryQuery) {
  StartNode();
  const std::string domain = PublishId({"--type", "domain", "--value", "Evil.Example.COM.", "--tlp",
                                        "green", "--label", "apt1", "--confidence", "80"});
  const std::string cidr = PublishId({"--type", "cidr", "--value", "10.1.2.3/8"});
  const std::string url = PublishId({"--type", "url", "--value", "HTTP://WWW.Example.com/a"});
  ASSERT_EQ(domain.size(), 64u);
  ASSERT_EQ(cidr.size(), 64u);

  Result get = RunOn("get", {domain, "--json"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_NE(get.out.find("\"value\":\"evil.example.com\""), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("\"tlp\":\"GREEN\""), std::string::npos);
  Result text = RunOn("get", {domain});
  EXPECT_NE(text.out.find("confidence  80"), std::string::npos) << text.out;

  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> want;
  };
  const std::string key =
      std::regex_replace(get.out, std::regex(".*\"author\":\"(tmpk[a-z2-7]+)\".*\n?"), "$1");
  const std::vector<Case> cases = {
      {{"--type", "domain", "--value", "EVIL.example.com"}, {domain}},
      {{"--domain-suffix", "example.com"}, {domain, url}},
      {{"--ip", "10.200.0.1"}, {cidr}},
      {{"--tag", "apt1"}, {domain}},
      {{"--kind", "indicator"}, {domain, cidr, url}},
      {{"--author", key}, {domain, cidr, url}},
      {{"--author", key, "--since", "2000-01-01", "--until", "2000-01-02"}, {}},
  };
  for (const Case& c : cases) {
    Result r = RunOn("search", c.args);
    ASSERT_EQ(r.exit_code, 0) << c.args[0] << ": " << r.err;
    std::size_t lines = 0;
    for (const std::string& id : c.want) {
      EXPECT_NE(r.out.find(id), std::string::npos) << c.args[0] << " misses " << id;
    }
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      if (std::regex_search(line, std::regex("^[0-9a-f]{64}  "))) ++lines;
    }
    EXPECT_EQ(lines, c.want.size()) << c.args[0] << ":\n" << r.out;
  }
}

TEST_F(CliTest, SearchPagesWithTokens) {
  StartNode();
  std::set<std::string> published;
  for (int i = 0; i < 5; ++i) {
    published.insert(PublishId(
        {"--type", "ipv4", "--value", "192.0.2." + std::to_string(i), "--label", "paged"}));
  }
  std::set<std::string> seen;
  std::string token;
  for (int page = 0; page < 10; ++page) {
    std::vector<std::string> args = {"--tag", "paged", "--limit", "2", "--json"};
    if (!token.empty()) args.insert(args.end(), {"--page-token", token});
    Result r = RunOn("search", args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::regex id_re("\"id\":\"([0-9a-f]{64})\"");
    for (std::sregex_iterator it(r.out.begin(), r.out.end(), id_re), end; it != end; ++it) {
      EXPECT_TRUE(seen.insert((*it)[1].str()).second) << "seen twice";
    }
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.out, m, std::regex("\"next_page_token\":\"([0-9a-f]*)\"")));
    token = m[1].str();
    if (token.empty()) break;
  }
  EXPECT_EQ(seen, published);
}

TEST_F(CliTest, FailuresGiveOneLineErrorsAndStoreNothing) {
  StartNode();
  struct Case {
    std::string name;
    std::vector<std::string> args;
    int exit_code;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {"bad ipv4", {"publish", "--type", "ipv4", "--value", "1.2.3"}, 1, "dotted-quad"},
      {"bad type", {"publish", "--type", "hostname", "--value", "x"}, 1, "use one of"},
      {"bad tlp",
       {"publish", "--type", "ipv4", "--value", "192.0.2.1", "--tlp", "white"},
       1,
       "TLP:CLEAR"},
      {"confidence",
       {"publish", "--type", "ipv4", "--value", "192.0.2.1", "--confidence", "101"},
       1,
       "outside 0..100"},
      {"red without recipient",
       {"publish", "--type", "ipv4", "--value", "192.0.2.1", "--tlp", "red"},
       1,
       "names no recipients"},
      {"bad recipient",
       {"publish", "--type", "ipv4", "--value", "192.0.2.1", "--tlp", "red", "--recipient",
        "tmpkabc"},
       1,
       "copy it again"},
      {"missing value", {"publish", "--type", "ipv4"}, 2, "--value"},
      {"unknown option", {"publish", "--colour", "red"}, 2, "colour"},
      {"bad id", {"get", "xyz"}, 1, "not 64 hex digits"},
      {"unknown id", {"get", std::string(64, 'a')}, 1, "no record"},
      {"two queries", {"search", "--tag", "a", "--kind", "indicator"}, 1, "exactly one query"},
      {"bad page token", {"search", "--tag", "a", "--page-token", "00"}, 1, "continuation token"},
      {"bad filter", {"search", "--tag", "a", "--only-kind", "blog"}, 1, "unknown kind"},
      {"bad api token", {"search", "--tag", "a", "--token", "tmt_nope"}, 1, "unknown or revoked"},
      {"retract unknown", {"retract", std::string(64, 'b')}, 1, "no record"},
      {"token without role", {"token", "create", "--name", "x"}, 1, "--role"},
      {"peer with a bad key", {"peers", "add", "--name", "hub", "--key", "tmpkabc"}, 1, "--key"},
      {"peer without a key", {"peers", "add", "--name", "hub"}, 1, "--name and --key"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args(c.args.begin() + 1, c.args.end());
    Result r = RunOn(c.args[0], args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.name << ": " << r.err;
    EXPECT_NE(r.err.find(c.message_part), std::string::npos) << c.name << ": " << r.err;
    if (c.exit_code == 1) {
      EXPECT_EQ(r.err.rfind("threatmesh: error: ", 0), 0u) << c.name;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.name << ": " << r.err;
    }
  }
  EXPECT_EQ(StoredCount(), 0);
}

TEST_F(CliTest, MissingNodeAndExposedKeyAreExplained) {
  Result none = RunOn("serve", {"--listen", "127.0.0.1:0"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("threatmesh init"), std::string::npos) << none.err;
  Init();
  Result unreachable = RunOn("search", {"--tag", "x", "--node", "127.0.0.1:1", "--timeout", "5"});
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_NE(unreachable.err.find("cannot reach a node at 127.0.0.1:1"), std::string::npos)
      << unreachable.err;
  ASSERT_EQ(::chmod((data_ + "/node.key").c_str(), 0644), 0);
  Result exposed = RunOn("serve", {"--listen", "127.0.0.1:0"});
  EXPECT_EQ(exposed.exit_code, 1);
  EXPECT_NE(exposed.err.find("chmod 600"), std::string::npos) << exposed.err;
}

TEST_F(CliTest, PassphraseProtectedNode) {
  std::ofstream(dir_.Sub("pass")) << "s3cret words\n";
  Result init = RunOn("init", {"--passphrase-file", dir_.Sub("pass")});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_NE(Slurp(data_ + "/node.key").find("argon2id"), std::string::npos);
  Result without = RunOn("serve", {"--listen", "127.0.0.1:0"});
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_NE(without.err.find("protected by a passphrase"), std::string::npos) << without.err;
  std::ofstream(dir_.Sub("wrong")) << "other words\n";
  Result wrong =
      RunOn("serve", {"--listen", "127.0.0.1:0", "--passphrase-file", dir_.Sub("wrong")});
  EXPECT_NE(wrong.err.find("wrong passphrase"), std::string::npos) << wrong.err;
  absl::StatusOr<std::unique_ptr<testing::ServeProcess>> server =
      testing::ServeProcess::Start(data_, {"--passphrase-file", dir_.Sub("pass")});
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = std::move(*server);
  Result with = RunOn("publish", {"--type", "md5", "--value", std::string(32, 'A')});
  EXPECT_EQ(with.exit_code, 0) << with.err;
}

TEST_F(CliTest, HelpListsCommandsAndExamples) {
  Result help = Run({"help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* cmd : {"init", "serve", "publish", "get", "search", "subscribe", "sight",
                          "retract", "status", "token", "peers", "audit"}) {
    EXPECT_NE(help.out.find(std::string("  ") + cmd), std::string::npos) << cmd;
  }
  Result publish = Run({"publish", "--help"});
  EXPECT_EQ(publish.exit_code, 0);
  EXPECT_NE(publish.out.find("example: threatmesh publish"), std::string::npos);
  EXPECT_NE(publish.out.find("--confidence"), std::string::npos);
  Result serve = Run({"serve", "--help"});
  EXPECT_EQ(serve.exit_code, 0);
  EXPECT_NE(serve.out.find("--audit-checkpoint-seconds"), std::string::npos) << serve.out;
  Result unknown = Run({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown command"), std::string::npos);
}

// The peer commands an operator runs: add, list, resync, reload, violations, and their
// errors.
TEST_F(CliTest, PeerCommands) {
  StartNode();
  const std::string key = crypto::KeyPair::Generate().public_key().ToText();
  Result add = RunOn("peers", {"add", "--name", "hub", "--address", "127.0.0.1:9", "--key", key});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  Result list = RunOn("peers", {"list"});
  EXPECT_NE(list.out.find("hub  127.0.0.1:9"), std::string::npos) << list.out;
  Result resync = RunOn("peers", {"resync", "hub"});
  EXPECT_EQ(resync.exit_code, 0) << resync.err;
  EXPECT_NE(resync.out.find("replaying both logs with hub"), std::string::npos) << resync.out;
  Result unknown = RunOn("peers", {"resync", "nobody"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no peer named \"nobody\""), std::string::npos) << unknown.err;
  Result reload = RunOn("peers", {"reload"});
  EXPECT_EQ(reload.exit_code, 0) << reload.err;
  EXPECT_NE(reload.out.find("outbound policies default; peers changed: none"), std::string::npos)
      << reload.out;
  Result violations = RunOn("violations", {});
  EXPECT_EQ(violations.exit_code, 0) << violations.err;
  EXPECT_EQ(violations.out, "no violations\n");
  Result bad = RunOn("peers", {"dance"});
  EXPECT_NE(bad.err.find("use add, list, remove, reload or resync"), std::string::npos) << bad.err;
}

// A log file through ingest-log, check and publish: the sanitized excerpt is published and
// searchable; one that fails its checklist (no contact) is refused and stores nothing.
TEST_F(CliTest, IngestCheckAndPublishALogExcerpt) {
  StartNode();
  {
    WriteSanitizeKey();
    std::ofstream log(dir_.Sub("query.log"));
    log << "20-Nov-2026 11:00:00.123 client 10.0.0.5#53124 (db01.corp.example): query: "
           "db01.corp.example IN A + (10.0.0.53)\n"
           "20-Nov-2026 11:00:01.456 client 10.0.0.5#53125 (c2.evil-example.com): query: "
           "c2.evil-example.com IN A + (10.0.0.53)\n"
           "garbage\n";
  }
  const std::vector<std::string> common = {dir_.Sub("query.log"),
                                           "--format",
                                           "bind-query",
                                           "--timezone",
                                           "Europe/Berlin",
                                           "--sanitize-key",
                                           dir_.Sub("sanitize.key"),
                                           "--tlp",
                                           "green",
                                           "--internal-suffix",
                                           "corp.example"};
  std::vector<std::string> no_zone = {"ingest-log",     dir_.Sub("query.log"),
                                      "--format",       "bind-query",
                                      "--sanitize-key", dir_.Sub("sanitize.key")};
  Result refused = Run(no_zone);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("--timezone"), std::string::npos) << refused.err;
  // A file that is not there, and an output directory that is not there, are named as such.
  std::vector<std::string> missing = common;
  missing[0] = dir_.Sub("no-such.log");
  missing.insert(missing.begin(), "ingest-log");
  Result no_file = Run(missing);
  EXPECT_EQ(no_file.exit_code, 1);
  EXPECT_NE(no_file.err.find("no-such.log: No such file or directory"), std::string::npos)
      << no_file.err;
  std::vector<std::string> no_dir = {"ingest-log"};
  no_dir.insert(no_dir.end(), common.begin(), common.end());
  no_dir.insert(no_dir.end(), {"--out", dir_.Sub("no-such-dir/excerpt.json"), "--contact", "x"});
  Result no_out = Run(no_dir);
  EXPECT_EQ(no_out.exit_code, 1);
  EXPECT_NE(no_out.err.find("No such file or directory (create its directory first)"),
            std::string::npos)
      << no_out.err;

  std::vector<std::string> args = {"ingest-log"};
  args.insert(args.end(), common.begin(), common.end());
  args.insert(args.end(), {"--out", dir_.Sub("no-contact.json")});
  Result ingest = Run(args);
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  EXPECT_NE(ingest.err.find("query.log:3: expected a date and a time first"), std::string::npos)
      << ingest.err;
  EXPECT_NE(ingest.err.find("FAIL  contact"), std::string::npos) << ingest.err;
  args.pop_back();
  args.insert(args.end(), {dir_.Sub("excerpt.json"), "--contact", "soc@example.org"});
  ASSERT_EQ(Run(args).exit_code, 0);
  const std::string excerpt = Slurp(dir_.Sub("excerpt.json"));
  for (const char* secret : {"10.0.0.5", "10.0.0.53", "db01", "corp.example"}) {
    EXPECT_EQ(excerpt.find(secret), std::string::npos) << secret;
  }
  EXPECT_NE(excerpt.find("c2.evil-example.com"), std::string::npos);

  Result check = Run({"check", dir_.Sub("no-contact.json")});
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_NE(check.out.find("FAIL  contact: no contact"), std::string::npos) << check.out;
  EXPECT_EQ(Run({"check", dir_.Sub("excerpt.json")}).exit_code, 0);

  const long before = StoredCount();
  Result bad = RunOn("publish", {"--excerpt", dir_.Sub("no-contact.json")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("fails its release checklist, nothing published: contact"),
            std::string::npos)
      << bad.err;
  EXPECT_EQ(StoredCount(), before);
  Result good = RunOn("publish", {"--excerpt", dir_.Sub("excerpt.json"), "--json"});
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(StoredCount(), before + 1);
  Result found = RunOn("search", {"--kind", "log-excerpt"});
  EXPECT_EQ(found.exit_code, 0) << found.err;
  EXPECT_NE(found.out.find("log-excerpt"), std::string::npos) << found.out;
}

// sshd, PAM, su, sudo and login lines through ingest-log with a sanitize key: none of the
// user names of the input is left in the excerpt, wherever it stood; the excerpt passes its
// checklist. The same excerpt with one name put back in clear fails check and publish.
TEST_F(CliTest, IngestLeavesNoUserNameOfTheLog) {
  const std::vector<std::string> users = {"alice",   "bob.smith", "Carol", "dave_ops", "erin01",
                                          "frank",   "grace",     "heidi", "ivan",     "judy",
                                          "mallory", "niaj",      "root"};
  {
    WriteSanitizeKey();
    std::ofstream log(dir_.Sub("auth.log"));
    log << "Nov 20 10:59:50 bastion myapp[77]: quota warning: alice at 91%\n"
           "Nov 20 11:00:01 bastion sshd[1001]: Accepted publickey for alice from 203.0.113.7 "
           "port 52144 ssh2: ED25519 SHA256:AAAA\n"
           "Nov 20 11:00:02 bastion sshd[1002]: Failed password for invalid user bob.smith from "
           "203.0.113.8 port 40000 ssh2\n"
           "Nov 20 11:00:03 bastion sshd[1002]: Failed password for Carol from 203.0.113.8 port "
           "40001 ssh2\n"
           "Nov 20 11:00:04 bastion sshd[1003]: Invalid user dave_ops from 203.0.113.9 port "
           "40002\n"
           "Nov 20 11:00:05 bastion sshd[1004]: pam_unix(sshd:auth): authentication failure; "
           "logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=erin01\n"
           "Nov 20 11:00:06 bastion sshd[1001]: pam_unix(sshd:session): session opened for user "
           "alice(uid=1000) by (uid=0)\n"
           "Nov 20 11:00:07 bastion su[1200]: (to root) frank on pts/0\n"
           "Nov 20 11:00:07 bastion su[1200]: pam_unix(su:session): session opened for user "
           "root(uid=0) by frank(uid=1001)\n"
           "Nov 20 11:00:08 bastion sudo:    grace : TTY=pts/1 ; PWD=/home/grace ; USER=root ; "
           "COMMAND=/usr/bin/id\n"
           "Nov 20 11:00:09 bastion sudo: pam_unix(sudo:auth): authentication failure; "
           "logname=heidi uid=1002 euid=0 tty=/dev/pts/2 ruser=heidi rhost=  user=heidi\n"
           "Nov 20 11:00:10 bastion login[1300]: FAILED LOGIN (1) on '/dev/tty1' FOR 'ivan', "
           "Authentication failure\n"
           "Nov 20 11:00:11 bastion login[1301]: LOGIN ON tty1 BY judy\n"
           "Nov 20 11:00:12 bastion webapp[88]: login failed for user 'mallory' from "
           "198.51.100.4\n"
           "Nov 20 11:00:13 bastion sshd[1005]: Disconnected from user alice 203.0.113.7 port "
           "52144\n"
           "Nov 20 11:00:14 bastion su[1201]: FAILED SU (to root) ivan on pts/3\n"
           "Nov 20 11:00:15 bastion sshd[1006]: Connection closed by authenticating user niaj "
           "203.0.113.10 port 40003 [preauth]\n";
  }
  Result ingest = Run(
      {"ingest-log", dir_.Sub("auth.log"), "--format", "syslog-3164", "--timezone", "UTC",
       "--sanitize-key", dir_.Sub("sanitize.key"), "--tlp", "amber", "--contact", "soc@example.org",
       "--window", "2000-01-01T00:00:00Z..2100-01-01T00:00:00Z", "--out", dir_.Sub("auth.json")});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  EXPECT_NE(ingest.err.find("ready to publish"), std::string::npos) << ingest.err;
  const std::string excerpt = Slurp(dir_.Sub("auth.json"));
  ASSERT_NE(excerpt.find("203.0.113.7"), std::string::npos) << excerpt;  // evidence stays
  // Each name as a whole word (a pseudonym's letters may hold one by chance).
  const std::regex word("[A-Za-z0-9._@$-]+");
  for (auto it = std::sregex_iterator(excerpt.begin(), excerpt.end(), word);
       it != std::sregex_iterator(); ++it) {
    std::string w = it->str();
    while (!w.empty() && w.back() == '.') w.pop_back();
    EXPECT_EQ(std::find(users.begin(), users.end(), w), users.end())
        << "\"" << w << "\" in clear at offset " << it->position();
  }
  EXPECT_EQ(Run({"check", dir_.Sub("auth.json")}).exit_code, 0);

  // A name put back: check and publish refuse the excerpt, naming it.
  std::string spoiled = excerpt;
  const std::size_t at = spoiled.find("Accepted publickey for user-");
  ASSERT_NE(at, std::string::npos);
  spoiled.replace(at + 23, 21, "alice");
  {
    std::ofstream f(dir_.Sub("spoiled.json"));
    f << spoiled;
  }
  Result check = Run({"check", dir_.Sub("spoiled.json")});
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_NE(check.out.find("FAIL  pii-scan: a user name (\"Accepted publickey for alice\")"),
            std::string::npos)
      << check.out;
  Result publish = RunOn("publish", {"--excerpt", dir_.Sub("spoiled.json")});
  EXPECT_EQ(publish.exit_code, 1);
  EXPECT_NE(publish.err.find("fails its release checklist, nothing published: pii-scan: a user"),
            std::string::npos)
      << publish.err;
}

// serve's start-up errors name their cause: --config naming a directory, and a TLS
// certificate or key that is not one (once reported as "the port is in use").
TEST_F(CliTest, ServeNamesABadConfigOrCertificate) {
  Init();
  Result dir =
      Run({"serve", "--data-dir", data_, "--listen", "127.0.0.1:0", "--config", dir_.Sub("")});
  EXPECT_EQ(dir.exit_code, 2);  // a configuration error, as a bad flag
  EXPECT_NE(dir.err.find("is a directory; give the config file itself"), std::string::npos)
      << dir.err;
  {
    std::ofstream(dir_.Sub("bad.crt")) << "not a certificate\n";
    std::ofstream(dir_.Sub("bad.key")) << "not a key\n";
  }
  Result cert = Run({"serve", "--data-dir", data_, "--listen", "127.0.0.1:0", "--tls-cert",
                     dir_.Sub("bad.crt"), "--tls-key", dir_.Sub("bad.key")});
  EXPECT_EQ(cert.exit_code, 1);
  EXPECT_NE(cert.err.find("bad.crt holds no PEM certificate"), std::string::npos) << cert.err;
  EXPECT_EQ(cert.err.find("in use"), std::string::npos) << cert.err;
}

// A log line that carries terminal escapes is published as it was (log bytes are evidence) but
// printed escaped, by ingest-log's errors and by get; --out at a symlink replaces the link and
// never writes through it.
TEST_F(CliTest, LogBytesArePrintedEscapedAndOutputNeverFollowsASymlink) {
  StartNode();
  {
    WriteSanitizeKey();
    std::ofstream log(dir_.Sub("esc.log"));
    log << "Nov 20 11:00:01 host app[1]: \x1b]0;pwned\x07\x1b[2J hello \xe2\x80\xae"
           "gnp.exe\n"
        << "Nov 20 \x1b[31m:00 host app: a time that does not parse\n";
    std::ofstream victim(dir_.Sub("victim.txt"));
    victim << "keep me\n";
  }
  std::filesystem::create_symlink(dir_.Sub("victim.txt"), dir_.Sub("esc.json"));
  Result ingest = Run(
      {"ingest-log", dir_.Sub("esc.log"), "--format", "syslog-3164", "--timezone", "UTC",
       "--sanitize-key", dir_.Sub("sanitize.key"), "--tlp", "green", "--contact", "soc@example.org",
       "--window", "2000-01-01T00:00:00Z..2100-01-01T00:00:00Z", "--out", dir_.Sub("esc.json")});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  EXPECT_EQ(ingest.err.find('\x1b'), std::string::npos) << "an escape reached the terminal";
  EXPECT_NE(ingest.err.find("\\x1B[31m:00"), std::string::npos) << ingest.err;
  EXPECT_EQ(Slurp(dir_.Sub("victim.txt")), "keep me\n");
  EXPECT_FALSE(std::filesystem::is_symlink(dir_.Sub("esc.json")));
  Result published = RunOn("publish", {"--excerpt", dir_.Sub("esc.json"), "--json"});
  ASSERT_EQ(published.exit_code, 0) << published.err;
  const std::size_t at = published.out.find("\"id\":\"") + 6;
  const std::string id = published.out.substr(at, 64);
  Result get = RunOn("get", {id});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out.find('\x1b'), std::string::npos) << get.out;
  EXPECT_EQ(get.out.find("\xe2\x80\xae"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("\\x1B]0;pwned\\x07\\x1B[2J hello \\u{202E}gnp.exe"), std::string::npos)
      << get.out;
}

// The peer TLS key is a secret like the node key: readable by group or others, the node
// refuses to start and says how to fix it; and a process allowed too few descriptors for its
// store's reserve and the connection limits is refused at start, naming what to raise.
TEST_F(CliTest, ServeRefusesAnOpenPeerKeyAndTooFewDescriptors) {
  Init();
  ASSERT_EQ(::chmod((data_ + "/peer.key").c_str(), 0644), 0);
  Result open_key = Run(
      {"serve", "--data-dir", data_, "--listen", "127.0.0.1:0", "--peer-listen", "127.0.0.1:0"});
  EXPECT_EQ(open_key.exit_code, 1);
  EXPECT_NE(open_key.err.find("peer TLS key " + data_ + "/peer.key has mode 0644"),
            std::string::npos)
      << open_key.err;
  ASSERT_EQ(::chmod((data_ + "/peer.key").c_str(), 0600), 0);
  Result few = Run({"sh", "-c",
                    "ulimit -n 200 && exec " + Quote(testing::ThreatmeshBinary()) +
                        " serve --data-dir " + Quote(data_) + " --listen 127.0.0.1:0"},
                   /*binary=*/false);
  EXPECT_EQ(few.exit_code, 1);
  EXPECT_NE(few.err.find("the process may open 200 files (RLIMIT_NOFILE)"), std::string::npos)
      << few.err;
  EXPECT_NE(few.err.find("LimitNOFILE="), std::string::npos) << few.err;
}

// A sanitize key that group or others can read is refused, as the node key is; a raw 32-byte
// key is read as 32 bytes whatever its last byte is (a line feed included).
TEST_F(CliTest, SanitizeKeysAreSecretsAndRawKeysKeepEveryByte) {
  {
    std::ofstream log(dir_.Sub("q.log"));
    log << "20-Nov-2026 11:00:00.123 client 10.0.0.5#53124 (a.example): query: a.example IN A "
           "+ (10.0.0.53)\n";
  }
  auto ingest = [&](const std::string& key) {
    return Run({"ingest-log", dir_.Sub("q.log"), "--format", "bind-query", "--timezone", "UTC",
                "--sanitize-key", key, "--tlp", "green", "--out", dir_.Sub("q.json")});
  };
  auto write_key = [&](const std::string& name, const std::string& bytes, mode_t mode) {
    {
      std::ofstream f(dir_.Sub(name), std::ios::binary | std::ios::trunc);
      f << bytes;
    }
    ::chmod(dir_.Sub(name).c_str(), mode);
    return dir_.Sub(name);
  };
  Result open_key = ingest(write_key("open.key", std::string(32, 'k'), 0644));
  EXPECT_EQ(open_key.exit_code, 1);
  EXPECT_NE(open_key.err.find("has mode 0644 and can be read by group or others"),
            std::string::npos)
      << open_key.err;
  EXPECT_NE(open_key.err.find("chmod 600"), std::string::npos) << open_key.err;
  // 31 'k's and a line feed: a raw key of 32 bytes, not a 31-byte key with a line end.
  Result raw = ingest(write_key("raw.key", std::string(31, 'k') + "\n", 0600));
  EXPECT_EQ(raw.exit_code, 0) << raw.err;
  Result hex = ingest(write_key("hex.key", std::string(64, 'a') + "\n", 0600));
  EXPECT_EQ(hex.exit_code, 0) << hex.err;
  Result short_key = ingest(write_key("short.key", std::string(31, 'k'), 0600));
  EXPECT_EQ(short_key.exit_code, 1);
  EXPECT_NE(short_key.err.find("must hold 32 bytes"), std::string::npos) << short_key.err;
}

// A 200 MB log line without a newline, between two good lines: reported as longer than
// --max-line-bytes and skipped with bounded memory (the peak RSS stays far below the line),
// and the good lines are read.
TEST_F(CliTest, ALineTooLongIsSkippedWithBoundedMemory) {
  {
    WriteSanitizeKey();
    std::ofstream log(dir_.Sub("long.log"), std::ios::binary);
    log << "Nov 20 11:00:01 host app[1]: first\n";
    const std::string block(1 << 20, 'A');
    for (int i = 0; i < 200; ++i) log << block;
    log << "\nNov 20 11:00:02 host app[1]: last";
  }
  const std::string cmd = "/usr/bin/time -f 'peak-kb %M' " + Quote(testing::ThreatmeshBinary()) +
                          " ingest-log " + Quote(dir_.Sub("long.log")) +
                          " --format syslog-3164 --timezone UTC --max-line-bytes 65536 "
                          "--sanitize-key " +
                          Quote(dir_.Sub("sanitize.key")) + " --out " +
                          Quote(dir_.Sub("long.json")) + " </dev/null >/dev/null 2>" +
                          Quote(dir_.Sub("err"));
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status)) << cmd;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const std::string err = Slurp(dir_.Sub("err"));
  EXPECT_NE(err.find("long.log:2: the line is 209715200 bytes, longer than --max-line-bytes "
                     "65536; not parsed"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("2 events from 3 lines (1 did not parse"), std::string::npos) << err;
  const std::size_t at = err.find("peak-kb ");
  ASSERT_NE(at, std::string::npos) << err;
  const long peak_kb = std::stol(err.substr(at + 8));
  EXPECT_LT(peak_kb, 64 * 1024) << "peak RSS " << peak_kb << " KiB for a 200 MB line";
  EXPECT_NE(Slurp(dir_.Sub("long.json")).find("last"), std::string::npos);
}

// export-proof at a node, verify anywhere: valid, then changed (invalid), then not a bundle
// (unusable); a retraction shows in the story.
// 'key rotate' and 'key revoke' work on a stopped node (the store's lock refuses them while
// it serves); the node then serves with its new key, and a record of the revoked key dated
// after its compromise is marked distrusted and fails offline verification, naming why.
TEST_F(CliTest, KeyRotateAndRevoke) {
  StartNode();
  const std::string id = PublishId({"--type", "domain", "--value", "old-key.example.com"});
  ASSERT_FALSE(id.empty());
  const std::string old_key = RunOn("status", {"--json"}).out;
  Result busy = RunOn("key", {"rotate"});
  EXPECT_NE(busy.exit_code, 0);
  EXPECT_NE(busy.err.find("in use by another threatmesh process"), std::string::npos) << busy.err;
  server_->Stop();
  server_.reset();
  Result never = RunOn("key", {"revoke", "--since", "2026-01-01T00:00:00Z"});
  EXPECT_NE(never.exit_code, 0);
  EXPECT_NE(never.err.find("never rotated"), std::string::npos) << never.err;
  Result rotated = RunOn("key", {"rotate", "--json"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(rotated.out, m, std::regex("\"public_key\":\"(tmpk[a-z0-9]+)\"")));
  const std::string new_key = m[1].str();
  EXPECT_EQ(old_key.find(new_key), std::string::npos);
  Result no_since = RunOn("key", {"revoke"});
  EXPECT_NE(no_since.exit_code, 0);
  EXPECT_NE(no_since.err.find("--since is required"), std::string::npos) << no_since.err;
  Result revoked =
      RunOn("key", {"revoke", "--since", "2020-01-01T00:00:00Z", "--reason", "laptop stolen"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_NE(revoked.out.find("revoked"), std::string::npos) << revoked.out;

  absl::StatusOr<std::unique_ptr<testing::ServeProcess>> server =
      testing::ServeProcess::Start(data_);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = std::move(*server);
  Result status = RunOn("status", {"--json"});
  EXPECT_NE(status.out.find(new_key), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("\"key-rotation\":1"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("\"key-revocation\":1"), std::string::npos) << status.out;
  Result get = RunOn("get", {id});
  EXPECT_NE(get.out.find("distrusted"), std::string::npos) << get.out;
  ASSERT_EQ(RunOn("export-proof", {id, "--out", dir_.Sub("old.json")}).exit_code, 0);
  Result verify = Run({"verify", dir_.Sub("old.json")});
  EXPECT_EQ(verify.exit_code, 1) << verify.out;
  EXPECT_NE(verify.out.find("revoked since"), std::string::npos) << verify.out;
  EXPECT_NE(verify.out.find("laptop stolen"), std::string::npos) << verify.out;
  // While the node serves, a revocation goes through its API (admin) and out to its peers.
  Result online =
      Run({"key", "revoke", "--online", "--node", server_->address(), "--data-dir", data_,
           "--since", "2019-06-01T00:00:00Z", "--reason", "earlier than thought"});
  ASSERT_EQ(online.exit_code, 0) << online.err;
  EXPECT_NE(online.out.find("passes it to its peers"), std::string::npos) << online.out;
  EXPECT_NE(RunOn("status", {"--json"}).out.find("\"key-revocation\":2"), std::string::npos);
  Result in_use = Run({"key", "revoke", "--online", "--node", server_->address(), "--data-dir",
                       data_, "--since", "2019-06-01T00:00:00Z", "--key", new_key});
  EXPECT_NE(in_use.exit_code, 0);
  EXPECT_NE(in_use.err.find("rotate first"), std::string::npos) << in_use.err;
}

TEST_F(CliTest, ExportProofAndVerifyOffline) {
  StartNode();
  const std::string id = PublishId({"--type", "domain", "--value", "proof.example.com"});
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(RunOn("retract", {id, "--reason", "false positive"}).exit_code, 0);
  Result exported = RunOn("export-proof", {id, "--out", dir_.Sub("proof.json")});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  // No node, no data directory.
  Result ok = Run({"verify", dir_.Sub("proof.json")});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("verdict: VALID"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("retracted by its author"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("copy 1: the author's own"), std::string::npos) << ok.out;
  Result json = Run({"verify", dir_.Sub("proof.json"), "--json"});
  EXPECT_EQ(json.exit_code, 0);
  EXPECT_NE(json.out.find("\"verdict\":\"valid\""), std::string::npos) << json.out;

  std::string text = Slurp(dir_.Sub("proof.json"));
  const std::size_t sig = text.find("\"signature\": \"") + 15;
  text[sig] = text[sig] == '0' ? '1' : '0';
  {
    std::ofstream changed(dir_.Sub("changed.json"));
    changed << text;
    std::ofstream junk(dir_.Sub("junk.json"));
    junk << "{\"format\": 3}";
  }
  Result bad = Run({"verify", dir_.Sub("changed.json")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("FAIL  signature"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("verdict: INVALID"), std::string::npos) << bad.out;
  Result junk = Run({"verify", dir_.Sub("junk.json")});
  EXPECT_EQ(junk.exit_code, 2);
  EXPECT_NE(junk.out.find("verdict: UNUSABLE"), std::string::npos) << junk.out;
  EXPECT_EQ(Run({"verify", dir_.Sub("absent.json")}).exit_code, 2);

  // The audit trail, exported, checks offline the same way; a changed entry is found.
  Result trail = RunOn("audit", {"export", "--out", dir_.Sub("trail.json")});
  ASSERT_EQ(trail.exit_code, 0) << trail.err;
  Result intact = Run({"verify", dir_.Sub("trail.json")});
  EXPECT_EQ(intact.exit_code, 0) << intact.out;
  EXPECT_NE(intact.out.find("verdict: VALID, the trail is intact"), std::string::npos)
      << intact.out;
  EXPECT_NE(intact.out.find("hash-chained without a gap"), std::string::npos) << intact.out;
  std::string audit = Slurp(dir_.Sub("trail.json"));
  const std::size_t entry = audit.find("\"entry\": \"") + 20;
  audit[entry] = audit[entry] == '0' ? '1' : '0';
  std::ofstream(dir_.Sub("trail-changed.json")) << audit;
  Result altered = Run({"verify", dir_.Sub("trail-changed.json")});
  EXPECT_EQ(altered.exit_code, 1) << altered.out;
  EXPECT_NE(altered.out.find("FAIL  entries"), std::string::npos) << altered.out;
}

// An access log larger than one record: ingest-log writes it in parts with a list, and
// indicator proposals; publish takes the list and the reviewed proposals, publishes the
// indicators, then every part linked to the first, which lists the indicators.
TEST_F(CliTest, ALargeExcerptIsPublishedInLinkedPartsWithReviewedIndicators) {
  StartNode();
  constexpr int kLines = 1500;
  {
    WriteSanitizeKey();
    std::ofstream log(dir_.Sub("access.log"));
    for (int i = 0; i < kLines; ++i) {
      char when[64];
      std::snprintf(when, sizeof when, "20/Nov/2026:10:%02d:%02d +0000", i / 60 % 60, i % 60);
      log << (i % 3   ? "10.0.0.5"
              : i % 2 ? "203.0.113.9"
                      : "198.51.100.4")
          << " - - [" << when
          << "] \"GET /login?user=bob&password=hunter2 HTTP/1.1\" 200 512 \"-\" \""
          << (i % 3 ? "Mozilla/5.0" : "EvilBot/1.0") << "\"\n";
    }
  }
  std::vector<std::string> args = {"ingest-log",
                                   dir_.Sub("access.log"),
                                   "--format",
                                   "auto",
                                   "--sanitize-key",
                                   dir_.Sub("sanitize.key"),
                                   "--tlp",
                                   "green",
                                   "--contact",
                                   "soc@example.org",
                                   "--max-record-bytes",
                                   "65536"};
  // Without --out an excerpt of several parts has nowhere to go.
  Result no_out = Run(args);
  EXPECT_EQ(no_out.exit_code, 1);
  EXPECT_NE(no_out.err.find("give --out FILE"), std::string::npos) << no_out.err;
  args.insert(args.end(),
              {"--out", dir_.Sub("excerpt.json"), "--emit-indicators", dir_.Sub("proposed.jsonl")});
  Result ingest = Run(args);
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(ingest.err, m, std::regex("in ([0-9]+) parts listed in")))
      << ingest.err;
  const int parts = std::stoi(m[1].str());
  EXPECT_GE(parts, 3);
  EXPECT_NE(ingest.err.find("every part passed its release checklist"), std::string::npos)
      << ingest.err;
  EXPECT_NE(Slurp(dir_.Sub("excerpt.json")).find("excerpt.part-0001.json"), std::string::npos);
  for (int i = 1; i <= parts; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "excerpt.part-%04d.json", i);
    const std::string part = Slurp(dir_.Sub(name));
    ASSERT_FALSE(part.empty()) << name;
    for (const char* secret : {"10.0.0.5", "hunter2", "bob"}) {
      EXPECT_EQ(part.find(secret), std::string::npos) << name << ": " << secret;
    }
  }
  Result check = Run({"check", dir_.Sub("excerpt.json")});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find(StrCat("part ", parts, " of ", parts)), std::string::npos);

  // The proposals: the two external clients and both agents, never the internal client.
  const std::string proposed = Slurp(dir_.Sub("proposed.jsonl"));
  EXPECT_EQ(proposed.find("10.0.0.5"), std::string::npos) << proposed;
  EXPECT_NE(proposed.find("\"value\":\"203.0.113.9\",\"count\":250"), std::string::npos)
      << proposed;
  EXPECT_NE(proposed.find("198.51.100.4"), std::string::npos) << proposed;
  // The analyst keeps only the lines naming EvilBot and 203.0.113.9.
  {
    std::ofstream reviewed(dir_.Sub("reviewed.jsonl"));
    std::istringstream lines(proposed);
    reviewed << "# reviewed by the analyst\n";
    for (std::string line; std::getline(lines, line);) {
      if (line.find("EvilBot") != std::string::npos ||
          line.find("203.0.113.9") != std::string::npos) {
        reviewed << line << "\n";
      }
    }
  }
  // A missing part, or a bad proposal line, publishes nothing.
  const long before = StoredCount();
  std::filesystem::rename(dir_.Sub("excerpt.part-0002.json"), dir_.Sub("aside.json"));
  Result missing = RunOn("publish", {"--excerpt", dir_.Sub("excerpt.json")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("cannot read excerpt file"), std::string::npos) << missing.err;
  std::filesystem::rename(dir_.Sub("aside.json"), dir_.Sub("excerpt.part-0002.json"));
  {
    std::ofstream bad(dir_.Sub("bad.jsonl"));
    bad << "{\"type\":\"ipv4\",\"value\":\"999.1.1.1\"}\n";
  }
  Result bad = RunOn(
      "publish", {"--excerpt", dir_.Sub("excerpt.json"), "--indicators", dir_.Sub("bad.jsonl")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("bad.jsonl:1:"), std::string::npos) << bad.err;
  EXPECT_EQ(StoredCount(), before);

  Result published = RunOn("publish", {"--excerpt", dir_.Sub("excerpt.json"), "--indicators",
                                       dir_.Sub("reviewed.jsonl"), "--json"});
  ASSERT_EQ(published.exit_code, 0) << published.err;
  EXPECT_EQ(StoredCount(), before + parts + 2);
  ASSERT_TRUE(std::regex_search(published.out, m, std::regex("\"id\":\"([0-9a-f]{64})\"")));
  const std::string first = m[1].str();
  std::vector<std::string> ids;
  const std::regex hex_id("\"([0-9a-f]{64})\"");
  for (std::sregex_iterator it(published.out.begin(), published.out.end(), hex_id), end; it != end;
       ++it) {
    ids.push_back((*it)[1].str());
  }
  // id, the parts, then the indicators.
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(1 + parts + 2)) << published.out;
  Result got = RunOn("get", {first, "--json"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_NE(got.out.find(StrCat("\"part_count\":", parts)), std::string::npos) << got.out;
  // The first part lists the published indicators (base64 in the JSON form).
  EXPECT_NE(got.out.find("\"indicator_ids\""), std::string::npos) << got.out;
  EXPECT_NE(got.out.find(StrCat("(part 1 of ", parts, ")")), std::string::npos) << got.out;
  Result last = RunOn("get", {ids[parts]});
  ASSERT_EQ(last.exit_code, 0) << last.err;
  EXPECT_NE(last.out.find(StrCat("part        ", parts, " of ", parts, ", first part ", first)),
            std::string::npos)
      << last.out;
  Result shown = RunOn("get", {first});
  for (std::size_t i = 1 + parts; i < ids.size(); ++i) {
    EXPECT_NE(shown.out.find(StrCat("indicator   ", ids[i], " (drawn from this excerpt)")),
              std::string::npos)
        << shown.out;
  }
  Result tagged = RunOn("search", {"--tag", "log-excerpt"});
  EXPECT_NE(tagged.out.find("203.0.113.9"), std::string::npos) << tagged.out;
  EXPECT_NE(tagged.out.find("EvilBot/1.0"), std::string::npos) << tagged.out;
  EXPECT_EQ(tagged.out.find("198.51.100.4"), std::string::npos) << tagged.out;
}

}  // namespace
}  // namespace threatmesh
