#include "node/serve/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/support/server_interceptor.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "crypto/hash.h"
#include "crypto/key_file.h"
#include "crypto/sodium.h"
#include "crypto/str_cat.h"
#include "node/api/api.h"
#include "node/audit.h"
#include "node/core/policy.h"
#include "node/core/version.h"
#include "node/mesh/exchange.h"
#include "node/mesh/grpc/peer_transport.h"
#include "node/mesh/grpc/tls.h"
#include "node/serve/listener.h"
#include "node/tokens.h"
#include "threatmesh/v1/api.grpc.pb.h"
#include "threatmesh/v1/peer.grpc.pb.h"

namespace threatmesh {
namespace {

using namespace threatmesh::v1;  // NOLINT: the API's own types.

// How long a subscription waits for new records before checking for cancellation.
constexpr std::chrono::milliseconds kSubscribePoll{250};
// An idle subscription gets a keepalive event this often.
constexpr std::chrono::seconds kSubscribeKeepalive{15};
// How long shutdown lets calls in flight finish.
constexpr std::chrono::seconds kShutdownGrace{10};

grpc::Status ToGrpc(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

std::string Metadata(const grpc::ServerContextBase* ctx, const char* key) {
  auto range = ctx->client_metadata().equal_range(key);
  if (range.first == range.second) return "";
  return std::string(range.first->second.data(), range.first->second.size());
}

// Moves a successful result into the rpc's response.
template <typename T>
absl::Status Assign(absl::StatusOr<T> result, T* out) {
  if (!result.ok()) return result.status();
  *out = std::move(*result);
  return absl::OkStatus();
}

// Shared by both services: authentication, the role check, the deadline and the audit entry
// around each call.
class CallGate {
 public:
  CallGate(NodeApi& api, AuditLog& audit) : api_(api), audit_(audit) {}

  // Runs `fn(caller, audit_entry)` for a caller with at least role `need`, then appends the
  // audit entry with the outcome. A call whose entry cannot be written gets UNAVAILABLE.
  template <typename Fn>
  grpc::Status Run(grpc::ServerContextBase* ctx, const char* method, Role need, Fn&& fn) {
    AuditEntry entry;
    entry.set_method(method);
    absl::Status status;
    absl::StatusOr<Caller> caller = Identify(ctx, entry);
    if (!caller.ok()) {
      status = caller.status();
    } else {
      status = NodeApi::Require(*caller, need, method);
      if (status.ok() && ctx->deadline() < std::chrono::system_clock::now()) {
        status = absl::DeadlineExceededError("the call's deadline passed before it started");
      }
      if (status.ok()) status = fn(*caller, entry);
    }
    return Finish(entry, status);
  }

  // A call whose request bytes do not decode as its message, so its handler never ran:
  // UNAUTHENTICATED without a valid token, INVALID_ARGUMENT with one; audited either way.
  grpc::Status Undecodable(const grpc::ServerContextBase* ctx, const char* method) {
    AuditEntry entry;
    entry.set_method(method);
    entry.set_params("undecodable request");
    absl::Status status;
    absl::StatusOr<Caller> caller = Identify(ctx, entry);
    if (!caller.ok()) {
      status = caller.status();
    } else {
      status = absl::InvalidArgumentError(
          StrCat("the request's bytes do not decode as the message ", method,
                 " takes; nothing was done (is the client built from this node's api.proto?)"));
    }
    return Finish(entry, status);
  }

  // The caller of the call's token, named in `entry` when valid.
  absl::StatusOr<Caller> Identify(const grpc::ServerContextBase* ctx, AuditEntry& entry) {
    absl::StatusOr<Caller> caller = api_.Authenticate(Metadata(ctx, "authorization"));
    if (caller.ok()) {
      entry.set_who(caller->name);
      entry.set_role(caller->role);
    }
    return caller;
  }

  grpc::Status Finish(AuditEntry& entry, const absl::Status& status) {
    entry.set_code(static_cast<int>(status.code()));
    absl::StatusOr<uint64_t> appended = audit_.Append(entry);
    if (!appended.ok()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          StrCat("the audit trail cannot be written (", appended.status().message(),
                                 "); the answer is withheld, and a write the call made is "
                                 "stored. Free disk space and retry"));
    }
    return ToGrpc(status);
  }

 private:
  NodeApi& api_;
  AuditLog& audit_;
};

// Turns the empty INTERNAL that gRPC answers to a request whose bytes do not decode (its
// handler, and so the token check and the audit entry, never ran) into CallGate::Undecodable's
// answer. For calls with one request message: unary and server-streaming.
class UndecodableRequestInterceptor final : public grpc::experimental::Interceptor {
 public:
  UndecodableRequestInterceptor(grpc::experimental::ServerRpcInfo* info, CallGate& gate)
      : info_(info), gate_(gate) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        !received_) {
      received_ = true;
      undecodable_ = methods->GetRecvMessage() == nullptr;
    }
    if (undecodable_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        methods->GetSendStatus().error_code() == grpc::StatusCode::INTERNAL) {
      methods->ModifySendStatus(gate_.Undecodable(info_->server_context(), info_->method()));
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* info_;
  CallGate& gate_;
  bool received_ = false;
  bool undecodable_ = false;
};

class UndecodableRequestInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit UndecodableRequestInterceptorFactory(CallGate& gate) : gate_(gate) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    using Type = grpc::experimental::ServerRpcInfo::Type;
    if (info->type() != Type::UNARY && info->type() != Type::SERVER_STREAMING) return nullptr;
    return new UndecodableRequestInterceptor(info, gate_);
  }

 private:
  CallGate& gate_;
};

