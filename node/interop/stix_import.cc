#include "node/interop/stix_import.h"

#include <cctype>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <streambuf>

#include "crypto/str_cat.h"
#include "node/core/indicator.h"
#include "node/core/record_view.h"
#include "node/core/validate.h"
#include "node/interop/stix.h"
#include "node/interop/stix_stream.h"

namespace threatmesh::interop {
namespace {

namespace v1 = ::threatmesh::v1;
using Json = nlohmann::json;

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

// The TLP of a marking-definition object that is a TLP marking (TLP 1.0 style, or with the
// TLP 2.0 extension).
std::optional<v1::Tlp> MarkingTlp(const Json& o) {
  std::optional<v1::Tlp> tlp;
  if (o.value("definition_type", "") == "tlp" && o.contains("definition") &&
      o["definition"].is_object()) {
    tlp = TlpFromLabel(o["definition"].value("tlp", ""));
  }
  if (o.contains("extensions") && o["extensions"].is_object() &&
      o["extensions"].contains(std::string(kTlp2ExtensionId))) {
    tlp = TlpFromLabel(o["extensions"][std::string(kTlp2ExtensionId)].value("tlp_2_0", ""));
  }
  return tlp;
}

int64_t TimeOf(const Json& o, const char* property) {
  if (!o.contains(property) || !o[property].is_string()) return 0;
  absl::StatusOr<int64_t> t = ParseTime(o[property].get<std::string>());
  return t.ok() ? *t : 0;
}

// The TLP of an object from its markings, the most restrictive of them; nullopt when it has
// none. Any marking the node does not know refuses the object rather than let it travel
// under a weaker label.
absl::StatusOr<std::optional<v1::Tlp>> TlpOf(const Json& o,
                                             const std::map<std::string, v1::Tlp>& markings) {
  std::optional<v1::Tlp> tlp;
  if (!o.contains("object_marking_refs") || !o["object_marking_refs"].is_array()) return tlp;
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
  return tlp;
}

// "stix:ID@VERSION", and "#N" for the N-th of several values.
std::string SourceRef(const Json& o, std::size_t i, std::size_t n) {
  return StrCat("stix:", o.value("id", ""), "@", o.value("modified", o.value("created", "")),
                n > 1 ? StrCat("#", i) : std::string());
}

// The requests of one indicator object (and its values in `values`), or why it is skipped.
absl::Status ReadIndicator(const Json& o, const std::map<std::string, v1::Tlp>& markings,
                           std::string_view source, v1::Tlp default_tlp,
                           std::vector<PatternValue>& values, StixImport& out) {
  const std::string id = o.value("id", "");
  if (o.value("revoked", false)) return absl::FailedPreconditionError("revoked by its producer");
  if (o.value("pattern_type", "stix") != "stix") {
    return absl::InvalidArgumentError(
        StrCat("pattern_type ", o.value("pattern_type", ""), " (only stix patterns are read)"));
  }
  absl::StatusOr<std::optional<v1::Tlp>> tlp = TlpOf(o, markings);
  if (!tlp.ok()) return tlp.status();
  absl::StatusOr<std::vector<PatternValue>> read = PatternValues(o.value("pattern", ""));
  if (!read.ok()) return read.status();
  values = std::move(*read);
  for (std::size_t i = 0; i < values.size(); ++i) {
    v1::PublishRequest r;
    v1::RecordBody* b = r.mutable_body();
    b->set_tlp(tlp->value_or(default_tlp));
    b->mutable_indicator()->set_type(values[i].type);
    b->mutable_indicator()->set_value(values[i].value);
    std::string description = o.value("description", "");
    description +=
        StrCat(description.empty() ? "" : " | ", "Imported from ", source, ": ", id,
               o.contains("created_by_ref") ? StrCat(" by ", o.value("created_by_ref", ""))
                                            : std::string());
    b->mutable_indicator()->set_description(description);
    if (o.contains("labels") && o["labels"].is_array()) {
      for (const Json& l : o["labels"]) {
        if (l.is_string() && static_cast<std::size_t>(b->labels_size()) < kMaxRecordLabels)
          b->add_labels(l.get<std::string>());
      }
    }
    if (o.contains("confidence") && o["confidence"].is_number_integer()) {
      b->set_confidence(o["confidence"].get<uint32_t>());
    }
    b->set_valid_from(TimeOf(o, "valid_from"));
    b->set_valid_until(TimeOf(o, "valid_until"));
    r.set_source_ref(SourceRef(o, i, values.size()));
    out.requests.emplace_back(id, std::move(r));
  }
  return absl::OkStatus();
}

// What a sighting written by threatmesh says it saw (its extension), when it says so.
std::optional<PatternValue> ExtensionValue(const Json& o) {
  const std::string ext(kStixExtensionId);
  if (!o.contains("extensions") || !o["extensions"].is_object() || !o["extensions"].contains(ext) ||
      !o["extensions"][ext].is_object()) {
    return std::nullopt;
  }
  const Json& e = o["extensions"][ext];
  absl::StatusOr<v1::IndicatorType> type = ParseIndicatorType(e.value("indicator_type", ""));
  if (!type.ok() || !e.contains("value") || !e["value"].is_string()) return std::nullopt;
  return PatternValue{*type, e["value"].get<std::string>()};
}

// Objects that only support others: read for what they define, never reported as skipped.
bool IsSupportObject(const std::string& type) {
  return type == "marking-definition" || type == "identity" || type == "extension-definition";
}

// Sightings met before their indicator wait for the end of the file, up to this many.
constexpr std::size_t kMaxWaitingSightings = 100000;

}  // namespace

absl::StatusOr<std::vector<PatternValue>> PatternValues(std::string_view pattern) {
  return PatternReader(pattern).Read();
}

std::optional<v1::Tlp> TlpFromLabel(std::string_view label) {
  std::string name(label);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name.rfind("tlp:", 0) == 0) name = name.substr(4);
  if (name == "white" || name == "clear") return v1::TLP_CLEAR;
  if (name == "green") return v1::TLP_GREEN;
  if (name == "amber") return v1::TLP_AMBER;
  if (name == "amber+strict") return v1::TLP_AMBER_STRICT;
  if (name == "red") return v1::TLP_RED;
  return std::nullopt;
}

