// The running node: `threatmesh serve`. Opens the data directory, serves the local gRPC API
// (Records, Admin, the standard health service and server reflection), signs the audit
// chain head every audit-checkpoint-seconds, and shuts down cleanly.
//
// Thread-safe: Start, then Shutdown once (the destructor shuts down too).
#ifndef THREATMESH_NODE_SERVE_SERVER_H_
#define THREATMESH_NODE_SERVE_SERVER_H_

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "node/config.h"
#include "node/local_node.h"
#include "threatmesh/v1/api.pb.h"

namespace threatmesh {

class Server {
 public:
  // Opens the node and starts serving. FailedPrecondition when another process holds the
  // data directory; Unavailable when the address cannot be bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Server>> Start(const ServeConfig& config,
                                                                     Clock clock = SystemNowMs);
  virtual ~Server() = default;

  // The address clients dial (with the port actually bound).
  virtual std::string address() const = 0;
  virtual std::string fingerprint() const = 0;
  // The address peers dial (with the port bound); empty when the node does not listen.
  virtual std::string peer_address() const = 0;
  // The TAXII server's URL ("https://host:port", with the port bound); empty when it is off.
  virtual std::string taxii_address() const = 0;

  // Reads the config file again and applies its policies and peers (SIGHUP, 'threatmesh
  // peers reload'); a config that does not parse changes nothing.
  [[nodiscard]] virtual absl::StatusOr<threatmesh::v1::ReloadConfigResponse> Reload() = 0;

  // Stops taking calls, lets the calls in flight finish (subscriptions are ended), signs a
  // last audit checkpoint and closes the store.
  virtual void Shutdown() = 0;
};

// `threatmesh serve`: reloads on SIGHUP; runs until SIGINT or SIGTERM, then shuts down and returns
// 0; returns 1 with a one-line error on `err` when the node cannot start.
int RunServe(const ServeConfig& config, std::ostream& out, std::ostream& err);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_SERVE_SERVER_H_
