#include "node/interop/misp.h"

#include <ctime>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/str_cat.h"
#include "crypto/uuid.h"
#include "node/core/indicator.h"
#include "node/core/json_string.h"
#include "node/core/record_view.h"

namespace threatmesh::interop {
namespace {

namespace v1 = ::threatmesh::v1;

std::string Uuid(std::string_view name) {
  static const std::string* ns = new std::string(*crypto::ParseUuid(kStixNamespace));
  return crypto::Uuid5(*ns, name);
}

// MISP's TLP taxonomy tag of a label.
std::string TlpTag(v1::Tlp tlp) { return StrCat("tlp:", Tlp2Name(tlp)); }

// The date part of a time ("2026-11-28").
std::string Date(int64_t ms) { return FormatTime(ms).substr(0, 10); }

std::string Seconds(int64_t ms) { return std::to_string(ms / 1000); }

}  // namespace

std::string MispEventUuid(std::string_view node_key) {
  return Uuid(StrCat("misp-event:", crypto::HexEncode(node_key)));
}

std::pair<std::string_view, std::string_view> MispAttributeType(v1::IndicatorType t) {
  switch (t) {
    case v1::INDICATOR_TYPE_IPV4:
    case v1::INDICATOR_TYPE_IPV6:
    case v1::INDICATOR_TYPE_CIDR:
      return {"ip-dst", "Network activity"};
    case v1::INDICATOR_TYPE_DOMAIN:
      return {"domain", "Network activity"};
    case v1::INDICATOR_TYPE_URL:
      return {"url", "Network activity"};
    case v1::INDICATOR_TYPE_EMAIL:
      return {"email-src", "Payload delivery"};
    case v1::INDICATOR_TYPE_MD5:
      return {"md5", "Payload delivery"};
    case v1::INDICATOR_TYPE_SHA1:
      return {"sha1", "Payload delivery"};
    case v1::INDICATOR_TYPE_SHA256:
      return {"sha256", "Payload delivery"};
    case v1::INDICATOR_TYPE_ASN:
      return {"AS", "Network activity"};
    case v1::INDICATOR_TYPE_JA3:
      return {"ja3-fingerprint-md5", "Network activity"};
    case v1::INDICATOR_TYPE_USER_AGENT:
      return {"user-agent", "Network activity"};
    default:
      return {{}, {}};
  }
}

MispFeedWriter::MispFeedWriter(std::ostream& event_out, std::ostream& hashes_out,
                               MispFeedOptions options)
    : event_out_(event_out),
      hashes_out_(hashes_out),
      options_(std::move(options)),
      event_uuid_(MispEventUuid(options_.node_key)) {
  std::string head = "{\"Event\":{\"uuid\":";
  AppendJsonString(head, event_uuid_);
  head += StrCat(",\"info\":", JsonString(StrCat("threatmesh indicators of ", options_.org_name)),
                 ",\"date\":", JsonString(Date(options_.now_ms)),
                 ",\"timestamp\":", JsonString(Seconds(options_.now_ms)),
                 ",\"publish_timestamp\":", JsonString(Seconds(options_.now_ms)),
                 ",\"published\":true,\"analysis\":\"2\",\"threat_level_id\":\"4\"",
                 ",\"Orgc\":{\"name\":", JsonString(options_.org_name), ",\"uuid\":",
                 JsonString(Uuid(StrCat("misp-org:", crypto::HexEncode(options_.node_key)))),
                 "},\"Attribute\":[");
  event_out_ << head;
}

bool MispFeedWriter::Add(const v1::StoredRecord& record, std::string* why) {
  if (!record.body().has_indicator()) {
    *why = "only indicators go into this format";
    return false;
  }
  const v1::RecordBody& body = record.body();
  const v1::Indicator& ind = body.indicator();
  auto [type, category] = MispAttributeType(ind.type());
  if (type.empty()) {
    *why = StrCat("MISP has no attribute type for ", IndicatorTypeName(ind.type()));
    return false;
  }
  std::string value = ind.value();
  if (ind.type() == v1::INDICATOR_TYPE_ASN) value = value.substr(2);  // MISP's AS: the number
  std::string a = first_ ? "" : ",";
  first_ = false;
  a += StrCat(
      "{\"uuid\":", JsonString(Uuid(StrCat("misp-attribute:", crypto::HexEncode(record.id())))),
      ",\"type\":", JsonString(type), ",\"category\":", JsonString(category),
      ",\"value\":", JsonString(value), ",\"to_ids\":true",
      ",\"timestamp\":", JsonString(Seconds(body.created_at())), ",\"comment\":",
      JsonString(StrCat(ind.description(), ind.description().empty() ? "" : " | ",
                        "threatmesh record ", crypto::HexEncode(record.id()))),
      ",\"Tag\":[{\"name\":", JsonString(TlpTag(body.tlp())), "}]}");
  event_out_ << a;
  hashes_out_ << crypto::HexEncode(crypto::Md5(value)) << "," << event_uuid_ << "\n";
  max_tlp_ = std::max(max_tlp_, body.tlp());
  ++attributes_;
  return true;
}

void MispFeedWriter::Finish() {
  event_out_ << "],\"Tag\":[{\"name\":" << JsonString(TlpTag(max_tlp_)) << "}]}}\n";
}

std::string MispFeedWriter::Manifest() const {
  return StrCat(
      "{", JsonString(event_uuid_), ":{\"Orgc\":{\"name\":", JsonString(options_.org_name),
      ",\"uuid\":", JsonString(Uuid(StrCat("misp-org:", crypto::HexEncode(options_.node_key)))),
      "},\"Tag\":[{\"name\":", JsonString(TlpTag(max_tlp_)),
      "}],\"info\":", JsonString(StrCat("threatmesh indicators of ", options_.org_name)),
      ",\"date\":", JsonString(Date(options_.now_ms)),
      ",\"analysis\":2,\"threat_level_id\":4,\"timestamp\":", options_.now_ms / 1000, "}}\n");
}

}  // namespace threatmesh::interop
