#include "node/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "crypto/keys.h"
#include "testing/test_util.h"

namespace threatmesh {
namespace {

absl::StatusOr<ServeConfig> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "serve");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  bool help = false;
  std::string text;
  return ParseServeConfig(static_cast<int>(argv.size()), argv.data(), &help, &text);
}

TEST(ConfigTest, DefaultsAreLoopbackAndDocumented) {
  absl::StatusOr<ServeConfig> c = Parse({"--data-dir", "/tmp/x"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "127.0.0.1:7420");
  EXPECT_EQ(c->data_dir, "/tmp/x");
  EXPECT_FALSE(c->allow_insecure_remote);
  EXPECT_EQ(c->max_record_bytes, 1u << 20);
  EXPECT_EQ(c->audit_checkpoint_interval.count(), 60);
  EXPECT_EQ(c->log_format, LogFormat::kText);
  absl::StatusOr<ServeConfig> json = Parse({"--data-dir", "/tmp/x", "--log-format", "json"});
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(json->log_format, LogFormat::kJson);
}

TEST(ConfigTest, FileValuesApplyAndFlagsWin) {
  testing::TempDir dir;
  std::ofstream(dir.Sub("tm.conf")) << "# a comment\nlisten = 127.0.0.2:9000\n"
                                       "max-record-bytes = 2048\ndata-dir = /from/file\n";
  absl::StatusOr<ServeConfig> c =
      Parse({"--config", dir.Sub("tm.conf"), "--data-dir", "/from/flag"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "127.0.0.2:9000");
  EXPECT_EQ(c->max_record_bytes, 2048u);
  EXPECT_EQ(c->data_dir, "/from/flag");
}

TEST(ConfigTest, BadOptionsNameTheOptionAndWhatIsExpected) {
  testing::TempDir dir;
  std::ofstream(dir.Sub("unknown.conf")) << "listen = 127.0.0.1:1\ncolour = red\n";
  struct Case {
    std::vector<std::string> args;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {{"--config", dir.Sub("unknown.conf")}, "colour"},
      {{"--config", dir.Sub("missing.conf")}, "cannot read config file"},
      {{"--colour", "red"}, "colour"},
      {{"--listen", "nope"}, "expected host:port"},
      {{"--listen", "127.0.0.1:70000"}, "0 to 65535"},
      {{"--listen", "0.0.0.0:7420"}, "not a loopback address and TLS is off"},
      {{"--listen", "192.0.2.1:7420"}, "allow-insecure-remote"},
      {{"--max-message-bytes", "abc"}, "option max-message-bytes = \"abc\""},
      {{"--max-message-bytes", "10"}, "from 65536"},
      {{"--audit-checkpoint-seconds", "0"}, "audit-checkpoint-seconds"},
      {{"--allow-insecure-remote", "maybe"}, "expected true or false"},
      {{"--tls-cert", "/x.pem"}, "tls-cert and tls-key go together"},
      {{"--peer-tls-key", "/k.pem"}, "peer-tls-cert and peer-tls-key go together"},
      {{"--peer-listen", "7421"}, "expected host:port"},
      {{"--peer-listen", "0.0.0.0:7421", "--insecure-peering", "true"}, "loopback addresses only"},
      {{"--log-format", "xml"}, "log-format = xml: give text or json"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ServeConfig> r = Parse(c.args);
    ASSERT_FALSE(r.ok()) << c.args[0] << " " << c.args[1];
    EXPECT_NE(r.status().message().find(c.message_part), std::string::npos)
        << c.args[1] << ": " << r.status();
  }
}

TEST(ConfigTest, PeerSectionsDefinePeers) {
  testing::TempDir dir;
  const std::string key = crypto::KeyPair::Generate().public_key().ToText();
  std::ofstream(dir.Sub("p.conf")) << "[outbound.partners]\nmax-tlp = green\n"
                                      "[peer.hub]\nkey = "
                                   << key << "\naddress = 192.0.2.1:7421\npolicy = partners\n";
  absl::StatusOr<ServeConfig> c = Parse({"--config", dir.Sub("p.conf")});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->peers.size(), 1u);
  EXPECT_EQ(c->peers[0].name(), "hub");
  EXPECT_EQ(c->peers[0].address(), "192.0.2.1:7421");
  EXPECT_EQ(c->peers[0].policy(), "partners");
  EXPECT_TRUE(c->peers[0].from_config());
  const std::pair<std::string, std::string> bad[] = {
      {"[peer.x]\naddress = 192.0.2.1:1\n", "has no key"},
      {"[peer.x]\nkey = tmpkoops\n", "[peer.x] key"},
      {"[peer.x]\nkey = " + key + "\npolicy = nope\n", "no [outbound.nope] section"},
      {"[peer.x]\nkey = " + key + "\ninbound-policy = nope\n", "no [inbound.nope] section"},
      {"[peer.x]\nkey = " + key + "\ncolour = red\n", "unknown setting \"colour\""},
  };
  for (const auto& [text, message] : bad) {
    std::ofstream(dir.Sub("bad.conf")) << text;
    absl::StatusOr<ServeConfig> r = Parse({"--config", dir.Sub("bad.conf")});
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().message().find(message), std::string::npos) << r.status();
  }
}

TEST(ConfigTest, TaxiiCollectionSectionsDefineCollections) {
  testing::TempDir dir;
  const crypto::PublicKey key = crypto::KeyPair::Generate().public_key();
  std::ofstream(dir.Sub("t.conf"))
      << "taxii-listen = 127.0.0.1:9443\n[taxii.collection.partners]\ntitle = For partners\n"
         "max-tlp = green\nkinds = indicator, sighting\ntypes = domain,ipv4\ntags = apt1\n"
         "communities = finance-isac\nauthors = "
      << key.ToText() << "\nreaders = opencti, siem\nwriters = feeder\n";
  absl::StatusOr<ServeConfig> c = Parse({"--config", dir.Sub("t.conf")});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->taxii_listen, "127.0.0.1:9443");
  ASSERT_EQ(c->taxii_collections.size(), 1u);
  const TaxiiCollectionConfig& t = c->taxii_collections[0];
  EXPECT_EQ(t.name, "partners");
  EXPECT_EQ(t.title, "For partners");
  EXPECT_EQ(t.max_tlp, threatmesh::v1::TLP_GREEN);
  EXPECT_EQ(t.kinds, (std::set<threatmesh::v1::RecordKind>{threatmesh::v1::RECORD_KIND_INDICATOR,
                                                           threatmesh::v1::RECORD_KIND_SIGHTING}));
  EXPECT_EQ(t.types,
            (std::set<threatmesh::v1::IndicatorType>{threatmesh::v1::INDICATOR_TYPE_DOMAIN,
                                                     threatmesh::v1::INDICATOR_TYPE_IPV4}));
  EXPECT_EQ(t.tags, std::set<std::string>{"apt1"});
  EXPECT_EQ(t.communities, std::set<std::string>{"finance-isac"});
  EXPECT_EQ(t.authors, std::set<std::string>{std::string(key.bytes())});
  EXPECT_EQ(t.readers, (std::set<std::string>{"opencti", "siem"}));
  EXPECT_EQ(t.writers, std::set<std::string>{"feeder"});
  const std::pair<std::string, std::string> bad[] = {
      {"[taxii.collection.x]\nmax-tlp = white-ish\n", "[taxii.collection.x] max-tlp"},
      {"[taxii.collection.x]\ntypes = domain, colour\n", "[taxii.collection.x] types"},
      {"[taxii.collection.x]\nkinds = rumour\n", "no record kind rumour"},
      {"[taxii.collection.x]\nauthors = tmpkoops\n", "[taxii.collection.x] authors"},
      {"[taxii.collection.x]\ncolour = red\n", "unknown setting \"colour\""},
      {"taxii-listen = 192.0.2.1:9443\n", "not a loopback address"},
  };
  for (const auto& [text, message] : bad) {
    std::ofstream(dir.Sub("bad.conf")) << text;
    absl::StatusOr<ServeConfig> r = Parse({"--config", dir.Sub("bad.conf")});
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().message().find(message), std::string::npos) << r.status();
  }
}

