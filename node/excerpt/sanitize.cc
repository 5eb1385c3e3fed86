#include "node/excerpt/sanitize.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "absl/container/inlined_vector.h"
#include "absl/strings/numbers.h"
#include "crypto/ip_address.h"
#include "crypto/str_cat.h"
#include "node/excerpt/user_names.h"

namespace threatmesh {
namespace {

using threatmesh::v1::LogEvent;
using threatmesh::v1::SanitizationStep;

constexpr char kRemoved[] = "[removed]";

// Writes the address in network byte order to `out` and returns its size (4 or 16), or 0
// when `text` is not one. `colon` says whether `text` holds a ':': with one it can only be
// IPv6 text, which goes to crypto::ParseIp; without, IPv4 is read here, by the same rules (four
// decimal octets of at most 255, no leading zero), since most runs a log line offers are
// numbers and hex words that fail at once.
std::size_t ParseAddress(std::string_view text, bool colon, unsigned char out[16]) {
  if (text.size() < 2 || text.size() >= INET6_ADDRSTRLEN) return 0;
  if (!colon) {
    unsigned char octets[4];
    int n = 0, value = 0, digits = 0;
    for (char c : text) {
      if (c == '.') {
        if (digits == 0 || n == 3) return 0;
        octets[n++] = static_cast<unsigned char>(value);
        value = digits = 0;
      } else if (c >= '0' && c <= '9') {
        if (digits == 1 && value == 0) return 0;  // a leading zero
        value = value * 10 + (c - '0');
        if (++digits > 3 || value > 255) return 0;
      } else {
        return 0;
      }
    }
    if (n != 3 || digits == 0) return 0;
    octets[3] = static_cast<unsigned char>(value);
    std::memcpy(out, octets, 4);
    return 4;
  }
  std::optional<crypto::IpAddress> ip = crypto::ParseIp(text);
  if (!ip || ip->family != 6) return 0;
  std::memcpy(out, ip->bytes.data(), 16);
  return 16;
}

bool HasColon(std::string_view text) {
  return std::memchr(text.data(), ':', text.size()) != nullptr;
}

std::string AddressBytes(std::string_view text) {
  unsigned char bytes[16];
  return std::string(reinterpret_cast<char*>(bytes), ParseAddress(text, HasColon(text), bytes));
}

bool EqualsNoCase(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char c = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    if (c != lower[i]) return false;
  }
  return true;
}

// Fields whose values are removed outright.
bool IsSecretField(std::string_view field) {
  return field == "user.password" || field == "url.query_string" ||
         field == "http_request.cookie" || field == "http_request.authorization" ||
         field == "http_request.x_header";
}

bool IsNameField(std::string_view field) {
  return field == "query.hostname" || field == "url.hostname";
}

// The characters of address and name runs, as 256-entry tables (the scans test every
// character of every line): 0 outside a run, kInRun inside, kInRun | kSeparator for the
// characters without which a run cannot be what is looked for ('.' and ':' for addresses;
// '.' for names, when every internal suffix has a dot). An address run's ':' is also marked
// kColon, which tells IPv6 text from IPv4.
constexpr unsigned char kInRun = 1;
constexpr unsigned char kSeparator = 2;
constexpr unsigned char kColon = 4;
constexpr unsigned char kNameOnly = 8;
struct CharClass {
  unsigned char address[256] = {};
  unsigned char name[256] = {};
  // Address or name characters, as one table: a run of these holds whole address and name
  // runs. Marks '.' and ':' as address separators, ':' also as kColon, and the name
  // characters that are not address characters as kNameOnly.
  unsigned char either[256] = {};
  constexpr CharClass() {
    for (int c = 0; c < 256; ++c) {
      const bool digit = c >= '0' && c <= '9';
      const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) address[c] = kInRun;
      if (c == '.') address[c] = kInRun | kSeparator;
      if (c == ':') address[c] = kInRun | kSeparator | kColon;
      if (digit || letter || c == '-' || c == '_') name[c] = kInRun;
      if (c == '.') name[c] = kInRun | kSeparator;
      either[c] = address[c] | name[c];
      if (name[c] != 0 && address[c] == 0) either[c] |= kNameOnly;
    }
  }
};
constexpr CharClass kCharClass;

