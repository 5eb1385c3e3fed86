// NodeClient: the CLI's (and the integration tests') connection to a running node's local
// API. Each call carries the bearer token and a deadline; gRPC errors come back as
// absl::Status with the node's message (and a hint when the node cannot be reached).
//
// Thread-compatible: one client per thread, or external locking.
#ifndef THREATMESH_NODE_API_GRPC_CLIENT_H_
#define THREATMESH_NODE_API_GRPC_CLIENT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "threatmesh/v1/api.pb.h"

namespace threatmesh {

struct ClientOptions {
  // host:port of the node's API.
  std::string address;
  // The bearer token (tmt_...); empty sends none.
  std::string token;
  // PEM file of the CA that signed the node's TLS certificate; empty for plaintext.
  std::string tls_ca;
  // Deadline of each unary call.
  std::chrono::milliseconds timeout{30000};
};

class NodeClient {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<NodeClient>> Connect(
      const ClientOptions& options);
  virtual ~NodeClient() = default;

  [[nodiscard]] virtual absl::StatusOr<threatmesh::v1::PublishResponse> Publish(
      const threatmesh::v1::PublishRequest& request) = 0;
  // Sends every request on one PublishStream call.
  [[nodiscard]] virtual absl::StatusOr<threatmesh::v1::PublishStreamResponse> PublishStream(
      const std::vector<threatmesh::v1::PublishRequest>& requests) = 0;
  [[nodiscard]] virtual absl::StatusOr<threatmesh::v1::GetResponse> Get(
      const threatmesh::v1::GetRequest& request) = 0;
  [[nodiscard]] virtual absl::StatusOr<threatmesh::v1::SearchResponse> Search(
      const threatmesh::v1::SearchRequest& request) = 0;
  [[nodiscard]] virtual absl::StatusOr<threatmesh::v1::PublishResponse> Sight(
      const threatmesh::v1::SightRequest& request) = 0;
  [[nodiscard]] virtual absl::StatusOr<threatmesh::v1::PublishResponse> Retract(
      const threatmesh::v1::RetractRequest& request) = 0;
  // Calls `on_event` for each event until it returns false (then cancels: OK) or the
  // stream ends (the node's status). No deadline.
  [[nodiscard]] virtual absl::Status Subscribe(
      const threatmesh::v1::SubscribeRequest& request,
      const std::function<bool(const threatmesh::v1::SubscribeEvent&)>& on_event) = 0;
  [[nodiscard]] virtual absl::StatusOr<threatmesh::v1::StatusResponse> Status() = 0;
  [[nodiscard]] virtual absl::StatusOr<threatmesh::v1::CreateTokenResponse> CreateToken(
      const threatmesh::v1::CreateTokenRequest& request) = 0;
  [[nodiscard]] virtual absl::StatusOr<threatmesh::v1::ListTokensResponse> ListTokens() = 0;
  [[nodiscard]] virtual absl::Status RevokeToken(
      const threatmesh::v1::RevokeTokenRequest& request) = 0;
  [[nodiscard]] virtual absl::Status AddPeer(const threatmesh::v1::AddPeerRequest& request) = 0;
  [[nodiscard]] virtual absl::StatusOr<threatmesh::v1::ListPeersResponse> ListPeers() = 0;
  [[nodiscard]] virtual absl::StatusOr<threatmesh::v1::ExplainPolicyResponse> ExplainPolicy(
      const threatmesh::v1::ExplainPolicyRequest& request) = 0;
  [[nodiscard]] virtual absl::Status RemovePeer(
      const threatmesh::v1::RemovePeerRequest& request) = 0;
  [[nodiscard]] virtual absl::StatusOr<threatmesh::v1::ReadAuditResponse> ReadAudit(
      const threatmesh::v1::ReadAuditRequest& request) = 0;
  [[nodiscard]] virtual absl::StatusOr<threatmesh::v1::ReloadConfigResponse> ReloadConfig() = 0;
  [[nodiscard]] virtual absl::Status ResyncPeer(
      const threatmesh::v1::ResyncPeerRequest& request) = 0;
  [[nodiscard]] virtual absl::StatusOr<threatmesh::v1::ExportProofResponse> ExportProof(
      const threatmesh::v1::ExportProofRequest& request) = 0;
  [[nodiscard]] virtual absl::StatusOr<threatmesh::v1::PublishResponse> RevokeKey(
      const threatmesh::v1::RevokeKeyRequest& request) = 0;
  [[nodiscard]] virtual absl::StatusOr<threatmesh::v1::ListViolationsResponse> ListViolations(
      const threatmesh::v1::ListViolationsRequest& request) = 0;
};

}  // namespace threatmesh

#endif  // THREATMESH_NODE_API_GRPC_CLIENT_H_
