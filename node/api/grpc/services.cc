#include "node/api/grpc/services.h"

#include <grpcpp/support/server_interceptor.h>

#include <chrono>
#include <deque>
#include <optional>
#include <thread>

#include "crypto/mutex.h"
#include "crypto/str_cat.h"
#include "threatmesh/v1/api.grpc.pb.h"

namespace threatmesh {

using namespace threatmesh::v1;  // NOLINT: the API's own types.

namespace {

// How long a subscription waits for new records before checking for cancellation.
constexpr std::chrono::milliseconds kSubscribePoll{250};
// An idle subscription gets a keepalive event this often.
constexpr std::chrono::seconds kSubscribeKeepalive{15};

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

}  // namespace

// Shared by both services: authentication, the role check, the deadline and the audit entry
// around each call.
class CallGate {
 public:
  CallGate(NodeApi& api, AuditLog& audit) : api_(api), audit_(audit) {}

  // Runs `fn(caller, audit_entry)` for a caller with at least role `need`, then appends the
  // audit entry with the outcome. A call whose entry cannot be written gets UNAVAILABLE.
  template <typename Fn>
  grpc::Status Run(grpc::ServerContextBase* ctx, const char* method, Role need, Fn&& fn) {
    const auto started = std::chrono::steady_clock::now();
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
    return Finish(entry, status, started);
  }

  // A call whose request bytes do not decode as its message, so its handler never ran:
  // UNAUTHENTICATED without a valid token, INVALID_ARGUMENT with one; audited either way.
  grpc::Status Undecodable(const grpc::ServerContextBase* ctx, const char* method) {
    const auto started = std::chrono::steady_clock::now();
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
    return Finish(entry, status, started);
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

  // Appends the call's audit entry and, given when it `started`, counts the call (method,
  // code, time since then). A subscription's closing entry is not counted: its start was.
  grpc::Status Finish(AuditEntry& entry, const absl::Status& status,
                      std::optional<std::chrono::steady_clock::time_point> started = {}) {
    entry.set_code(static_cast<int>(status.code()));
    absl::StatusOr<uint64_t> appended = audit_.Append(entry);
    const absl::Status answered =
        appended.ok() ? status
                      : absl::UnavailableError(StrCat(
                            "the audit trail cannot be written (", appended.status().message(),
                            "); the answer is withheld, and a write the call made is "
                            "stored. Free disk space and retry"));
    if (started) {
      api_.api_metrics().Record(
          entry.method(), absl::StatusCodeToString(answered.code()),
          std::chrono::duration<double>(std::chrono::steady_clock::now() - *started).count());
    }
    return ToGrpc(answered);
  }

 private:
  NodeApi& api_;
  AuditLog& audit_;
};

namespace {

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
    MutexLock lock(&mu_);
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
  }

  void OnCancel() override {
    MutexLock lock(&mu_);
    ended_ = cancelled_ = true;
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
      MutexLock lock(&mu_);
      mu_.Await(Condition(this, &PublishStreamReactor::ReadyOrEnded));
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

  // Whether Next would return at once.
  bool Ready() {
    MutexLock lock(&mu_);
    return ReadyOrEnded();
  }

  void Work() {
    PublishStreamResponse out;
    grpc::Status status = gate_.Run(
        ctx_, "/threatmesh.v1.Records/PublishStream", ROLE_PUBLISH,
        [&](const Caller&, AuditEntry& audit) {
          out = api_.PublishMany([&](PublishRequest& r) { return Next(r); }, audit,
                                 [&] { return Ready(); });
          if (bad_index_ >= 0) {
            audit.set_params(StrCat(audit.params(), " undecodable=", bad_index_));
            return absl::InvalidArgumentError(
                StrCat("message ", bad_index_,
                       " of the stream (counting from 0) does not decode as "
                       "threatmesh.v1.PublishRequest; the stream ends there. Of the ",
                       bad_index_, " before it, ", out.stored(), " were stored, ", out.duplicates(),
                       " were duplicates and ", out.refused(), " were refused"));
          }
          MutexLock lock(&mu_);
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
  bool ReadyOrEnded() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || ended_; }

  Mutex mu_;
  std::deque<grpc::ByteBuffer> queue_ ABSL_GUARDED_BY(mu_);
  grpc::ByteBuffer incoming_;  // the read in flight
  // No read is in flight: the queue was full.
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  int64_t index_ = 0;       // the worker's: messages decoded so far
  int64_t bad_index_ = -1;  // the worker's: the message that did not decode
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

}  // namespace

ApiServices::ApiServices(NodeApi& api, AuditLog& audit, std::atomic<bool>& stopping)
    : gate_(std::make_unique<CallGate>(api, audit)),
      records_(std::make_unique<RecordsService>(api, *gate_, stopping)),
      admin_(std::make_unique<AdminService>(api, *gate_)) {}

ApiServices::~ApiServices() = default;

void ApiServices::Register(grpc::ServerBuilder& builder) {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(std::make_unique<UndecodableRequestInterceptorFactory>(*gate_));
  builder.experimental().SetInterceptorCreators(std::move(creators));
  builder.RegisterService(records_.get());
  builder.RegisterService(admin_.get());
}

}  // namespace threatmesh
