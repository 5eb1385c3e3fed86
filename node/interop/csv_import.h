// Reading indicators from CSV (RFC 4180) into records to publish: a header row names the
// columns; `type` and `value` are required, and `tlp`, `confidence`, `labels` (separated by
// ';'), `valid_from`, `valid_until` and `description` are read when present, so the output
// of `threatmesh export --format csv` and hand-made lists both import. Each row carries the
// source reference "csv:" + SHA-256 of its type and value, so a value imported once is not
// imported again. Pure; thread-safe.
#ifndef THREATMESH_NODE_INTEROP_CSV_IMPORT_H_
#define THREATMESH_NODE_INTEROP_CSV_IMPORT_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "node/interop/stix_import.h"

namespace threatmesh::interop {

// The publish requests of a CSV file named `source`; rows that do not map are skipped,
// named "line N" with their reason. InvalidArgument when the header lacks `type` or
// `value`, or a quoted field does not end.
[[nodiscard]] absl::StatusOr<StixImport> ReadCsv(std::string_view text, std::string_view source,
                                                 threatmesh::v1::Tlp default_tlp);

}  // namespace threatmesh::interop

#endif  // THREATMESH_NODE_INTEROP_CSV_IMPORT_H_
