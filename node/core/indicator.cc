#include "node/core/indicator.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

#include "absl/status/status.h"
#include "crypto/ip_address.h"
#include "crypto/str_cat.h"

namespace threatmesh {
namespace {

using threatmesh::v1::IndicatorType;

struct TypeName {
  IndicatorType type;
  std::string_view name;
};

constexpr std::array<TypeName, 12> kTypeNames = {{
    {threatmesh::v1::INDICATOR_TYPE_IPV4, "ipv4"},
    {threatmesh::v1::INDICATOR_TYPE_IPV6, "ipv6"},
    {threatmesh::v1::INDICATOR_TYPE_CIDR, "cidr"},
    {threatmesh::v1::INDICATOR_TYPE_DOMAIN, "domain"},
    {threatmesh::v1::INDICATOR_TYPE_URL, "url"},
    {threatmesh::v1::INDICATOR_TYPE_EMAIL, "email"},
    {threatmesh::v1::INDICATOR_TYPE_MD5, "md5"},
    {threatmesh::v1::INDICATOR_TYPE_SHA1, "sha1"},
    {threatmesh::v1::INDICATOR_TYPE_SHA256, "sha256"},
    {threatmesh::v1::INDICATOR_TYPE_ASN, "asn"},
    {threatmesh::v1::INDICATOR_TYPE_JA3, "ja3"},
    {threatmesh::v1::INDICATOR_TYPE_USER_AGENT, "user-agent"},
}};

absl::Status Refuse(std::string_view type, std::string_view value, std::string_view rule) {
  return absl::InvalidArgumentError(StrCat(type, " \"", value, "\" ", rule));
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool HasSpaceOrControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

absl::StatusOr<std::string> NormalizeIpv4(std::string_view value) {
  std::optional<crypto::IpAddress> ip = crypto::ParseIp(value);
  if (!ip || ip->family != 4) {
    return Refuse("ipv4", value, "is not a dotted-quad IPv4 address (e.g. 192.0.2.1)");
  }
  return crypto::FormatIp(*ip);
}

absl::StatusOr<std::string> NormalizeIpv6(std::string_view value) {
  if (value.find('%') != std::string_view::npos) {
    return Refuse("ipv6", value, "has a zone id (%...), which means nothing to other nodes");
  }
  std::optional<crypto::IpAddress> ip = crypto::ParseIp(value);
  if (!ip || ip->family != 6) {
    return Refuse("ipv6", value, "is not an IPv6 address (e.g. 2001:db8::1)");
  }
  return crypto::FormatIp(*ip);
}

absl::StatusOr<std::string> NormalizeCidr(std::string_view value) {
  std::size_t slash = value.find('/');
  if (slash == std::string_view::npos) {
    return Refuse("cidr", value, "has no /prefix (e.g. 10.0.0.0/8)");
  }
  std::string_view addr = value.substr(0, slash);
  std::string_view len_text = value.substr(slash + 1);
  if (len_text.empty() || len_text.size() > 3 ||
      !std::all_of(len_text.begin(), len_text.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
      (len_text.size() > 1 && len_text[0] == '0')) {
    return Refuse("cidr", value, "has a prefix length that is not a decimal number");
  }
  int len = std::stoi(std::string(len_text));
  std::optional<crypto::IpAddress> ip = crypto::ParseIp(addr);
  if (!ip) return Refuse("cidr", value, "does not start with an IPv4 or IPv6 address");
  if (len > ip->bits()) {
    return Refuse(
        "cidr", value,
        StrCat("has prefix length ", len, ", more than the ", ip->bits(), " bits of the address"));
  }
  for (int bit = len; bit < ip->bits(); ++bit) {
    ip->bytes[bit / 8] = static_cast<char>(ip->bytes[bit / 8] & ~(0x80u >> (bit % 8)));
  }
  return StrCat(crypto::FormatIp(*ip), "/", len);
}

absl::StatusOr<std::string> NormalizeHex(std::string_view type, std::string_view value,
                                         std::size_t digits) {
  if (value.size() != digits) {
    return Refuse(type, value,
                  StrCat("has ", value.size(), " characters, expected ", digits, " hex digits"));
  }
  if (!std::all_of(value.begin(), value.end(),
                   [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); })) {
    return Refuse(type, value, "has a character that is not a hex digit");
  }
  return Lower(value);
}

absl::StatusOr<std::string> NormalizeAsn(std::string_view value) {
  std::string_view digits = value;
  if (digits.size() >= 2 && (digits[0] == 'A' || digits[0] == 'a') &&
      (digits[1] == 'S' || digits[1] == 's')) {
    digits.remove_prefix(2);
  }
  if (digits.empty() || digits.size() > 10 ||
      !std::all_of(digits.begin(), digits.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    return Refuse("asn", value, "is not an AS number (e.g. AS64500 or 64500)");
  }
  uint64_t n = std::stoull(std::string(digits));
  if (n > 4294967295ull) {
    return Refuse("asn", value, "is above 4294967295, the largest 32-bit AS number");
  }
  return StrCat("AS", n);
}

absl::StatusOr<std::string> NormalizeUserAgent(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return Refuse("user-agent", value, "is empty");
  if (value.size() > 1024) {
    return Refuse("user-agent", value.substr(0, 40), "... is longer than 1024 characters");
  }
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return Refuse("user-agent", value, "contains a control character");
    }
  }
  return std::string(value);
}

absl::StatusOr<std::string> NormalizeEmail(std::string_view value) {
  std::size_t at = value.rfind('@');
  if (at == std::string_view::npos || at == 0) {
    return Refuse("email", value, "is not local@domain");
  }
  std::string_view local = value.substr(0, at);
  if (local.size() > 64) return Refuse("email", value, "has a local part over 64 characters");
  if (HasSpaceOrControl(local) || local.find('@') != std::string_view::npos) {
    return Refuse("email", value, "has white space, a control character or '@' before the '@'");
  }
  absl::StatusOr<std::string> domain = NormalizeDomain(value.substr(at + 1));
  if (!domain.ok()) {
    return Refuse("email", value, StrCat("has a bad domain: ", domain.status().message()));
  }
  return StrCat(local, "@", *domain);
}

absl::StatusOr<std::string> NormalizeUrl(std::string_view value) {
  if (HasSpaceOrControl(value)) {
    return Refuse("url", value, "contains white space or a control character; percent-encode it");
  }
  std::size_t colon = value.find("://");
  if (colon == std::string_view::npos || colon == 0) {
    return Refuse("url", value, "is not an absolute URL (scheme://host/...)");
  }
  std::string scheme = Lower(value.substr(0, colon));
  if (!std::isalpha(static_cast<unsigned char>(scheme[0])) ||
      !std::all_of(scheme.begin(), scheme.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
      })) {
    return Refuse("url", value, "has a scheme that is not [a-z][a-z0-9+.-]*");
  }
  std::string_view rest = value.substr(colon + 3);
  std::size_t auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view tail = auth_end == std::string_view::npos ? "" : rest.substr(auth_end);
  std::string_view userinfo;
  if (std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    userinfo = authority.substr(0, at + 1);
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Refuse("url", value, "has an unclosed '[' host");
    host = authority.substr(0, close + 1);
    port = authority.substr(close + 1);
  } else if (std::size_t c = authority.rfind(':'); c != std::string_view::npos) {
    host = authority.substr(0, c);
    port = authority.substr(c);
  }
  if (!port.empty() &&
      (port[0] != ':' || port.size() > 6 || !std::all_of(port.begin() + 1, port.end(), [](char c) {
         return std::isdigit(static_cast<unsigned char>(c));
       }))) {
    return Refuse("url", value, "has a port that is not a number");
  }
  std::string normalized_host;
  if (host.empty()) return Refuse("url", value, "has no host");
  if (host.front() == '[') {
    absl::StatusOr<std::string> v6 = NormalizeIpv6(host.substr(1, host.size() - 2));
    if (!v6.ok()) return Refuse("url", value, "has a bad IPv6 host");
    normalized_host = StrCat("[", *v6, "]");
  } else if (absl::StatusOr<std::string> v4 = NormalizeIpv4(host); v4.ok()) {
    normalized_host = *v4;
  } else {
    std::string lower = Lower(host);
    if (lower.find('.') == std::string::npos) {
      // Single-label hosts (intranet names) are legitimate in URLs; check the characters only.
      if (!std::all_of(lower.begin(), lower.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
          })) {
        return Refuse("url", value, "has a host with characters outside [a-z0-9_-]");
      }
      normalized_host = lower;
    } else {
      absl::StatusOr<std::string> domain = NormalizeDomain(host);
      if (!domain.ok()) {
        return Refuse("url", value, StrCat("has a bad host: ", domain.status().message()));
      }
      normalized_host = *domain;
    }
  }
  return StrCat(scheme, "://", userinfo, normalized_host, port, tail);
}

}  // namespace

