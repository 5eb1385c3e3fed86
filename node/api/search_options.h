// The search a command line or the web console asks for: the options of `threatmesh search`
// (one query and the filters) and the SearchRequest they make, in one place so that the CLI
// and the console take the same filters under the same names with the same errors.
#ifndef THREATMESH_NODE_API_SEARCH_OPTIONS_H_
#define THREATMESH_NODE_API_SEARCH_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "threatmesh/v1/api.pb.h"

namespace boost::program_options {
class options_description;
class variables_map;
}  // namespace boost::program_options

namespace threatmesh {

// --only-kind, --max-tlp, --with-tag, --by, --created-from, --created-to.
void FilterOptions(boost::program_options::options_description& d);
// The queries (--type/--value, --domain-suffix, --ip, --author with --since/--until, --tag,
// --kind), --limit, --page-token and the filters.
void SearchOptions(boost::program_options::options_description& d);

// The filters of `vm`; InvalidArgument naming the option at fault.
[[nodiscard]] absl::StatusOr<threatmesh::v1::Filter> ParseFilter(
    const boost::program_options::variables_map& vm);
// The request of `vm` (parsed with SearchOptions); InvalidArgument unless it holds exactly
// one query, or naming the option at fault.
[[nodiscard]] absl::StatusOr<threatmesh::v1::SearchRequest> SearchRequestFrom(
    const boost::program_options::variables_map& vm);
// The same from arguments as a command line would give them ({"--tag", "x", "--limit",
// "20"}); an unknown option or a malformed value is InvalidArgument with the parser's words.
[[nodiscard]] absl::StatusOr<threatmesh::v1::SearchRequest> SearchRequestFromArgs(
    const std::vector<std::string>& args);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_API_SEARCH_OPTIONS_H_
