// The node's web console (docs/CONSOLE.md): the pages under /console/ (compiled into the
// binary from node/console/web) and the JSON they read under /console/api/, on the node's
// HTTP listener beside TAXII and /metrics, with the same TLS, limits and tokens.
//
// The pages themselves hold no data and are served to anyone; every /console/api/ request
// needs a token in the Authorization header (Bearer), is checked for its role (read for
// records and their proofs, admin for peers, violations and the audit trail) and audience
// (a client token sees no more than TLP:AMBER), and is written to the audit trail. The
// console only reads: it has no request that changes the node.
//
// No sockets here: Handle() answers one request, so tests can drive it directly.
// Thread-safe.
#ifndef THREATMESH_NODE_CONSOLE_CONSOLE_H_
#define THREATMESH_NODE_CONSOLE_CONSOLE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "node/api/api.h"
#include "node/http/http_server.h"

namespace threatmesh::console {

inline constexpr std::string_view kPrefix = "/console/";

class ConsoleService {
 public:
  explicit ConsoleService(NodeApi& api) : api_(api) {}

  // Whether `path` (without the query) is the console's: /console and all under /console/.
  static bool Owns(std::string_view path);
  http::Response Handle(const http::Request& request);

 private:
  struct Call;
  http::Response Api(const http::Request& request, std::string_view path);
  http::Response Route(Call& call, std::string_view what);
  http::Response Session(Call& call);
  http::Response Search(Call& call);
  http::Response Record(Call& call);
  http::Response Proof(Call& call);
  http::Response Violations(Call& call);
  http::Response Peers(Call& call);
  http::Response Audit(Call& call);

  NodeApi& api_;
};

}  // namespace threatmesh::console

#endif  // THREATMESH_NODE_CONSOLE_CONSOLE_H_
