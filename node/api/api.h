// NodeApi: the logic behind the local gRPC API, with no gRPC in it, so that it can be tested
// without a network. The services in node/api/grpc/services.cc are adapters: they read the token
// and the deadline, call NodeApi and turn its Status into a gRPC status.
//
// Every method takes the authenticated caller, checks its role first (PermissionDenied),
// and fills `audit` with what the audit trail should say about the call (parameters, the
// ids read or written). Thread-safe.
#ifndef THREATMESH_NODE_API_API_H_
#define THREATMESH_NODE_API_API_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/mutex.h"
#include "node/audit.h"
#include "node/core/policy.h"
#include "node/local_node.h"
#include "node/metrics/metrics.h"
#include "node/peers.h"
#include "node/tokens.h"
#include "threatmesh/v1/api.pb.h"

namespace threatmesh {

struct ProofMaterial;  // node/proof/proof.h

// Who is calling: the token's name and role.
struct Caller {
  std::string name;
  Role role = threatmesh::v1::ROLE_UNSPECIFIED;
  threatmesh::v1::Audience audience = threatmesh::v1::AUDIENCE_MEMBER;
  // The highest TLP this caller may see: AMBER for a client token (TLP 2.0: AMBER+STRICT
  // and RED never reach an organization's clients), RED otherwise.
  threatmesh::v1::Tlp max_tlp() const {
    return audience == threatmesh::v1::AUDIENCE_CLIENT ? threatmesh::v1::TLP_AMBER
                                                       : threatmesh::v1::TLP_RED;
  }
  // `filter` with its max_tlp lowered to what this caller may see.
  threatmesh::v1::Filter Clamp(threatmesh::v1::Filter filter) const {
    if (filter.max_tlp() == threatmesh::v1::TLP_UNSPECIFIED || filter.max_tlp() > max_tlp()) {
      filter.set_max_tlp(max_tlp());
    }
    return filter;
  }
};

// The most records one Search page or Get-like answer holds.
inline constexpr std::size_t kMaxSearchLimit = 1000;
inline constexpr std::size_t kMaxAuditIds = 1000;
// The sizes of what a request may ask for (docs/FORMAT.md, "Request limits"); more is
// refused with INVALID_ARGUMENT naming the field, before any work.
inline constexpr std::size_t kMaxFilterKinds = 16;
inline constexpr std::size_t kMaxFilterTags = 32;
inline constexpr std::size_t kMaxQueryBytes = 1024;  // a tag, domain, address or value
inline constexpr std::size_t kMaxPageTokenBytes = 1024;

// Adds ids to an audit entry, counting those beyond kMaxAuditIds instead of listing them.
void AuditIds(threatmesh::v1::AuditEntry& audit, std::string_view id);

// Whether `body` meets `filter` (validated by CheckFilter).
bool Matches(const threatmesh::v1::Filter& filter, const threatmesh::v1::RecordBody& body);
// InvalidArgument naming the filter field at fault.
[[nodiscard]] absl::Status CheckFilter(const threatmesh::v1::Filter& filter);

// An HTTP Authorization header as NodeApi::Authenticate takes it: a Bearer token as it is,
// HTTP Basic with the token as password (any user name) turned into the Bearer form (a
// malformed one into a token that never matches).
std::string BearerFromHttp(std::string authorization);

class NodeApi {
 public:
  NodeApi(LocalNode& node, TokenStore& tokens, AuditLog& audit, PeerRegistry& peers,
          std::string version);

  // The caller a bearer token stands for; Unauthenticated when absent, malformed or unknown.
  [[nodiscard]] absl::StatusOr<Caller> Authenticate(std::string_view authorization) const;
  // PermissionDenied unless `caller` has at least role `need`; names the method.
  [[nodiscard]] static absl::Status Require(const Caller& caller, Role need,
                                            std::string_view method);

