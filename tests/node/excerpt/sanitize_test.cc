#include "node/excerpt/sanitize.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <random>

#include "node/excerpt/log_formats.h"

namespace threatmesh {
namespace {

using threatmesh::v1::LogEvent;

class SanitizeTest : public ::testing::Test {
 protected:
  SanitizeTest()
      : pan_(*crypto::CryptoPan::Create(std::string(32, 'p'))),
        names_(*crypto::Pseudonyms::Create(std::string(32, 'n'))) {
    options_.internal_suffixes = {"corp.example"};
  }

  // Parses `text` with `format` and sanitizes every line into an excerpt.
  threatmesh::v1::LogExcerpt Excerpt(const char* format, const std::string& text,
                                     Sanitizer& sanitizer) {
    LogParserOptions parser_options;
    parser_options.timezone = "UTC";
    std::unique_ptr<LogParser> parser = *MakeLogParser(format, parser_options);
    threatmesh::v1::LogExcerpt excerpt;
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find('\n', start);
      const std::string line = text.substr(start, end - start);
      start = end == std::string::npos ? text.size() : end + 1;
      ParsedLine p = parser->Parse(line);
      if (p.kind != ParsedLine::Kind::kEvent) continue;
      excerpt.add_lines(sanitizer.Sanitize(p.event, line));
      *excerpt.add_events() = p.event;
    }
    for (auto& step : sanitizer.Manifest()) *excerpt.add_manifest() = step;
    return excerpt;
  }

