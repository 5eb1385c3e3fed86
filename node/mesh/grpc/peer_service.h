// The peer protocol over gRPC: the Peering service that takes streams dialed in, and the
// dialer that keeps one stream open to every configured peer with an address. Both run
// RunExchange (node/mesh/exchange.h) over a GrpcPeerStream.
#ifndef THREATMESH_NODE_MESH_GRPC_PEER_SERVICE_H_
#define THREATMESH_NODE_MESH_GRPC_PEER_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <memory>

#include "node/mesh/exchange.h"

namespace threatmesh {

// The Peering service; `tls` says whether its port serves TLS. `context` must outlive it.
std::unique_ptr<grpc::Service> MakePeeringService(ExchangeContext& context, bool tls);

// Dials every configured peer that has an address, one stream each, reconnecting with
// exponential backoff and jitter; follows peers added and removed while running.
class PeerDialer {
 public:
  virtual ~PeerDialer() = default;
  // Ends every stream and joins every thread; idempotent.
  virtual void Stop() = 0;
};

// Starts a dialer. `credentials`: TLS with the node's peer certificate (`tls`), or
// insecure. `context` must outlive it.
std::unique_ptr<PeerDialer> StartPeerDialer(ExchangeContext& context,
                                            std::shared_ptr<grpc::ChannelCredentials> credentials,
                                            bool tls);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_MESH_GRPC_PEER_SERVICE_H_
