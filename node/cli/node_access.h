// How commands reach a node: open its data directory (stopped node), or connect to its API
// (running node), and the options for both.
#ifndef THREATMESH_NODE_CLI_NODE_ACCESS_H_
#define THREATMESH_NODE_CLI_NODE_ACCESS_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "node/api/grpc/client.h"
#include "node/cli/command.h"
#include "node/core/record_view.h"
#include "node/local_node.h"
#include "threatmesh/v1/api.pb.h"

namespace threatmesh::cli {

// --data-dir and --passphrase-file, given to every command.
void AddDataDir(po::options_description& d);
// --node, --token, --token-file, --tls-ca, --timeout: for commands that talk to a node.
void AddNodeOptions(po::options_description& d);

// The key file's passphrase from --passphrase-file or $THREATMESH_PASSPHRASE ("" if none).
[[nodiscard]] absl::StatusOr<std::string> ReadPassphrase(const po::variables_map& vm);
// The node in --data-dir, opened (it must not be running).
[[nodiscard]] absl::StatusOr<std::unique_ptr<LocalNode>> OpenNode(const po::variables_map& vm);
// A client of the running node at --node, with the token from --token, $THREATMESH_TOKEN,
// --token-file or DATA_DIR/admin.token.
[[nodiscard]] absl::StatusOr<std::unique_ptr<NodeClient>> ConnectClient(
    const po::variables_map& vm);

// A record id given as 64 hex digits.
[[nodiscard]] absl::StatusOr<std::string> ParseId(std::string_view text);
// The first line of a small file (a token); NotFound or InvalidArgument naming `what`.
[[nodiscard]] absl::StatusOr<std::string> FirstLineOf(const std::string& path,
                                                      std::string_view what);
// This machine's name, as a peer name: lower case, [a-z0-9.-] only.
std::string ShortHostName();
// Prints "published WHAT ID (seq N)" or its JSON; kExitOk, or the error.
int PrintPublished(const po::variables_map& vm, Io& io,
                   const absl::StatusOr<threatmesh::v1::PublishResponse>& r, std::string_view what);

}  // namespace threatmesh::cli

#endif  // THREATMESH_NODE_CLI_NODE_ACCESS_H_
