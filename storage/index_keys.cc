#include "storage/index_keys.h"

#include <algorithm>

#include "crypto/encoding.h"
#include "crypto/uuid.h"

namespace threatmesh::storage {
namespace {

using threatmesh::v1::IndicatorType;
using threatmesh::v1::RecordBody;

// The host of an absolute URL ("scheme://user@host:port/path"), or "" when it has none.
std::string_view UrlHost(std::string_view url) {
  std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (std::size_t at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  if (!rest.empty() && rest.front() == '[') return {};  // an IPv6 literal, not a name
  return rest.substr(0, rest.find(':'));
}

// A dotted name that is not an address. Most names have a character no address text can
// have, which spares the parse.
bool IsDomainName(std::string_view host) {
  if (host.find('.') == std::string_view::npos) return false;
  const bool may_be_address = std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' ||
           c == ':';
  });
  return !may_be_address || !ParseIp(host).has_value();
}

}  // namespace

std::string EncodeSeq(uint64_t seq) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(seq & 0xff);
    seq >>= 8;
  }
  return out;
}

uint64_t DecodeSeq(std::string_view key) {
  uint64_t seq = 0;
  for (std::size_t i = 0; i < 8 && i < key.size(); ++i) {
    seq = (seq << 8) | static_cast<unsigned char>(key[i]);
  }
  return seq;
}

std::string EncodeTime(int64_t unix_ms) {
  // Flipping the sign bit makes two's-complement order equal unsigned byte order.
  return EncodeSeq(static_cast<uint64_t>(unix_ms) ^ (uint64_t{1} << 63));
}

std::string IndicatorPrefix(int type, std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out.push_back(static_cast<char>(type));
  out.append(value);
  out.push_back('\0');
  return out;
}

std::string DomainPrefix(std::string_view domain) {
  std::string out;
  out.reserve(domain.size() + 1);
  while (!domain.empty()) {
    std::size_t dot = domain.rfind('.');
    std::string_view label = dot == std::string_view::npos ? domain : domain.substr(dot + 1);
    out.append(label);
    out.push_back('.');
    domain = dot == std::string_view::npos ? std::string_view() : domain.substr(0, dot);
  }
  return out;
}

std::string CidrPrefix(const IpAddress& ip, int prefix_len) {
  std::string out;
  out.push_back(static_cast<char>(ip.family));
  out.push_back(static_cast<char>(prefix_len));
  std::string net = ip.bytes;
  for (int bit = prefix_len; bit < ip.bits(); ++bit) {
    net[bit / 8] =
        static_cast<char>(static_cast<unsigned char>(net[bit / 8]) & ~(0x80u >> (bit % 8)));
  }
  out.append(net);
  return out;
}

std::string AuthorTimePrefix(std::string_view author, int64_t unix_ms) {
  std::string out(author);
  out.append(EncodeTime(unix_ms));
  return out;
}

std::string TagPrefix(std::string_view tag) {
  std::string out(tag);
  out.push_back('\0');
  return out;
}

std::string KindPrefix(RecordKind kind) { return std::string(1, static_cast<char>(kind)); }

std::string RecordUuid(std::string_view record_id) {
  static const std::string* ns =
      new std::string(*crypto::ParseUuid(crypto::kThreatmeshUuidNamespace));
  return crypto::Uuid5Bytes(*ns, crypto::HexEncode(record_id));
}

std::optional<RecordKind> KindOf(RecordBody::KindCase body_case) {
  switch (body_case) {
    case RecordBody::kIndicator:
      return RecordKind::kIndicator;
    case RecordBody::kLogExcerpt:
      return RecordKind::kLogExcerpt;
    case RecordBody::kSighting:
      return RecordKind::kSighting;
    case RecordBody::kRetraction:
      return RecordKind::kRetraction;
    case RecordBody::kKeyRotation:
      return RecordKind::kKeyRotation;
    case RecordBody::kKeyRevocation:
      return RecordKind::kKeyRevocation;
    case RecordBody::KIND_NOT_SET:
      break;
  }
  return std::nullopt;
}

std::vector<IndexEntry> IndexEntriesFor(const RecordBody& body, uint64_t seq) {
  std::vector<IndexEntry> out = IndexPrefixesFor(body);
  // Every entry is prefix || sequence -> id: entries under one prefix come out in commit
  // order, and a new entry usually lands right after the previous one with its prefix,
  // which keeps the memtable insert cheap.
  const std::string seq_key = EncodeSeq(seq);
  for (IndexEntry& e : out) e.key.append(seq_key);
  return out;
}

std::vector<IndexEntry> IndexPrefixesFor(const RecordBody& body) {
  std::vector<IndexEntry> out;
  out.reserve(4 + body.labels_size());
  auto add = [&](ColumnFamily family, std::string prefix) {
    prefix.reserve(prefix.size() + 8);  // room for the sequence
    out.push_back({family, std::move(prefix)});
  };
  auto add_domain = [&](std::string_view host) {
    if (IsDomainName(host)) add(kIndexDomain, DomainPrefix(host) + '\0');
  };

  if (body.has_indicator()) {
    const auto& ind = body.indicator();
    add(kIndexIndicator, IndicatorPrefix(ind.type(), ind.value()));
    switch (ind.type()) {
      case threatmesh::v1::INDICATOR_TYPE_DOMAIN:
        add_domain(ind.value());
        break;
      case threatmesh::v1::INDICATOR_TYPE_URL:
        add_domain(UrlHost(ind.value()));
        break;
      case threatmesh::v1::INDICATOR_TYPE_EMAIL:
        if (std::size_t at = ind.value().rfind('@'); at != std::string::npos) {
          add_domain(std::string_view(ind.value()).substr(at + 1));
        }
        break;
      case threatmesh::v1::INDICATOR_TYPE_IPV4:
      case threatmesh::v1::INDICATOR_TYPE_IPV6:
        if (auto ip = ParseIp(ind.value())) add(kIndexCidr, CidrPrefix(*ip, ip->bits()));
        break;
      case threatmesh::v1::INDICATOR_TYPE_CIDR: {
        std::string_view v = ind.value();
        std::size_t slash = v.find('/');
        if (slash == std::string_view::npos) break;
        auto ip = ParseIp(v.substr(0, slash));
        int len = 0;
        for (char c : v.substr(slash + 1)) len = len * 10 + (c - '0');
        if (ip && len >= 0 && len <= ip->bits()) add(kIndexCidr, CidrPrefix(*ip, len));
        break;
      }
      default:
        break;
    }
  } else if (body.has_sighting()) {
    add(kIndexIndicator, IndicatorPrefix(body.sighting().type(), body.sighting().value()));
  }
  add(kIndexAuthorTime, AuthorTimePrefix(body.author(), body.created_at()));
  std::vector<std::string_view> tags(body.labels().begin(), body.labels().end());
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  for (std::string_view tag : tags) add(kIndexTag, TagPrefix(tag));
  if (auto kind = KindOf(body)) add(kIndexKind, KindPrefix(*kind));
  return out;
}

}  // namespace threatmesh::storage