  crypto::CryptoPan pan_;
  crypto::Pseudonyms names_;
  SanitizeOptions options_;
};

// Three real formats with internal addresses (IPv4 and IPv6), internal names, users, a
// password, a cookie and query strings: none of them survives anywhere in the serialized
// excerpt, the external indicators do, and the manifest names every transformed field.
TEST_F(SanitizeTest, NothingInternalOrSecretSurvivesTheSerializedExcerpt) {
  Sanitizer sanitizer(options_, pan_, names_);
  threatmesh::v1::LogExcerpt dns =
      Excerpt("bind-query",
              "20-Nov-2026 10:00:00.123 client @0x7f3a2c0a1b40 10.0.0.5#53124 (DB01.corp.example): "
              "query: DB01.corp.example IN A + (fd00::53)\n"
              "20-Nov-2026 10:00:01.000 client 192.168.7.20#5000 (c2.evil-example.com): query: "
              "c2.evil-example.com IN A + (10.0.0.53)\n",
              sanitizer);
  threatmesh::v1::LogExcerpt http = Excerpt(
      "zeek-http",
      "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\thost\turi\t"
      "referrer\tuser_agent\tstatus_code\tusername\tpassword\n"
      "1795168800.0\tCh\t10.0.0.7\t50000\t203.0.113.20\t80\tGET\tevil.example\t"
      "/dl?id=7&token=s3cret\thttp://wiki.corp.example/page?session=abc123\tcurl/8.4.0\t200\t"
      "bobby\thunter2\n",
      sanitizer);
  threatmesh::v1::LogExcerpt web =
      Excerpt("nginx-combined",
              "172.16.4.4 - alice [20/Nov/2026:10:00:00 +0000] \"GET /login?user=alice&pw=letmein "
              "HTTP/1.1\" 200 10 \"-\" \"Mozilla/5.0\"\n",
              sanitizer);
  LogEvent with_cookie;
  with_cookie.set_time(1);
  auto* cookie = with_cookie.add_fields();
  cookie->set_name("http_request.cookie");
  cookie->set_value("SID=31d4d96e407aad42");
  const std::string cookie_line = sanitizer.Sanitize(with_cookie, "Cookie: SID=31d4d96e407aad42");

  const std::string all = dns.SerializeAsString() + http.SerializeAsString() +
                          web.SerializeAsString() + with_cookie.SerializeAsString() + cookie_line;
  for (const char* secret :
       {"10.0.0.5", "10.0.0.53", "fd00::53", "192.168.7.20", "10.0.0.7", "172.16.4.4",
        "DB01.corp.example", "db01.corp.example", "wiki.corp.example", "corp.example", "bobby",
        "alice", "hunter2", "token=s3cret", "s3cret", "session=abc123", "letmein",
        "31d4d96e407aad42"}) {
    EXPECT_EQ(all.find(secret), std::string::npos) << secret << " survived";
  }
  // What is worth sharing stays: external addresses, names, the user agent.
  for (const char* kept : {"c2.evil-example.com", "203.0.113.20", "evil.example", "curl/8.4.0",
                           "/dl", "Mozilla/5.0"}) {
    EXPECT_NE(all.find(kept), std::string::npos) << kept << " was lost";
  }
  // Same input, same pseudonym: the client of both DNS lines' server is one address.
  EXPECT_EQ(*EventFieldValue(dns.events(1), "dst_endpoint.ip"), *pan_.AnonymizeText("10.0.0.53"));
  EXPECT_EQ(*EventFieldValue(dns.events(0), "query.hostname"),
            names_.Of("host", "db01.corp.example"));
  EXPECT_EQ(EventFieldValue(http.events(0), "user.password"), nullptr);  // removed, not blank
  EXPECT_EQ(EventFieldValue(http.events(0), "url.query_string"), nullptr);

  std::map<std::pair<std::string, std::string>, std::string> manifest;  // (field, method) -> key
  for (const auto& step : sanitizer.Manifest()) {
    manifest[{step.field(), step.method()}] = step.key_id();
  }
  const std::string prefix = "anonymize-prefix-preserving";
  auto key_of = [&](const std::string& field, const std::string& method) {
    auto it = manifest.find({field, method});
    return it == manifest.end() ? std::string("<no step>") : it->second;
  };
  EXPECT_EQ(key_of("src_endpoint.ip", prefix), pan_.key_id());
  EXPECT_EQ(key_of("dst_endpoint.ip", prefix), pan_.key_id());
  EXPECT_EQ(key_of("query.hostname", "pseudonymize"), names_.key_id());
  EXPECT_EQ(key_of("user.name", "pseudonymize"), names_.key_id());
  for (const char* removed :
       {"user.password", "url.query_string", "http_request.cookie", "http_request.referrer"}) {
    EXPECT_TRUE(manifest.count({removed, "remove"})) << removed;
  }
  // The referrer lost its query string and had its internal host pseudonymized: two steps.
  EXPECT_EQ(key_of("http_request.referrer", "pseudonymize"), names_.key_id());
  for (const auto& [key, id] : manifest) {
    EXPECT_NE(key.first, "url.hostname") << "evil.example is not internal";
  }
}

// User names in syslog messages get the pseudonyms of user.name fields, the same name the
// same pseudonym in every message, field and line; a name learned in a first pass is replaced
// on a line above the one that names it, in a shape the finder does not know.
TEST_F(SanitizeTest, UserNamesInMessagesArePseudonymized) {
  const std::string log =
      "Nov 20 10:59:50 bastion myapp[77]: quota warning: alice at 91%\n"
      "Nov 20 11:00:01 bastion sshd[1001]: Accepted publickey for alice from 203.0.113.7 port "
      "52144 ssh2\n"
      "Nov 20 11:00:02 bastion sudo: grace : TTY=pts/1 ; PWD=/home/grace ; USER=root ; "
      "COMMAND=/usr/bin/id\n";
  LogParserOptions parser_options;
  parser_options.timezone = "UTC";
  parser_options.now_ms = 1795168800000;
  Sanitizer sanitizer(options_, pan_, names_);
  {
    std::unique_ptr<LogParser> parser = *MakeLogParser("syslog-3164", parser_options);
    for (std::size_t start = 0, end; (end = log.find('\n', start)) != std::string::npos;
         start = end + 1) {
      const std::string line = log.substr(start, end - start);
      sanitizer.LearnUsers(parser->Parse(line).event, line);
    }
  }
  EXPECT_EQ(sanitizer.known_users(), (absl::flat_hash_set<std::string>{"alice", "grace", "root"}));
  threatmesh::v1::LogExcerpt x = Excerpt("syslog-3164", log, sanitizer);
  const std::string alice = names_.Of("user", "alice");
  const std::string grace = names_.Of("user", "grace");
  ASSERT_EQ(x.lines_size(), 3);
  EXPECT_EQ(x.lines(0), "Nov 20 10:59:50 bastion myapp[77]: quota warning: " + alice + " at 91%");
  EXPECT_EQ(x.lines(1), "Nov 20 11:00:01 bastion sshd[1001]: Accepted publickey for " + alice +
                            " from 203.0.113.7 port 52144 ssh2");
  EXPECT_EQ(x.lines(2), "Nov 20 11:00:02 bastion sudo: " + grace + " : TTY=pts/1 ; PWD=/home/" +
                            grace + " ; USER=" + names_.Of("user", "root") +
                            " ; COMMAND=/usr/bin/id");
  const std::string* message = EventFieldValue(x.events(1), "message");
  ASSERT_NE(message, nullptr);
  EXPECT_EQ(*message, "Accepted publickey for " + alice + " from 203.0.113.7 port 52144 ssh2");
  bool listed = false;
  for (const auto& step : x.manifest()) {
    listed = listed || (step.field() == "message" && step.method() == "pseudonymize" &&
                        step.key_id() == names_.key_id());
  }
  EXPECT_TRUE(listed);

  // Without the first pass, the line above is left for the checklist to find.
  Sanitizer unlearned(options_, pan_, names_);
  threatmesh::v1::LogExcerpt y = Excerpt("syslog-3164", log, unlearned);
  EXPECT_NE(y.lines(0).find("alice"), std::string::npos);
  EXPECT_EQ(y.lines(1), x.lines(1));
}

TEST_F(SanitizeTest, RangesAndNames) {
  Sanitizer s(options_, pan_, names_);
  for (const char* internal : {"10.1.2.3", "172.31.255.255", "192.168.0.1", "100.64.0.1",
                               "127.0.0.1", "169.254.1.1", "fd12::1", "::1", "fe80::1"}) {
    EXPECT_TRUE(s.IsInternalAddress(internal)) << internal;
  }
  for (const char* external : {"172.32.0.1", "8.8.8.8", "2001:db8::1", "not-an-address"}) {
    EXPECT_FALSE(s.IsInternalAddress(external)) << external;
  }
  EXPECT_TRUE(s.IsInternalName("corp.example"));
  EXPECT_TRUE(s.IsInternalName("A.B.Corp.Example."));
  EXPECT_FALSE(s.IsInternalName("notcorp.example"));
  EXPECT_FALSE(s.IsInternalName("corp.example.evil"));
  EXPECT_EQ(ParseAddressRange("10.0.0.0/33").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseAddressRange("10.0.0.0").status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<AddressRange> custom = ParseAddressRange("198.51.100.0/24");
  ASSERT_TRUE(custom.ok());
  SanitizeOptions only;
  only.internal_ranges = {*custom};
  Sanitizer narrow(only, pan_, names_);
  EXPECT_TRUE(narrow.IsInternalAddress("198.51.100.77"));
  EXPECT_FALSE(narrow.IsInternalAddress("10.0.0.1"));
}

// An IPv4 address written with its port ("10.1.2.3:51234", a colon being an address
// character) is found like any other, by the sanitizer and by the checklist's scan; the port
// stays. An IPv6 address with a port is bracketed, and found as well.
TEST_F(SanitizeTest, AddressesWithPortsAreFound) {
  Sanitizer sanitizer(options_, pan_, names_);
  threatmesh::v1::LogExcerpt x =
      Excerpt("syslog-5424",
              "<34>1 2026-11-20T10:00:00Z host sshd 123 - - Failed password for root from "
              "10.1.2.3:51234 to 192.168.1.1:22, [fd00::5]:22 and 172.16.0.9.:80\n",
              sanitizer);
  const std::string serialized = x.SerializeAsString();
  for (const char* internal : {"10.1.2.3", "192.168.1.1", "fd00::5", "172.16.0.9"}) {
    EXPECT_EQ(serialized.find(internal), std::string::npos) << internal << "\n" << x.lines(0);
  }
  EXPECT_NE(x.lines(0).find(":51234 to "), std::string::npos) << x.lines(0);
  EXPECT_NE(x.lines(0).find("]:22 and "), std::string::npos) << x.lines(0);
  bool addresses = false, names = false;
  EXPECT_TRUE(sanitizer.HasInternal("from 10.1.2.3:51234", &addresses, &names));
  EXPECT_TRUE(addresses);
  EXPECT_FALSE(sanitizer.HasInternal("from 8.8.8.8:53 and 2001:db8::1", &addresses, &names));
}

// IPv4 text is read by the sanitizer's own parser: it takes exactly what inet_pton takes,
// checked on random strings of digits and dots (and a few fixed edge cases).
TEST_F(SanitizeTest, AddressesAreReadAsInetPtonReadsThem) {
  absl::StatusOr<AddressRange> everything = ParseAddressRange("0.0.0.0/0");
  ASSERT_TRUE(everything.ok());
  SanitizeOptions all;
  all.internal_ranges = {*everything};
  Sanitizer s(all, pan_, names_);
  auto pton = [](const std::string& text) {
    unsigned char buf[4];
    return inet_pton(AF_INET, text.c_str(), buf) == 1;
  };
  for (const char* text :
       {"0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3.04", "1.2.3", "1.2.3.4.5",
        "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4a", "1000.1.1.1", "0.0.0.00", "192.168.1.1"}) {
    EXPECT_EQ(s.IsInternalAddress(text), pton(text)) << text;
  }
  std::mt19937 random(7);
  const std::string alphabet = "0123456789.";
  int valid = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    const int length = 2 + static_cast<int>(random() % 14);
    for (int k = 0; k < length; ++k) text.push_back(alphabet[random() % alphabet.size()]);
    if (i % 3 == 0) {  // more plausible candidates: four octets
      text = std::to_string(random() % 300) + "." + std::to_string(random() % 300) + "." +
             std::to_string(random() % 300) + "." + (random() % 5 ? "" : "0") +
             std::to_string(random() % 300);
    }
    ASSERT_EQ(s.IsInternalAddress(text), pton(text)) << text;
    valid += pton(text);
  }
  EXPECT_GT(valid, 1000);  // the comparison saw many addresses, not only refusals
}

// HasInternal answers in one pass what HasInternalAddress, then HasInternalName, answer in
// two; compared on random text built from address and name pieces and their separators,
// with internal suffixes that have a dot, that have none, and none at all.
TEST_F(SanitizeTest, OnePassFindsWhatTheTwoPassesFind) {
  const std::vector<std::string> pieces = {
      "10.1.2.3",    "8.8.8.8",   "192.168.0.1",    "fd00::5",
      "2001:db8::1", "::1",       "a.corp.example", "corp.example",
      "corp",        "x.corp",    "example",        "host-1",
      "db_2",        "cafe",      "dead.beef",      "1795168800.001237",
      "0.075",       "60.000000", "51234",          "abc",
      "zz"};
  const std::string glue = ".:-_ \t,/[]@=x9fG";
  std::vector<std::vector<std::string>> suffix_sets = {{"corp.example"}, {"corp"}, {}};
  std::mt19937 random(11);
  int addresses_seen = 0, names_seen = 0, clean_seen = 0;
  for (const std::vector<std::string>& suffixes : suffix_sets) {
    SanitizeOptions options;
    options.internal_suffixes = suffixes;
    Sanitizer s(options, pan_, names_);
    for (int i = 0; i < 20000; ++i) {
      std::string text;
      const int parts = 1 + static_cast<int>(random() % 6);
      for (int k = 0; k < parts; ++k) {
        if (random() % 2) text += pieces[random() % pieces.size()];
        const int glued = static_cast<int>(random() % 3);
        for (int g = 0; g < glued; ++g) text.push_back(glue[random() % glue.size()]);
      }
      const bool want_address = s.HasInternalAddress(text);
      const bool want_name = !want_address && s.HasInternalName(text);
      bool addresses = false, names = false;
      ASSERT_EQ(s.HasInternal(text, &addresses, &names), want_address || want_name)
          << "\"" << text << "\" with " << suffixes.size() << " suffixes";
      ASSERT_EQ(addresses, want_address) << text;
      ASSERT_EQ(names, want_name) << text;
      addresses_seen += want_address;
      names_seen += want_name;
      clean_seen += !want_address && !want_name;
    }
  }
  // Every kind of answer came up often.
  EXPECT_GT(addresses_seen, 2000);
  EXPECT_GT(names_seen, 2000);
  EXPECT_GT(clean_seen, 2000);
}

}  // namespace
}  // namespace threatmesh
