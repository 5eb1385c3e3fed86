#include "node/interop/stix.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/ip_address.h"
#include "crypto/keys.h"
#include "crypto/str_cat.h"
#include "crypto/uuid.h"
#include "node/core/indicator.h"
#include "node/core/json_string.h"
#include "node/core/record_view.h"

namespace threatmesh::interop {
namespace {

namespace v1 = ::threatmesh::v1;
using Json = nlohmann::ordered_json;

// STIX 2.1 section 2.9: the namespace of deterministic SCO ids.
constexpr std::string_view kScoNamespace = "00abedb4-aa42-466c-9c01-fed23315a9b7";
// The fixed creation time of the objects every node writes alike (identities, the
// extension definition).
constexpr std::string_view kFixedTime = "2026-01-01T00:00:00.000Z";
// How many observable ids a writer remembers, so that it writes each object once.
constexpr std::size_t kMaxRememberedObservables = 100000;
// The longest supersession chain followed back to its first version.
constexpr int kMaxVersions = 64;

const std::string& Namespace() {
  static const std::string* ns = new std::string(*crypto::ParseUuid(kStixNamespace));
  return *ns;
}

const std::string& ScoNamespace() {
  static const std::string* ns = new std::string(*crypto::ParseUuid(kScoNamespace));
  return *ns;
}

// Compact JSON; bytes that are not UTF-8 become U+FFFD instead of failing the export.
std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// The id of the identity that created the extension definition: threatmesh itself.
std::string ProjectIdentityId() {
  return StrCat("identity--", crypto::Uuid5(Namespace(), "threatmesh"));
}

Json ExtensionDefinition() {
  Json j;
  j["type"] = "extension-definition";
  j["spec_version"] = "2.1";
  j["id"] = std::string(kStixExtensionId);
  j["created_by_ref"] = ProjectIdentityId();
  j["created"] = std::string(kFixedTime);
  j["modified"] = std::string(kFixedTime);
  j["name"] = "threatmesh record";
  j["description"] =
      "The signed threatmesh record behind a STIX object: its id, author, handling rules and "
      "signed bytes, so that the object can be checked against its signature offline "
      "(threatmesh verify).";
  j["schema"] = "The threatmesh record extension, docs/STIX.md in the threatmesh sources.";
  j["version"] = "1.0";
  j["extension_types"] = Json::array({"property-extension"});
  return j;
}

Json Identity(const std::string& id, const std::string& name, const std::string& cls) {
  Json j;
  j["type"] = "identity";
  j["spec_version"] = "2.1";
  j["id"] = id;
  j["created"] = std::string(kFixedTime);
  j["modified"] = std::string(kFixedTime);
  j["name"] = name;
  j["identity_class"] = cls;
  return j;
}

std::string KeyName(const std::string& key) {
  absl::StatusOr<crypto::PublicKey> k = crypto::PublicKey::FromBytes(key);
  return k.ok() ? k->ToText() : StrCat("(not a key: ", crypto::HexEncode(key), ")");
}

// The SCO id of an observable whose only id-contributing property is `value` (STIX 2.1
// section 2.9: UUIDv5 of the canonical JSON of that property).
std::string ScoId(std::string_view type, std::string_view value) {
  Json canonical;
  canonical["value"] = std::string(value);
  return StrCat(type, "--", crypto::Uuid5(ScoNamespace(), Dump(canonical)));
}

// The threatmesh extension of `record`, without its kind-specific part.
Json Extension(const v1::StoredRecord& record) {
  const v1::RecordBody& body = record.body();
  Json e;
  e["extension_type"] = "property-extension";
  e["record_id"] = crypto::HexEncode(record.id());
  e["author"] = crypto::HexEncode(body.author());
  e["signed_record"] = crypto::Base64Encode(record.signed_record());
  e["tlp"] = std::string(Tlp2Name(body.tlp()));
  if (body.handling().max_hops() != 0) e["max_hops"] = body.handling().max_hops();
  if (body.handling().may_relay()) e["may_relay"] = true;
  if (!body.handling().communities().empty()) {
    e["communities"] = Json(std::vector<std::string>(body.handling().communities().begin(),
                                                     body.handling().communities().end()));
  }
  if (!body.handling().recipients().empty()) {
    Json r = Json::array();
    for (const std::string& k : body.handling().recipients()) r.push_back(crypto::HexEncode(k));
    e["recipients"] = r;
  }
  return e;
}

// Which observable type a field of a normalized log event names, if any.
std::string_view ObservableType(const v1::EventField& f) {
  const std::string& n = f.name();
  if (n.size() >= 3 && n.compare(n.size() - 3, 3, ".ip") == 0) {
    std::optional<crypto::IpAddress> ip = crypto::ParseIp(f.value());
    if (!ip) return {};
    return ip->family == 6 ? "ipv6-addr" : "ipv4-addr";
  }
  const bool name_field = n.ends_with("hostname") || n.ends_with("domain");
  if (name_field && f.value().find('.') != std::string::npos &&
      f.value().find_first_of(" \t/:") == std::string::npos) {
    return "domain-name";
  }
  return {};
}

// Whether `s` is well-formed UTF-8 (RFC 3629): the hand-written writer below copies strings
// as they are, so it writes only those.
bool IsUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int n = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // the range of the byte after the lead byte
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c == 0xe0) lo = 0xa0;  // no overlong forms
      if (c == 0xed) hi = 0x9f;  // no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;  // nothing past U+10FFFF
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c1 < lo || c1 > hi) return false;
    for (int k = 2; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += n + 1;
  }
  return true;
}

