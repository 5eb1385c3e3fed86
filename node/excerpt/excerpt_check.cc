#include "node/excerpt/excerpt_check.h"

#include <cstring>

#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/str_cat.h"
#include "node/excerpt/log_formats.h"
#include "node/excerpt/user_names.h"

namespace threatmesh {
namespace {

using threatmesh::v1::ChecklistItem;
using threatmesh::v1::LogExcerpt;

ChecklistItem Item(const char* name, bool passed, std::string reason) {
  ChecklistItem item;
  item.set_item(name);
  item.set_passed(passed);
  item.set_reason(std::move(reason));
  return item;
}

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDomainChar(char c) { return IsLetter(c) || (c >= '0' && c <= '9') || c == '.' || c == '-'; }
bool IsLocalChar(char c) { return IsDomainChar(c) || c == '_' || c == '%' || c == '+'; }
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Whether `text` at `pos` starts with `word` (lower case), in any case.
bool StartsWithNoCase(std::string_view text, std::size_t pos, std::string_view word) {
  if (text.size() - pos < word.size()) return false;
  for (std::size_t k = 0; k < word.size(); ++k) {
    if (Lower(text[pos + k]) != word[k]) return false;
  }
  return true;
}

// The length of a credential match starting at `pos`, or 0.
std::size_t CredentialAt(std::string_view text, std::size_t pos) {
  static constexpr std::string_view kKeys[] = {"password", "passwd",  "pwd",    "secret",
                                               "token",    "api_key", "apikey", "session"};
  for (std::string_view key : kKeys) {
    if (!StartsWithNoCase(text, pos, key)) continue;
    std::size_t end = pos + key.size();
    if (end >= text.size() || text[end] != '=') continue;
    std::size_t value = ++end;
    // sudo's "PWD=/home/..." is the working directory, not a password.
    if (key == "pwd" && value < text.size() && text[value] == '/') continue;
    while (end < text.size() && text[end] != '&' && text[end] != '"' && !IsSpace(text[end])) ++end;
    if (end > value) return end - pos;
  }
  if (StartsWithNoCase(text, pos, "authorization:")) return 14;
  if (StartsWithNoCase(text, pos, "bearer ")) {
    std::size_t end = pos + 7;
    while (end < text.size() && (IsLetter(text[end]) || (text[end] >= '0' && text[end] <= '9') ||
                                 text[end] == '.' || text[end] == '_' || text[end] == '-')) {
      ++end;
    }
    if (end - pos - 7 >= 8) return end - pos;
  }
  if (StartsWithNoCase(text, pos, "cookie:")) {
    std::size_t end = pos + 7;
    while (end < text.size() && IsSpace(text[end])) ++end;
    if (end < text.size()) return end + 1 - pos;
  }
  return 0;
}

// Whether an e-mail address has its '@' at `at`.
bool EmailAt(std::string_view text, std::size_t at) {
  if (at == 0 || !IsLocalChar(text[at - 1])) return false;
  std::size_t end = at + 1;
  while (end < text.size() && IsDomainChar(text[end])) ++end;
  // Some '.' after at least one domain character, followed by two letters.
  for (std::size_t p = at + 2; p + 2 < end; ++p) {
    if (text[p] == '.' && IsLetter(text[p + 1]) && IsLetter(text[p + 2])) return true;
  }
  return false;
}

// The pii-scan item: nothing internal, personal or secret in clear, in the events or lines.
ChecklistItem PiiScan(const LogExcerpt& x, const ExcerptCheckOptions& options) {
  // (The scan only detects; the keys of the sanitizer it borrows are never used to publish.)
  const crypto::CryptoPan no_addresses = *crypto::CryptoPan::Create(std::string(32, '\0'));
  const crypto::Pseudonyms no_names = *crypto::Pseudonyms::Create(std::string(32, '\0'));
  Sanitizer scanner(options.internal, no_addresses, no_names);
  std::string found;
  // `where` is made only for a finding: it names the line or the event field.
  auto scan = [&](const std::string& text, const auto& where) {
    if (!found.empty()) return;
    if (std::string what = FindEmailOrCredential(text); !what.empty()) {
      found = StrCat(what, " in ", where());
    } else if (what = FindUserName(text, options.known_users); !what.empty()) {
      found = StrCat(what, " in ", where());
    } else {
      bool addresses = false, names = false;
      if (scanner.HasInternal(text, &addresses, &names)) {
        found = StrCat(addresses ? "an internal address in " : "an internal name in ", where());
      }
    }
  };
  for (int i = 0; i < x.lines_size() && found.empty(); ++i) {
    scan(x.lines(i), [&] { return StrCat("line ", i + 1); });
  }
  // An event's values are first scanned together, joined by line feeds: no finding spans a
  // line feed (runs, credential values and e-mail domains end there), so a clean join means
  // clean values, and only an event with a finding is scanned value by value to name it.
  std::string joined;
  for (int i = 0; i < x.events_size() && found.empty(); ++i) {
    joined.clear();
    for (const threatmesh::v1::EventField& f : x.events(i).fields()) {
      joined.append(f.value());
      joined.push_back('\n');
    }
    scan(joined, [] { return std::string("an event"); });
    if (found.empty()) continue;
    found.clear();
    for (const threatmesh::v1::EventField& f : x.events(i).fields()) {
      scan(f.value(), [&] { return StrCat("event ", i + 1, " ", f.name()); });
    }
  }
  return found.empty() ? Item("pii-scan", true, "nothing internal or secret in clear")
                       : Item("pii-scan", false, found + ": sanitize it first");
}

}  // namespace

std::vector<ChecklistItem> CheckExcerpt(const threatmesh::v1::RecordBody& body,
                                        const ExcerptCheckOptions& options) {
  std::vector<ChecklistItem> out;
  const LogExcerpt& x = body.log_excerpt();
  out.push_back(body.tlp() != threatmesh::v1::TLP_UNSPECIFIED && body.has_log_excerpt()
                    ? Item("tlp", true, "set")
                    : Item("tlp", false,
                           body.has_log_excerpt() ? "no TLP label: choose one with --tlp"
                                                  : "not a log excerpt"));
  const bool window = x.window_start() > 0 && x.window_end() > x.window_start();
  out.push_back(window ? Item("window", true, "set, UTC")
                       : Item("window", false,
                              "no time window, or it ends before it starts: set --window "
                              "START..END (UTC)"));
  int outside = 0;
  int64_t first_outside = 0;
  for (const threatmesh::v1::LogEvent& e : x.events()) {
    if (e.time() < x.window_start() || e.time() >= x.window_end()) {
      if (outside++ == 0) first_outside = e.time();
    }
  }
  out.push_back(window && outside == 0
                    ? Item("events-in-window", true, StrCat(x.events_size(), " events, all inside"))
                    : Item("events-in-window", false,
                           window ? StrCat(outside, " events outside the window, the first at ",
                                           first_outside, " ms")
                                  : "no window to check against"));
  bool known_format = false;
  for (const std::string& f : LogFormatNames())
    known_format = known_format || f == x.source_format();
  const bool zone = known_format && x.original_utc_offset_minutes() >= -14 * 60 &&
                    x.original_utc_offset_minutes() <= 14 * 60;
  out.push_back(zone ? Item("time-zone", true,
                            StrCat("source ", x.source_format(), ", UTC offset ",
                                   x.original_utc_offset_minutes(), " min"))
                     : Item("time-zone", false,
                            StrCat("source format \"", x.source_format(),
                                   "\" unknown or its UTC offset out of range")));
  // Every pseudonymized field is in the manifest, and every step names its key.
  std::string missing;
  for (const threatmesh::v1::LogEvent& e : x.events()) {
    for (const threatmesh::v1::EventField& f : e.fields()) {
      if (!HasPseudonym(f.value())) continue;
      bool listed = false;
      for (const auto& step : x.manifest()) {
        listed = listed || (step.field() == f.name() && step.method() == "pseudonymize");
      }
      if (!listed && missing.find(f.name()) == std::string::npos) {
        missing += (missing.empty() ? "" : ", ") + f.name();
      }
    }
  }
  for (const auto& step : x.manifest()) {
    if (step.method() != "remove" && step.key_id().empty()) {
      missing += (missing.empty() ? "" : ", ") + step.field() + " (no key id)";
    }
  }
  out.push_back(missing.empty()
                    ? Item("manifest", true, StrCat(x.manifest_size(), " steps, complete"))
                    : Item("manifest", false, "transformed but not in the manifest: " + missing));
  out.push_back(PiiScan(x, options));
  out.push_back(!x.contact().empty()
                    ? Item("contact", true, x.contact())
                    : Item("contact", false, "no contact: say whom to ask with --contact"));
  out.push_back(body.author().empty()
                    ? Item("author", true, "a draft: the node signs with its own key")
                : body.author().size() == crypto::kPublicKeySize
                    ? Item("author", true, "set")
                    : Item("author", false,
                           StrCat("the author key is ", body.author().size(), " bytes, not 32")));
  const std::size_t size = body.ByteSizeLong() + 64 + 16;  // envelope: signature, framing
  out.push_back(size <= options.max_record_bytes
                    ? Item("size", true, StrCat(size, " bytes"))
                    : Item("size", false,
                           StrCat(size, " bytes, over the record limit of ",
                                  options.max_record_bytes, ": narrow the window")));
  return out;
}

bool AllPassed(const std::vector<ChecklistItem>& items) {
  for (const ChecklistItem& i : items) {
    if (!i.passed()) return false;
  }
  return true;
}

std::string FindEmailOrCredential(std::string_view text) {
  for (std::size_t at = text.find('@'); at != std::string_view::npos; at = text.find('@', at + 1)) {
    if (EmailAt(text, at)) return "an e-mail address";
  }
  // Every credential rule needs one of these right after its keyword.
  auto has = [&](char c) { return std::memchr(text.data(), c, text.size()) != nullptr; };
  if (!has('=') && !has(':') && !has(' ')) return "";
  for (std::size_t pos = 0; pos < text.size(); ++pos) {
    // Every rule starts with one of these letters, in either case.
    const char first = Lower(text[pos]);
    if (first != 'p' && first != 's' && first != 't' && first != 'a' && first != 'b' &&
        first != 'c') {
      continue;
    }
    if (std::size_t n = CredentialAt(text, pos); n > 0) {
      return StrCat("a credential (\"", text.substr(pos, std::min<std::size_t>(n, 12)), "...\")");
    }
  }
  return "";
}

std::string FindUserName(std::string_view text, const absl::flat_hash_set<std::string>* known) {
  std::string found;
  ForEachUserName(text, [&](std::size_t start, std::size_t length) {
    if (found.empty()) {
      // The name and the words before it, as far as the line goes, so the shape shows.
      std::size_t from = start >= 24 ? start - 24 : 0;
      const std::size_t feed = text.rfind('\n', start);
      if (feed != std::string_view::npos && feed >= from) {
        from = feed + 1;
      } else if (from > 0) {  // from a word's start
        const std::size_t space = text.find(' ', from);
        if (space < start) from = space + 1;
      }
      found = StrCat("a user name (\"", text.substr(from, start + length - from), "\")");
    }
  });
  if (!found.empty() || known == nullptr || known->empty()) return found;
  ForEachNameWord(text, [&](std::size_t start, std::size_t length) {
    if (found.empty() && known->contains(absl::string_view(text.data() + start, length))) {
      found = StrCat("the user name \"", text.substr(start, length), "\"");
    }
  });
  return found;
}

bool HasPseudonym(std::string_view text) {
  constexpr std::size_t kLength = 5 + 16;
  for (std::size_t pos = text.find('-'); pos != std::string_view::npos;
       pos = text.find('-', pos + 1)) {
    if (pos < 4) continue;
    const std::size_t start = pos - 4;
    const std::string_view kind = text.substr(start, 4);
    if (kind != "host" && kind != "user") continue;
    if (start > 0 && IsWordChar(text[start - 1])) continue;
    if (text.size() - start < kLength) continue;
    bool base32 = true;
    for (std::size_t k = pos + 1; k < start + kLength && base32; ++k) {
      base32 = (text[k] >= 'a' && text[k] <= 'z') || (text[k] >= '2' && text[k] <= '7');
    }
    if (!base32) continue;
    if (start + kLength < text.size() && IsWordChar(text[start + kLength])) continue;
    return true;
  }
  return false;
}

}  // namespace threatmesh
