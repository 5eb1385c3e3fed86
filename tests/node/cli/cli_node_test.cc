// The CLI's node commands as a user runs them, on the real binary: init, publish, get and
// search, errors, passphrases, help, peers, serve's start-up refusals, key rotation and
// revocation, proof export and offline verification.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/keys.h"
#include "crypto/str_cat.h"
#include "node/cli/cli_fixture.h"

namespace threatmesh {
namespace {

using testing::CliTest;
using testing::Quote;
using testing::Result;
using testing::Slurp;

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

}  // namespace
}  // namespace threatmesh