// `"key":` then the string value, JSON-escaped.
void AppendField(std::string& out, std::string_view key, std::string_view value) {
  out.push_back(',');
  AppendJsonString(out, key);
  out.push_back(':');
  AppendJsonString(out, value);
}

// Whether every string of `body` that an indicator object shows is UTF-8.
bool StringsAreUtf8(const v1::RecordBody& body) {
  const v1::Indicator& ind = body.indicator();
  bool ok = IsUtf8(ind.value()) && IsUtf8(ind.description()) && IsUtf8(ind.stix_pattern());
  for (const std::string& l : body.labels()) ok = ok && IsUtf8(l);
  for (const std::string& c : body.handling().communities()) ok = ok && IsUtf8(c);
  for (const v1::KillChainPhase& p : ind.kill_chain_phases()) {
    ok = ok && IsUtf8(p.kill_chain_name()) && IsUtf8(p.phase_name());
  }
  return ok;
}

// `,"key":["a","b"]`, or nothing for no strings.
template <typename Strings>
void AppendStrings(std::string& out, std::string_view key, const Strings& strings) {
  if (strings.empty()) return;
  out.push_back(',');
  AppendJsonString(out, key);
  out += ":[";
  bool first = true;
  for (const std::string& v : strings) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(out, v);
  }
  out.push_back(']');
}

