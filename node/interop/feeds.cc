#include "node/interop/feeds.h"

#include <cstdio>
#include <cstdlib>
#include <unordered_set>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/ip_address.h"
#include "crypto/str_cat.h"
#include "node/core/indicator.h"
#include "node/core/record_builder.h"

namespace threatmesh::interop {
namespace {

namespace v1 = ::threatmesh::v1;

// Most distinct values a plain list remembers to write each once (about 100 MB at most).
constexpr std::size_t kMaxRememberedValues = 1000000;

bool IsIndicator(const v1::StoredRecord& record, std::string* why) {
  if (record.body().has_indicator()) return true;
  *why = "only indicators go into this format";
  return false;
}

class StixFeed final : public FeedWriter {
 public:
  StixFeed(std::ostream& out, StixBundleWriter::Lookup lookup) : writer_(out, std::move(lookup)) {}
  bool Add(const v1::StoredRecord& record, std::string* why) override {
    return writer_.Add(record, why);
  }
  void Finish() override { writer_.Finish(); }

 private:
  StixBundleWriter writer_;
};

class PlainFeed final : public FeedWriter {
 public:
  explicit PlainFeed(std::ostream& out) : out_(out) {}
  bool Add(const v1::StoredRecord& record, std::string* why) override {
    if (!IsIndicator(record, why)) return false;
    const std::string& value = record.body().indicator().value();
    if (seen_.size() < kMaxRememberedValues && !seen_.insert(value).second) return true;
    out_ << value << "\n";
    return true;
  }
  void Finish() override {}

 private:
  std::ostream& out_;
  std::unordered_set<std::string> seen_;
};

// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break.
std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

class CsvFeed final : public FeedWriter {
 public:
  explicit CsvFeed(std::ostream& out) : out_(out) {
    out_ << "id,type,value,tlp,confidence,labels,valid_from,valid_until,author,created,"
            "description\r\n";
  }
  bool Add(const v1::StoredRecord& record, std::string* why) override {
    if (!IsIndicator(record, why)) return false;
    const v1::RecordBody& b = record.body();
    std::string labels;
    for (const std::string& l : b.labels()) labels += (labels.empty() ? "" : ";") + l;
    out_ << crypto::HexEncode(record.id()) << "," << IndicatorTypeName(b.indicator().type()) << ","
         << CsvField(b.indicator().value()) << "," << TlpName(b.tlp()) << ","
         << (b.has_confidence() ? std::to_string(b.confidence()) : "") << "," << CsvField(labels)
         << "," << StixTime(b.valid_from() != 0 ? b.valid_from() : b.created_at()) << ","
         << (b.valid_until() != 0 ? StixTime(b.valid_until()) : "") << ","
         << crypto::HexEncode(b.author()) << "," << StixTime(b.created_at()) << ","
         << CsvField(b.indicator().description()) << "\r\n";
    return true;
  }
  void Finish() override {}