// PublishStream, reading the stream's messages as bytes so that one that does not decode is
// told from the end of the stream: the call then ends with INVALID_ARGUMENT naming the
// message's position, after the records before it were stored (or refused) as usual. The
// records go through NodeApi::PublishMany on a thread of the call's own, fed by this reactor
// through a short queue (reading pauses while it is full).
class PublishStreamReactor final : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  PublishStreamReactor(NodeApi& api, CallGate& gate, grpc::CallbackServerContext* ctx,
                       grpc::ByteBuffer* response)
      : api_(api), gate_(gate), ctx_(ctx), response_(response) {
    StartRead(&incoming_);
    worker_ = std::thread([this] { Work(); });
  }

  void OnReadDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ok) {
      ended_ = true;
    } else {
      queue_.push_back(std::move(incoming_));
      incoming_.Clear();
      if (queue_.size() < kQueue) {
        StartRead(&incoming_);
      } else {
        paused_ = true;
      }
    }
    if (waiting_ || ended_) cv_.notify_all();  // a busy worker finds the message by itself
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    ended_ = cancelled_ = true;
    cv_.notify_all();
  }

  void OnDone() override {
    if (worker_.get_id() == std::this_thread::get_id()) {
      worker_.detach();  // done on the worker itself, after its last step
    } else {
      worker_.join();
    }
    delete this;
  }

 private:
  static constexpr std::size_t kQueue = 64;

  // The next message as a request; false at the end of the stream, or at a message that does
  // not decode (bad_index_ then names it).
  bool Next(PublishRequest& request) {
    grpc::ByteBuffer buffer;
    {
      std::unique_lock<std::mutex> lock(mu_);
      waiting_ = true;
      cv_.wait(lock, [&] { return !queue_.empty() || ended_; });
      waiting_ = false;
      if (queue_.empty() || cancelled_) return false;
      buffer = std::move(queue_.front());
      queue_.pop_front();
      if (paused_) {
        paused_ = false;
        StartRead(&incoming_);
      }
    }
    // Parsed from the buffer's slices as they are (no copy), as the generated code would.
    if (grpc::SerializationTraits<PublishRequest>::Deserialize(&buffer, &request).ok()) {
      ++index_;
      return true;
    }
    bad_index_ = index_;
    return false;
  }

  void Work() {
    PublishStreamResponse out;
    grpc::Status status = gate_.Run(
        ctx_, "/threatmesh.v1.Records/PublishStream", ROLE_PUBLISH,
        [&](const Caller&, AuditEntry& audit) {
          out = api_.PublishMany([&](PublishRequest& r) { return Next(r); }, audit);
          if (bad_index_ >= 0) {
            audit.set_params(StrCat(audit.params(), " undecodable=", bad_index_));
            return absl::InvalidArgumentError(
                StrCat("message ", bad_index_,
                       " of the stream (counting from 0) does not decode as "
                       "threatmesh.v1.PublishRequest; the stream ends there. Of the ",
                       bad_index_, " before it, ", out.stored(), " were stored, ", out.duplicates(),
                       " were duplicates and ", out.refused(), " were refused"));
          }
          std::lock_guard<std::mutex> lock(mu_);
          if (cancelled_) return absl::CancelledError("the client cancelled the stream");
          return absl::OkStatus();
        });
    if (status.ok()) {
      const std::string bytes = out.SerializeAsString();
      grpc::Slice slice(bytes);
      grpc::ByteBuffer message(&slice, 1);
      response_->Swap(&message);
    }
    Finish(status);
  }

  NodeApi& api_;
  CallGate& gate_;
  grpc::CallbackServerContext* ctx_;
  grpc::ByteBuffer* response_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<grpc::ByteBuffer> queue_;  // guarded by mu_
  grpc::ByteBuffer incoming_;           // the read in flight
  bool paused_ = false;                 // guarded by mu_: no read in flight, the queue was full
  bool ended_ = false;                  // guarded by mu_
  bool cancelled_ = false;              // guarded by mu_
  bool waiting_ = false;                // guarded by mu_: the worker waits for a message
  int64_t index_ = 0;                   // the worker's: messages decoded so far
  int64_t bad_index_ = -1;              // the worker's: the message that did not decode
  std::thread worker_;
};

class RecordsService final : public Records::WithRawCallbackMethod_PublishStream<Records::Service> {
 public:
  RecordsService(NodeApi& api, CallGate& gate, std::atomic<bool>& stopping)
      : api_(api), gate_(gate), stopping_(stopping) {}

  grpc::Status Publish(grpc::ServerContext* ctx, const PublishRequest* request,
                       PublishResponse* response) override {
    return gate_.Run(ctx, "/threatmesh.v1.Records/Publish", ROLE_PUBLISH,
                     [&](const Caller&, AuditEntry& audit) {
                       return Assign(api_.Publish(*request, audit), response);
                     });
  }

  grpc::ServerReadReactor<grpc::ByteBuffer>* PublishStream(grpc::CallbackServerContext* ctx,
                                                           grpc::ByteBuffer* response) override {
    return new PublishStreamReactor(api_, gate_, ctx, response);
  }

  grpc::Status Get(grpc::ServerContext* ctx, const GetRequest* request,
                   GetResponse* response) override {
    return gate_.Run(ctx, "/threatmesh.v1.Records/Get", ROLE_READ,
                     [&](const Caller& caller, AuditEntry& audit) {
                       return Assign(api_.Get(*request, audit, caller.max_tlp()), response);
                     });
  }

