#include "node/core/record_kind.h"

#include <array>

namespace threatmesh {
namespace {

using threatmesh::v1::RecordBody;

constexpr std::array<RecordKindInfo, 6> kKinds = {{
    {RecordBody::kIndicator, v1::RECORD_KIND_INDICATOR, "indicator"},
    {RecordBody::kLogExcerpt, v1::RECORD_KIND_LOG_EXCERPT, "log-excerpt"},
    {RecordBody::kSighting, v1::RECORD_KIND_SIGHTING, "sighting"},
    {RecordBody::kRetraction, v1::RECORD_KIND_RETRACTION, "retraction"},
    {RecordBody::kKeyRotation, v1::RECORD_KIND_KEY_ROTATION, "key-rotation"},
    {RecordBody::kKeyRevocation, v1::RECORD_KIND_KEY_REVOCATION, "key-revocation"},
}};

}  // namespace

std::span<const RecordKindInfo> RecordKinds() { return kKinds; }

std::string_view RecordKindName(RecordBody::KindCase body_case) {
  for (const RecordKindInfo& k : kKinds) {
    if (k.body_case == body_case) return k.name;
  }
  return "unknown";
}

std::string_view RecordKindName(v1::RecordKind api_kind) {
  for (const RecordKindInfo& k : kKinds) {
    if (k.api_kind == api_kind) return k.name;
  }
  return "unknown";
}

v1::RecordKind ApiKindOf(const RecordBody& body) {
  for (const RecordKindInfo& k : kKinds) {
    if (k.body_case == body.kind_case()) return k.api_kind;
  }
  return v1::RECORD_KIND_UNSPECIFIED;
}

RecordBody::KindCase BodyCaseOf(v1::RecordKind api_kind) {
  for (const RecordKindInfo& k : kKinds) {
    if (k.api_kind == api_kind) return k.body_case;
  }
  return RecordBody::KIND_NOT_SET;
}

std::optional<RecordKindInfo> FindRecordKind(std::string_view name) {
  for (const RecordKindInfo& k : kKinds) {
    if (k.name == name) return k;
  }
  return std::nullopt;
}

}  // namespace threatmesh