// The indicator object written by hand: the same JSON the library writes for it
// (stix_test.cc compares them), at a fraction of the cost; nullopt when a string of the
// record is not UTF-8 (the library then writes it, replacing what is not).
std::optional<std::string> FastIndicator(const v1::StoredRecord& record, const std::string& id,
                                         int64_t created, int64_t modified, bool revoked) {
  if (!StringsAreUtf8(record.body())) return std::nullopt;
  const v1::RecordBody& body = record.body();
  const v1::Indicator& ind = body.indicator();
  std::string o;
  o.reserve(1024 + record.signed_record().size() * 4 / 3);
  o += "{\"type\":\"indicator\",\"spec_version\":\"2.1\"";
  AppendField(o, "id", id);
  AppendField(o, "created_by_ref", StixIdentityId(body.author()));
  AppendField(o, "created", StixTime(created));
  AppendField(o, "modified", StixTime(modified));
  AppendField(o, "name", ind.value());
  if (!ind.description().empty()) AppendField(o, "description", ind.description());
  o += ",\"indicator_types\":[\"malicious-activity\"]";
  AppendField(
      o, "pattern",
      ind.stix_pattern().empty() ? StixPattern(ind.type(), ind.value()) : ind.stix_pattern());
  o += ",\"pattern_type\":\"stix\",\"pattern_version\":\"2.1\"";
  const int64_t valid_from = body.valid_from() != 0 ? body.valid_from() : body.created_at();
  AppendField(o, "valid_from", StixTime(valid_from));
  if (body.valid_until() > valid_from) AppendField(o, "valid_until", StixTime(body.valid_until()));
  if (!ind.kill_chain_phases().empty()) {
    o += ",\"kill_chain_phases\":[";
    for (int i = 0; i < ind.kill_chain_phases_size(); ++i) {
      o += i == 0 ? "{\"kill_chain_name\":" : ",{\"kill_chain_name\":";
      AppendJsonString(o, ind.kill_chain_phases(i).kill_chain_name());
      AppendField(o, "phase_name", ind.kill_chain_phases(i).phase_name());
      o.push_back('}');
    }
    o.push_back(']');
  }
  AppendStrings(o, "labels", body.labels());
  if (body.has_confidence()) o += StrCat(",\"confidence\":", body.confidence());
  if (revoked) o += ",\"revoked\":true";
  o += ",\"object_marking_refs\":[";
  AppendJsonString(o, TlpMarkingId(body.tlp()));
  o += "],\"extensions\":{";
  AppendJsonString(o, kStixExtensionId);
  o += ":{\"extension_type\":\"property-extension\"";
  AppendField(o, "record_id", crypto::HexEncode(record.id()));
  AppendField(o, "author", crypto::HexEncode(body.author()));
  AppendField(o, "signed_record", crypto::Base64Encode(record.signed_record()));
  AppendField(o, "tlp", Tlp2Name(body.tlp()));
  if (body.handling().max_hops() != 0) {
    o += StrCat(",\"max_hops\":", body.handling().max_hops());
  }
  if (body.handling().may_relay()) o += ",\"may_relay\":true";
  AppendStrings(o, "communities", body.handling().communities());
  std::vector<std::string> recipients;
  for (const std::string& k : body.handling().recipients())
    recipients.push_back(crypto::HexEncode(k));
  AppendStrings(o, "recipients", recipients);
  AppendField(o, "indicator_type", IndicatorTypeName(ind.type()));
  AppendField(o, "value", ind.value());
  o += "}}}";
  return o;
}

}  // namespace

std::string StixObjectId(std::string_view type, std::string_view record_id) {
  return StrCat(type, "--", crypto::Uuid5(Namespace(), crypto::HexEncode(record_id)));
}

std::string StixIdentityId(std::string_view author_key) {
  return StrCat("identity--",
                crypto::Uuid5(Namespace(), StrCat("identity:", crypto::HexEncode(author_key))));
}

std::string_view TlpMarkingId(v1::Tlp tlp) {
  switch (tlp) {
    case v1::TLP_CLEAR:
      return "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
    case v1::TLP_GREEN:
      return "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
    case v1::TLP_AMBER:
      return "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
    case v1::TLP_AMBER_STRICT:
      return "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
    case v1::TLP_RED:
      return "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
    default:
      return {};
  }
}

std::string_view Tlp2Name(v1::Tlp tlp) {
  switch (tlp) {
    case v1::TLP_CLEAR:
      return "clear";
    case v1::TLP_GREEN:
      return "green";
    case v1::TLP_AMBER:
      return "amber";
    case v1::TLP_AMBER_STRICT:
      return "amber+strict";
    case v1::TLP_RED:
      return "red";
    default:
      return {};
  }
}

