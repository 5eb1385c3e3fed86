#include "node/excerpt/excerpt_check.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <regex>

#include "node/excerpt/log_formats.h"

namespace threatmesh {
namespace {

using threatmesh::v1::RecordBody;

// A sanitized excerpt of two BIND query log lines, as ingest would make it.
RecordBody GoodExcerpt() {
  const crypto::CryptoPan pan = *crypto::CryptoPan::Create(std::string(32, 'p'));
  const crypto::Pseudonyms names = *crypto::Pseudonyms::Create(std::string(32, 'n'));
  SanitizeOptions options;
  options.internal_suffixes = {"corp.example"};
  Sanitizer sanitizer(options, pan, names);
  LogParserOptions zone;
  zone.timezone = "UTC";
  std::unique_ptr<LogParser> parser = *MakeLogParser("bind-query", zone);
  RecordBody body;
  body.set_tlp(threatmesh::v1::TLP_AMBER);
  auto* x = body.mutable_log_excerpt();
  x->set_source_format("bind-query");
  x->set_window_start(1795168800000);  // 2026-11-20T10:00:00Z
  x->set_window_end(1795172400000);    // an hour later
  x->set_contact("soc@example.org");
  for (const char* line :
       {"20-Nov-2026 10:00:00.123 client 10.0.0.5#53124 (db01.corp.example): query: "
        "db01.corp.example IN A + (10.0.0.53)",
        "20-Nov-2026 10:05:00.000 client 10.0.0.6#5000 (c2.evil-example.com): query: "
        "c2.evil-example.com IN A + (10.0.0.53)"}) {
    ParsedLine p = parser->Parse(line);
    x->add_lines(sanitizer.Sanitize(p.event, line));
    *x->add_events() = p.event;
  }
  for (const auto& step : sanitizer.Manifest()) *x->add_manifest() = step;
  return body;
}

ExcerptCheckOptions Options() {
  ExcerptCheckOptions o;
  o.internal.internal_suffixes = {"corp.example"};
  return o;
}

// The item `name` of the checklist of `body`.
threatmesh::v1::ChecklistItem ItemOf(const RecordBody& body, const std::string& name,
                                     const ExcerptCheckOptions& options = Options()) {
  for (const auto& item : CheckExcerpt(body, options)) {
    if (item.item() == name) return item;
  }
  ADD_FAILURE() << "no item " << name;
  return {};
}

TEST(ExcerptCheckTest, ASanitizedExcerptPassesEveryItem) {
  std::vector<threatmesh::v1::ChecklistItem> items = CheckExcerpt(GoodExcerpt(), Options());
  ASSERT_EQ(items.size(), 9u);
  for (const auto& item : items) EXPECT_TRUE(item.passed()) << item.item() << ": " << item.reason();
  EXPECT_TRUE(AllPassed(items));
}

// Each item fails on its own fault, with a reason that says what to do.
TEST(ExcerptCheckTest, EachItemFailsOnItsFault) {
  struct Case {
    std::string item;
    std::function<void(RecordBody&, ExcerptCheckOptions&)> spoil;
    std::string reason_part;
  };
  const std::vector<Case> cases = {
      {"tlp", [](RecordBody& b, auto&) { b.clear_tlp(); }, "--tlp"},
      {"window", [](RecordBody& b, auto&) { b.mutable_log_excerpt()->set_window_end(1); },
       "--window"},
      {"events-in-window",
       [](RecordBody& b, auto&) { b.mutable_log_excerpt()->set_window_end(1795169000000); },
       "1 events outside the window"},
      {"time-zone",
       [](RecordBody& b, auto&) { b.mutable_log_excerpt()->set_original_utc_offset_minutes(9999); },
       "offset out of range"},
      {"manifest", [](RecordBody& b, auto&) { b.mutable_log_excerpt()->clear_manifest(); },
       "query.hostname"},
      {"pii-scan",
       [](RecordBody& b, auto&) { b.mutable_log_excerpt()->add_lines("from 192.168.1.1"); },
       "internal address in line 3"},
      {"pii-scan",
       [](RecordBody& b, auto&) { b.mutable_log_excerpt()->add_lines("mail bob@corp.example"); },
       "e-mail address"},
      {"pii-scan",
       [](RecordBody& b, auto&) { b.mutable_log_excerpt()->add_lines("GET /x?password=hunter2"); },
       "credential"},
      {"pii-scan",
       [](RecordBody& b, auto&) { b.mutable_log_excerpt()->add_lines("to fs1.corp.example"); },
       "internal name"},
      {"pii-scan",
       [](RecordBody& b, auto&) {
         b.mutable_log_excerpt()->add_lines("sshd[1]: Accepted publickey for alice from x");
       },
       "a user name (\"Accepted publickey for alice\") in line 3"},
      {"pii-scan",
       [](RecordBody& b, auto&) {
         b.mutable_log_excerpt()->mutable_events(0)->add_fields()->set_value(
             "pam_unix(su:session): session opened for user root(uid=0) by frank(uid=1001)");
       },
       "a user name"},
      {"pii-scan",
       [](RecordBody& b, auto&) { b.mutable_log_excerpt()->add_lines("quota: alice at 91%"); },
       ""},  // not a shape: found only among the names the sanitizer knew (below)
      {"contact", [](RecordBody& b, auto&) { b.mutable_log_excerpt()->clear_contact(); },
       "--contact"},
      {"author", [](RecordBody& b, auto&) { b.set_author("short"); }, "5 bytes"},
      {"size", [](RecordBody&, ExcerptCheckOptions& o) { o.max_record_bytes = 100; },
       "over the record limit"},
  };
  const absl::flat_hash_set<std::string> known = {"alice"};
  for (const Case& c : cases) {
    RecordBody body = GoodExcerpt();
    ExcerptCheckOptions options = Options();
    options.known_users = &known;
    ASSERT_TRUE(ItemOf(body, c.item, options).passed()) << c.item;
    c.spoil(body, options);
    threatmesh::v1::ChecklistItem item = ItemOf(body, c.item, options);
    EXPECT_FALSE(item.passed()) << c.item;
    EXPECT_NE(item.reason().find(c.reason_part), std::string::npos)
        << c.item << ": " << item.reason();
    EXPECT_FALSE(AllPassed(CheckExcerpt(body, options))) << c.item;
  }
}

// The scan's text rules, case by case; and on generated text, the same answers as the rules
// written as regular expressions (the scanner itself uses none, for speed).
// A user name in a known shape is found with or without the sanitizer's names; one in no
// shape only among them; a pseudonym in its place is no finding.
TEST(ExcerptCheckTest, UserNamesInClearAreFound) {
  const absl::flat_hash_set<std::string> known = {"alice", "bob.smith"};
  EXPECT_EQ(FindUserName("Invalid user admin from 203.0.113.9", nullptr),
            "a user name (\"Invalid user admin\")");
  EXPECT_EQ(FindUserName("sshd[1]: Accepted publickey for alice from x", nullptr),
            "a user name (\"Accepted publickey for alice\")");
  EXPECT_EQ(FindUserName("quota: alice at 91%", nullptr), "");
  EXPECT_EQ(FindUserName("quota: alice at 91%", &known), "the user name \"alice\"");
  EXPECT_EQ(FindUserName("ls /srv/bob.smith.", &known), "the user name \"bob.smith\"");
  EXPECT_EQ(FindUserName("malice and alice2 and bob.smithy", &known), "");
  EXPECT_EQ(FindUserName("Invalid user user-abcdefghijklmn23 from 203.0.113.9", &known), "");
}

TEST(ExcerptCheckTest, ScanRulesFindEmailsCredentialsAndPseudonyms) {
  struct Case {
    std::string text;
    std::string found;  // the start of FindEmailOrCredential's answer
  };
  const Case cases[] = {
      {"mail from bob@example.org today", "an e-mail address"},
      {"a@b.co", "an e-mail address"},
      {"@example.org", ""},
      {"bob@localhost", ""},
      {"bob@example.c0m", ""},
      {"bob@.org", ""},
      {"GET /x?Password=hunter2 HTTP/1.1", "a credential (\"Password=hun...\")"},
      {"pwd=a", "a credential (\"pwd=a...\")"},
      {"pwd=&x=1", ""},
      {"grace : TTY=pts/1 ; PWD=/home/x ; USER=root", ""},  // sudo's working directory
      {"api_key=XYZ", "a credential"},
      {"apikey=XYZ", "a credential"},
      {"session= x", ""},
      {"Authorization: Basic Zm9v", "a credential (\"Authorizatio...\")"},
      {"BEARER abcdefgh", "a credential"},
      {"bearer abc", ""},
      {"Cookie:   sid=1", "a credential"},
      {"cookie:   ", ""},
      {"nothing to see at 203.0.113.9", ""},
  };
  for (const Case& c : cases) {
    const std::string found = FindEmailOrCredential(c.text);
    if (c.found.empty()) {
      EXPECT_EQ(found, "") << c.text;
    } else {
      EXPECT_EQ(found.substr(0, c.found.size()), c.found) << c.text;
    }
  }
  for (const char* yes :
       {"host-abcdefghijklmnop", "x user-abcdefgh23456722.corp", "(host-aaaaaaaaaaaaaaaa)"}) {
    EXPECT_TRUE(HasPseudonym(yes)) << yes;
  }
  for (const char* no :
       {"host-abcdefghijklmno", "xhost-abcdefghijklmnop", "host-abcdefghijklmnopq",
        "host-abcdefghijklmno1", "node-abcdefghijklmnop", "host-ABCDEFGHIJKLMNOP"}) {
    EXPECT_FALSE(HasPseudonym(no)) << no;
  }

  const std::regex email("[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}");
  const std::regex credential(
      "(password|passwd|secret|token|api_?key|session)=[^&\\s\"]+|pwd=[^&\\s\"/][^&\\s\"]*|"
      "authorization:|bearer "
      "[a-z0-9._-]{8,}|cookie:\\s*[^\\s]",
      std::regex::icase);
  const std::regex pseudonym("\\b(host|user)-[a-z2-7]{16}\\b");
  const std::string pieces[] = {"a",        "Z",     "7",        ".",       "-",
                                "_",        "@",     " ",        "\t",      "=",
                                "&",        "\"",    ":",        "x.org",   "ab",
                                "password", "Token", "cookie",   "Bearer ", "authorization",
                                "host-",    "user-", "abcdefgh", "2345",    "b@c.de",
                                "pwd",      "/"};
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    for (int n = rng() % 8; n >= 0; --n) text += pieces[rng() % std::size(pieces)];
    const bool want = std::regex_search(text, email) || std::regex_search(text, credential);
    EXPECT_EQ(!FindEmailOrCredential(text).empty(), want) << text;
    EXPECT_EQ(HasPseudonym(text), std::regex_search(text, pseudonym)) << text;
  }
}

}  // namespace
}  // namespace threatmesh
