// Translation of RocksDB statuses into absl::Status, at the storage boundary only.
#ifndef THREATMESH_STORAGE_ROCKS_STATUS_H_
#define THREATMESH_STORAGE_ROCKS_STATUS_H_

#include <rocksdb/status.h>

#include <string_view>

#include "absl/status/status.h"

namespace threatmesh::storage {

// `context` says what was being done ("opening the store in /var/lib/threatmesh"); the
// result's code tells the caller what to do and its message tells the operator.
absl::Status FromRocks(const rocksdb::Status& s, std::string_view context);

}  // namespace threatmesh::storage

#endif  // THREATMESH_STORAGE_ROCKS_STATUS_H_
