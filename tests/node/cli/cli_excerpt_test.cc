// The CLI's log-excerpt commands as a user runs them, on the real binary: ingest-log, check
// and publish --excerpt; user names, terminal escapes, sanitize keys, overlong lines, and
// excerpts in linked parts with reviewed indicators.
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

class CliIngestTest : public CliTest {
 protected:
  // ingest-log's errors in its arguments name their cause (`common` are good arguments): a
  // format that needs a time zone without one, a log file that is not there, an output
  // directory that is not there.
  void ExpectIngestArgumentErrorsNamed(const std::vector<std::string>& common) {
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
  }

  // DIR/access.log: `lines` requests, two in three from an internal client, the rest from two
  // external ones, the third of them by EvilBot; each with a user name and password.
  void WriteAccessLog(int lines) {
    std::ofstream log(dir_.Sub("access.log"));
    for (int i = 0; i < lines; ++i) {
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

  // ingest-log of the access log into DIR/excerpt.json, in parts (`parts` of them), with
  // proposals in DIR/proposed.jsonl; each part holds none of the log's secrets and the list
  // passes check.
  void IngestInParts(int* parts) {
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
    args.insert(args.end(), {"--out", dir_.Sub("excerpt.json"), "--emit-indicators",
                             dir_.Sub("proposed.jsonl")});
    Result ingest = Run(args);
    ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(ingest.err, m, std::regex("in ([0-9]+) parts listed in")))
        << ingest.err;
    *parts = std::stoi(m[1].str());
    EXPECT_GE(*parts, 3);
    EXPECT_NE(ingest.err.find("every part passed its release checklist"), std::string::npos)
        << ingest.err;
    EXPECT_NE(Slurp(dir_.Sub("excerpt.json")).find("excerpt.part-0001.json"), std::string::npos);
    for (int i = 1; i <= *parts; ++i) {
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
    EXPECT_NE(check.out.find(StrCat("part ", *parts, " of ", *parts)), std::string::npos);
  }

  // The proposals: the two external clients and both agents, never the internal client. The
  // analyst keeps, in DIR/reviewed.jsonl, only the lines naming EvilBot and 203.0.113.9.
  void ReviewProposals() {
    const std::string proposed = Slurp(dir_.Sub("proposed.jsonl"));
    EXPECT_EQ(proposed.find("10.0.0.5"), std::string::npos) << proposed;
    EXPECT_NE(proposed.find("\"value\":\"203.0.113.9\",\"count\":250"), std::string::npos)
        << proposed;
    EXPECT_NE(proposed.find("198.51.100.4"), std::string::npos) << proposed;
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
  void ExpectBrokenInputsPublishNothing() {
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
  }

  // The published excerpt as get shows it: the first part counts the parts and lists the
  // indicators drawn from it; the last names the first. `ids` are those publish printed:
  // the first part's, the parts', then the indicators'.
  void ExpectLinkedParts(const std::vector<std::string>& ids, int parts) {
    const std::string& first = ids[0];
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
  }
};

// A log file through ingest-log, check and publish: the sanitized excerpt is published and
// searchable; one that fails its checklist (no contact) is refused and stores nothing.
TEST_F(CliIngestTest, IngestCheckAndPublishALogExcerpt) {
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
  ExpectIngestArgumentErrorsNamed(common);

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

// An access log larger than one record: ingest-log writes it in parts with a list, and
// indicator proposals; publish takes the list and the reviewed proposals, publishes the
// indicators, then every part linked to the first, which lists the indicators.
TEST_F(CliIngestTest, ALargeExcerptIsPublishedInLinkedPartsWithReviewedIndicators) {
  StartNode();
  WriteSanitizeKey();
  WriteAccessLog(1500);
  int parts = 0;
  ASSERT_NO_FATAL_FAILURE(IngestInParts(&parts));
  ReviewProposals();
  ExpectBrokenInputsPublishNothing();

  const long before = StoredCount();
  Result published = RunOn("publish", {"--excerpt", dir_.Sub("excerpt.json"), "--indicators",
                                       dir_.Sub("reviewed.jsonl"), "--json"});
  ASSERT_EQ(published.exit_code, 0) << published.err;
  EXPECT_EQ(StoredCount(), before + parts + 2);
  std::smatch m;
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
  ASSERT_EQ(ids[0], first);
  ExpectLinkedParts(ids, parts);
  Result tagged = RunOn("search", {"--tag", "log-excerpt"});
  EXPECT_NE(tagged.out.find("203.0.113.9"), std::string::npos) << tagged.out;
  EXPECT_NE(tagged.out.find("EvilBot/1.0"), std::string::npos) << tagged.out;
  EXPECT_EQ(tagged.out.find("198.51.100.4"), std::string::npos) << tagged.out;
}

}  // namespace
}  // namespace threatmesh
