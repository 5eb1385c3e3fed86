// gRPC credentials of the peer port. Peers use self-signed certificates and no CA: TLS gives
// confidentiality, and the peer handshake (node/mesh/peer_auth.h) proves each node's key over the
// hash of the certificate the other side actually saw. So both sides accept any certificate
// at the TLS layer, the server asks the dialer for its certificate too, and each side reads
// the certificate the other presented from the call's AuthContext.
#ifndef THREATMESH_NODE_MESH_GRPC_PEER_TRANSPORT_H_
#define THREATMESH_NODE_MESH_GRPC_PEER_TRANSPORT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace threatmesh {

// A certificate and its private key, PEM.
struct PeerIdentity {
  std::string cert_pem;
  std::string key_pem;
};

// Credentials of the peer listener: present `identity`, request the dialer's certificate
// without checking it against any CA.
std::shared_ptr<grpc::ServerCredentials> PeerServerCredentials(const PeerIdentity& identity);

// Credentials for dialing a peer: present `identity`, accept the server's certificate
// whatever its issuer and name (the handshake checks it instead).
std::shared_ptr<grpc::ChannelCredentials> PeerChannelCredentials(const PeerIdentity& identity);

// Channel arguments for dialing a peer: the name sent in the TLS hello is "localhost", the name
// in the certificates made at init, so the listener does not log a name mismatch for every
// connection (names are not checked; the handshake is).
grpc::ChannelArguments PeerChannelArguments();

// SHA-256 of the DER certificate the other side of a call presented. PermissionDenied when it
// presented none.
[[nodiscard]] absl::StatusOr<std::string> SeenCertificateHash(const grpc::AuthContext* auth);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_MESH_GRPC_PEER_TRANSPORT_H_