  grpc::Status Search(grpc::ServerContext* ctx, const SearchRequest* request,
                      SearchResponse* response) override {
    return gate_.Run(ctx, "/threatmesh.v1.Records/Search", ROLE_READ,
                     [&](const Caller& caller, AuditEntry& audit) {
                       if (caller.audience != AUDIENCE_CLIENT) {
                         return Assign(api_.Search(*request, audit), response);
                       }
                       SearchRequest clamped = *request;
                       *clamped.mutable_filter() = caller.Clamp(request->filter());
                       return Assign(api_.Search(clamped, audit), response);
                     });
  }

  grpc::Status Sight(grpc::ServerContext* ctx, const SightRequest* request,
                     PublishResponse* response) override {
    return gate_.Run(ctx, "/threatmesh.v1.Records/Sight", ROLE_PUBLISH,
                     [&](const Caller&, AuditEntry& audit) {
                       return Assign(api_.Sight(*request, audit), response);
                     });
  }

  grpc::Status Retract(grpc::ServerContext* ctx, const RetractRequest* request,
                       PublishResponse* response) override {
    return gate_.Run(ctx, "/threatmesh.v1.Records/Retract", ROLE_PUBLISH,
                     [&](const Caller&, AuditEntry& audit) {
                       return Assign(api_.Retract(*request, audit), response);
                     });
  }

  // Two audit entries: one when the subscription starts (so that a subscriber who never
  // disconnects is on record), one when it ends with the ids it was sent.
  grpc::Status Subscribe(grpc::ServerContext* ctx, const SubscribeRequest* request,
                         grpc::ServerWriter<SubscribeEvent>* writer) override {
    uint64_t cursor = 0;
    Caller who;
    grpc::Status started = gate_.Run(ctx, "/threatmesh.v1.Records/Subscribe", ROLE_READ,
                                     [&](const Caller& caller, AuditEntry& audit) {
                                       who = caller;
                                       absl::StatusOr<uint64_t> start =
                                           api_.SubscribeStart(*request);
                                       if (!start.ok()) return start.status();
                                       cursor = *start;
                                       audit.set_params(StrCat("start cursor=", cursor));
                                       return absl::OkStatus();
                                     });
    if (!started.ok()) return started;

    const Filter filter = who.Clamp(request->filter());
    AuditEntry end;
    end.set_method("/threatmesh.v1.Records/Subscribe");
    end.set_who(who.name);
    end.set_role(who.role);
    absl::Status status;
    uint64_t sent = 0;
    auto last_write = std::chrono::steady_clock::now();
    while (!ctx->IsCancelled() && !stopping_.load()) {
      absl::StatusOr<NodeApi::SubscribeStep> step =
          api_.SubscribeNext(filter, cursor, kSubscribePoll);
      if (!step.ok()) {
        status = step.status();
        break;
      }
      bool broken = false;
      for (const SubscribeEvent& event : step->events) {
        if (!writer->Write(event)) {
          broken = true;
          break;
        }
        if (event.has_record()) {
          AuditIds(end, event.record().id());
          ++sent;
        }
        cursor = event.cursor();
        last_write = std::chrono::steady_clock::now();
      }
      if (broken) break;
      cursor = step->events.empty() ? step->cursor : cursor;
      if (std::chrono::steady_clock::now() - last_write > kSubscribeKeepalive) {
        SubscribeEvent keepalive;
        keepalive.set_cursor(cursor);
        if (!writer->Write(keepalive)) break;
        last_write = std::chrono::steady_clock::now();
      }
    }
    if (status.ok() && stopping_.load()) {
      status = absl::UnavailableError(
          StrCat("the node is shutting down; resubscribe with cursor ", cursor));
    }
    end.set_params(StrCat("end cursor=", cursor, " sent=", sent));
    return gate_.Finish(end, status);
  }

 private:
  NodeApi& api_;
  CallGate& gate_;
  std::atomic<bool>& stopping_;
};

class AdminService final : public Admin::Service {
 public:
  AdminService(NodeApi& api, CallGate& gate) : api_(api), gate_(gate) {}

  grpc::Status Status(grpc::ServerContext* ctx, const StatusRequest*,
                      StatusResponse* response) override {
    return gate_.Run(ctx, "/threatmesh.v1.Admin/Status", ROLE_READ, [&](const Caller&, auto&) {
      *response = api_.Status();
      return absl::OkStatus();
    });
  }

  grpc::Status CreateToken(grpc::ServerContext* ctx, const CreateTokenRequest* request,
                           CreateTokenResponse* response) override {
    return gate_.Run(ctx, "/threatmesh.v1.Admin/CreateToken", ROLE_ADMIN,
                     [&](const Caller&, AuditEntry& audit) {
                       return Assign(api_.CreateToken(*request, audit), response);
                     });
  }

  grpc::Status ListTokens(grpc::ServerContext* ctx, const ListTokensRequest*,
                          ListTokensResponse* response) override {
    return gate_.Run(ctx, "/threatmesh.v1.Admin/ListTokens", ROLE_ADMIN, [&](const Caller&, auto&) {
      *response = api_.ListTokens();
      return absl::OkStatus();
    });
  }

  grpc::Status RevokeToken(grpc::ServerContext* ctx, const RevokeTokenRequest* request,
                           RevokeTokenResponse*) override {
    return gate_.Run(
        ctx, "/threatmesh.v1.Admin/RevokeToken", ROLE_ADMIN,
        [&](const Caller&, AuditEntry& audit) { return api_.RevokeToken(*request, audit); });
  }

  grpc::Status AddPeer(grpc::ServerContext* ctx, const AddPeerRequest* request,
                       AddPeerResponse*) override {
    return gate_.Run(
        ctx, "/threatmesh.v1.Admin/AddPeer", ROLE_ADMIN,
        [&](const Caller&, AuditEntry& audit) { return api_.AddPeer(*request, audit); });
  }

