#include "node/serve/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "crypto/hash.h"
#include "crypto/key_file.h"
#include "crypto/log.h"
#include "crypto/mutex.h"
#include "crypto/sodium.h"
#include "crypto/str_cat.h"
#include "node/api/api.h"
#include "node/api/grpc/services.h"
#include "node/audit.h"
#include "node/console/console.h"
#include "node/core/policy.h"
#include "node/core/version.h"
#include "node/http/http_server.h"
#include "node/mesh/exchange.h"
#include "node/mesh/grpc/peer_service.h"
#include "node/mesh/grpc/peer_transport.h"
#include "node/mesh/grpc/tls.h"
#include "node/serve/listener.h"
#include "node/serve/log_json.h"
#include "node/serve/metrics_page.h"
#include "node/taxii/taxii.h"
#include "node/tokens.h"
#include "threatmesh/v1/api.grpc.pb.h"
#include "threatmesh/v1/peer.grpc.pb.h"

namespace threatmesh {
namespace {

using namespace threatmesh::v1;  // NOLINT: the API's own types.

// How long shutdown lets calls in flight finish.
constexpr std::chrono::seconds kShutdownGrace{10};

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
    absl::StatusOr<std::string> pass = LoadPassphrase(config.passphrase_file);
    if (!pass.ok()) return pass.status();
    node_config.passphrase = *pass;
    crypto::SecureWipe(*pass);
    absl::StatusOr<std::unique_ptr<LocalNode>> node = LocalNode::Open(node_config);
    crypto::SecureWipe(node_config.passphrase);
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
    // Signature checks use every core: the calling thread (a stream's reader, a publishing
    // call) plus these.
    pool_ =
        std::make_unique<WorkPool>(std::max<unsigned>(1, std::thread::hardware_concurrency()) - 1);
    api_ = std::make_unique<NodeApi>(*node_, *tokens_, *audit_, *peers_,
                                     std::string(kThreatmeshVersion));
    api_->SetWorkPool(pool_.get());
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
    services_ = std::make_unique<ApiServices>(*api_, *audit_, stopping_);

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
    if (absl::Status s = StartTaxii(); !s.ok()) return s;
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
    builder.SetMaxReceiveMessageSize(static_cast<int>(config_.max_message_bytes));
    services_->Register(builder);
    server_ = builder.BuildAndStart();
    if (!server_) {
      return absl::UnavailableError(StrCat("cannot start the API on ", config_.listen));
    }
    api_listener_->Start();
    if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(true);
    return absl::OkStatus();
  }

