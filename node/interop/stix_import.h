// Reading STIX 2.1 into records to publish (docs/STIX.md, "Import"): every indicator whose
// pattern is one comparison, or an OR of comparisons, of a type threatmesh knows becomes one
// publish request per value, carrying its source reference so that a second import stores
// nothing new. Everything else is skipped with its reason. Pure; thread-safe.
#ifndef THREATMESH_NODE_INTEROP_STIX_IMPORT_H_
#define THREATMESH_NODE_INTEROP_STIX_IMPORT_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "threatmesh/v1/api.pb.h"

namespace threatmesh::interop {

// One value of a pattern: the indicator type and the value as the pattern writes it.
struct PatternValue {
  threatmesh::v1::IndicatorType type;
  std::string value;
};

// The values a STIX pattern names, when it is one comparison or an OR of comparisons (over
// one or several observation brackets) of paths threatmesh maps (docs/STIX.md, "Patterns");
// InvalidArgument saying why not (AND, FOLLOWEDBY, a qualifier, an operator or object path
// threatmesh has no type for, or a pattern that does not parse).
[[nodiscard]] absl::StatusOr<std::vector<PatternValue>> PatternValues(std::string_view pattern);

struct StixImport {
  // What to publish, each with the STIX id of the object it comes from.
  std::vector<std::pair<std::string, threatmesh::v1::PublishRequest>> requests;
  // Objects not imported: their id (or type) and why.
  std::vector<std::pair<std::string, std::string>> skipped;
};

// The publish requests of a STIX bundle (or one object), named `source` in the records'
// descriptions; TLP from each object's markings, or `default_tlp` for an object with none.
// InvalidArgument when the text is not a JSON object of STIX.
[[nodiscard]] absl::StatusOr<StixImport> ReadStix(std::string_view json, std::string_view source,
                                                  threatmesh::v1::Tlp default_tlp);

}  // namespace threatmesh::interop

#endif  // THREATMESH_NODE_INTEROP_STIX_IMPORT_H_