  grpc::Status ListPeers(grpc::ServerContext* ctx, const ListPeersRequest*,
                         ListPeersResponse* response) override {
    return gate_.Run(ctx, "/threatmesh.v1.Admin/ListPeers", ROLE_ADMIN, [&](const Caller&, auto&) {
      *response = api_.ListPeers();
      return absl::OkStatus();
    });
  }

  grpc::Status RemovePeer(grpc::ServerContext* ctx, const RemovePeerRequest* request,
                          RemovePeerResponse*) override {
    return gate_.Run(
        ctx, "/threatmesh.v1.Admin/RemovePeer", ROLE_ADMIN,
        [&](const Caller&, AuditEntry& audit) { return api_.RemovePeer(*request, audit); });
  }

  grpc::Status ExplainPolicy(grpc::ServerContext* ctx, const ExplainPolicyRequest* request,
                             ExplainPolicyResponse* response) override {
    return gate_.Run(ctx, "/threatmesh.v1.Admin/ExplainPolicy", ROLE_ADMIN,
                     [&](const Caller&, AuditEntry& audit) {
                       return Assign(api_.ExplainPolicy(*request, audit), response);
                     });
  }

  grpc::Status ReloadConfig(grpc::ServerContext* ctx, const ReloadConfigRequest*,
                            ReloadConfigResponse* response) override {
    return gate_.Run(ctx, "/threatmesh.v1.Admin/ReloadConfig", ROLE_ADMIN,
                     [&](const Caller&, AuditEntry& audit) {
                       return Assign(api_.ReloadConfig(audit), response);
                     });
  }

  grpc::Status ResyncPeer(grpc::ServerContext* ctx, const ResyncPeerRequest* request,
                          ResyncPeerResponse*) override {
    return gate_.Run(
        ctx, "/threatmesh.v1.Admin/ResyncPeer", ROLE_ADMIN,
        [&](const Caller&, AuditEntry& audit) { return api_.ResyncPeer(*request, audit); });
  }

  grpc::Status RevokeKey(grpc::ServerContext* ctx, const RevokeKeyRequest* request,
                         PublishResponse* response) override {
    return gate_.Run(ctx, "/threatmesh.v1.Admin/RevokeKey", ROLE_ADMIN,
                     [&](const Caller&, AuditEntry& audit) {
                       return Assign(api_.RevokeKey(*request, audit), response);
                     });
  }

  grpc::Status ExportProof(grpc::ServerContext* ctx, const ExportProofRequest* request,
                           ExportProofResponse* response) override {
    return gate_.Run(
        ctx, "/threatmesh.v1.Admin/ExportProof", ROLE_READ,
        [&](const Caller& caller, AuditEntry& audit) {
          // Violation evidence holds the full payload of records addressed to
          // someone else (RED ones too): for the node's administrators only.
          if (request->violation()) {
            if (absl::Status s = NodeApi::Require(
                    caller, ROLE_ADMIN, "/threatmesh.v1.Admin/ExportProof of violation evidence");
                !s.ok()) {
              audit.set_params("violation evidence refused");
              return s;
            }
          }
          return Assign(api_.ExportProof(*request, audit, caller.max_tlp()), response);
        });
  }

  grpc::Status ListViolations(grpc::ServerContext* ctx, const ListViolationsRequest* request,
                              ListViolationsResponse* response) override {
    return gate_.Run(ctx, "/threatmesh.v1.Admin/ListViolations", ROLE_ADMIN,
                     [&](const Caller&, AuditEntry& audit) {
                       return Assign(api_.ListViolations(*request, audit), response);
                     });
  }

  grpc::Status ReadAudit(grpc::ServerContext* ctx, const ReadAuditRequest* request,
                         ReadAuditResponse* response) override {
    return gate_.Run(ctx, "/threatmesh.v1.Admin/ReadAudit", ROLE_ADMIN,
                     [&](const Caller&, AuditEntry& audit) {
                       return Assign(api_.ReadAudit(*request, audit), response);
                     });
  }

 private:
  NodeApi& api_;
  CallGate& gate_;
};

// An Exchange stream as RunExchange sees it, on either side: `Context` is the call's
// grpc::ServerContext or grpc::ClientContext, `Stream` its reader-writer.
// `tls` says whether the connection is TLS (false on insecure peering).
template <typename Context, typename Stream>
class GrpcPeerStream final : public PeerStream {
 public:
  GrpcPeerStream(Context* ctx, Stream* stream, bool tls) : ctx_(ctx), stream_(stream), tls_(tls) {}
  bool Read(PeerMessage* m) override { return stream_->Read(m); }
  bool Write(const PeerMessage& m) override { return stream_->Write(m); }
  void Cancel() override { ctx_->TryCancel(); }
  absl::StatusOr<std::string> SeenCertificateHash() override {
    if (!tls_) return crypto::Sha256("");
    std::shared_ptr<const grpc::AuthContext> auth = ctx_->auth_context();
    return threatmesh::SeenCertificateHash(auth.get());
  }

 private:
  Context* ctx_;
  Stream* stream_;
  bool tls_;
};
using ServerPeerStream =
    GrpcPeerStream<grpc::ServerContext, grpc::ServerReaderWriter<PeerMessage, PeerMessage>>;
using ClientPeerStream =
    GrpcPeerStream<grpc::ClientContext, grpc::ClientReaderWriter<PeerMessage, PeerMessage>>;

