#include "node/excerpt/user_names.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace threatmesh {
namespace {

std::vector<std::string> Names(std::string_view text) {
  std::vector<std::string> out;
  ForEachUserName(text, [&](std::size_t start, std::size_t length) {
    out.emplace_back(text.substr(start, length));
  });
  return out;
}

struct Case {
  const char* text;
  std::vector<std::string> names;
};

// One message per shape of sshd, PAM, su, sudo, login and applications, as they write them.
TEST(UserNamesTest, FindsTheNameInEachShape) {
  const Case cases[] = {
      // sshd
      {"Accepted publickey for alice from 203.0.113.7 port 52144 ssh2: ED25519 SHA256:x",
       {"alice"}},
      {"Accepted password for bob.smith from 203.0.113.8 port 40000 ssh2", {"bob.smith"}},
      {"Failed password for Carol from 203.0.113.8 port 40001 ssh2", {"Carol"}},
      {"Failed password for invalid user dave_ops from 203.0.113.9 port 40002 ssh2", {"dave_ops"}},
      {"Failed none for illegal user x9 from 203.0.113.9 port 40002 ssh2", {"x9"}},
      {"Invalid user admin from 203.0.113.9 port 40002", {"admin"}},
      {"Connection closed by authenticating user niaj 203.0.113.10 port 40003 [preauth]", {"niaj"}},
      {"Connection closed by invalid user oracle 203.0.113.10 port 40003 [preauth]", {"oracle"}},
      {"Disconnected from user alice 203.0.113.7 port 52144", {"alice"}},
      {"User postgres from 203.0.113.11 not allowed because not listed in AllowUsers",
       {"postgres"}},
      {"error: maximum authentication attempts exceeded for root from 203.0.113.12 port 1 ssh2",
       {"root"}},
      {"pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)", {"alice"}},
      {"pam_unix(sshd:session): session closed for user alice", {"alice"}},
      // PAM
      {"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
       "rhost=203.0.113.9  user=erin01",
       {"erin01"}},
      {"pam_unix(sudo:auth): authentication failure; logname=heidi uid=1002 euid=0 "
       "tty=/dev/pts/2 ruser=heidi rhost=  user=heidi",
       {"heidi", "heidi", "heidi"}},
      {"pam_sss(login:auth): received for user mallory@corp: 7 (Authentication failure)",
       {"mallory@corp"}},
      // su
      {"(to root) frank on pts/0", {"root", "frank"}},
      {"FAILED SU (to root) ivan on pts/3", {"root", "ivan"}},
      {"pam_unix(su:session): session opened for user root(uid=0) by frank(uid=1001)",
       {"root", "frank"}},
      {"Successful su for root by alice", {"root", "alice"}},
      {"FAILED su for root by mallory", {"root", "mallory"}},
      // sudo
      {"grace : TTY=pts/1 ; PWD=/home/grace ; USER=root ; COMMAND=/usr/bin/id",
       {"grace", "grace", "root"}},
      {"  grace : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; "
       "COMMAND=/bin/sh",
       {"grace", "root"}},
      {"grace : user NOT in sudoers ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh",
       {"grace", "root"}},
      // login
      {"FAILED LOGIN (1) on '/dev/tty1' FOR 'ivan', Authentication failure", {"ivan"}},
      {"FAILED LOGIN 1 FROM host.example FOR judy, Authentication failure", {"judy"}},
      {"LOGIN ON tty1 BY judy", {"judy"}},
      {"pam_unix(login:session): session opened for user judy(uid=1003) by LOGIN(uid=0)",
       {"judy", "LOGIN"}},
      // applications and databases
      {"login failed for user 'sa'. Reason: Password did not match", {"sa"}},
      {"FATAL:  password authentication failed for user \"bob\"", {"bob"}},
      {"auth: acct=\"svc$\" exe=\"/usr/sbin/sshd\" res=failed", {"svc$"}},
      {"GET /files?username=carol2 HTTP/1.1", {"carol2"}},
      {"ls /home/alice/.ssh", {"alice"}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Names(c.text), c.names) << c.text;
  }
}

// Texts that name no user: addresses and ports after "by" or "from", placeholders, and names
// that are pseudonyms already.
TEST(UserNamesTest, LeavesWhatIsNoUserName) {
  const char* texts[] = {
      "Connection closed by 203.0.113.5 port 22 [preauth]",
      "Received disconnect from 203.0.113.5 port 22:11: disconnected by user",
      "Disconnected from 203.0.113.5 port 22",
      "pam_unix(sshd:auth): check pass; user unknown",
      "Invalid user  from 203.0.113.9 port 40002",
      "authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9",
      "Accepted publickey for user-abcdefghijklmn23 from 203.0.113.7 port 1",
      "user=- rhost=?",
      "Server listening on 0.0.0.0 port 22.",
      "ROOT LOGIN  ON tty1",
      "superuser=yes",  // not the key user=: a word must start there
      "query: www.example.com IN A +",
  };
  for (const char* text : texts) {
    EXPECT_TRUE(Names(text).empty()) << text << ": " << (Names(text).empty() ? "" : Names(text)[0]);
  }
}

TEST(UserNamesTest, ShapeWordsAndNumbersAreReplacedOnlyWhereAShapeNamesThem) {
  EXPECT_FALSE(IsReplaceableEverywhere("user"));
  EXPECT_FALSE(IsReplaceableEverywhere("LOGIN"));
  EXPECT_FALSE(IsReplaceableEverywhere("From"));
  EXPECT_FALSE(IsReplaceableEverywhere("1000"));
  EXPECT_FALSE(IsReplaceableEverywhere("a"));
  EXPECT_TRUE(IsReplaceableEverywhere("alice"));
  EXPECT_TRUE(IsReplaceableEverywhere("root"));
  EXPECT_TRUE(IsReplaceableEverywhere("svc$"));
}

}  // namespace
}  // namespace threatmesh