 private:
  std::ostream& out_;
};

// A Zeek intel field: tabs and line breaks would split it, so they become spaces; an empty
// field is "-" (Zeek's unset field).
std::string ZeekField(std::string_view s) {
  if (s.empty()) return "-";
  std::string out(s);
  for (char& c : out) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

// The Intel:: type of an indicator, and the indicator as Zeek matches it; empty type for one
// Zeek's intel framework has no type for.
std::pair<std::string_view, std::string> ZeekIndicator(const v1::Indicator& ind) {
  switch (ind.type()) {
    case v1::INDICATOR_TYPE_IPV4:
    case v1::INDICATOR_TYPE_IPV6:
      return {"Intel::ADDR", ind.value()};
    case v1::INDICATOR_TYPE_CIDR:
      return {"Intel::SUBNET", ind.value()};
    case v1::INDICATOR_TYPE_DOMAIN:
      return {"Intel::DOMAIN", ind.value()};
    case v1::INDICATOR_TYPE_URL: {
      // Zeek matches URLs without their scheme ("host/path").
      const std::size_t scheme = ind.value().find("://");
      return {"Intel::URL",
              scheme == std::string::npos ? ind.value() : ind.value().substr(scheme + 3)};
    }
    case v1::INDICATOR_TYPE_EMAIL:
      return {"Intel::EMAIL", ind.value()};
    case v1::INDICATOR_TYPE_MD5:
    case v1::INDICATOR_TYPE_SHA1:
    case v1::INDICATOR_TYPE_SHA256:
      return {"Intel::FILE_HASH", ind.value()};
    case v1::INDICATOR_TYPE_USER_AGENT:
      return {"Intel::SOFTWARE", ind.value()};
    default:
      return {{}, {}};
  }
}

class ZeekIntelFeed final : public FeedWriter {
 public:
  ZeekIntelFeed(std::ostream& out, std::string source) : out_(out), source_(std::move(source)) {
    out_ << "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\n";
  }
  bool Add(const v1::StoredRecord& record, std::string* why) override {
    if (!IsIndicator(record, why)) return false;
    const v1::Indicator& ind = record.body().indicator();
    auto [type, indicator] = ZeekIndicator(ind);
    if (type.empty()) {
      *why = StrCat("Zeek's intel framework has no type for ", IndicatorTypeName(ind.type()));
      return false;
    }
    std::string desc = ind.description();
    if (desc.empty()) {
      desc = StrCat("TLP:", TlpName(record.body().tlp()), " threatmesh record ",
                    crypto::HexEncode(record.id()));
    }
    out_ << ZeekField(indicator) << "\t" << type << "\t" << ZeekField(source_) << "\t"
         << ZeekField(desc) << "\t-\n";
    return true;
  }
  void Finish() override {}

 private:
  std::ostream& out_;
  const std::string source_;
};

std::string_view RpzTarget(RpzAction action) {
  switch (action) {
    case RpzAction::kNodata:
      return "*.";
    case RpzAction::kDrop:
      return "rpz-drop.";
    case RpzAction::kPassthru:
      return "rpz-passthru.";
    default:
      return ".";
  }
}

class RpzFeed final : public FeedWriter {
 public:
  RpzFeed(std::ostream& out, RpzAction action, uint32_t serial)
      : out_(out), target_(RpzTarget(action)) {
    // Names below are relative to the zone's origin, which named.conf (or the resolver's
    // configuration) gives.
    out_ << "; threatmesh RPZ export; each indicator is a trigger (docs/STIX.md, README)\n"
         << "$TTL 300\n"
         << "@ IN SOA localhost. hostmaster.localhost. " << serial << " 3600 600 86400 300\n"
         << "@ IN NS localhost.\n";
  }
  bool Add(const v1::StoredRecord& record, std::string* why) override {
    if (!IsIndicator(record, why)) return false;
    const v1::Indicator& ind = record.body().indicator();
    switch (ind.type()) {
      case v1::INDICATOR_TYPE_DOMAIN:
        out_ << ind.value() << " CNAME " << target_ << "\n"
             << "*." << ind.value() << " CNAME " << target_ << "\n";
        return true;
      case v1::INDICATOR_TYPE_IPV4:
      case v1::INDICATOR_TYPE_IPV6:
      case v1::INDICATOR_TYPE_CIDR: {
        const std::string name = RpzIpName(ind.value());
        if (name.empty()) break;
        out_ << name << " CNAME " << target_ << "\n";
        return true;
      }
      default:
        break;
    }
    *why = StrCat("a DNS policy zone has no trigger for ", IndicatorTypeName(ind.type()));
    return false;
  }
  void Finish() override {}

 private:
  std::ostream& out_;
  const std::string_view target_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<FeedWriter>> MakeFeedWriter(std::string_view format,
                                                           std::ostream& out, FeedOptions options) {
  if (format == "stix") return std::make_unique<StixFeed>(out, std::move(options.lookup));
  if (format == "plain") return std::make_unique<PlainFeed>(out);
  if (format == "csv") return std::make_unique<CsvFeed>(out);
  if (format == "zeek-intel") return std::make_unique<ZeekIntelFeed>(out, options.source);
  if (format == "rpz") {
    return std::make_unique<RpzFeed>(out, options.rpz_action, options.rpz_serial);
  }
  if (format == "misp-feed") {
    return absl::InvalidArgumentError("misp-feed writes a directory: use MispFeedWriter");
  }
  return absl::InvalidArgumentError(
      StrCat("unknown export format \"", format, "\"; use ", kFeedFormats));
}

absl::StatusOr<RpzAction> ParseRpzAction(std::string_view name) {
  if (name == "nxdomain") return RpzAction::kNxdomain;
  if (name == "nodata") return RpzAction::kNodata;
  if (name == "drop") return RpzAction::kDrop;
  if (name == "passthru") return RpzAction::kPassthru;
  return absl::InvalidArgumentError(
      StrCat("unknown RPZ action \"", name, "\"; use nxdomain, nodata, drop or passthru"));
}

std::string RpzIpName(std::string_view value) {
  std::string_view address = value;
  int prefix = -1;
  if (const std::size_t slash = value.find('/'); slash != std::string_view::npos) {
    address = value.substr(0, slash);
    prefix = std::atoi(std::string(value.substr(slash + 1)).c_str());
  }
  std::optional<crypto::IpAddress> ip = crypto::ParseIp(address);
  if (!ip) return "";
  if (prefix < 0) prefix = ip->bits();
  if (prefix > ip->bits()) return "";
  const auto* b = reinterpret_cast<const unsigned char*>(ip->bytes.data());
  std::string out = std::to_string(prefix);
  if (ip->family == 4) {
    for (int i = 3; i >= 0; --i) out += StrCat(".", static_cast<int>(b[i]));
    return out + ".rpz-ip";
  }
  // IPv6: the eight 16-bit words from the last, the longest run of zero words as "zz".
  int words[8];
  for (int i = 0; i < 8; ++i) words[i] = b[2 * i] << 8 | b[2 * i + 1];
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    int j = i;
    while (j < 8 && words[j] == 0) ++j;
    if (j - i > best_len && j - i >= 2) best = i, best_len = j - i;
    i = j == i ? i + 1 : j;
  }
  for (int i = 7; i >= 0; --i) {
    if (best >= 0 && i >= best && i < best + best_len) {
      if (i == best) out += ".zz";
      continue;
    }
    char hex[8];
    std::snprintf(hex, sizeof hex, ".%x", words[i]);
    out += hex;
  }
  return out + ".rpz-ip";
}

uint32_t RpzSerialOf(std::string_view zone_text) {
  const std::size_t soa = zone_text.find(" IN SOA ");
  if (soa == std::string_view::npos) return 0;
  // "@ IN SOA MNAME RNAME SERIAL ...": the third field after SOA.
  std::string_view rest = zone_text.substr(soa + 8);
  for (int field = 0; field < 2; ++field) {
    const std::size_t space = rest.find(' ');
    if (space == std::string_view::npos) return 0;
    rest = rest.substr(space + 1);
  }
  return static_cast<uint32_t>(
      std::strtoul(std::string(rest.substr(0, rest.find(' '))).c_str(), nullptr, 10));
}

}  // namespace threatmesh::interop