class PeeringService final : public Peering::Service {
 public:
  PeeringService(ExchangeContext& context, bool tls) : context_(context), tls_(tls) {}
  grpc::Status Exchange(grpc::ServerContext* ctx,
                        grpc::ServerReaderWriter<PeerMessage, PeerMessage>* stream) override {
    ServerPeerStream peer(ctx, stream, tls_);
    absl::Status s = RunExchange(context_, peer, /*dialed=*/false);
    if (!context_.stopping.load() && !absl::IsAlreadyExists(s) && !absl::IsUnavailable(s) &&
        !absl::IsCancelled(s)) {
      std::fprintf(stderr, "threatmesh: peer stream ended: %s\n", std::string(s.message()).c_str());
    }
    return ToGrpc(s);
  }

 private:
  ExchangeContext& context_;
  const bool tls_;
};

// Dials every configured peer that has an address, one stream each, reconnecting with
// exponential backoff and jitter; follows peers added and removed while running.
class Dialer {
 public:
  // `credentials`: TLS with the node's peer certificate, or insecure.
  Dialer(ExchangeContext& context, std::shared_ptr<grpc::ChannelCredentials> credentials, bool tls)
      : context_(context), credentials_(std::move(credentials)), tls_(tls) {
    manager_ = std::thread([this] { Manage(); });
  }
  ~Dialer() { Stop(); }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      for (grpc::ClientContext* ctx : live_) ctx->TryCancel();
    }
    cv_.notify_all();
    if (manager_.joinable()) manager_.join();
    for (auto& [name, t] : threads_) t.join();
  }

 private:
  void Manage() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopped_) {
      // A loop that ended (its peer was removed or changed) makes way for a new one.
      for (const std::string& name : finished_) {
        threads_[name].join();
        threads_.erase(name);
      }
      finished_.clear();
      for (const PeerConfig& p : context_.peers.List()) {
        if (p.address().empty() || threads_.count(p.name())) continue;
        threads_[p.name()] = std::thread([this, p] {
          DialLoop(p);
          std::lock_guard<std::mutex> lock(mu_);
          finished_.push_back(p.name());
        });
      }
      cv_.wait_for(lock, std::chrono::milliseconds(200));
    }
  }

  bool StillConfigured(const PeerConfig& p) {
    std::optional<PeerConfig> now = context_.peers.FindByKey(p.node_key());
    return now && now->name() == p.name() && now->address() == p.address();
  }

  void DialLoop(PeerConfig peer) {
    std::mt19937_64 rng(std::random_device{}());
    std::chrono::milliseconds backoff(100);
    for (;;) {
      if (!StillConfigured(peer)) return;
      auto channel =
          grpc::CreateCustomChannel(peer.address(), credentials_, PeerChannelArguments());
      auto stub = Peering::NewStub(channel);
      grpc::ClientContext ctx;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopped_) return;
        live_.insert(&ctx);
      }
      const auto started = std::chrono::steady_clock::now();
      auto stream = stub->Exchange(&ctx);
      ClientPeerStream peer_stream(&ctx, stream.get(), tls_);
      absl::Status s = RunExchange(context_, peer_stream, /*dialed=*/true);
      ctx.TryCancel();
      grpc::Status finished = stream->Finish();
      if (!s.ok() && !context_.stopping.load()) {
        // Why the stream ended, for 'threatmesh peers'; a transport failure (refused
        // connection, TLS) shows only in the call's own status.
        std::string why(s.message());
        if (!finished.ok() && finished.error_code() != grpc::StatusCode::CANCELLED) {
          why = StrCat(why, " (", finished.error_message(), ")");
        }
        std::lock_guard<std::mutex> lock(context_.counters_mu);
        context_.counters[peer.name()].last_error = why;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        live_.erase(&ctx);
      }
      if (std::chrono::steady_clock::now() - started > std::chrono::seconds(10)) {
        backoff = std::chrono::milliseconds(100);
      }
      // Jitter: between half the backoff and all of it; the backoff doubles up to 10 s.
      std::uniform_int_distribution<long> jitter(backoff.count() / 2, backoff.count());
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(jitter(rng)), [this] { return stopped_; });
      if (stopped_) return;
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(10));
    }
  }

  ExchangeContext& context_;
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  const bool tls_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;                        // guarded by mu_
  std::set<grpc::ClientContext*> live_;         // guarded by mu_
  std::map<std::string, std::thread> threads_;  // guarded by mu_; joined in Stop
  std::vector<std::string> finished_;           // guarded by mu_: loops that returned
  std::thread manager_;
};

