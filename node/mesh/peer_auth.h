// The peer handshake of proto/threatmesh/v1/peer.proto: Hello, then a signature over a
// transcript that binds both node keys, both fresh challenges and the TLS certificate the
// signer saw (docs/FORMAT.md, Peer authentication). Pure functions; thread-safe.
#ifndef THREATMESH_NODE_MESH_PEER_AUTH_H_
#define THREATMESH_NODE_MESH_PEER_AUTH_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "crypto/keys.h"
#include "threatmesh/v1/peer.pb.h"

namespace threatmesh {

inline constexpr uint32_t kPeerProtocolVersion = 1;

// This node's Hello: the version, its key, a fresh random challenge, and the Signed
// KeyRotation records that lead to its key from earlier ones (oldest first).
threatmesh::v1::PeerHello MakeHello(const crypto::KeyPair& key,
                                    std::vector<std::string> rotations = {});

// FailedPrecondition for a version this node does not speak; InvalidArgument for a key or
// challenge of the wrong size.
[[nodiscard]] absl::Status CheckHello(const threatmesh::v1::PeerHello& hello);

// signer key (32) || other key (32) || signer challenge (32) || other challenge (32) ||
// SHA-256 of the certificate the signer saw the other side present (32).
std::string PeerAuthTranscript(const threatmesh::v1::PeerHello& signer,
                               const threatmesh::v1::PeerHello& other,
                               std::string_view seen_cert_hash);

// This node's PeerAuth, after exchanging Hellos (`mine` sent, `theirs` received) over a TLS
// connection on which the other side presented the certificate with hash `seen_cert_hash`.
threatmesh::v1::PeerAuth SignPeerAuth(const crypto::KeyPair& key,
                                      const threatmesh::v1::PeerHello& mine,
                                      const threatmesh::v1::PeerHello& theirs,
                                      std::string_view seen_cert_hash);

// Checks the other side's PeerAuth: signed by theirs.node_key over the transcript in which
// the certificate it saw is this node's own (`own_cert_hash`). PermissionDenied otherwise,
// saying that a relay with its own certificate, or a key that is not the one announced, sits
// between the nodes.
[[nodiscard]] absl::Status VerifyPeerAuth(const threatmesh::v1::PeerHello& theirs,
                                          const threatmesh::v1::PeerHello& mine,
                                          const threatmesh::v1::PeerAuth& auth,
                                          std::string_view own_cert_hash);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_MESH_PEER_AUTH_H_