// Calls `visit` for each whole run of the characters `table` marks, in order, skipping the
// runs that hold none of the characters `needed` marks; stops when `visit` returns true.
// `visit(start, end, marks)` takes the run's offsets in `text` and the union of its
// characters' marks.
template <typename Visit>
bool ForEachRun(std::string_view text, const unsigned char* table, unsigned char needed,
                Visit visit) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    if (table[p[i]] == 0) {
      ++i;
      continue;
    }
    const std::size_t start = i;
    unsigned char marks = 0;
    for (; i < n && table[p[i]] != 0; ++i) marks |= table[p[i]];
    if ((marks & needed) && visit(start, i, marks)) return true;
  }
  return false;
}

// What replaces a run: `head` then `tail`, when `found`. Both are views that must stay
// valid until the replacement is copied, right after it is made.
struct RunReplacement {
  bool found = false;
  std::string_view head;
  std::string_view tail;
};

// Replaces the runs ForEachRun visits that `replace(run, marks)` finds. Returns whether it
// replaced any; `out` then holds the whole text with the replacements, and otherwise is
// left alone (text with nothing to replace, as most is, is not copied).
template <typename Replace>
bool ReplaceRuns(std::string_view text, const unsigned char* table, unsigned char needed,
                 Replace replace, std::string& out) {
  std::string built;
  std::size_t copied = 0;
  ForEachRun(text, table, needed, [&](std::size_t start, std::size_t end, unsigned char marks) {
    const RunReplacement r = replace(text.substr(start, end - start), marks);
    if (!r.found) return false;
    if (copied == 0) built.reserve(text.size() + 32);
    built.append(text.substr(copied, start - copied));
    built.append(r.head);
    built.append(r.tail);
    copied = end;
    return false;
  });
  if (copied == 0) return false;  // a replaced run is never empty, so it ends after 0
  built.append(text.substr(copied));
  out = std::move(built);
  return true;
}

std::string_view WithoutTrailingDots(std::string_view s) {
  while (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}
// The address at the start of a run of address characters: the run without its trailing
// dots, or, for an IPv4 address written with its port ("10.1.2.3:51234", since a colon is an
// address character), the part before the colon. An IPv6 address with a port is written in
// brackets, which end the run. `*colon` says whether the run holds a ':' on the way in, and
// whether the address does on the way out.
std::string_view AddressOfRun(std::string_view run, bool* colon) {
  run = WithoutTrailingDots(run);
  if (!*colon) return run;
  const std::size_t at = run.find(':');  // there is one: trailing dots are all that went
  if (at == 0) return run;
  const std::string_view before = run.substr(0, at);
  if (before.find('.') == std::string_view::npos) return run;  // IPv6 text
  for (char c : run.substr(at + 1)) {
    if (c < '0' || c > '9') return run;
  }
  *colon = false;
  return WithoutTrailingDots(before);
}

// Whether the address `bytes` (4 or 16 bytes, network order) is in one of `ranges`.
bool InRanges(const std::vector<AddressRange>& ranges, const unsigned char* bytes,
              std::size_t size) {
  for (const AddressRange& r : ranges) {
    if (r.Contains(std::string_view(reinterpret_cast<const char*>(bytes), size))) return true;
  }
  return false;
}

}  // namespace

bool AddressRange::Contains(std::string_view address) const {
  if (address.size() != network.size()) return false;
  const std::size_t whole = static_cast<std::size_t>(prefix) / 8;
  // A byte at a time: ranges are a few bytes long, shorter than a call to memcmp.
  for (std::size_t i = 0; i < whole; ++i) {
    if (address[i] != network[i]) return false;
  }
  if (prefix % 8 == 0) return true;
  const unsigned mask = (0xff00u >> (prefix % 8)) & 0xffu;
  return ((static_cast<unsigned char>(address[whole]) ^
           static_cast<unsigned char>(network[whole])) &
          mask) == 0;
}

absl::StatusOr<AddressRange> ParseAddressRange(std::string_view text) {
  const std::size_t slash = text.find('/');
  AddressRange range;
  range.network = AddressBytes(text.substr(0, slash));
  int prefix = 0;
  if (range.network.empty() || slash == std::string_view::npos ||
      !absl::SimpleAtoi(std::string(text.substr(slash + 1)), &prefix) || prefix < 0 ||
      prefix > static_cast<int>(range.network.size() * 8)) {
    return absl::InvalidArgumentError(
        StrCat("\"", text, "\" is not an address range such as 10.0.0.0/8 or fd00::/8"));
  }
  range.prefix = prefix;
  return range;
}

