#include "node/sanitize.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "absl/strings/numbers.h"
#include "crypto/str_cat.h"

namespace threatmesh {
namespace {

using threatmesh::v1::LogEvent;
using threatmesh::v1::SanitizationStep;

constexpr char kRemoved[] = "[removed]";

// The address in network byte order (4 or 16 bytes), or empty when `text` is not one.
std::string AddressBytes(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return "";
  const std::string t(text);
  unsigned char buf[16];
  if (inet_pton(AF_INET, t.c_str(), buf) == 1) return std::string(reinterpret_cast<char*>(buf), 4);
  if (inet_pton(AF_INET6, t.c_str(), buf) == 1) {
    return std::string(reinterpret_cast<char*>(buf), 16);
  }
  return "";
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
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

// Replaces whole runs of `allowed` characters in `line` for which `replace` gives a value.
template <typename Allowed, typename Replace>
std::string ReplaceRuns(std::string_view line, Allowed allowed, Replace replace) {
  std::string out;
  out.reserve(line.size());
  for (std::size_t i = 0; i < line.size();) {
    if (!allowed(line[i])) {
      out.push_back(line[i++]);
      continue;
    }
    std::size_t j = i;
    while (j < line.size() && allowed(line[j])) ++j;
    std::string_view run = line.substr(i, j - i);
    std::optional<std::string> r = replace(run);
    out += r ? *r : std::string(run);
    i = j;
  }
  return out;
}

}  // namespace

bool AddressRange::Contains(std::string_view address) const {
  if (address.size() != network.size()) return false;
  for (int bit = 0; bit < prefix; ++bit) {
    const int mask = 0x80 >> (bit % 8);
    if ((address[bit / 8] & mask) != (network[bit / 8] & mask)) return false;
  }
  return true;
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
  const std::string bytes = AddressBytes(address);
  if (bytes.empty()) return false;
  for (const AddressRange& r : options_.internal_ranges) {
    if (r.Contains(bytes)) return true;
  }
  return false;
}

bool Sanitizer::IsInternalName(std::string_view name) const {
  std::string n = Lower(name);
  while (!n.empty() && n.back() == '.') n.pop_back();
  for (const std::string& suffix : options_.internal_suffixes) {
    const std::string s = Lower(suffix);
    if (n == s || (n.size() > s.size() && n.ends_with(s) && n[n.size() - s.size() - 1] == '.')) {
      return true;
    }
  }
  return false;
}

std::string Sanitizer::Note(const std::string& field, const char* method, const char* algorithm,
                            const std::string& key_id, std::string replacement) {
  SanitizationStep& step = manifest_[StrCat(field, std::string_view("\0", 1), method)];
  step.set_field(field);
  step.set_method(method);
  step.set_algorithm(algorithm);
  step.set_key_id(key_id);
  return replacement;
}

std::optional<std::string> Sanitizer::Transform(const std::string& field,
                                                const std::string& value) {
  if (IsSecretField(field)) return Note(field, "remove", "", "", kRemoved);
  if (field == "user.name") {
    return Note(field, "pseudonymize", "hmac-sha256", names_.key_id(), names_.Of("user", value));
  }
  if (field.ends_with(".ip") && IsInternalAddress(value)) {
    return Note(field, "anonymize-prefix-preserving", "crypto-pan-aes128", addresses_.key_id(),
                *addresses_.AnonymizeText(value));
  }
  if (IsNameField(field) && IsInternalName(value)) {
    return Note(field, "pseudonymize", "hmac-sha256", names_.key_id(), names_.Of("host", value));
  }
  if (field == "answers") {  // addresses and names, comma separated
    std::string out;
    bool changed = false;
    std::size_t start = 0;
    for (;;) {
      const std::size_t comma = value.find(',', start);
      std::string entry = value.substr(start, comma == std::string::npos ? comma : comma - start);
      if (IsInternalAddress(entry)) {
        entry = Note(field, "anonymize-prefix-preserving", "crypto-pan-aes128", addresses_.key_id(),
                     *addresses_.AnonymizeText(entry));
        changed = true;
      } else if (IsInternalName(entry)) {
        entry = Note("answers.name", "pseudonymize", "hmac-sha256", names_.key_id(),
                     names_.Of("host", entry));
        changed = true;
      }
      out += (start == 0 ? "" : ",") + entry;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (changed) return out;
  }
  if (field == "http_request.referrer" && value.find('?') != std::string::npos) {
    return Note(field, "remove", "query-string", "", value.substr(0, value.find('?')));
  }
  return std::nullopt;
}

std::string Sanitizer::Scan(std::string_view text, bool* addresses, bool* names) const {
  // Every internal address literal, then every internal name.
  std::string out = ReplaceRuns(
      text,
      [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
               c == ':' || c == '.';
      },
      [&](std::string_view run) -> std::optional<std::string> {
        std::string_view candidate = run;
        while (!candidate.empty() && candidate.back() == '.') candidate.remove_suffix(1);
        if (!IsInternalAddress(candidate)) return std::nullopt;
        if (addresses) *addresses = true;
        return *addresses_.AnonymizeText(candidate) + std::string(run.substr(candidate.size()));
      });
  if (options_.internal_suffixes.empty()) return out;
  return ReplaceRuns(
      out,
      [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               c == '.' || c == '-' || c == '_';
      },
      [&](std::string_view run) -> std::optional<std::string> {
        std::string_view name = run;
        while (!name.empty() && name.back() == '.') name.remove_suffix(1);
        if (!IsInternalName(name)) return std::nullopt;
        if (names) *names = true;
        return names_.Of("host", name) + std::string(run.substr(name.size()));
      });
}

std::string Sanitizer::Sanitize(LogEvent& event, std::string_view line) {
  // Values that must not survive in the line: secrets, and user names (names and addresses
  // are found by the scans below, whether or not the parser named them).
  std::vector<std::pair<std::string, std::string>> literal;  // original -> replacement
  std::set<std::string> transformed;                         // fields changed by Transform
  auto* fields = event.mutable_fields();
  for (int i = 0; i < fields->size();) {
    threatmesh::v1::EventField& f = (*fields)[i];
    std::optional<std::string> r = Transform(f.name(), f.value());
    if (!r) {
      ++i;
      continue;
    }
    transformed.insert(f.name());
    if (IsSecretField(f.name()) || f.name() == "user.name" || f.name() == "http_request.referrer") {
      if (f.value().size() >= 2) literal.emplace_back(f.value(), *r);
    }
    if (IsSecretField(f.name())) {
      fields->DeleteSubrange(i, 1);  // a removed field is gone, not blanked
      continue;
    }
    f.set_value(std::move(*r));
    ++i;
  }
  // Internal addresses and names inside any other value (a referrer URL, a path, an agent).
  for (threatmesh::v1::EventField& f : *fields) {
    if (transformed.count(f.name()) && f.name() != "http_request.referrer") continue;
    bool addresses = false, names = false;
    std::string scanned = Scan(f.value(), &addresses, &names);
    if (!addresses && !names) continue;
    if (addresses) {
      Note(f.name(), "anonymize-prefix-preserving", "crypto-pan-aes128", addresses_.key_id(), "");
    } else {
      Note(f.name(), "pseudonymize", "hmac-sha256", names_.key_id(), "");
    }
    f.set_value(std::move(scanned));
  }
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
  return Scan(out, nullptr, nullptr);
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