absl::StatusOr<IndicatorType> ParseIndicatorType(std::string_view name) {
  std::string lower = Lower(name);
  std::replace(lower.begin(), lower.end(), '_', '-');
  for (const TypeName& t : kTypeNames) {
    if (t.name == lower) return t.type;
  }
  return absl::InvalidArgumentError(
      StrCat("unknown indicator type \"", name, "\"; use one of ", IndicatorTypeNames()));
}

std::string IndicatorTypeName(IndicatorType type) {
  for (const TypeName& t : kTypeNames) {
    if (t.type == type) return std::string(t.name);
  }
  return StrCat("type-", static_cast<int>(type));
}

std::string IndicatorTypeNames() {
  std::string out;
  for (const TypeName& t : kTypeNames) StrAppend(&out, out.empty() ? "" : ", ", t.name);
  return out;
}

absl::StatusOr<std::string> NormalizeDomain(std::string_view value) {
  std::string d = Lower(value);
  if (!d.empty() && d.back() == '.') d.pop_back();
  if (d.empty()) return Refuse("domain", value, "is empty");
  if (d.size() > 253) return Refuse("domain", value, "is longer than 253 characters");
  std::size_t labels = 0;
  std::string_view rest = d, last;
  while (true) {
    std::size_t dot = rest.find('.');
    std::string_view label = rest.substr(0, dot);
    ++labels;
    if (label.empty()) return Refuse("domain", value, "has an empty label (\"..\")");
    if (label.size() > 63) return Refuse("domain", value, "has a label over 63 characters");
    for (char c : label) {
      unsigned char u = static_cast<unsigned char>(c);
      if (u >= 0x80) {
        return Refuse("domain", value, "is not ASCII; give the punycode form (xn--...)");
      }
      if (!std::isalnum(u) && c != '-' && c != '_') {
        return Refuse("domain", value,
                      StrCat("has the character '", c, "', allowed are a-z 0-9 - _"));
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return Refuse("domain", value, "has a label that starts or ends with '-'");
    }
    last = label;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  if (labels < 2) return Refuse("domain", value, "has a single label; give the full name");
  if (std::all_of(last.begin(), last.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    return Refuse("domain", value, "ends in a numeric label; an address is type ipv4");
  }
  return d;
}

absl::StatusOr<std::string> NormalizeIndicator(IndicatorType type, std::string_view value) {
  switch (type) {
    case threatmesh::v1::INDICATOR_TYPE_IPV4:
      return NormalizeIpv4(value);
    case threatmesh::v1::INDICATOR_TYPE_IPV6:
      return NormalizeIpv6(value);
    case threatmesh::v1::INDICATOR_TYPE_CIDR:
      return NormalizeCidr(value);
    case threatmesh::v1::INDICATOR_TYPE_DOMAIN:
      return NormalizeDomain(value);
    case threatmesh::v1::INDICATOR_TYPE_URL:
      return NormalizeUrl(value);
    case threatmesh::v1::INDICATOR_TYPE_EMAIL:
      return NormalizeEmail(value);
    case threatmesh::v1::INDICATOR_TYPE_MD5:
      return NormalizeHex("md5", value, 32);
    case threatmesh::v1::INDICATOR_TYPE_SHA1:
      return NormalizeHex("sha1", value, 40);
    case threatmesh::v1::INDICATOR_TYPE_SHA256:
      return NormalizeHex("sha256", value, 64);
    case threatmesh::v1::INDICATOR_TYPE_ASN:
      return NormalizeAsn(value);
    case threatmesh::v1::INDICATOR_TYPE_JA3:
      return NormalizeHex("ja3", value, 32);
    case threatmesh::v1::INDICATOR_TYPE_USER_AGENT:
      return NormalizeUserAgent(value);
    default:
      return absl::InvalidArgumentError(StrCat("indicator type ", static_cast<int>(type),
                                               " is unknown; use one of ", IndicatorTypeNames()));
  }
}

}  // namespace threatmesh