absl::StatusOr<std::string> ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot read ", what, " ", path));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class GrpcServer final : public Server {
 public:
  ~GrpcServer() override { Shutdown(); }

  absl::Status Init(const ServeConfig& config, Clock clock) {
    config_ = config;
    // "default" always exists, as ParseServeConfig makes it.
    config_.outbound_policies.try_emplace(std::string(kDefaultPolicy),
                                          *ParseOutboundPolicy(kDefaultPolicy, {}));
    config_.inbound_policies.try_emplace(std::string(kDefaultPolicy),
                                         *ParseInboundPolicy(kDefaultPolicy, {}));
    NodeConfig node_config;
    node_config.data_dir = config.data_dir;
    node_config.clock = clock;
    node_config.validation.max_record_bytes = config.max_record_bytes;
    node_config.validation.max_clock_skew_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(config.max_clock_skew).count();
    if (!config.passphrase_file.empty()) {
      absl::StatusOr<std::string> pass = ReadFile(config.passphrase_file, "passphrase file");
      if (!pass.ok()) return pass.status();
      node_config.passphrase = pass->substr(0, pass->find('\n'));
    } else if (const char* env = std::getenv("THREATMESH_PASSPHRASE"); env) {
      node_config.passphrase = env;
    }
    absl::StatusOr<std::unique_ptr<LocalNode>> node = LocalNode::Open(node_config);
    if (!node.ok()) return node.status();
    node_ = std::move(*node);
    absl::StatusOr<std::unique_ptr<TokenStore>> tokens = TokenStore::Load(node_->store());
    if (!tokens.ok()) return tokens.status();
    tokens_ = std::move(*tokens);
    absl::StatusOr<std::unique_ptr<AuditLog>> audit =
        AuditLog::Open(node_->store(), node_->key(), clock);
    if (!audit.ok()) return audit.status();
    audit_ = std::move(*audit);
    absl::StatusOr<std::unique_ptr<PeerRegistry>> peers =
        PeerRegistry::Load(node_->store(), std::string(node_->key().public_key().bytes()));
    if (!peers.ok()) return peers.status();
    peers_ = std::move(*peers);
    api_ = std::make_unique<NodeApi>(*node_, *tokens_, *audit_, *peers_,
                                     std::string(kThreatmeshVersion));
    api_->SetPeerView([this](ListPeersResponse& out) { PeerView(out); });
    policies_ = std::make_unique<PolicyHolder>(
        PolicySet{config_.outbound_policies, config_.inbound_policies});
    api_->SetPolicies(policies_.get());
    // Peers from the config file's [peer.NAME] sections.
    if (absl::StatusOr<std::vector<std::string>> applied =
            peers_->ApplyConfig(config_.peers, node_->Now());
        !applied.ok()) {
      return applied.status();
    }
    gate_ = std::make_unique<CallGate>(*api_, *audit_);
    records_ = std::make_unique<RecordsService>(*api_, *gate_, stopping_);
    admin_ = std::make_unique<AdminService>(*api_, *gate_);

    std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
    if (!config.tls_cert.empty()) {
      absl::StatusOr<std::string> cert = ReadFile(config.tls_cert, "TLS certificate");
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadFile(config.tls_key, "TLS key");
      if (!key.ok()) return key.status();
      if (absl::Status pair = CheckCertificateAndKey(*cert, *key, config.tls_cert, config.tls_key);
          !pair.ok()) {
        return pair;
      }
      grpc::SslServerCredentialsOptions ssl;
      ssl.pem_key_cert_pairs.push_back({*key, *cert});
      credentials = grpc::SslServerCredentials(ssl);
    }
    if (absl::Status s = StartApi(credentials); !s.ok()) return s;
    const int port = api_listener_->port();

    if (absl::Status s = StartPeering(); !s.ok()) return s;
    address_ = StrCat(config.listen.substr(0, config.listen.rfind(':')), ":", port);
    checkpoint_interval_ = config.audit_checkpoint_interval;
    checkpointer_ = std::thread([this] { CheckpointLoop(); });
    return absl::OkStatus();
  }

  // The API port: its listener, capped so that the store always keeps its descriptors, and
  // its gRPC server, serving.
  absl::Status StartApi(std::shared_ptr<grpc::ServerCredentials> credentials) {
    const std::size_t ports = config_.peer_listen.empty() || config_.dial_only ? 1 : 2;
    absl::StatusOr<std::size_t> budget = ConnectionDescriptorBudget(ports, 16);
    if (!budget.ok()) return budget.status();
    connection_cap_ = std::min(config_.max_connections, *budget / ports);
    absl::StatusOr<std::unique_ptr<Listener>> listener =
        Listener::Bind(config_.listen, {"API", connection_cap_, 0});
    if (!listener.ok()) {
      return absl::UnavailableError(
          StrCat(listener.status().message(),
                 ": the port is in use or the address is not one of this machine; change "
                 "listen in the config or --listen"));
    }
    api_listener_ = std::move(*listener);
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    api_listener_->Register(builder, credentials);
    SetConnectionLimits(builder);
    {
      std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
      creators.push_back(std::make_unique<UndecodableRequestInterceptorFactory>(*gate_));
      builder.experimental().SetInterceptorCreators(std::move(creators));
    }
    builder.SetMaxReceiveMessageSize(static_cast<int>(config_.max_message_bytes));
    builder.RegisterService(records_.get());
    builder.RegisterService(admin_.get());
    server_ = builder.BuildAndStart();
    if (!server_) {
      return absl::UnavailableError(StrCat("cannot start the API on ", config_.listen));
    }
    api_listener_->Start();
    if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(true);
    return absl::OkStatus();
  }

  // The peer side: the Exchange context, the peer listener (unless dial-only or no
  // peer-listen) and the dialer. TLS with the node's peer certificate, unless insecure-peering.
  absl::Status StartPeering() {
    const bool tls = !config_.insecure_peering;
    std::shared_ptr<grpc::ServerCredentials> server_credentials = grpc::InsecureServerCredentials();
    std::shared_ptr<grpc::ChannelCredentials> channel_credentials =
        grpc::InsecureChannelCredentials();
    std::string own_cert_hash = crypto::Sha256("");
    if (tls) {
      absl::StatusOr<PeerIdentity> identity = LoadPeerIdentity();
      if (!identity.ok()) return identity.status();
      absl::StatusOr<std::string> hash = CertificateHash(identity->cert_pem);
      if (!hash.ok()) {
        return absl::InvalidArgumentError(
            StrCat("the peer certificate ", PeerCertFile(),
                   " holds no certificate: ", hash.status().message()));
      }
      own_cert_hash = *hash;
      server_credentials = PeerServerCredentials(*identity);
      channel_credentials = PeerChannelCredentials(*identity);
      crypto::SecureWipe(identity->key_pem);
    }
    // Signature checks use every core: the reading thread of each stream plus these.
    pool_ =
        std::make_unique<WorkPool>(std::max<unsigned>(1, std::thread::hardware_concurrency()) - 1);
    exchange_.reset(new ExchangeContext{
        *node_,
        *peers_,
        own_cert_hash,
        stopping_,
        *policies_,
        *pool_,
        std::chrono::duration_cast<std::chrono::milliseconds>(config_.peer_timeout),
        {},
        {},
        {},
        {},
        {}});
    api_->SetPeerControl(
        {[this] { return Reload(); }, [this](const std::string& name) { Resync(name); }});
    if (!config_.peer_listen.empty() && !config_.dial_only) {
      peering_ = std::make_unique<PeeringService>(*exchange_, tls);
      absl::StatusOr<std::unique_ptr<Listener>> listener = Listener::Bind(
          config_.peer_listen, {"peer", connection_cap_,
                                std::min(config_.max_connections_per_address, connection_cap_)});
      if (!listener.ok()) {
        return absl::UnavailableError(
            StrCat(listener.status().message(), ": the port is in use; change peer-listen"));
      }
      peer_listener_ = std::move(*listener);
      grpc::ServerBuilder peer_builder;
      peer_listener_->Register(peer_builder, server_credentials);
      SetConnectionLimits(peer_builder);
      peer_builder.SetMaxReceiveMessageSize(64 << 20);
      peer_builder.RegisterService(peering_.get());
      peer_server_ = peer_builder.BuildAndStart();
      if (!peer_server_) {
        return absl::UnavailableError(
            StrCat("cannot start the peer port on ", config_.peer_listen));
      }
      peer_listener_->Start();
      const int peer_port = peer_listener_->port();
      peer_address_ =
          StrCat(config_.peer_listen.substr(0, config_.peer_listen.rfind(':')), ":", peer_port);
    }
    dialer_ = std::make_unique<Dialer>(*exchange_, channel_credentials, tls);
    api_->SetPeerAddress(peer_address_);
    return absl::OkStatus();
  }

  // Reads the config file again: its policies and [peer.NAME] sections replace those in
  // force, and every live stream restarts under them (cursors are durable, so a restart
  // costs a handshake). A config that does not parse changes nothing.
  absl::StatusOr<ReloadConfigResponse> Reload() override {
    std::lock_guard<std::mutex> lock(reload_mu_);
    std::vector<const char*> argv;
    for (const std::string& a : config_.source_args) argv.push_back(a.c_str());
    bool help = false;
    std::string help_text;
    absl::StatusOr<ServeConfig> fresh =
        ParseServeConfig(static_cast<int>(argv.size()), argv.data(), &help, &help_text);
    if (!fresh.ok()) {
      return absl::Status(fresh.status().code(),
                          StrCat("reload refused, nothing changed: ", fresh.status().message()));
    }
    // A peer keeps its policy names; each must still be defined.
    for (const PeerConfig& p : peers_->List()) {
      if (p.from_config()) continue;
      if (!fresh->outbound_policies.count(p.policy()) ||
          !fresh->inbound_policies.count(p.inbound_policy())) {
        return absl::FailedPreconditionError(
            StrCat("reload refused, nothing changed: peer ", p.name(), " uses policy \"",
                   fresh->outbound_policies.count(p.policy()) ? p.inbound_policy() : p.policy(),
                   "\", which the new config does not define"));
      }
    }
    policies_->Set(PolicySet{fresh->outbound_policies, fresh->inbound_policies});
    absl::StatusOr<std::vector<std::string>> changed =
        peers_->ApplyConfig(fresh->peers, node_->Now());
    if (!changed.ok()) return changed.status();
    config_.outbound_policies = fresh->outbound_policies;
    config_.inbound_policies = fresh->inbound_policies;
    config_.peers = fresh->peers;
    ReloadConfigResponse out;
    for (const std::string& name : *changed) out.add_peers_changed(name);
    for (const auto& [name, p] : fresh->outbound_policies) out.add_outbound_policies(name);
    for (const auto& [name, p] : fresh->inbound_policies) out.add_inbound_policies(name);
    if (exchange_) {
      std::vector<std::string> live;
      {
        std::lock_guard<std::mutex> counters(exchange_->counters_mu);
        for (const auto& [name, stream] : exchange_->streams) live.push_back(name);
      }
      for (const std::string& name : live) DropStream(*exchange_, name);
    }
    std::fprintf(stderr, "threatmesh: config reloaded: %zu peers changed, %d outbound policies\n",
                 changed->size(), out.outbound_policies_size());
    return out;
  }

  // 'peers resync NAME': the next stream with the peer replays both logs from the start;
  // the live one is restarted now.
  void Resync(const std::string& name) {
    if (!exchange_) return;
    {
      std::lock_guard<std::mutex> lock(exchange_->counters_mu);
      exchange_->resend_all.insert(name);
    }
    DropStream(*exchange_, name);
  }

  std::string PeerCertFile() const {
    return config_.peer_tls_cert.empty() ? PeerCertPath(config_.data_dir) : config_.peer_tls_cert;
  }

  // The peer certificate and key: the configured pair, or the one made at init (made now for
  // a data directory initialised before nodes had one).
  absl::StatusOr<PeerIdentity> LoadPeerIdentity() {
    std::string cert_path = PeerCertFile();
    std::string key_path =
        config_.peer_tls_key.empty() ? PeerCertKeyPath(config_.data_dir) : config_.peer_tls_key;
    if (config_.peer_tls_cert.empty() && access(cert_path.c_str(), F_OK) != 0 &&
        access(key_path.c_str(), F_OK) != 0) {
      absl::Status made = WriteSelfSignedCertificate(cert_path, key_path, "localhost");
      if (!made.ok()) return made;
      std::fprintf(stderr, "threatmesh: made a peer certificate, %s\n", cert_path.c_str());
    }
    PeerIdentity identity;
    absl::StatusOr<std::string> cert = ReadFile(cert_path, "peer certificate");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = crypto::ReadSecretFile(key_path, "peer TLS key");
    if (!key.ok()) return key.status();
    identity.cert_pem = std::move(*cert);
    identity.key_pem = std::move(*key);
    return identity;
  }

  // The live side of 'threatmesh peers': each peer's counters and cursors, and the refused
  // handshakes.
  void PeerView(ListPeersResponse& out) {
    if (!exchange_) return;
    const uint64_t head = node_->store().NextSeq() - 1;
    std::lock_guard<std::mutex> lock(exchange_->counters_mu);
    for (const auto& [reason, n] : exchange_->handshakes_refused) {
      (*out.mutable_handshakes_refused())[reason] = n;
    }
    for (const auto& [name, c] : exchange_->counters) {
      PeerState& st = *out.add_states();
      st.set_name(name);
      st.set_connected(c.connected);
      st.set_connected_since(c.connected_since);
      st.set_sent(c.sent);
      st.set_received(c.received);
      st.set_duplicates(c.duplicates);
      for (const auto& [reason, n] : c.refused) (*st.mutable_refused())[reason] = n;
      st.set_violations(c.violations);
      st.set_cursor(LoadPeerCursor(node_->store(), name));
      st.set_acked(c.acked);
      st.set_lag(head > c.acked ? head - c.acked : 0);
      st.set_last_error(c.last_error);
      st.set_throttled_ms(c.throttled_ms);
    }
  }

  std::string address() const override { return address_; }
  std::string peer_address() const override { return peer_address_; }
  std::string fingerprint() const override { return node_->key().public_key().Fingerprint(); }

  void Shutdown() override {
    if (stopping_.exchange(true)) return;
    if (dialer_) dialer_->Stop();
    if (peer_listener_) peer_listener_->Stop();
    if (api_listener_) api_listener_->Stop();
    if (peer_server_) {
      peer_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
      peer_server_->Wait();
    }
    if (server_) {
      if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(false);
      server_->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
      server_->Wait();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_all();
    }
    if (checkpointer_.joinable()) checkpointer_.join();
    if (audit_) {
      absl::Status s = audit_->Checkpoint();
      if (!s.ok())
        std::fprintf(stderr, "threatmesh: last audit checkpoint failed: %s\n",
                     std::string(s.message()).c_str());
    }
    // Members go in reverse order: services, API, audit, tokens, then the node and store.
  }

 private:
  // The handshake and idle timeouts of a port's connections.
  void SetConnectionLimits(grpc::ServerBuilder& builder) const {
    builder.AddChannelArgument(
        GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
        static_cast<int>(std::chrono::milliseconds(config_.handshake_timeout).count()));
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_IDLE_MS,
        static_cast<int>(std::chrono::milliseconds(config_.idle_timeout).count()));
  }

  void CheckpointLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_.load()) {
      cv_.wait_for(lock, checkpoint_interval_, [this] { return stopping_.load(); });
      if (stopping_.load()) break;
      absl::Status s = audit_->Checkpoint();
      if (!s.ok()) {
        std::fprintf(stderr, "threatmesh: audit checkpoint failed: %s\n",
                     std::string(s.message()).c_str());
      }
    }
  }

  ServeConfig config_;
  std::unique_ptr<LocalNode> node_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<PeerRegistry> peers_;
  std::unique_ptr<NodeApi> api_;
  std::unique_ptr<CallGate> gate_;
  std::unique_ptr<RecordsService> records_;
  std::unique_ptr<AdminService> admin_;
  // The listeners outlive their servers: a server may still hand a connection back.
  std::unique_ptr<Listener> api_listener_;
  std::unique_ptr<Listener> peer_listener_;
  std::size_t connection_cap_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<ExchangeContext> exchange_;
  std::unique_ptr<PeeringService> peering_;
  std::unique_ptr<grpc::Server> peer_server_;
  std::unique_ptr<Dialer> dialer_;
  std::unique_ptr<PolicyHolder> policies_;
  std::unique_ptr<WorkPool> pool_;
  std::mutex reload_mu_;  // one reload at a time
  std::string peer_address_;
  std::atomic<bool> stopping_{false};
  std::chrono::seconds checkpoint_interval_{60};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread checkpointer_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServeConfig& config, Clock clock) {
  if (absl::Status ok = CheckServeConfig(config); !ok.ok()) return ok;
  auto server = std::make_unique<GrpcServer>();
  if (absl::Status s = server->Init(config, std::move(clock)); !s.ok()) return s;
  return server;
}

int RunServe(const ServeConfig& config, std::ostream& out, std::ostream& err) {
  // Signals are taken by sigwait below, so they must be blocked before gRPC and RocksDB
  // start threads (which inherit the mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(config);
  if (!server.ok()) {
    err << "threatmesh: error: " << server.status().message() << "\n";
    return 1;
  }
  out << "threatmesh: node " << (*server)->fingerprint() << " serving on " << (*server)->address()
      << "\n";
  if (!(*server)->peer_address().empty()) {
    out << "threatmesh: peers connect to " << (*server)->peer_address() << "\n";
  }
  out << std::flush;
  int sig = 0;
  // SIGHUP reloads the config file's policies and peers; SIGINT and SIGTERM stop.
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    absl::StatusOr<v1::ReloadConfigResponse> r = (*server)->Reload();
    if (!r.ok()) err << "threatmesh: SIGHUP: " << r.status().message() << "\n" << std::flush;
  }
  out << "threatmesh: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", shutting down\n"
      << std::flush;
  (*server)->Shutdown();
  server->reset();
  out << "threatmesh: stopped\n" << std::flush;
  return 0;
}

}  // namespace threatmesh
