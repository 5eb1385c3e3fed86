#include "node/interop/stix_import.h"

#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "crypto/str_cat.h"
#include "node/core/record_view.h"
#include "node/interop/stix.h"

namespace threatmesh::interop {
namespace {

namespace v1 = ::threatmesh::v1;
using Json = nlohmann::json;

// The most labels a record takes (node/core/validate.cc): more are left out.
constexpr int kMaxLabels = 64;

// A STIX pattern read as a list of comparisons joined by OR (docs/STIX.md, "Import").
class PatternReader {
 public:
  explicit PatternReader(std::string_view s) : s_(s) {}

  absl::StatusOr<std::vector<PatternValue>> Read() {
    std::vector<PatternValue> out;
    do {
      if (!Eat("[")) return Error("expected [");
      do {
        absl::StatusOr<PatternValue> v = Comparison();
        if (!v.ok()) return v.status();
        out.push_back(std::move(*v));
      } while (Eat("OR"));
      if (Eat("AND")) return Error("AND: only single values and OR of values are imported");
      if (!Eat("]")) return Error("expected ]");
    } while (Eat("OR"));
    Spaces();
    if (at_ != s_.size()) {
      for (std::string_view q : {"AND", "FOLLOWEDBY", "WITHIN", "REPEATS", "START"}) {
        if (Eat(q)) return Error(StrCat(q, ": only single values and OR of values are imported"));
      }
      return Error("trailing text");
    }
    return out;
  }

 private:
  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(StrCat("pattern: ", what, " at offset ", at_));
  }
  void Spaces() {
    while (at_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[at_]))) ++at_;
  }
  bool Eat(std::string_view token) {
    Spaces();
    if (s_.substr(at_, token.size()) != token) return false;
    at_ += token.size();
    return true;
  }
  // A quoted string literal, unescaped.
  std::optional<std::string> String() {
    Spaces();
    if (at_ >= s_.size() || s_[at_] != '\'') return std::nullopt;
    std::string out;
    for (++at_; at_ < s_.size(); ++at_) {
      const char c = s_[at_];
      if (c == '\'') {
        ++at_;
        return out;
      }
      if (c == '\\') {
        if (at_ + 1 >= s_.size() || (s_[at_ + 1] != '\'' && s_[at_ + 1] != '\\')) {
          return std::nullopt;
        }
        ++at_;
      }
      out.push_back(s_[at_]);
    }
    return std::nullopt;
  }
  // The object path with its quotes removed ("file:hashes.SHA-256").
  std::string Path() {
    Spaces();
    std::string out;
    while (at_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[at_])) &&
           s_[at_] != '=' && s_[at_] != '!' && s_[at_] != '<' && s_[at_] != '>' && s_[at_] != ']') {
      if (s_[at_] != '\'') out.push_back(s_[at_]);
      ++at_;
    }
    return out;
  }
  absl::StatusOr<PatternValue> Comparison() {
    const std::string path = Path();
    if (path.empty()) return Error("expected an object path");
    const bool subset = Eat("ISSUBSET");
    if (!subset && !Eat("=")) return Error("only = and ISSUBSET comparisons are imported");
    if (path == "autonomous-system:number") {
      Spaces();
      const std::size_t start = at_;
      while (at_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[at_]))) ++at_;
      if (at_ == start) return Error("expected an AS number");
      return PatternValue{v1::INDICATOR_TYPE_ASN, StrCat("AS", s_.substr(start, at_ - start))};
    }
    std::optional<std::string> value = String();
    if (!value) return Error("expected a string literal");
    absl::StatusOr<v1::IndicatorType> type = TypeOf(path, subset, *value);
    if (!type.ok()) return type.status();
    return PatternValue{*type, std::move(*value)};
  }
  absl::StatusOr<v1::IndicatorType> TypeOf(const std::string& path, bool subset,
                                           const std::string& value) const {
    static const std::map<std::string, v1::IndicatorType> kPaths = {
        {"domain-name:value", v1::INDICATOR_TYPE_DOMAIN},
        {"url:value", v1::INDICATOR_TYPE_URL},
        {"email-addr:value", v1::INDICATOR_TYPE_EMAIL},
        {"file:hashes.MD5", v1::INDICATOR_TYPE_MD5},
        {"file:hashes.SHA-1", v1::INDICATOR_TYPE_SHA1},
        {"file:hashes.SHA1", v1::INDICATOR_TYPE_SHA1},
        {"file:hashes.SHA-256", v1::INDICATOR_TYPE_SHA256},
        {"file:hashes.SHA256", v1::INDICATOR_TYPE_SHA256},
        {"network-traffic:extensions.http-request-ext.request_header.User-Agent",
         v1::INDICATOR_TYPE_USER_AGENT},
        {"x-threatmesh-ja3:value", v1::INDICATOR_TYPE_JA3},
    };
    if (path == "ipv4-addr:value" || path == "ipv6-addr:value") {
      if (subset || value.find('/') != std::string::npos) return v1::INDICATOR_TYPE_CIDR;
      return path[3] == '4' ? v1::INDICATOR_TYPE_IPV4 : v1::INDICATOR_TYPE_IPV6;
    }
    auto it = kPaths.find(path);
    if (it == kPaths.end()) return Error(StrCat("no indicator type for the object path ", path));
    if (subset) return Error(StrCat("ISSUBSET on ", path));
    return it->second;
  }

  std::string_view s_;
  std::size_t at_ = 0;
};

