// Reading MISP events into records to publish (docs/STIX.md, "Import", MISP): each attribute
// meant for detection (`to_ids`) whose type threatmesh has becomes one indicator request
// (two for a composite such as `domain|ip`), attributed to its event and organisation and
// carrying the source reference "misp:EVENT-UUID/ATTRIBUTE-UUID@TIMESTAMP", so that a second
// import stores nothing new. TLP from the attribute's `tlp:` tags, else the event's; other
// tags become labels. Pure; thread-safe.
#ifndef THREATMESH_NODE_INTEROP_MISP_IMPORT_H_
#define THREATMESH_NODE_INTEROP_MISP_IMPORT_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "node/interop/stix_import.h"

namespace threatmesh::interop {

// The requests of a MISP event file: `{"Event": {...}}` (a feed's event file, or MISP's JSON
// export of one event), `{"response": [{"Event": ...}, ...]}` or `[{"Event": ...}, ...]`
// (MISP's REST search results). `source` names the file. InvalidArgument when the text is not
// JSON or holds no event.
[[nodiscard]] absl::StatusOr<StixImport> ReadMisp(std::string_view json, std::string_view source,
                                                  threatmesh::v1::Tlp default_tlp);

// The event uuids a MISP feed's manifest.json names (its events are UUID.json beside it).
// InvalidArgument when the text is not a manifest.
[[nodiscard]] absl::StatusOr<std::vector<std::string>> MispManifestEvents(std::string_view json);

}  // namespace threatmesh::interop

#endif  // THREATMESH_NODE_INTEROP_MISP_IMPORT_H_