TEST(ConfigTest, PolicySectionsDefineNamedPolicies) {
  testing::TempDir dir;
  std::ofstream(dir.Sub("p.conf")) << "listen = 127.0.0.1:1\n"
                                      "[outbound.partners]\nmax-tlp = amber\n"
                                      "tags-exclude = internal, draft\n"
                                      "[inbound.strict]\naccept-authors = peer\n";
  absl::StatusOr<ServeConfig> c = Parse({"--config", dir.Sub("p.conf")});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(c->outbound_policies.count("partners"));
  EXPECT_EQ(c->outbound_policies.at("partners").max_tlp, v1::TLP_AMBER);
  EXPECT_EQ(c->outbound_policies.at("partners").tags_exclude.size(), 2u);
  EXPECT_TRUE(c->outbound_policies.count("default"));
  ASSERT_TRUE(c->inbound_policies.count("strict"));
  EXPECT_EQ(c->inbound_policies.at("strict").accept, AcceptAuthors::kPeerOnly);

  std::ofstream(dir.Sub("bad.conf")) << "[outbound.partners]\nmax-tlp = white\n";
  absl::StatusOr<ServeConfig> bad = Parse({"--config", dir.Sub("bad.conf")});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("policy \"partners\": max-tlp = \"white\""),
            std::string::npos)
      << bad.status();
  std::ofstream(dir.Sub("section.conf")) << "[outgoing.partners]\nmax-tlp = green\n";
  absl::StatusOr<ServeConfig> section = Parse({"--config", dir.Sub("section.conf")});
  ASSERT_FALSE(section.ok());
  EXPECT_NE(section.status().message().find("unknown option \"outgoing.partners.max-tlp\""),
            std::string::npos)
      << section.status();
}