  // The TAXII 2.1 server, when taxii-listen is set.
  absl::Status StartTaxii() {
    if (config_.taxii_listen.empty()) return absl::OkStatus();
    taxii::TaxiiOptions taxii_options;
    taxii_options.collections = config_.taxii_collections;
    taxii_options.max_content_length = config_.max_message_bytes;
    http::ServerOptions options;
    if (!config_.tls_cert.empty()) {
      // HTTPS with the API's certificate (checked against its key when the API started).
      absl::StatusOr<std::string> cert = ReadFile(config_.tls_cert, "TLS certificate");
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadFile(config_.tls_key, "TLS key");
      if (!key.ok()) return key.status();
      options.tls_cert_pem = std::move(*cert);
      options.tls_key_pem = std::move(*key);
      taxii_options.scheme = "https";
    }
    taxii_scheme_ = taxii_options.scheme;
    taxii_ = std::make_unique<taxii::TaxiiService>(*api_, std::move(taxii_options));
    options.max_connections = std::min<std::size_t>(connection_cap_, 256);
    options.idle_timeout = config_.idle_timeout;
    options.request_timeout = config_.handshake_timeout;
    options.max_body_bytes = config_.max_message_bytes;
    options.error_page = [](int status, const std::string& why) {
      return taxii::TaxiiError(status, "Refused", why);
    };
    console_ = std::make_unique<console::ConsoleService>(*api_);
    // /metrics and the console beside TAXII, on the same listener, TLS, limits and tokens.
    absl::StatusOr<std::unique_ptr<http::Server>> server = http::Server::Start(
        config_.taxii_listen, std::move(options), [this](const http::Request& r) {
          const std::string path = r.target.substr(0, r.target.find('?'));
          if (console::ConsoleService::Owns(path)) return console_->Handle(r);
          if (path == "/metrics") {
            return MetricsResponse(r,
                                   {*node_, *api_, *audit_, *peers_, exchange_.get(),
                                    config_.audit_checkpoint_interval, config_.data_dir},
                                   config_.metrics_allow_unauthenticated);
          }
          return taxii_->Handle(r);
        });
    if (!server.ok()) return server.status();
    taxii_server_ = std::move(*server);
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
    exchange_ = std::make_unique<ExchangeContext>(
        *node_, *peers_, own_cert_hash, stopping_, *policies_, *pool_,
        std::chrono::duration_cast<std::chrono::milliseconds>(config_.peer_timeout));
    api_->SetPeerControl(
        {[this] { return Reload(); }, [this](const std::string& name) { Resync(name); }});
    if (!config_.peer_listen.empty() && !config_.dial_only) {
      peering_ = MakePeeringService(*exchange_, tls);
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
    dialer_ = StartPeerDialer(*exchange_, channel_credentials, tls);
    api_->SetPeerAddress(peer_address_);
    return absl::OkStatus();
  }

  // Reads the config file again: its policies and [peer.NAME] sections replace those in
  // force, and every live stream restarts under them (cursors are durable, so a restart
  // costs a handshake). A config that does not parse changes nothing.
  absl::StatusOr<ReloadConfigResponse> Reload() override {
    MutexLock lock(&reload_mu_);
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
    if (exchange_) exchange_->DropAll();
    LogInfo(StrCat("config reloaded: ", changed->size(), " peers changed, ",
                   out.outbound_policies_size(), " outbound policies"));
    return out;
  }

  // 'peers resync NAME': the next stream with the peer replays both logs from the start;
  // the live one is restarted now.
  void Resync(const std::string& name) {
    if (!exchange_) return;
    exchange_->RequestResendAll(name);
    exchange_->Drop(name);
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
      LogInfo(StrCat("made a peer certificate, ", cert_path));
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
    for (const auto& [reason, n] : exchange_->RefusedHandshakes()) {
      (*out.mutable_handshakes_refused())[reason] = n;
    }
    for (const auto& [name, c] : exchange_->Counters()) {
      PeerState& st = *out.add_states();
      st.set_name(name);
      st.set_connected(c.connected);
      st.set_connected_since(c.connected_since);
      st.set_sent(c.sent);
      st.set_sent_early(c.sent_early);
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
  std::string taxii_address() const override {
    return taxii_server_ ? StrCat(taxii_scheme_, "://", taxii_server_->address()) : std::string();
  }
  std::string fingerprint() const override { return node_->key().public_key().Fingerprint(); }

  void Shutdown() override {
    if (stopping_.exchange(true)) return;
    if (dialer_) dialer_->Stop();
    if (peer_listener_) peer_listener_->Stop();
    if (api_listener_) api_listener_->Stop();
    // Connections that never said a word would hold each server's shutdown until their
    // handshake timeout.
    if (peer_listener_) peer_listener_->CutSilentConnections();
    if (api_listener_) api_listener_->CutSilentConnections();
    if (taxii_server_) taxii_server_->Stop();
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
      MutexLock lock(&checkpoint_mu_);
      checkpointer_stopped_ = true;
    }
    if (checkpointer_.joinable()) checkpointer_.join();
    if (audit_) {
      absl::Status s = audit_->Checkpoint();
      if (!s.ok()) LogError(StrCat("last audit checkpoint failed: ", s.message()));
    }
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
    MutexLock lock(&checkpoint_mu_);
    while (!checkpoint_mu_.AwaitWithTimeout(Condition(&checkpointer_stopped_),
                                            absl::FromChrono(checkpoint_interval_))) {
      absl::Status s = audit_->Checkpoint();
      if (!s.ok()) LogError(StrCat("audit checkpoint failed: ", s.message()));
    }
  }

  // Members are declared in the order Init builds them, so that each is destroyed before
  // what it refers to (after Shutdown has stopped the servers, the dialer and the thread).
  ServeConfig config_;
  std::atomic<bool> stopping_{false};  // the services, the exchange and the dialer read it
  std::unique_ptr<LocalNode> node_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<PeerRegistry> peers_;
  std::unique_ptr<WorkPool> pool_;  // signature checks of the API and the exchange
  std::unique_ptr<NodeApi> api_;
  std::unique_ptr<PolicyHolder> policies_;  // the API and the exchange read it
  std::unique_ptr<ApiServices> services_;
  // The listeners outlive their servers: a server may still hand a connection back.
  std::unique_ptr<Listener> api_listener_;
  std::unique_ptr<Listener> peer_listener_;
  std::size_t connection_cap_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<ExchangeContext> exchange_;
  std::unique_ptr<grpc::Service> peering_;
  std::unique_ptr<grpc::Server> peer_server_;
  std::string peer_address_;
  std::unique_ptr<PeerDialer> dialer_;
  std::string taxii_scheme_;
  std::unique_ptr<taxii::TaxiiService> taxii_;
  std::unique_ptr<console::ConsoleService> console_;
  std::unique_ptr<http::Server> taxii_server_;
  Mutex reload_mu_;  // one reload at a time
  std::chrono::seconds checkpoint_interval_{60};
  Mutex checkpoint_mu_;
  bool checkpointer_stopped_ ABSL_GUARDED_BY(checkpoint_mu_) = false;
  std::thread checkpointer_;  // last: it uses the audit log until joined
};

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServeConfig& config, Clock clock) {
  if (absl::Status ok = CheckServeConfig(config); !ok.ok()) return ok;
  auto server = std::make_unique<GrpcServer>();
  if (absl::Status s = server->Init(config, std::move(clock)); !s.ok()) return s;
  return server;
}

int RunServe(const ServeConfig& config, std::ostream& out, std::ostream& err) {
  ServeLog log(config.log_format, out, err);
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
    log.Err(LogLevel::kError, std::string(server.status().message()));
    return 1;
  }
  const Server& s = **server;
  log.Out(LogLevel::kInfo, StrCat("node ", s.fingerprint(), " serving on ", s.address()),
          {{"node", s.fingerprint()}, {"listen", s.address()}});
  if (!s.taxii_address().empty()) {
    log.Out(LogLevel::kInfo, StrCat("TAXII 2.1 at ", s.taxii_address(), "/taxii2/"),
            {{"taxii", StrCat(s.taxii_address(), "/taxii2/")}});
    log.Out(LogLevel::kInfo, StrCat("web console at ", s.taxii_address(), "/console/"),
            {{"console", StrCat(s.taxii_address(), "/console/")}});
  }
  if (!s.peer_address().empty()) {
    log.Out(LogLevel::kInfo, StrCat("peers connect to ", s.peer_address()),
            {{"peer_listen", s.peer_address()}});
  }
  int sig = 0;
  // SIGHUP reloads the config file's policies and peers; SIGINT and SIGTERM stop.
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    absl::StatusOr<v1::ReloadConfigResponse> r = (*server)->Reload();
    if (!r.ok()) log.Err(LogLevel::kWarning, StrCat("SIGHUP: ", r.status().message()));
  }
  log.Out(LogLevel::kInfo, StrCat(sig == SIGINT ? "SIGINT" : "SIGTERM", ", shutting down"));
  (*server)->Shutdown();
  server->reset();
  log.Out(LogLevel::kInfo, "stopped");
  return 0;
}

}  // namespace threatmesh