  using v1AuditEntry = threatmesh::v1::AuditEntry;
  [[nodiscard]] absl::StatusOr<threatmesh::v1::PublishResponse> Publish(
      const threatmesh::v1::PublishRequest& request, v1AuditEntry& audit);
  // PublishStream: stores the records `next` yields (it returns false at the end of the
  // stream) through the store's write pipeline, so that a stream's records share syncs.
  // Records that are there already (`ready` says whether `next` would return at once; no
  // `ready`: always) are taken together, up to 64: signed on the work pool and stored as
  // one group, they reach the peers in one batch. Returns once every record is durable or
  // refused.
  [[nodiscard]] threatmesh::v1::PublishStreamResponse PublishMany(
      const std::function<bool(threatmesh::v1::PublishRequest&)>& next, v1AuditEntry& audit,
      const std::function<bool()>& ready = {});
  // Get and ExportProof answer NotFound, as for an absent record, for a record above
  // `max_tlp` (a client token's limit).
  [[nodiscard]] absl::StatusOr<threatmesh::v1::GetResponse> Get(
      const threatmesh::v1::GetRequest& request, v1AuditEntry& audit,
      threatmesh::v1::Tlp max_tlp = threatmesh::v1::TLP_RED);
  [[nodiscard]] absl::StatusOr<threatmesh::v1::SearchResponse> Search(
      const threatmesh::v1::SearchRequest& request, v1AuditEntry& audit);
  [[nodiscard]] absl::StatusOr<threatmesh::v1::PublishResponse> Sight(
      const threatmesh::v1::SightRequest& request, v1AuditEntry& audit);
  [[nodiscard]] absl::StatusOr<threatmesh::v1::PublishResponse> Retract(
      const threatmesh::v1::RetractRequest& request, v1AuditEntry& audit);

  // Subscribe, one step: the events after `cursor` (at most `limit` log entries examined),
  // and the cursor to continue from. Waits up to `wait` when nothing new is stored yet.
  struct SubscribeStep {
    std::vector<threatmesh::v1::SubscribeEvent> events;
    uint64_t cursor = 0;
  };
  [[nodiscard]] absl::StatusOr<SubscribeStep> SubscribeNext(const threatmesh::v1::Filter& filter,
                                                            uint64_t cursor,
                                                            std::chrono::milliseconds wait);
  // The cursor a subscription starts from.
  [[nodiscard]] absl::StatusOr<uint64_t> SubscribeStart(
      const threatmesh::v1::SubscribeRequest& request);

  [[nodiscard]] threatmesh::v1::StatusResponse Status() const;
  [[nodiscard]] absl::StatusOr<threatmesh::v1::CreateTokenResponse> CreateToken(
      const threatmesh::v1::CreateTokenRequest& request, v1AuditEntry& audit);
  [[nodiscard]] threatmesh::v1::ListTokensResponse ListTokens() const;
  [[nodiscard]] absl::Status RevokeToken(const threatmesh::v1::RevokeTokenRequest& request,
                                         v1AuditEntry& audit);
  [[nodiscard]] absl::Status AddPeer(const threatmesh::v1::AddPeerRequest& request,
                                     v1AuditEntry& audit);
  [[nodiscard]] threatmesh::v1::ListPeersResponse ListPeers() const;
  // The address peers connect to, for Status; empty when the node does not listen.
  void SetPeerAddress(std::string address) { peer_address_ = std::move(address); }
  // The configured policies; AddPeer refuses a policy name that is not among them.
  void SetPolicies(const PolicyHolder* policies) { policies_ = policies; }
  // The threads that sign a stream's records (nullptr: the stream's own thread does).
  void SetWorkPool(WorkPool* pool) { pool_ = pool; }