// TLP by marking-definition id: the TLP 2.0 ones and STIX 2.1's predefined TLP 1.0 ones.
std::optional<v1::Tlp> KnownMarking(const std::string& id) {
  for (v1::Tlp tlp :
       {v1::TLP_CLEAR, v1::TLP_GREEN, v1::TLP_AMBER, v1::TLP_AMBER_STRICT, v1::TLP_RED}) {
    if (id == TlpMarkingId(tlp)) return tlp;
  }
  static const std::map<std::string, v1::Tlp> kTlp1 = {
      {"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", v1::TLP_CLEAR},
      {"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", v1::TLP_GREEN},
      {"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", v1::TLP_AMBER},
      {"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", v1::TLP_RED},
  };
  auto it = kTlp1.find(id);
  if (it == kTlp1.end()) return std::nullopt;
  return it->second;
}

std::optional<v1::Tlp> TlpNamed(std::string name) {
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name.rfind("tlp:", 0) == 0) name = name.substr(4);
  if (name == "white" || name == "clear") return v1::TLP_CLEAR;
  if (name == "green") return v1::TLP_GREEN;
  if (name == "amber") return v1::TLP_AMBER;
  if (name == "amber+strict") return v1::TLP_AMBER_STRICT;
  if (name == "red") return v1::TLP_RED;
  return std::nullopt;
}

// The TLP markings a bundle defines itself (TLP 1.0 style or with the TLP 2.0 extension).
std::map<std::string, v1::Tlp> BundleMarkings(const std::vector<const Json*>& objects) {
  std::map<std::string, v1::Tlp> out;
  for (const Json* o : objects) {
    if (o->value("type", "") != "marking-definition" || !o->contains("id")) continue;
    std::optional<v1::Tlp> tlp;
    if (o->value("definition_type", "") == "tlp" && o->contains("definition") &&
        (*o)["definition"].is_object()) {
      tlp = TlpNamed((*o)["definition"].value("tlp", ""));
    }
    if (o->contains("extensions") && (*o)["extensions"].is_object() &&
        (*o)["extensions"].contains(std::string(kTlp2ExtensionId))) {
      tlp = TlpNamed((*o)["extensions"][std::string(kTlp2ExtensionId)].value("tlp_2_0", ""));
    }
    if (tlp) out[(*o)["id"].get<std::string>()] = *tlp;
  }
  return out;
}

int64_t TimeOf(const Json& o, const char* property) {
  if (!o.contains(property) || !o[property].is_string()) return 0;
  absl::StatusOr<int64_t> t = ParseTime(o[property].get<std::string>());
  return t.ok() ? *t : 0;
}

