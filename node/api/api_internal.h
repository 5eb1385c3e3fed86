// Helpers that api.cc (records) and admin_api.cc (the node's administration) share.
#ifndef THREATMESH_NODE_API_API_INTERNAL_H_
#define THREATMESH_NODE_API_API_INTERNAL_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "storage/index_keys.h"
#include "threatmesh/v1/api.pb.h"

namespace threatmesh {

// `id` when it is a record id (32 bytes); InvalidArgument naming `field` otherwise.
[[nodiscard]] absl::StatusOr<std::string> CheckId(std::string_view id, std::string_view field);
// The store's kind of an API kind, or nullopt for none.
std::optional<storage::RecordKind> StoreKind(threatmesh::v1::RecordKind kind);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_API_API_INTERNAL_H_