  // Calls of the gRPC API and requests of the TAXII server, counted for /metrics by the
  // layers that carry them.
  RequestMetrics& api_metrics() { return api_metrics_; }
  RequestMetrics& taxii_metrics() { return taxii_metrics_; }
  // When the node started serving (Unix ms, the node's clock).
  int64_t started_ms() const { return started_ms_; }
  // What the server that runs the peers does for ReloadConfig and ResyncPeer (unset: those
  // calls are UNIMPLEMENTED).
  struct PeerControl {
    std::function<absl::StatusOr<threatmesh::v1::ReloadConfigResponse>()> reload;
    std::function<void(const std::string& name)> resync;
  };
  void SetPeerControl(PeerControl control) { control_ = std::move(control); }
  [[nodiscard]] absl::StatusOr<threatmesh::v1::ReloadConfigResponse> ReloadConfig(
      v1AuditEntry& audit);
  [[nodiscard]] absl::Status ResyncPeer(const threatmesh::v1::ResyncPeerRequest& request,
                                        v1AuditEntry& audit);
  [[nodiscard]] absl::StatusOr<threatmesh::v1::ExportProofResponse> ExportProof(
      const threatmesh::v1::ExportProofRequest& request, v1AuditEntry& audit,
      threatmesh::v1::Tlp max_tlp = threatmesh::v1::TLP_RED);
  [[nodiscard]] absl::StatusOr<threatmesh::v1::PublishResponse> RevokeKey(
      const threatmesh::v1::RevokeKeyRequest& request, v1AuditEntry& audit);
  [[nodiscard]] absl::StatusOr<threatmesh::v1::ListViolationsResponse> ListViolations(
      const threatmesh::v1::ListViolationsRequest& request, v1AuditEntry& audit);
  [[nodiscard]] absl::StatusOr<threatmesh::v1::ExplainPolicyResponse> ExplainPolicy(
      const threatmesh::v1::ExplainPolicyRequest& request, v1AuditEntry& audit);
  // Where ListPeers gets the live state of the peers (set by the server that runs them).
  void SetPeerView(std::function<void(threatmesh::v1::ListPeersResponse&)> view) {
    peer_view_ = std::move(view);
  }
  [[nodiscard]] absl::Status RemovePeer(const threatmesh::v1::RemovePeerRequest& request,
                                        v1AuditEntry& audit);
  [[nodiscard]] absl::StatusOr<threatmesh::v1::ReadAuditResponse> ReadAudit(
      const threatmesh::v1::ReadAuditRequest& request, v1AuditEntry& audit) const;

  // The stored record `id` with its custody (unless `custody` is false: a STIX export needs
  // none), as the API returns it.
  [[nodiscard]] absl::StatusOr<threatmesh::v1::StoredRecord> Load(std::string_view id,
                                                                  bool custody = true);
  // Load of several records at once (one read of the store for all), each answer at its
  // id's place.
  [[nodiscard]] std::vector<absl::StatusOr<threatmesh::v1::StoredRecord>> LoadMany(
      const std::vector<std::string_view>& ids, bool custody = true);

  LocalNode& node() { return node_; }
  AuditLog& audit_log() { return audit_; }

 private:
  // A stored record as the API returns it: its custody (when asked for) and its marks.
  [[nodiscard]] absl::StatusOr<threatmesh::v1::StoredRecord> Complete(VerifiedRecord record,
                                                                      bool custody);
  // The evidence kept against the relays of record `id` into `m`; NotFound when none is.
  [[nodiscard]] absl::Status LoadViolation(const std::string& id, ProofMaterial& m);
  // The body a PublishRequest asks for, checked and normalized (author and time unset).
  [[nodiscard]] static absl::StatusOr<threatmesh::v1::RecordBody> PreparePublish(
      const threatmesh::v1::PublishRequest& request);
  [[nodiscard]] absl::StatusOr<threatmesh::v1::PublishResponse> PublishBody(
      threatmesh::v1::RecordBody body, v1AuditEntry& audit);
  // Claims an import's source reference for one publish: AlreadyExists naming the record it
  // became, or saying that a publish of it is under way.
  [[nodiscard]] absl::Status ClaimSourceRef(const std::string& ref);
  // Records which record `ref` became (when `id` holds one) and releases the claim.
  void SettleSourceRef(const std::string& ref, const absl::StatusOr<std::string>& id);

  LocalNode& node_;
  TokenStore& tokens_;
  AuditLog& audit_;
  PeerRegistry& peers_;
  std::function<void(threatmesh::v1::ListPeersResponse&)> peer_view_;
  const PolicyHolder* policies_ = nullptr;
  WorkPool* pool_ = nullptr;
  RequestMetrics api_metrics_;
  RequestMetrics taxii_metrics_;
  PeerControl control_;
  std::string peer_address_;
  const std::string version_;
  const int64_t started_ms_;
  Mutex refs_mu_;
  absl::flat_hash_set<std::string> refs_in_flight_ ABSL_GUARDED_BY(refs_mu_);
};

}  // namespace threatmesh

#endif  // THREATMESH_NODE_API_API_H_