struct StixImporter::Object {
  StreamedObject& streamed;
  // A sighting taken at the end of the file, when its indicator has been read or never will.
  bool last_chance = false;
};

StixImporter::StixImporter(std::string source, v1::Tlp default_tlp, std::size_t max_object_bytes)
    : source_(std::move(source)), default_tlp_(default_tlp), max_object_bytes_(max_object_bytes) {}

void StixImporter::Tick() {
  if (tick_ && ++ticks_ % 4096 == 0) tick_();
}

absl::Status StixImporter::Scan(std::istream& in) {
  objects_ = 0;
  markings_.clear();
  sighted_.clear();
  return ReadStixObjects(in, max_object_bytes_, [this](StreamedObject& s) {
    ++objects_;
    Learn(Object{s});
    Tick();
  });
}

void StixImporter::Learn(const Object& o) {
  const Json& j = o.streamed.json;
  if (!j.is_object()) return;
  try {
    const std::string type = j.value("type", "");
    if (type == "marking-definition" && j.contains("id")) {
      if (std::optional<v1::Tlp> tlp = MarkingTlp(j)) markings_[j["id"].get<std::string>()] = *tlp;
    } else if (type == "sighting" && j.contains("sighting_of_ref")) {
      sighted_[j["sighting_of_ref"].get<std::string>()];
    }
  } catch (const Json::exception&) {
    // Malformed: Read() names it.
  }
}

absl::Status StixImporter::Read(std::istream& in, std::size_t batch,
                                const std::function<void(StixImport&)>& sink) {
  StixImport out;
  waiting_.clear();
  absl::Status read = ReadStixObjects(in, max_object_bytes_, [&](StreamedObject& s) {
    Take(Object{s}, out);
    // Skipped objects count too: a file of objects that are not imported is held no more.
    if (out.requests.size() >= batch || out.skipped.size() >= batch) {
      sink(out);
      out = StixImport();
    }
    Tick();
  });
  if (!read.ok()) return read;
  for (const std::string& text : waiting_) {
    StreamedObject s;
    s.json = Json::parse(text);
    if (s.json.contains("id") && s.json["id"].is_string()) s.id = s.json["id"].get<std::string>();
    Take(Object{s, /*last_chance=*/true}, out);
  }
  waiting_.clear();
  sink(out);
  return absl::OkStatus();
}