std::string PatternString(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\\' || c == '\'') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string StixPattern(v1::IndicatorType type, std::string_view value) {
  auto equals = [&](std::string_view path) {
    return StrCat("[", path, " = ", PatternString(value), "]");
  };
  switch (type) {
    case v1::INDICATOR_TYPE_IPV4:
      return equals("ipv4-addr:value");
    case v1::INDICATOR_TYPE_IPV6:
      return equals("ipv6-addr:value");
    case v1::INDICATOR_TYPE_CIDR:
      return StrCat("[", value.find(':') == std::string_view::npos ? "ipv4-addr" : "ipv6-addr",
                    ":value ISSUBSET ", PatternString(value), "]");
    case v1::INDICATOR_TYPE_DOMAIN:
      return equals("domain-name:value");
    case v1::INDICATOR_TYPE_URL:
      return equals("url:value");
    case v1::INDICATOR_TYPE_EMAIL:
      return equals("email-addr:value");
    case v1::INDICATOR_TYPE_MD5:
      return equals("file:hashes.MD5");
    case v1::INDICATOR_TYPE_SHA1:
      return equals("file:hashes.'SHA-1'");
    case v1::INDICATOR_TYPE_SHA256:
      return equals("file:hashes.'SHA-256'");
    case v1::INDICATOR_TYPE_ASN:
      // Normalized as "AS64500": the number is an integer in the pattern.
      return StrCat("[autonomous-system:number = ",
                    value.size() > 2 ? value.substr(2) : std::string_view("0"), "]");
    case v1::INDICATOR_TYPE_USER_AGENT:
      return equals("network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'");
    case v1::INDICATOR_TYPE_JA3:
      return equals("x-threatmesh-ja3:value");
    default:
      return "";
  }
}

std::string StixTime(int64_t unix_ms) { return FormatTime(unix_ms); }

StixBundleWriter::StixBundleWriter(std::ostream& out, Lookup lookup)
    : out_(&out), lookup_(std::move(lookup)) {
  *out_ << "{\"type\":\"bundle\",\"id\":\"bundle--" << crypto::RandomUuid4() << "\",\"objects\":[";
  Write(Dump(Identity(ProjectIdentityId(), "threatmesh", "system")));
  Write(Dump(ExtensionDefinition()));
}

StixBundleWriter::StixBundleWriter(ObjectSink sink, Lookup lookup)
    : sink_(std::move(sink)), lookup_(std::move(lookup)) {}  // the head comes with a record

void StixBundleWriter::Write(const std::string& object_json) {
  ++objects_;
  if (sink_) {
    sink_(object_json);
    return;
  }
  if (!first_) *out_ << ",\n";
  first_ = false;
  *out_ << object_json;
}

void StixBundleWriter::NeedIdentity(const std::string& key) {
  if (!identities_.insert(key).second) return;
  Write(Dump(Identity(StixIdentityId(key), KeyName(key), "system")));
}

void StixBundleWriter::NeedMarking(v1::Tlp tlp) {
  if (!markings_.insert(tlp).second) return;
  Json j;
  j["type"] = "marking-definition";
  j["spec_version"] = "2.1";
  j["id"] = std::string(TlpMarkingId(tlp));
  j["created"] = "2022-10-01T00:00:00.000Z";
  std::string name = std::string(Tlp2Name(tlp));
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  j["name"] = StrCat("TLP:", name);
  Json ext;
  ext["extension_type"] = "property-extension";
  ext["tlp_2_0"] = std::string(Tlp2Name(tlp));
  j["extensions"][std::string(kTlp2ExtensionId)] = ext;
  Write(Dump(j));
}

StixBundleWriter::Version StixBundleWriter::VersionOf(const v1::StoredRecord& record) {
  Version v{record.id(), record.body().created_at(), record.body().created_at(), false};
  // A newer version takes the id and creation time of the chain's first version.
  std::string previous = record.body().supersedes();
  for (int i = 0; i < kMaxVersions && !previous.empty(); ++i) {
    v.first_id = previous;
    std::optional<v1::StoredRecord> found = lookup_ ? lookup_(previous) : std::nullopt;
    if (!found) break;
    v.created = found->body().created_at();
    previous = found->body().supersedes();
  }
  if (!record.retracted_by().empty()) {
    v.revoked = true;
    std::optional<v1::StoredRecord> retraction =
        lookup_ ? lookup_(record.retracted_by()) : std::nullopt;
    if (retraction) v.modified = std::max(v.modified, retraction->body().created_at());
  }
  return v;
}

