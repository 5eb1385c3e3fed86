#include "node/interop/stix_verify.h"

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/str_cat.h"
#include "node/core/indicator.h"
#include "node/core/record_builder.h"
#include "node/core/validate.h"
#include "node/interop/stix.h"

namespace threatmesh::interop {
namespace {

namespace v1 = ::threatmesh::v1;
using Json = nlohmann::json;

// The properties of each type that the signed record decides, and the element a difference
// is reported as.
const std::vector<std::pair<std::string, std::string>>& PropertiesOf(const std::string& type) {
  static const std::vector<std::pair<std::string, std::string>> indicator = {
      {"pattern", "pattern"},       {"object_marking_refs", "tlp"}, {"name", "name"},
      {"valid_from", "valid_from"}, {"valid_until", "valid_until"}, {"confidence", "confidence"},
      {"labels", "labels"},         {"description", "description"}, {"created_by_ref", "author"}};
  static const std::vector<std::pair<std::string, std::string>> sighting = {
      {"object_marking_refs", "tlp"},         {"count", "count"},
      {"first_seen", "first_seen"},           {"last_seen", "last_seen"},
      {"sighting_of_ref", "sighting_of_ref"}, {"labels", "labels"},
      {"confidence", "confidence"},           {"created_by_ref", "author"}};
  static const std::vector<std::pair<std::string, std::string>> observed = {
      {"object_marking_refs", "tlp"},     {"first_observed", "first_observed"},
      {"last_observed", "last_observed"}, {"number_observed", "number_observed"},
      {"object_refs", "object_refs"},     {"labels", "labels"},
      {"created_by_ref", "author"}};
  static const std::vector<std::pair<std::string, std::string>> none;
  if (type == "indicator") return indicator;
  if (type == "sighting") return sighting;
  if (type == "observed-data") return observed;
  return none;
}

// The object `record` exports as (of `type`), as this build writes it.
std::optional<Json> Expected(const v1::StoredRecord& record, const std::string& type) {
  std::ostringstream out;
  StixBundleWriter writer(out);
  std::string why;
  if (!writer.Add(record, &why)) return std::nullopt;
  writer.Finish();
  const Json bundle = Json::parse(out.str());
  for (const Json& o : bundle["objects"]) {
    if (o.value("type", "") == type) return o;
  }
  return std::nullopt;
}

std::string Shown(const Json& j) {
  return j.is_null() ? "(absent)" : j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Checks one object; failures and story lines go to `result`.
void CheckObject(const Json& object, int64_t now_ms, ProofResult& result) {
  const std::string id = object.value("id", "(no id)");
  const std::string type = object.value("type", "");
  auto fail = [&](const std::string& element, const std::string& message) {
    result.failures.push_back({StrCat(id, " ", element), message, ""});
  };
  const Json& ext = object["extensions"][std::string(kStixExtensionId)];
  std::optional<std::string> bytes =
      ext.contains("signed_record") && ext["signed_record"].is_string()
          ? crypto::Base64Decode(ext["signed_record"].get<std::string>())
          : std::nullopt;
  if (!bytes) return fail("signed_record", "missing or not base64");
  absl::StatusOr<VerifiedRecord> record = ValidateRecord(*bytes, {}, now_ms);
  if (!record.ok()) return fail("signature", std::string(record.status().message()));
  if (ext.value("record_id", "") != crypto::HexEncode(record->id)) {
    fail("record_id", "is not the id of the signed record");
  }
  if (ext.value("author", "") != crypto::HexEncode(record->body.author())) {
    fail("author", "is not the signed record's author");
  }
  v1::StoredRecord stored;
  stored.set_id(record->id);
  stored.set_signed_record(record->signed_bytes);
  *stored.mutable_body() = record->body;
  std::optional<Json> expected = Expected(stored, type);
  if (!expected) {
    return fail("type", StrCat("the signed record is not exported as ", type));
  }
  if (record->body.supersedes().empty() && (*expected)["id"] != object["id"]) {
    fail("id", StrCat("the signed record's object id is ", (*expected)["id"].get<std::string>()));
  }
  for (const auto& [property, element] : PropertiesOf(type)) {
    const Json mine = object.contains(property) ? object[property] : Json();
    const Json theirs = expected->contains(property) ? (*expected)[property] : Json();
    if (mine != theirs) {
      fail(element, StrCat("says ", Shown(mine), " but the signed record says ", Shown(theirs)));
    }
  }
  result.story.push_back(StrCat(id, ": record ", crypto::HexEncode(record->id), ", ",
                                TlpName(record->body.tlp()), ", signed by the author"));
}

}  // namespace

bool IsThreatmeshStix(std::string_view text) {
  return text.find(kStixExtensionId) != std::string_view::npos &&
         text.find("\"spec_version\"") != std::string_view::npos;
}

ProofResult VerifyStix(std::string_view json, int64_t now_ms) {
  ProofResult result;
  result.kind = "stix";
  Json doc = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    result.failures.push_back({"file", "is not a JSON object", ""});
    return result;
  }
  std::vector<Json> objects;
  if (doc.value("type", "") == "bundle" && doc["objects"].is_array()) {
    for (const Json& o : doc["objects"]) objects.push_back(o);
  } else {
    objects.push_back(doc);
  }
  int checked = 0;
  for (const Json& o : objects) {
    if (!o.is_object() || !o.contains("extensions") || !o["extensions"].is_object() ||
        !o["extensions"].contains(std::string(kStixExtensionId))) {
      continue;
    }
    ++checked;
    try {
      CheckObject(o, now_ms, result);
    } catch (const Json::exception& e) {
      result.failures.push_back({o.value("id", "(no id)"), StrCat("malformed: ", e.what()), ""});
    }
  }
  if (checked == 0) {
    result.failures.push_back({"file", "no object carries the threatmesh extension", ""});
    return result;
  }
  result.verdict =
      result.failures.empty() ? ProofResult::Verdict::kValid : ProofResult::Verdict::kInvalid;
  return result;
}

}  // namespace threatmesh::interop
