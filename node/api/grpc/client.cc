#include "node/api/grpc/client.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>

#include <fstream>
#include <sstream>

#include "crypto/str_cat.h"
#include "threatmesh/v1/api.grpc.pb.h"

namespace threatmesh {
namespace {

using namespace threatmesh::v1;  // NOLINT: the API's own types.

class GrpcClient final : public NodeClient {
 public:
  GrpcClient(const ClientOptions& options, std::shared_ptr<grpc::Channel> channel)
      : options_(options), records_(Records::NewStub(channel)), admin_(Admin::NewStub(channel)) {}

  absl::StatusOr<PublishResponse> Publish(const PublishRequest& request) override {
    return Unary(&Records::Stub::Publish, records_.get(), request, PublishResponse());
  }
  absl::StatusOr<PublishStreamResponse> PublishStream(
      const std::vector<PublishRequest>& requests) override {
    grpc::ClientContext ctx;
    Prepare(ctx, /*deadline=*/false);
    PublishStreamResponse response;
    std::unique_ptr<grpc::ClientWriter<PublishRequest>> writer =
        records_->PublishStream(&ctx, &response);
    for (const PublishRequest& r : requests) {
      if (!writer->Write(r)) break;
    }
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    if (!s.ok()) return FromGrpc(s);
    return response;
  }
  absl::StatusOr<GetResponse> Get(const GetRequest& request) override {
    return Unary(&Records::Stub::Get, records_.get(), request, GetResponse());
  }
  absl::StatusOr<SearchResponse> Search(const SearchRequest& request) override {
    return Unary(&Records::Stub::Search, records_.get(), request, SearchResponse());
  }
  absl::StatusOr<PublishResponse> Sight(const SightRequest& request) override {
    return Unary(&Records::Stub::Sight, records_.get(), request, PublishResponse());
  }
  absl::StatusOr<PublishResponse> Retract(const RetractRequest& request) override {
    return Unary(&Records::Stub::Retract, records_.get(), request, PublishResponse());
  }
  absl::Status Subscribe(const SubscribeRequest& request,
                         const std::function<bool(const SubscribeEvent&)>& on_event) override {
    grpc::ClientContext ctx;
    Prepare(ctx, /*deadline=*/false);
    std::unique_ptr<grpc::ClientReader<SubscribeEvent>> reader = records_->Subscribe(&ctx, request);
    SubscribeEvent event;
    bool stopped = false;
    while (reader->Read(&event)) {
      if (!on_event(event)) {
        stopped = true;
        ctx.TryCancel();
        break;
      }
    }
    grpc::Status s = reader->Finish();
    if (stopped) return absl::OkStatus();
    return s.ok() ? absl::OkStatus() : FromGrpc(s);
  }
  absl::StatusOr<StatusResponse> Status() override {
    return Unary(&Admin::Stub::Status, admin_.get(), StatusRequest(), StatusResponse());
  }
  absl::StatusOr<CreateTokenResponse> CreateToken(const CreateTokenRequest& request) override {
    return Unary(&Admin::Stub::CreateToken, admin_.get(), request, CreateTokenResponse());
  }
  absl::StatusOr<ListTokensResponse> ListTokens() override {
    return Unary(&Admin::Stub::ListTokens, admin_.get(), ListTokensRequest(), ListTokensResponse());
  }
  absl::Status RevokeToken(const RevokeTokenRequest& request) override {
    return Unary(&Admin::Stub::RevokeToken, admin_.get(), request, RevokeTokenResponse()).status();
  }
  absl::Status AddPeer(const AddPeerRequest& request) override {
    return Unary(&Admin::Stub::AddPeer, admin_.get(), request, AddPeerResponse()).status();
  }
  absl::StatusOr<ListPeersResponse> ListPeers() override {
    return Unary(&Admin::Stub::ListPeers, admin_.get(), ListPeersRequest(), ListPeersResponse());
  }
  absl::StatusOr<ExplainPolicyResponse> ExplainPolicy(
      const ExplainPolicyRequest& request) override {
    return Unary(&Admin::Stub::ExplainPolicy, admin_.get(), request, ExplainPolicyResponse());
  }
  absl::Status RemovePeer(const RemovePeerRequest& request) override {
    return Unary(&Admin::Stub::RemovePeer, admin_.get(), request, RemovePeerResponse()).status();
  }
  absl::StatusOr<ReloadConfigResponse> ReloadConfig() override {
    return Unary(&Admin::Stub::ReloadConfig, admin_.get(), ReloadConfigRequest(),
                 ReloadConfigResponse());
  }
  absl::Status ResyncPeer(const ResyncPeerRequest& request) override {
    return Unary(&Admin::Stub::ResyncPeer, admin_.get(), request, ResyncPeerResponse()).status();
  }
  absl::StatusOr<PublishResponse> RevokeKey(const RevokeKeyRequest& request) override {
    return Unary(&Admin::Stub::RevokeKey, admin_.get(), request, PublishResponse());
  }
  absl::StatusOr<ExportProofResponse> ExportProof(const ExportProofRequest& request) override {
    return Unary(&Admin::Stub::ExportProof, admin_.get(), request, ExportProofResponse());
  }
  absl::StatusOr<ListViolationsResponse> ListViolations(
      const ListViolationsRequest& request) override {
    return Unary(&Admin::Stub::ListViolations, admin_.get(), request, ListViolationsResponse());
  }

  absl::StatusOr<ReadAuditResponse> ReadAudit(const ReadAuditRequest& request) override {
    return Unary(&Admin::Stub::ReadAudit, admin_.get(), request, ReadAuditResponse());
  }

 private:
  void Prepare(grpc::ClientContext& ctx, bool deadline) const {
    if (!options_.token.empty()) ctx.AddMetadata("authorization", "Bearer " + options_.token);
    if (deadline) ctx.set_deadline(std::chrono::system_clock::now() + options_.timeout);
  }

  absl::Status FromGrpc(const grpc::Status& s) const {
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE &&
        s.error_message().find("failed to connect") != std::string::npos) {
      return absl::UnavailableError(StrCat("cannot reach a node at ", options_.address,
                                           ": is 'threatmesh serve' running there? (--node "
                                           "or THREATMESH_NODE)"));
    }
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  }

  template <typename Stub, typename Req, typename Resp>
  absl::StatusOr<Resp> Unary(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                             Stub* stub, const Req& request, Resp response) {
    grpc::ClientContext ctx;
    Prepare(ctx, /*deadline=*/true);
    grpc::Status s = (stub->*method)(&ctx, request, &response);
    if (!s.ok()) return FromGrpc(s);
    return response;
  }

  const ClientOptions options_;
  std::unique_ptr<Records::Stub> records_;
  std::unique_ptr<Admin::Stub> admin_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<NodeClient>> NodeClient::Connect(const ClientOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!options.tls_ca.empty()) {
    std::ifstream in(options.tls_ca);
    if (!in) return absl::NotFoundError(StrCat("cannot read CA certificate ", options.tls_ca));
    std::ostringstream pem;
    pem << in.rdbuf();
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = pem.str();
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // What the client's gRPC may buffer: without a bound, a long Subscribe (an export) from a
  // node that sends faster than the client writes grows the receive buffers to gigabytes;
  // under this quota gRPC narrows its flow-control windows instead.
  grpc::ResourceQuota quota("threatmesh-client");
  quota.Resize(96 << 20);
  args.SetResourceQuota(quota);
  auto channel = grpc::CreateCustomChannel(options.address, credentials, args);
  return std::unique_ptr<NodeClient>(new GrpcClient(options, std::move(channel)));
}

}  // namespace threatmesh