// type, spec_version, id, created_by_ref, created, modified: the head every object shares.
static Json CommonHead(std::string_view type, const std::string& id, const std::string& author,
                       int64_t created, int64_t modified) {
  Json j;
  j["type"] = std::string(type);
  j["spec_version"] = "2.1";
  j["id"] = id;
  j["created_by_ref"] = StixIdentityId(author);
  j["created"] = StixTime(created);
  j["modified"] = StixTime(modified);
  return j;
}

// labels, confidence, revoked, object_marking_refs, extensions: the tail.
static void CommonTail(Json& j, const v1::StoredRecord& record, bool revoked, Json extension) {
  const v1::RecordBody& body = record.body();
  if (!body.labels().empty()) {
    j["labels"] = Json(std::vector<std::string>(body.labels().begin(), body.labels().end()));
  }
  if (body.has_confidence()) j["confidence"] = body.confidence();
  if (revoked) j["revoked"] = true;
  j["object_marking_refs"] = Json::array({std::string(TlpMarkingId(body.tlp()))});
  j["extensions"][std::string(kStixExtensionId)] = std::move(extension);
}

std::string StixBundleWriter::IndicatorObject(const v1::StoredRecord& record, const Version& v) {
  if (fast_indicators_) {
    std::optional<std::string> fast = FastIndicator(record, StixObjectId("indicator", v.first_id),
                                                    v.created, v.modified, v.revoked);
    if (fast) return *fast;
  }
  return LibraryIndicator(record, v);
}

std::string StixBundleWriter::LibraryIndicator(const v1::StoredRecord& record, const Version& v) {
  const v1::RecordBody& body = record.body();
  const v1::Indicator& ind = body.indicator();
  Json j = CommonHead("indicator", StixObjectId("indicator", v.first_id), body.author(), v.created,
                      v.modified);
  j["name"] = ind.value();
  if (!ind.description().empty()) j["description"] = ind.description();
  j["indicator_types"] = Json::array({"malicious-activity"});
  j["pattern"] =
      ind.stix_pattern().empty() ? StixPattern(ind.type(), ind.value()) : ind.stix_pattern();
  j["pattern_type"] = "stix";
  j["pattern_version"] = "2.1";
  const int64_t valid_from = body.valid_from() != 0 ? body.valid_from() : body.created_at();
  j["valid_from"] = StixTime(valid_from);
  if (body.valid_until() > valid_from) j["valid_until"] = StixTime(body.valid_until());
  if (!ind.kill_chain_phases().empty()) {
    Json phases = Json::array();
    for (const v1::KillChainPhase& p : ind.kill_chain_phases()) {
      phases.push_back({{"kill_chain_name", p.kill_chain_name()}, {"phase_name", p.phase_name()}});
    }
    j["kill_chain_phases"] = phases;
  }
  Json e = Extension(record);
  e["indicator_type"] = IndicatorTypeName(ind.type());
  e["value"] = ind.value();
  CommonTail(j, record, v.revoked, std::move(e));
  return Dump(j);
}

std::string StixBundleWriter::SightingObject(const v1::StoredRecord& record, const Version& v) {
  const v1::RecordBody& body = record.body();
  const v1::Sighting& s = body.sighting();
  Json j = CommonHead("sighting", StixObjectId("sighting", v.first_id), body.author(), v.created,
                      v.modified);
  if (s.first_seen() != 0) j["first_seen"] = StixTime(s.first_seen());
  if (s.last_seen() != 0 && s.last_seen() >= s.first_seen()) {
    j["last_seen"] = StixTime(s.last_seen());
  }
  j["count"] = std::min<uint64_t>(s.count(), 999999999);
  j["sighting_of_ref"] =
      s.indicator_id().empty()
          ? StrCat("indicator--",
                   crypto::Uuid5(Namespace(),
                                 StrCat("value:", IndicatorTypeName(s.type()), ":", s.value())))
          : StixObjectId("indicator", s.indicator_id());
  j["where_sighted_refs"] = Json::array({StixIdentityId(body.author())});
  Json e = Extension(record);
  e["indicator_type"] = IndicatorTypeName(s.type());
  e["value"] = s.value();
  CommonTail(j, record, v.revoked, std::move(e));
  return Dump(j);
}