void StixImporter::Take(const Object& o, StixImport& out) {
  const StreamedObject& s = o.streamed;
  const std::string id = s.id.empty() ? "(object without id)" : s.id;
  if (s.oversize) {
    out.skipped.emplace_back(
        id, StrCat("an object of over ",
                   max_object_bytes_ >= (1u << 20) ? StrCat(max_object_bytes_ >> 20, " MB")
                                                   : StrCat(max_object_bytes_ >> 10, " KB"),
                   ": skipped without being read"));
    return;
  }
  if (s.not_an_object) {
    out.skipped.emplace_back("(not an object)", "not a JSON object");
    return;
  }
  const Json& j = s.json;
  try {
    const std::string type = j.value("type", "");
    absl::Status taken = absl::OkStatus();
    if (type == "indicator") {
      std::vector<PatternValue> values;
      taken = ReadIndicator(j, markings_, source_, default_tlp_, values, out);
      auto it = sighted_.find(id);
      if (taken.ok() && it != sighted_.end()) it->second = std::move(values);
    } else if (type == "sighting") {
      std::vector<PatternValue> values;
      if (std::optional<PatternValue> v = ExtensionValue(j)) values.push_back(std::move(*v));
      const std::string of = j.value("sighting_of_ref", "");
      if (auto it = sighted_.find(of); values.empty() && it != sighted_.end()) values = it->second;
      if (!values.empty()) {
        TakeSighting(o, values, out);
      } else if (!o.last_chance && waiting_.size() < kMaxWaitingSightings) {
        waiting_.push_back(j.dump());
      } else {
        taken = absl::NotFoundError(
            StrCat("a sighting of ", of.empty() ? "nothing" : of, ", which was not imported"));
      }
    } else if (!IsSupportObject(type)) {
      taken = absl::UnimplementedError(
          StrCat("a ", type, " is not imported (indicators and sightings only)"));
    }
    if (!taken.ok()) out.skipped.emplace_back(id, std::string(taken.message()));
  } catch (const Json::exception& e) {
    out.skipped.emplace_back(id, StrCat("malformed: ", e.what()));
  }
}

void StixImporter::TakeSighting(const Object& o, const std::vector<PatternValue>& values,
                                StixImport& out) {
  const Json& j = o.streamed.json;
  const std::string id = j.value("id", "");
  absl::StatusOr<std::optional<v1::Tlp>> tlp = TlpOf(j, markings_);
  if (!tlp.ok()) {
    out.skipped.emplace_back(id, std::string(tlp.status().message()));
    return;
  }
  uint64_t count = 1;
  if (j.contains("count")) count = j["count"].is_number_unsigned() ? j["count"].get<uint64_t>() : 0;
  if (count == 0) {
    out.skipped.emplace_back(id, "count is 0 or not a whole number: nothing to import");
    return;
  }
  const int64_t first = TimeOf(j, "first_seen") ? TimeOf(j, "first_seen") : TimeOf(j, "created");
  const int64_t last = std::max(first, TimeOf(j, "last_seen"));
  for (std::size_t i = 0; i < values.size(); ++i) {
    absl::StatusOr<std::string> value = NormalizeIndicator(values[i].type, values[i].value);
    if (!value.ok()) {
      out.skipped.emplace_back(id, StrCat("the value it saw: ", value.status().message()));
      continue;
    }
    v1::PublishRequest r;
    v1::RecordBody* b = r.mutable_body();
    b->set_tlp(tlp->value_or(default_tlp_));
    v1::Sighting* sighting = b->mutable_sighting();
    sighting->set_type(values[i].type);
    sighting->set_value(*value);
    sighting->set_count(count);
    sighting->set_first_seen(first);
    sighting->set_last_seen(last);
    r.set_source_ref(SourceRef(j, i, values.size()));
    out.requests.emplace_back(id, std::move(r));
  }
}

namespace {

// A string as a stream, without a copy.
class ViewBuf : public std::streambuf {
 public:
  explicit ViewBuf(std::string_view s) {
    char* p = const_cast<char*>(s.data());
    setg(p, p, p + s.size());
  }
};

}  // namespace

absl::StatusOr<StixImport> ReadStix(std::string_view json, std::string_view source,
                                    v1::Tlp default_tlp) {
  StixImporter importer{std::string(source), default_tlp};
  ViewBuf scan_buf(json);
  std::istream scan(&scan_buf);
  if (absl::Status s = importer.Scan(scan); !s.ok()) return s;
  ViewBuf read_buf(json);
  std::istream read(&read_buf);
  StixImport all;
  absl::Status s = importer.Read(read, std::numeric_limits<std::size_t>::max(), [&](StixImport& b) {
    for (auto& r : b.requests) all.requests.push_back(std::move(r));
    for (auto& k : b.skipped) all.skipped.push_back(std::move(k));
  });
  if (!s.ok()) return s;
  return all;
}

}  // namespace threatmesh::interop