// The requests of one indicator object, or why it is skipped.
absl::Status ReadIndicator(const Json& o, const std::map<std::string, v1::Tlp>& markings,
                           std::string_view source, v1::Tlp default_tlp, StixImport& out) {
  const std::string id = o.value("id", "");
  if (o.value("revoked", false)) return absl::FailedPreconditionError("revoked by its producer");
  if (o.value("pattern_type", "stix") != "stix") {
    return absl::InvalidArgumentError(
        StrCat("pattern_type ", o.value("pattern_type", ""), " (only stix patterns are read)"));
  }
  // TLP: the most restrictive TLP marking; any marking the node does not know refuses the
  // object rather than let it travel under a weaker label.
  std::optional<v1::Tlp> tlp;
  if (o.contains("object_marking_refs") && o["object_marking_refs"].is_array()) {
    for (const Json& ref : o["object_marking_refs"]) {
      const std::string m = ref.is_string() ? ref.get<std::string>() : "";
      std::optional<v1::Tlp> t = KnownMarking(m);
      if (!t) {
        auto it = markings.find(m);
        if (it != markings.end()) t = it->second;
      }
      if (!t) {
        return absl::PermissionDeniedError(
            StrCat("marking ", m, " is not a TLP label this node knows: refused, not downgraded"));
      }
      tlp = std::max(tlp.value_or(v1::TLP_CLEAR), *t);
    }
  }
  absl::StatusOr<std::vector<PatternValue>> values = PatternValues(o.value("pattern", ""));
  if (!values.ok()) return values.status();
  const std::string version = o.value("modified", o.value("created", ""));
  for (std::size_t i = 0; i < values->size(); ++i) {
    v1::PublishRequest r;
    v1::RecordBody* b = r.mutable_body();
    b->set_tlp(tlp.value_or(default_tlp));
    b->mutable_indicator()->set_type((*values)[i].type);
    b->mutable_indicator()->set_value((*values)[i].value);
    std::string description = o.value("description", "");
    description +=
        StrCat(description.empty() ? "" : " | ", "Imported from ", source, ": ", id,
               o.contains("created_by_ref") ? StrCat(" by ", o.value("created_by_ref", ""))
                                            : std::string());
    b->mutable_indicator()->set_description(description);
    if (o.contains("labels") && o["labels"].is_array()) {
      for (const Json& l : o["labels"]) {
        if (l.is_string() && b->labels_size() < kMaxLabels) b->add_labels(l.get<std::string>());
      }
    }
    if (o.contains("confidence") && o["confidence"].is_number_integer()) {
      b->set_confidence(o["confidence"].get<uint32_t>());
    }
    b->set_valid_from(TimeOf(o, "valid_from"));
    b->set_valid_until(TimeOf(o, "valid_until"));
    r.set_source_ref(
        StrCat("stix:", id, "@", version, values->size() > 1 ? StrCat("#", i) : std::string()));
    out.requests.emplace_back(id, std::move(r));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<PatternValue>> PatternValues(std::string_view pattern) {
  return PatternReader(pattern).Read();
}

absl::StatusOr<StixImport> ReadStix(std::string_view json, std::string_view source,
                                    v1::Tlp default_tlp) {
  Json doc = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("not JSON (or cut short)");
  if (!doc.is_object() || !doc.contains("type")) {
    return absl::InvalidArgumentError("not a STIX bundle or object (no \"type\")");
  }
  std::vector<const Json*> objects;
  if (doc["type"] == "bundle") {
    if (!doc.contains("objects") || !doc["objects"].is_array()) {
      return absl::InvalidArgumentError("a bundle without an \"objects\" array");
    }
    for (const Json& o : doc["objects"]) objects.push_back(&o);
  } else {
    objects.push_back(&doc);
  }
  const std::map<std::string, v1::Tlp> markings = BundleMarkings(objects);
  StixImport out;
  for (const Json* o : objects) {
    if (!o->is_object()) {
      out.skipped.emplace_back("(not an object)", "not a JSON object");
      continue;
    }
    const std::string type = o->value("type", "");
    const std::string id = o->value("id", StrCat("(", type, " without id)"));
    if (type != "indicator") {
      if (type != "marking-definition" && type != "identity" && type != "extension-definition") {
        out.skipped.emplace_back(id, StrCat("a ", type, " is not imported (indicators only)"));
      }
      continue;
    }
    try {
      if (absl::Status s = ReadIndicator(*o, markings, source, default_tlp, out); !s.ok()) {
        out.skipped.emplace_back(id, std::string(s.message()));
      }
    } catch (const Json::exception& e) {
      out.skipped.emplace_back(id, StrCat("malformed: ", e.what()));
    }
  }
  return out;
}

}  // namespace threatmesh::interop
