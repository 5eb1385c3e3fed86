#include "node/excerpt/user_names.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

namespace threatmesh {
namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Whether `text` at `pos` starts with `word` (lower case), in any case.
bool At(std::string_view text, std::size_t pos, std::string_view word) {
  if (pos > text.size() || text.size() - pos < word.size()) return false;
  for (std::size_t k = 0; k < word.size(); ++k) {
    if (Lower(text[pos + k]) != word[k]) return false;
  }
  return true;
}

// Where `word` (lower case) next starts in `text` from `pos`, in any case, before the end of
// the line; npos when it does not.
std::size_t FindOnLine(std::string_view text, std::size_t pos, std::string_view word) {
  for (; pos < text.size() && text[pos] != '\n'; ++pos) {
    if (At(text, pos, word)) return pos;
  }
  return std::string_view::npos;
}

// A word starts at `pos`: the character before it is not a letter.
bool WordStart(std::string_view text, std::size_t pos) {
  return pos == 0 || (!IsLetter(text[pos - 1]) && text[pos - 1] != '_');
}

bool IsPseudonym(std::string_view name) {
  if (name.size() != 21 || !name.starts_with("user-")) return false;
  return std::all_of(name.begin() + 5, name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'); });
}

// A name at `pos`, optionally quoted: its start and length (0: none), and where it ends,
// closing quote included.
struct Name {
  std::size_t start = 0;
  std::size_t length = 0;
  std::size_t end = 0;
};

Name NameAt(std::string_view text, std::size_t pos) {
  Name n;
  if (pos >= text.size()) return n;
  const char quote = text[pos];
  const bool quoted = quote == '\'' || quote == '"' || quote == '`';
  std::size_t i = quoted ? pos + 1 : pos;
  n.start = i;
  while (i < text.size() && IsUserNameChar(text[i])) ++i;
  n.end = i;
  if (quoted && i < text.size() && text[i] == quote) n.end = i + 1;
  while (i > n.start && text[i - 1] == '.') --i;  // a sentence's full stop
  n.length = i - n.start;
  const std::string_view name = text.substr(n.start, n.length);
  if (name == "-" || name == "?" || IsPseudonym(name)) n.length = 0;
  return n;
}

class Finder {
 public:
  explicit Finder(std::string_view text) : text_(text) {}

  std::vector<std::pair<std::size_t, std::size_t>> Find() {
    for (std::size_t pos = 0; pos < text_.size(); ++pos) Try(pos);
    std::sort(found_.begin(), found_.end());
    found_.erase(std::unique(found_.begin(), found_.end(),
                             [](const auto& a, const auto& b) { return a.first == b.first; }),
                 found_.end());
    return std::move(found_);
  }

 private:
  void Add(const Name& n) {
    if (n.length > 0) found_.emplace_back(n.start, n.length);
  }

  // Only the phrases that start with the character at `pos` are tried: most characters of a
  // log start none, and the scan runs over every line an excerpt's checklist reads.
  void Try(std::size_t pos) {
    auto before = [&](std::string_view phrase) {
      if (At(text_, pos, phrase)) Add(NameAt(text_, pos + phrase.size()));
    };
    const bool word = WordStart(text_, pos);
    auto key = [&](std::string_view k) {
      if (word && At(text_, pos, k)) Add(NameAt(text_, pos + k.size()));
    };
    switch (Lower(text_[pos])) {
      case 'i':
        before("invalid user ");
        before("illegal user ");
        break;
      case 'a':
        before("authenticating user ");
        key("acct=");
        break;
      case 'f':
        before("for user ");
        before("from user ");
        if (word && At(text_, pos, "for ")) ForFrom(pos + 4);
        if (word && At(text_, pos, "failed login")) FailedLogin(pos + 12);
        break;
      case 'u':
        key("user=");
        key("username=");
        key("uname=");
        if (word && At(text_, pos, "user ")) UserFrom(pos + 5);
        break;
      case 'r':
        key("ruser=");
        break;
      case 'l':
        key("luser=");
        key("logname=");
        if (word && At(text_, pos, "login on ")) LoginOn(pos + 9);
        break;
      case '/':
        before("/home/");
        break;
      case 'b':
        if (word && At(text_, pos, "by ")) ByUid(pos + 3);
        break;
      case ' ':
        if (At(text_, pos, " : ")) Sudo(pos);
        break;
      case '(':
        if (At(text_, pos, "(to ")) SuTo(pos + 4);
        break;
      default:
        break;
    }
  }

  // user NAME from | user NAME not allowed
  void UserFrom(std::size_t pos) {
    const Name n = NameAt(text_, pos);
    if (At(text_, n.end, " from ") || At(text_, n.end, " not allowed")) Add(n);
  }
  // for NAME from (sshd) | for NAME by NAME (su)
  void ForFrom(std::size_t pos) {
    const Name n = NameAt(text_, pos);
    if (At(text_, n.end, " from ")) Add(n);
    if (At(text_, n.end, " by ")) {
      Add(n);
      Add(NameAt(text_, n.end + 4));
    }
  }
  // by NAME(uid=  (PAM's session lines)
  void ByUid(std::size_t pos) {
    const Name n = NameAt(text_, pos);
    if (At(text_, n.end, "(uid=")) Add(n);
  }
  // login on TTY by NAME
  void LoginOn(std::size_t pos) {
    while (pos < text_.size() && text_[pos] != ' ' && text_[pos] != '\n') ++pos;
    if (At(text_, pos, " by ")) Add(NameAt(text_, pos + 4));
  }
  // failed login ... for NAME
  void FailedLogin(std::size_t pos) {
    const std::size_t f = FindOnLine(text_, pos, " for ");
    if (f != std::string_view::npos) Add(NameAt(text_, f + 5));
  }
  // NAME : ... TTY= | PWD= | COMMAND=   (sudo)
  void Sudo(std::size_t colon) {
    std::size_t start = colon;
    while (start > 0 && IsUserNameChar(text_[start - 1])) --start;
    if (start == colon || (start > 0 && text_[start - 1] != ' ' && text_[start - 1] != ':' &&
                           text_[start - 1] != '\n')) {
      return;
    }
    if (FindOnLine(text_, colon, "tty=") == std::string_view::npos &&
        FindOnLine(text_, colon, "pwd=") == std::string_view::npos &&
        FindOnLine(text_, colon, "command=") == std::string_view::npos) {
      return;
    }
    Add(NameAt(text_, start));
  }
  // (to NAME) NAME on   (su)
  void SuTo(std::size_t pos) {
    const Name to = NameAt(text_, pos);
    if (to.length == 0 || !At(text_, to.end, ") ")) return;
    const Name by = NameAt(text_, to.end + 2);
    if (!At(text_, by.end, " on ")) return;
    Add(to);
    Add(by);
  }

  std::string_view text_;
  std::vector<std::pair<std::size_t, std::size_t>> found_;
};

}  // namespace

bool IsUserNameChar(char c) {
  return IsLetter(c) || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '@' ||
         c == '$';
}

void ForEachUserName(std::string_view text,
                     const std::function<void(std::size_t start, std::size_t length)>& visit) {
  // Every shape holds a space or an '=', or is "/home/": text with none of them (a Zeek TSV
  // line, a domain name) is passed over at memchr's speed.
  if (std::memchr(text.data(), ' ', text.size()) == nullptr &&
      std::memchr(text.data(), '=', text.size()) == nullptr &&
      text.find("/home/") == std::string_view::npos) {
    return;
  }
  for (const auto& [start, length] : Finder(text).Find()) visit(start, length);
}

void ForEachNameWord(std::string_view text,
                     const std::function<void(std::size_t start, std::size_t length)>& visit) {
  for (std::size_t i = 0; i < text.size();) {
    if (!IsUserNameChar(text[i])) {
      ++i;
      continue;
    }
    const std::size_t start = i;
    while (i < text.size() && IsUserNameChar(text[i])) ++i;
    std::size_t end = i;
    while (end > start && text[end - 1] == '.') --end;
    if (end > start) visit(start, end - start);
  }
}

bool IsShapeWord(std::string_view word) {
  static constexpr std::string_view kWords[] = {
      "user", "for",     "from",    "by",      "on",
      "to",   "login",   "invalid", "illegal", "authenticating",
      "su",   "sudo",    "failed",  "session", "port",
      "uid",  "tty",     "pwd",     "command", "home",
      "not",  "allowed", "opened",  "closed"};
  for (std::string_view w : kWords) {
    if (word.size() == w.size() && At(word, 0, w)) return true;
  }
  return false;
}

bool IsReplaceableEverywhere(std::string_view name) {
  if (name.size() < 2 || IsShapeWord(name)) return false;
  return !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace threatmesh