std::vector<AddressRange> DefaultInternalRanges() {
  std::vector<AddressRange> out;
  for (const char* r : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                        "127.0.0.0/8", "169.254.0.0/16", "fc00::/7", "::1/128", "fe80::/10"}) {
    out.push_back(*ParseAddressRange(r));
  }
  return out;
}

bool Sanitizer::IsInternalAddress(std::string_view address) const {
  return IsInternalAddress(address, HasColon(address));
}

bool Sanitizer::IsInternalAddress(std::string_view address, bool colon) const {
  unsigned char buffer[16];
  const std::size_t size = ParseAddress(address, colon, buffer);
  return size != 0 && InRanges(options_.internal_ranges, buffer, size);
}

bool Sanitizer::IsInternalName(std::string_view name) const {
  const std::string_view n = WithoutTrailingDots(name);
  for (const std::string& s : lower_suffixes_) {
    if (n.size() < s.size() || !EqualsNoCase(n.substr(n.size() - s.size()), s)) continue;
    if (n.size() == s.size() || n[n.size() - s.size() - 1] == '.') return true;
  }
  return false;
}

bool Sanitizer::HasInternal(std::string_view text, bool* addresses, bool* names) const {
  // The answer of HasInternalAddress, then HasInternalName, in one pass over the runs of
  // address or name characters: each address run and each name run lies inside one of
  // them. A run with no name-only character is a single address run; one with no ':' is a
  // single name run; only the others are split again.
  const bool check_names = !lower_suffixes_.empty();
  const unsigned char name_needs = NameRunsNeed();
  bool name_found = false;
  const bool address_found = ForEachRun(
      text, kCharClass.either, names_need_dot_ ? kSeparator : kInRun,
      [&](std::size_t start, std::size_t end, unsigned char marks) {
        const std::string_view run = text.substr(start, end - start);
        if (marks & kSeparator) {  // an address run needs a '.' or a ':'
          if ((marks & kNameOnly) == 0) {
            bool colon = (marks & kColon) != 0;
            const std::string_view address = AddressOfRun(run, &colon);
            if (IsInternalAddress(address, colon)) return true;
          } else if (HasInternalAddress(run)) {
            return true;
          }
        }
        if (check_names && !name_found) {
          if ((marks & kColon) == 0) {  // kSeparator is then a '.', as in the name table
            name_found = (marks & name_needs) && IsInternalName(WithoutTrailingDots(run));
          } else {
            name_found = HasInternalName(run);
          }
        }
        return false;
      });
  if (address_found) {
    if (addresses) *addresses = true;
    return true;
  }
  if (name_found && names) *names = true;
  return name_found;
}

bool Sanitizer::HasInternalAddress(std::string_view text) const {
  return ForEachRun(text, kCharClass.address, kSeparator,
                    [&](std::size_t start, std::size_t end, unsigned char marks) {
                      bool colon = (marks & kColon) != 0;
                      const std::string_view address =
                          AddressOfRun(text.substr(start, end - start), &colon);
                      return IsInternalAddress(address, colon);
                    });
}

unsigned char Sanitizer::NameRunsNeed() const { return names_need_dot_ ? kSeparator : kInRun; }

bool Sanitizer::HasInternalName(std::string_view text) const {
  return !lower_suffixes_.empty() &&
         ForEachRun(text, kCharClass.name, NameRunsNeed(),
                    [&](std::size_t start, std::size_t end, unsigned char) {
                      return IsInternalName(WithoutTrailingDots(text.substr(start, end - start)));
                    });
}

std::string Sanitizer::Note(const std::string& field, const char* method, const char* algorithm,
                            const std::string& key_id, std::string replacement) {
  note_key_.assign(field);
  note_key_.push_back('\0');
  note_key_.append(method);
  // Noted once per field and method; every later event only finds it.
  if (manifest_.find(note_key_) != manifest_.end()) return replacement;
  SanitizationStep& step = manifest_[note_key_];
  step.set_field(field);
  step.set_method(method);
  step.set_algorithm(algorithm);
  step.set_key_id(key_id);
  return replacement;
}

