// Options and output shared by the commands that handle excerpts (ingest-log, check,
// publish --excerpt).
#ifndef THREATMESH_NODE_CLI_EXCERPT_OPTIONS_H_
#define THREATMESH_NODE_CLI_EXCERPT_OPTIONS_H_

#include <ostream>
#include <vector>

#include "absl/status/statusor.h"
#include "node/cli/command.h"
#include "node/excerpt/sanitize.h"
#include "threatmesh/v1/record.pb.h"

namespace threatmesh::cli {

// --internal-suffix and --internal-range.
void InternalOptionsDesc(po::options_description& d);
[[nodiscard]] absl::StatusOr<SanitizeOptions> InternalOptions(const po::variables_map& vm);

// Prints the checklist; true when every item passed.
bool PrintChecklist(const std::vector<threatmesh::v1::ChecklistItem>& items, std::ostream& out);

}  // namespace threatmesh::cli

#endif  // THREATMESH_NODE_CLI_EXCERPT_OPTIONS_H_