bool StixBundleWriter::ObservedData(const v1::StoredRecord& record, const Version& v,
                                    std::string* why) {
  const v1::RecordBody& body = record.body();
  const v1::LogExcerpt& x = body.log_excerpt();
  std::vector<std::string> refs;
  std::set<std::string> seen;
  for (const v1::LogEvent& event : x.events()) {
    for (const v1::EventField& f : event.fields()) {
      const std::string_view type = ObservableType(f);
      if (type.empty()) continue;
      const std::string id = ScoId(type, f.value());
      if (!seen.insert(id).second) continue;
      refs.push_back(id);
      if (observables_.size() < kMaxRememberedObservables && !observables_.insert(id).second) {
        continue;  // written for an earlier excerpt
      }
      Json sco;
      sco["type"] = std::string(type);
      sco["spec_version"] = "2.1";
      sco["id"] = id;
      sco["value"] = f.value();
      Write(Dump(sco));
    }
  }
  if (refs.empty()) {
    *why = "a log excerpt with no address or name in its events has no observed-data form";
    return false;
  }
  Json j = CommonHead("observed-data", StixObjectId("observed-data", v.first_id), body.author(),
                      v.created, v.modified);
  j["first_observed"] = StixTime(x.window_start());
  j["last_observed"] = StixTime(std::max(x.window_end(), x.window_start()));
  j["number_observed"] = std::clamp<int64_t>(x.events_size(), 1, 999999999);
  j["object_refs"] = refs;
  Json e = Extension(record);
  Json ex;
  ex["source_format"] = x.source_format();
  ex["lines"] = Json(std::vector<std::string>(x.lines().begin(), x.lines().end()));
  Json manifest = Json::array();
  for (const v1::SanitizationStep& m : x.manifest()) {
    manifest.push_back({{"field", m.field()},
                        {"method", m.method()},
                        {"algorithm", m.algorithm()},
                        {"key_id", m.key_id()}});
  }
  ex["manifest"] = manifest;
  if (!x.contact().empty()) ex["contact"] = x.contact();
  if (!x.collection_method().empty()) ex["collection_method"] = x.collection_method();
  ex["utc_offset_minutes"] = x.original_utc_offset_minutes();
  if (x.part_count() > 1) {
    ex["part"] = x.part();
    ex["part_count"] = x.part_count();
  }
  e["excerpt"] = ex;
  CommonTail(j, record, v.revoked, std::move(e));
  Write(Dump(j));
  return true;
}

bool StixBundleWriter::Add(const v1::StoredRecord& record, std::string* why) {
  const v1::RecordBody& body = record.body();
  switch (body.kind_case()) {
    case v1::RecordBody::kIndicator:
    case v1::RecordBody::kSighting:
    case v1::RecordBody::kLogExcerpt:
      break;
    case v1::RecordBody::kRetraction:
      *why = "a retraction is exported as its target's revoked version, not as an object";
      return false;
    default:
      *why = "key rotations and revocations have no STIX form";
      return false;
  }
  if (TlpMarkingId(body.tlp()).empty()) {
    *why = "the record has no TLP label";
    return false;
  }
  if (sink_ && !head_written_) {
    head_written_ = true;
    Write(Dump(Identity(ProjectIdentityId(), "threatmesh", "system")));
    Write(Dump(ExtensionDefinition()));
  }
  NeedIdentity(body.author());
  NeedMarking(body.tlp());
  const Version v = VersionOf(record);
  if (body.has_indicator()) {
    Write(IndicatorObject(record, v));
  } else if (body.has_sighting()) {
    Write(SightingObject(record, v));
  } else if (!ObservedData(record, v, why)) {
    return false;
  }
  return true;
}

void StixBundleWriter::Finish() {
  if (finished_ || out_ == nullptr) return;
  finished_ = true;
  *out_ << "]}\n";
}

}  // namespace threatmesh::interop
