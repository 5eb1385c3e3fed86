#include "node/mesh/grpc/peer_service.h"

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "crypto/hash.h"
#include "crypto/log.h"
#include "crypto/mutex.h"
#include "crypto/str_cat.h"
#include "node/mesh/grpc/peer_transport.h"
#include "node/mesh/grpc/tls.h"
#include "threatmesh/v1/peer.grpc.pb.h"

namespace threatmesh {
namespace {

using threatmesh::v1::Peering;
using threatmesh::v1::PeerMessage;

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
    if (!context_.stopping() && !absl::IsAlreadyExists(s) && !absl::IsUnavailable(s) &&
        !absl::IsCancelled(s)) {
      LogWarning(StrCat("peer stream ended: ", s.message()));
    }
    return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
  }

 private:
  ExchangeContext& context_;
  const bool tls_;
};

class Dialer final : public PeerDialer {
 public:
  // `credentials`: TLS with the node's peer certificate, or insecure.
  Dialer(ExchangeContext& context, std::shared_ptr<grpc::ChannelCredentials> credentials, bool tls)
      : context_(context), credentials_(std::move(credentials)), tls_(tls) {
    manager_ = std::thread([this] { Manage(); });
  }
  ~Dialer() override { Stop(); }

  void Stop() override {
    {
      MutexLock lock(&mu_);
      if (stopped_) return;
      stopped_ = true;
      for (grpc::ClientContext* ctx : live_) ctx->TryCancel();
    }
    if (manager_.joinable()) manager_.join();
    std::map<std::string, std::thread> threads;  // the manager is gone: no new ones
    {
      MutexLock lock(&mu_);
      threads.swap(threads_);
    }
    for (auto& [name, t] : threads) t.join();
  }

 private:
  void Manage() {
    MutexLock lock(&mu_);
    while (!stopped_) {
      // A loop that ended (its peer was removed or changed) makes way for a new one.
      for (const std::string& name : finished_) {
        threads_[name].join();
        threads_.erase(name);
      }
      finished_.clear();
      for (const PeerConfig& p : context_.peers().List()) {
        if (p.address().empty() || threads_.count(p.name())) continue;
        threads_[p.name()] = std::thread([this, p] {
          DialLoop(p);
          MutexLock lock(&mu_);
          finished_.push_back(p.name());
        });
      }
      mu_.AwaitWithTimeout(Condition(&stopped_), absl::Milliseconds(200));
    }
  }

  bool StillConfigured(const PeerConfig& p) {
    std::optional<PeerConfig> now = context_.peers().FindByKey(p.node_key());
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
        MutexLock lock(&mu_);
        if (stopped_) return;
        live_.insert(&ctx);
      }
      const auto started = std::chrono::steady_clock::now();
      auto stream = stub->Exchange(&ctx);
      ClientPeerStream peer_stream(&ctx, stream.get(), tls_);
      absl::Status s = RunExchange(context_, peer_stream, /*dialed=*/true);
      ctx.TryCancel();
      grpc::Status finished = stream->Finish();
      if (!s.ok() && !context_.stopping()) {
        // Why the stream ended, for 'threatmesh peers'; a transport failure (refused
        // connection, TLS) shows only in the call's own status.
        std::string why(s.message());
        if (!finished.ok() && finished.error_code() != grpc::StatusCode::CANCELLED) {
          why = StrCat(why, " (", finished.error_message(), ")");
        }
        context_.Update(peer.name(), [&why](PeerCounters& c) { c.last_error = why; });
      }
      {
        MutexLock lock(&mu_);
        live_.erase(&ctx);
      }
      if (std::chrono::steady_clock::now() - started > std::chrono::seconds(10)) {
        backoff = std::chrono::milliseconds(100);
      }
      // Jitter: between half the backoff and all of it; the backoff doubles up to 10 s.
      std::uniform_int_distribution<long> jitter(backoff.count() / 2, backoff.count());
      MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(Condition(&stopped_), absl::Milliseconds(jitter(rng)));
      if (stopped_) return;
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(10));
    }
  }

  ExchangeContext& context_;
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  const bool tls_;
  Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::set<grpc::ClientContext*> live_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::thread> threads_ ABSL_GUARDED_BY(mu_);  // joined in Stop
  std::vector<std::string> finished_ ABSL_GUARDED_BY(mu_);           // loops that returned
  std::thread manager_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakePeeringService(ExchangeContext& context, bool tls) {
  return std::make_unique<PeeringService>(context, tls);
}

std::unique_ptr<PeerDialer> StartPeerDialer(ExchangeContext& context,
                                            std::shared_ptr<grpc::ChannelCredentials> credentials,
                                            bool tls) {
  return std::make_unique<Dialer>(context, std::move(credentials), tls);
}

}  // namespace threatmesh