std::optional<std::string> Sanitizer::Transform(const std::string& field,
                                                const std::string& value) {
  const std::string_view name = field;  // compared as a view: sizes first
  if (IsSecretField(name)) return Note(field, "remove", "", "", kRemoved);
  if (name == "user.name") {
    KnowUser(value);
    return Note(field, "pseudonymize", "hmac-sha256", names_.key_id(), Pseudonym("user", value));
  }
  if (name.ends_with(".ip") && IsInternalAddress(value)) {
    return Note(field, "anonymize-prefix-preserving", "crypto-pan-aes128", addresses_.key_id(),
                Address(value));
  }
  if (IsNameField(name) && IsInternalName(value)) {
    return Note(field, "pseudonymize", "hmac-sha256", names_.key_id(), Pseudonym("host", value));
  }
  if (name == "answers") {  // addresses and names, comma separated
    // Most answers are external: found without building anything.
    bool any = false;
    for (std::size_t start = 0; !any;) {
      const std::size_t comma = value.find(',', start);
      const std::string_view entry =
          std::string_view(value).substr(start, comma == std::string::npos ? comma : comma - start);
      any = IsInternalAddress(entry) || IsInternalName(entry);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (!any) return std::nullopt;
    std::string out;
    bool changed = false;
    std::size_t start = 0;
    for (;;) {
      const std::size_t comma = value.find(',', start);
      std::string entry = value.substr(start, comma == std::string::npos ? comma : comma - start);
      if (IsInternalAddress(entry)) {
        entry = Note(field, "anonymize-prefix-preserving", "crypto-pan-aes128", addresses_.key_id(),
                     Address(entry));
        changed = true;
      } else if (IsInternalName(entry)) {
        entry = Note("answers.name", "pseudonymize", "hmac-sha256", names_.key_id(),
                     Pseudonym("host", entry));
        changed = true;
      }
      out += (start == 0 ? "" : ",") + entry;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (changed) return out;
  }
  if (name == "http_request.referrer" && value.find('?') != std::string::npos) {
    return Note(field, "remove", "query-string", "", value.substr(0, value.find('?')));
  }
  return std::nullopt;
}

template <typename Make>
const std::string& Sanitizer::Cached(char kind, std::string_view value, Make make) const {
  cache_key_.assign(1, kind);
  cache_key_.append(value);
  if (auto it = cache_.find(cache_key_); it != cache_.end()) return it->second;
  if (cache_.size() >= kCacheEntries) cache_.clear();
  return cache_.emplace(cache_key_, make()).first->second;
}

const std::string& Sanitizer::Address(std::string_view text) const {
  return Cached('a', text, [&] { return *addresses_.AnonymizeText(text); });
}

const std::string& Sanitizer::Pseudonym(std::string_view kind, std::string_view value) const {
  return Cached(kind == "user" ? 'u' : 'h', value, [&] { return names_.Of(kind, value); });
}

std::string Sanitizer::Scan(std::string_view text, bool* addresses, bool* names) const {
  // Every internal address literal, then every internal name; text with nothing to replace
  // is not copied until the end.
  std::string out;
  const bool replaced = ReplaceRuns(
      text, kCharClass.address, kSeparator,
      [&](std::string_view run, unsigned char marks) -> RunReplacement {
        bool colon = (marks & kColon) != 0;
        const std::string_view candidate = AddressOfRun(run, &colon);
        if (!IsInternalAddress(candidate, colon)) return {};
        if (addresses) *addresses = true;
        return {true, Address(candidate), run.substr(candidate.size())};
      },
      out);
  const std::string_view after_addresses = replaced ? std::string_view(out) : text;
  std::string named;
  if (!lower_suffixes_.empty() &&
      ReplaceRuns(
          after_addresses, kCharClass.name, NameRunsNeed(),
          [&](std::string_view run, unsigned char) -> RunReplacement {
            const std::string_view name = WithoutTrailingDots(run);
            if (!IsInternalName(name)) return {};
            if (names) *names = true;
            return {true, Pseudonym("host", name), run.substr(name.size())};
          },
          named)) {
    return named;
  }
  return replaced ? out : std::string(text);
}

std::string Sanitizer::Sanitize(LogEvent& event, std::string_view line) {
  // Values that must not survive in the line: secrets, and user names (names and addresses
  // are found by the scans below, whether or not the parser named them).
  std::vector<std::pair<std::string, std::string>> literal;  // original -> replacement
  // Fields changed by Transform; a handful, with short names (no heap).
  absl::InlinedVector<std::string, 4> transformed;
  auto* fields = event.mutable_fields();
  for (int i = 0; i < fields->size();) {
    threatmesh::v1::EventField& f = (*fields)[i];
    std::optional<std::string> r = Transform(f.name(), f.value());
    if (!r) {
      ++i;
      continue;
    }
    const std::string_view name = f.name();
    if (std::find(transformed.begin(), transformed.end(), name) == transformed.end()) {
      transformed.push_back(f.name());
    }
    const bool secret = IsSecretField(name);
    if (secret || name == "user.name" || name == "http_request.referrer") {
      if (f.value().size() >= 2) literal.emplace_back(f.value(), *r);
    }
    if (secret) {
      fields->DeleteSubrange(i, 1);  // a removed field is gone, not blanked
      continue;
    }
    f.set_value(std::move(*r));
    ++i;
  }
  // User names, internal addresses and names inside any other value (a message, a referrer
  // URL, a path, an agent).
  const bool users = options_.users_in_text || !known_users_.empty();
  std::string with_users;
  for (threatmesh::v1::EventField& f : *fields) {
    const std::string_view name = f.name();
    if (name != "http_request.referrer" &&
        std::find(transformed.begin(), transformed.end(), name) != transformed.end()) {
      continue;
    }
    if (users && ReplaceUsers(f.value(), with_users)) {
      Note(f.name(), "pseudonymize", "hmac-sha256", names_.key_id(), "");
      f.set_value(std::move(with_users));
    }
    bool addresses = false, names = false;
    // Most values hold nothing internal: found without building a copy.
    if (!HasInternal(f.value(), &addresses, &names)) continue;
    std::string scanned = Scan(f.value(), &addresses, &names);
    if (!addresses && !names) continue;
    if (addresses) {
      Note(f.name(), "anonymize-prefix-preserving", "crypto-pan-aes128", addresses_.key_id(), "");
    } else {
      Note(f.name(), "pseudonymize", "hmac-sha256", names_.key_id(), "");
    }
    f.set_value(std::move(scanned));
  }
  if (literal.empty() && !users) return Scan(line, nullptr, nullptr);
  std::string out(line);
  // Longest first, so that a value inside another is not replaced piecemeal.
  std::sort(literal.begin(), literal.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (const auto& [original, replacement] : literal) {
    for (std::size_t at = out.find(original); at != std::string::npos;
         at = out.find(original, at + replacement.size())) {
      out.replace(at, original.size(), replacement);
    }
  }
  if (users && ReplaceUsers(out, with_users)) out.swap(with_users);
  return Scan(out, nullptr, nullptr);
}

void Sanitizer::KnowUser(std::string_view name) {
  if (known_users_.size() < kMaxKnownUsers && IsReplaceableEverywhere(name)) {
    known_users_.emplace(std::string(name));
  }
}

void Sanitizer::LearnUsers(const LogEvent& event, std::string_view line) {
  for (const threatmesh::v1::EventField& f : event.fields()) {
    if (f.name() == "user.name") KnowUser(f.value());
  }
  if (options_.users_in_text) {
    ForEachUserName(
        line, [&](std::size_t start, std::size_t length) { KnowUser(line.substr(start, length)); });
  }
}

bool Sanitizer::ReplaceUsers(std::string_view text, std::string& out) {
  // (start, length) of each name: the shapes', then every known name standing as a word.
  absl::InlinedVector<std::pair<std::size_t, std::size_t>, 4> spans;
  if (options_.users_in_text) {
    ForEachUserName(text, [&](std::size_t start, std::size_t length) {
      spans.emplace_back(start, length);
      KnowUser(text.substr(start, length));
    });
  }
  if (!known_users_.empty()) {
    ForEachNameWord(text, [&](std::size_t start, std::size_t length) {
      if (known_users_.contains(absl::string_view(text.data() + start, length))) {
        spans.emplace_back(start, length);
      }
    });
  }
  if (spans.empty()) return false;
  std::sort(spans.begin(), spans.end());
  std::string built;
  built.reserve(text.size() + 16 * spans.size());
  std::size_t copied = 0;
  for (const auto& [start, length] : spans) {
    if (start < copied) continue;  // the same name, found by a shape and as a known word
    built.append(text.substr(copied, start - copied));
    built.append(Pseudonym("user", text.substr(start, length)));
    copied = start + length;
  }
  built.append(text.substr(copied));
  out = std::move(built);
  return true;
}

std::vector<SanitizationStep> Sanitizer::Manifest() const {
  std::vector<SanitizationStep> out;
  for (const auto& [field, step] : manifest_) out.push_back(step);
  return out;
}

std::vector<SanitizationStep> Sanitizer::TakeManifest() {
  std::vector<SanitizationStep> out = Manifest();
  manifest_.clear();
  return out;
}

}  // namespace threatmesh