TEST(ConfigTest, RemoteListenNeedsTlsOrAnExplicitFlag) {
  EXPECT_TRUE(Parse({"--listen", "0.0.0.0:7420", "--allow-insecure-remote", "true"}).ok());
  EXPECT_TRUE(Parse({"--listen", "0.0.0.0:7420", "--tls-cert", "a", "--tls-key", "b"}).ok());
  EXPECT_TRUE(Parse({"--listen", "[::1]:7420"}).ok());
  EXPECT_TRUE(Parse({"--listen", "localhost:7420"}).ok());
  EXPECT_TRUE(IsLoopbackHost("127.8.9.10"));
  EXPECT_FALSE(IsLoopbackHost("::2"));
  EXPECT_FALSE(IsLoopbackHost("example.com"));
}

// deploy/threatmesh.conf.example documents every option with its default: each option
// appears in it, and the file as shipped parses to the defaults.
TEST(ConfigTest, ExampleFileListsEveryOptionWithItsDefault) {
  const std::string path = std::string(THREATMESH_SOURCE_DIR) + "/deploy/threatmesh.conf.example";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  for (const OptionDoc& o : ServeOptionDocs()) {
    EXPECT_TRUE(std::regex_search(text.str(), std::regex("(^|\n)#? ?" + o.name + " =")))
        << o.name << " is missing from " << path;
  }
  absl::StatusOr<ServeConfig> shipped = Parse({"--config", path, "--data-dir", "/d"});
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  absl::StatusOr<ServeConfig> defaults = Parse({"--data-dir", "/d"});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(shipped->listen, defaults->listen);
  EXPECT_EQ(shipped->max_message_bytes, defaults->max_message_bytes);
  EXPECT_EQ(shipped->max_record_bytes, defaults->max_record_bytes);
  EXPECT_EQ(shipped->max_clock_skew, defaults->max_clock_skew);
  EXPECT_EQ(shipped->audit_checkpoint_interval, defaults->audit_checkpoint_interval);
  EXPECT_EQ(shipped->allow_insecure_remote, defaults->allow_insecure_remote);
}

}  // namespace
}  // namespace threatmesh
