#include "node/interop/misp_import.h"

#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/str_cat.h"
#include "node/core/validate.h"

namespace threatmesh::interop {
namespace {

namespace v1 = ::threatmesh::v1;
using Json = nlohmann::json;

// An IP address attribute's type: a prefix, an IPv6 or an IPv4 address.
v1::IndicatorType IpType(std::string_view value) {
  if (value.find('/') != std::string_view::npos) return v1::INDICATOR_TYPE_CIDR;
  return value.find(':') != std::string_view::npos ? v1::INDICATOR_TYPE_IPV6
                                                   : v1::INDICATOR_TYPE_IPV4;
}

// The threatmesh type of one part of a MISP attribute type ("ip-dst", "md5", ...); nullopt
// for a part threatmesh has no type for (a port, a file name).
std::optional<v1::IndicatorType> PartType(std::string_view misp_type, std::string_view value) {
  static const std::map<std::string_view, v1::IndicatorType> kTypes = {
      {"domain", v1::INDICATOR_TYPE_DOMAIN},
      {"hostname", v1::INDICATOR_TYPE_DOMAIN},
      {"url", v1::INDICATOR_TYPE_URL},
      {"email", v1::INDICATOR_TYPE_EMAIL},
      {"email-src", v1::INDICATOR_TYPE_EMAIL},
      {"email-dst", v1::INDICATOR_TYPE_EMAIL},
      {"md5", v1::INDICATOR_TYPE_MD5},
      {"sha1", v1::INDICATOR_TYPE_SHA1},
      {"sha256", v1::INDICATOR_TYPE_SHA256},
      {"AS", v1::INDICATOR_TYPE_ASN},
      {"ja3-fingerprint-md5", v1::INDICATOR_TYPE_JA3},
      {"user-agent", v1::INDICATOR_TYPE_USER_AGENT},
  };
  if (misp_type == "ip-dst" || misp_type == "ip-src" || misp_type == "ip") return IpType(value);
  auto it = kTypes.find(misp_type);
  if (it == kTypes.end()) return std::nullopt;
  return it->second;
}

// `s` split at '|' into at most `parts` parts (the last keeps any further '|').
std::vector<std::string_view> Split(std::string_view s, std::size_t parts) {
  std::vector<std::string_view> out;
  for (std::size_t at = 0;;) {
    const std::size_t bar = out.size() + 1 < parts ? s.find('|', at) : std::string_view::npos;
    out.push_back(s.substr(at, bar == std::string_view::npos ? bar : bar - at));
    if (bar == std::string_view::npos) return out;
    at = bar + 1;
  }
}

// The values of an attribute: one per part of a composite type ("domain|ip") that threatmesh
// has a type for.
std::vector<PatternValue> AttributeValues(std::string_view type, std::string_view value) {
  const std::vector<std::string_view> types = Split(type, std::string_view::npos);
  const std::vector<std::string_view> values = Split(value, types.size());
  std::vector<PatternValue> out;
  if (types.size() != values.size()) return out;
  for (std::size_t i = 0; i < types.size(); ++i) {
    std::optional<v1::IndicatorType> t = PartType(types[i], values[i]);
    if (!t) continue;
    std::string v(values[i]);
    if (*t == v1::INDICATOR_TYPE_ASN && v.rfind("AS", 0) != 0) v = StrCat("AS", v);
    out.push_back({*t, std::move(v)});
  }
  return out;
}

// What an attribute's (or event's) tags say: the most restrictive TLP among them, and the
// other tags as labels.
struct Tags {
  std::optional<v1::Tlp> tlp;
  std::vector<std::string> labels;
};

absl::StatusOr<Tags> ReadTags(const Json& owner) {
  Tags out;
  if (!owner.contains("Tag") || !owner["Tag"].is_array()) return out;
  for (const Json& tag : owner["Tag"]) {
    const std::string name = tag.is_object() ? tag.value("name", "") : "";
    if (name.size() >= 4 && (name.rfind("tlp:", 0) == 0 || name.rfind("TLP:", 0) == 0)) {
      std::optional<v1::Tlp> tlp = TlpFromLabel(name);
      if (!tlp) {
        return absl::PermissionDeniedError(
            StrCat("tag ", name, " is not a TLP label this node knows: refused, not downgraded"));
      }
      out.tlp = std::max(out.tlp.value_or(v1::TLP_CLEAR), *tlp);
    } else if (!name.empty()) {
      out.labels.push_back(name);
    }
  }
  return out;
}

// An attribute's timestamp as MISP writes it (a string or a number of seconds).
std::string TimestampText(const Json& a) {
  if (!a.contains("timestamp")) return "";
  const Json& t = a["timestamp"];
  return t.is_string() ? t.get<std::string>() : t.dump();
}

struct EventContext {
  std::string uuid;
  std::string info;
  std::string org;
  Tags tags;
  std::string_view source;
  v1::Tlp default_tlp;
};

absl::Status ReadAttribute(const Json& a, const EventContext& event, const std::string& where,
                           StixImport& out) {
  if (a.value("deleted", false)) return absl::FailedPreconditionError("deleted in MISP");
  if (!a.value("to_ids", true)) {
    return absl::FailedPreconditionError("to_ids is false: context, not for detection");
  }
  const std::string type = a.value("type", "");
  const std::string value = a.value("value", "");
  std::vector<PatternValue> values = AttributeValues(type, value);
  if (values.empty()) return absl::UnimplementedError(StrCat("no threatmesh type for ", type));
  absl::StatusOr<Tags> tags = ReadTags(a);
  if (!tags.ok()) return tags.status();
  const v1::Tlp tlp = tags->tlp.value_or(event.tags.tlp.value_or(event.default_tlp));
  const std::string attribute_ref =
      a.contains("uuid") && a["uuid"].is_string()
          ? a["uuid"].get<std::string>()
          : crypto::HexEncode(crypto::Sha256(StrCat(type, "\n", value)));
  for (std::size_t i = 0; i < values.size(); ++i) {
    v1::PublishRequest r;
    v1::RecordBody* b = r.mutable_body();
    b->set_tlp(tlp);
    b->mutable_indicator()->set_type(values[i].type);
    b->mutable_indicator()->set_value(values[i].value);
    const std::string comment = a.value("comment", "");
    b->mutable_indicator()->set_description(
        StrCat(comment, comment.empty() ? "" : " | ", "Imported from ", event.source,
               ": MISP event ", event.uuid, event.info.empty() ? "" : StrCat(" (", event.info, ")"),
               event.org.empty() ? "" : StrCat(" by ", event.org)));
    for (const std::string& l : tags->labels) {
      if (static_cast<std::size_t>(b->labels_size()) < kMaxRecordLabels) b->add_labels(l);
    }
    for (const std::string& l : event.tags.labels) {
      if (static_cast<std::size_t>(b->labels_size()) < kMaxRecordLabels) b->add_labels(l);
    }
    r.set_source_ref(StrCat("misp:", event.uuid, "/", attribute_ref, "@", TimestampText(a),
                            values.size() > 1 ? StrCat("#", i) : std::string()));
    out.requests.emplace_back(where, std::move(r));
  }
  return absl::OkStatus();
}

void ReadEvent(const Json& e, std::string_view source, v1::Tlp default_tlp, StixImport& out) {
  EventContext event{e.value("uuid", ""), e.value("info", ""), "", {}, source, default_tlp};
  if (e.contains("Orgc") && e["Orgc"].is_object()) event.org = e["Orgc"].value("name", "");
  absl::StatusOr<Tags> tags = ReadTags(e);
  if (!tags.ok()) {
    out.skipped.emplace_back(StrCat("event ", event.uuid), std::string(tags.status().message()));
    return;
  }
  event.tags = std::move(*tags);
  // The event's own attributes, then those of its objects.
  std::vector<const Json*> attributes;
  if (e.contains("Attribute") && e["Attribute"].is_array()) {
    for (const Json& a : e["Attribute"]) attributes.push_back(&a);
  }
  if (e.contains("Object") && e["Object"].is_array()) {
    for (const Json& o : e["Object"]) {
      if (!o.is_object() || !o.contains("Attribute") || !o["Attribute"].is_array()) continue;
      for (const Json& a : o["Attribute"]) attributes.push_back(&a);
    }
  }
  for (const Json* a : attributes) {
    if (!a->is_object()) {
      out.skipped.emplace_back("(not an object)", "an attribute that is not a JSON object");
      continue;
    }
    const Json& uuid = a->contains("uuid") ? (*a)["uuid"] : Json();
    const std::string where =
        StrCat("attribute ", uuid.is_string() ? uuid.get<std::string>() : "?");
    try {
      if (absl::Status s = ReadAttribute(*a, event, where, out); !s.ok()) {
        out.skipped.emplace_back(where, std::string(s.message()));
      }
    } catch (const Json::exception& x) {
      out.skipped.emplace_back(where, StrCat("malformed: ", x.what()));
    }
  }
}

}  // namespace

absl::StatusOr<StixImport> ReadMisp(std::string_view json, std::string_view source,
                                    v1::Tlp default_tlp) {
  Json doc = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("not JSON (or cut short)");
  // The events, from each shape MISP writes.
  std::vector<const Json*> events;
  const Json* list = doc.is_array() ? &doc : nullptr;
  if (doc.is_object() && doc.contains("response") && doc["response"].is_array()) {
    list = &doc["response"];
  }
  if (list != nullptr) {
    for (const Json& item : *list) {
      if (item.is_object() && item.contains("Event") && item["Event"].is_object()) {
        events.push_back(&item["Event"]);
      }
    }
  } else if (doc.is_object() && doc.contains("Event") && doc["Event"].is_object()) {
    events.push_back(&doc["Event"]);
  }
  if (events.empty()) {
    return absl::InvalidArgumentError(
        "no MISP event in it (expected {\"Event\": {...}} or a list of them)");
  }
  StixImport out;
  for (const Json* e : events) {
    try {
      ReadEvent(*e, source, default_tlp, out);
    } catch (const Json::exception& x) {
      out.skipped.emplace_back(StrCat("event in ", source), StrCat("malformed: ", x.what()));
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> MispManifestEvents(std::string_view json) {
  Json doc = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) {
    return absl::InvalidArgumentError("not a MISP feed manifest (a JSON object of events)");
  }
  std::vector<std::string> out;
  for (const auto& item : doc.items()) {
    // A uuid names a file: nothing but hex digits and dashes.
    if (item.key().empty() ||
        item.key().find_first_not_of("0123456789abcdefABCDEF-") != std::string::npos) {
      return absl::InvalidArgumentError(
          StrCat("the manifest names \"", item.key(), "\", which is not an event uuid"));
    }
    out.push_back(item.key());
  }
  return out;
}

}  // namespace threatmesh::interop
