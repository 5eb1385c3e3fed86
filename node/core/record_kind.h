// The kinds of record, in one table: the body's oneof case (record.proto), the API's
// RecordKind (api.proto) and the name people and config files use ("log-excerpt"). The
// store's own one-byte kind (storage/index_keys.h) is derived from the oneof case by the
// store. Pure; thread-safe.
#ifndef THREATMESH_NODE_CORE_RECORD_KIND_H_
#define THREATMESH_NODE_CORE_RECORD_KIND_H_

#include <optional>
#include <span>
#include <string_view>

#include "threatmesh/v1/api.pb.h"
#include "threatmesh/v1/record.pb.h"

namespace threatmesh {

struct RecordKindInfo {
  threatmesh::v1::RecordBody::KindCase body_case;
  threatmesh::v1::RecordKind api_kind;
  std::string_view name;
};

// Every kind, in the API's order (indicator, log-excerpt, sighting, retraction,
// key-rotation, key-revocation).
std::span<const RecordKindInfo> RecordKinds();

// The kind's name, or "unknown".
std::string_view RecordKindName(threatmesh::v1::RecordBody::KindCase body_case);
std::string_view RecordKindName(threatmesh::v1::RecordKind api_kind);

// The API kind of a body (RECORD_KIND_UNSPECIFIED for none).
threatmesh::v1::RecordKind ApiKindOf(const threatmesh::v1::RecordBody& body);
// The oneof case of an API kind (KIND_NOT_SET for none).
threatmesh::v1::RecordBody::KindCase BodyCaseOf(threatmesh::v1::RecordKind api_kind);

// The kind named `name`, if it is one.
std::optional<RecordKindInfo> FindRecordKind(std::string_view name);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_CORE_RECORD_KIND_H_
