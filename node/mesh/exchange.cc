#include "node/mesh/exchange.h"

#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "crypto/hash.h"
#include "crypto/log.h"
#include "crypto/mutex.h"
#include "crypto/str_cat.h"
#include "node/core/custody.h"
#include "node/core/key_table.h"
#include "node/core/policy.h"
#include "node/core/validate.h"
#include "node/mesh/peer_auth.h"
#include "node/mesh/session.h"
#include "node/work_pool.h"
#include "storage/index_keys.h"
#include "storage/side_keys.h"

namespace threatmesh {
namespace {

using namespace threatmesh::v1;  // NOLINT: the protocol's own types.

// Why the peer closed the stream during the handshake: its goodbye, when one is still to be
// read, else a plain UNAVAILABLE.
absl::Status ClosedBy(PeerStream& stream) {
  PeerMessage m;
  while (stream.Read(&m)) {
    if (m.has_goodbye()) {
      return absl::Status(static_cast<absl::StatusCode>(m.goodbye().code()),
                          StrCat("the peer refused: ", m.goodbye().reason()));
    }
  }
  return absl::UnavailableError("the peer closed the stream");
}

// A peer configured here by an earlier key that it has since rotated away from: its hello
// carries the rotations, each checked as a record, from that key to the one it announces.
// They are taken into the key table (the records themselves come later through the
// exchange, like any record), and the peer is known by its new key. NotFound when no
// configured peer is at the start of the rotations.
absl::StatusOr<PeerConfig> FollowRotations(ExchangeContext& context, const PeerHello& hello) {
  struct Step {
    std::string id;
    RecordBody body;
  };
  // Each costs two signature checks; a node rotates rarely.
  constexpr int kMaxRotations = 16;
  if (hello.rotations_size() > kMaxRotations) {
    return absl::InvalidArgumentError(StrCat("the peer's hello carries ", hello.rotations_size(),
                                             " key rotations, more than the ", kMaxRotations,
                                             " taken"));
  }
  std::vector<Step> steps;
  for (int i = 0; i < hello.rotations_size(); ++i) {
    absl::StatusOr<VerifiedRecord> r =
        ValidateRecord(hello.rotations(i), context.node().validation(), context.node().Now());
    if (!r.ok()) {
      return absl::PermissionDeniedError(
          StrCat("the peer's key rotation ", i + 1, " does not verify: ", r.status().message()));
    }
    if (r->body.kind_case() != RecordBody::kKeyRotation) {
      return absl::InvalidArgumentError(
          StrCat("the peer's key rotation ", i + 1, " is not a key rotation record"));
    }
    if (!steps.empty() && steps.back().body.key_rotation().new_key() != r->body.author()) {
      return absl::InvalidArgumentError(StrCat("the peer's key rotation ", i + 1,
                                               " does not start from the key the one before "
                                               "rotated to"));
    }
    steps.push_back(Step{std::move(r->id), std::move(r->body)});
  }
  if (steps.back().body.key_rotation().new_key() != hello.node_key()) {
    return absl::InvalidArgumentError(
        "the peer's key rotations do not end at the key it announces");
  }
  for (const Step& step : steps) {
    std::optional<PeerConfig> peer = context.peers().FindByKey(step.body.author());
    if (!peer) continue;
    for (const Step& s : steps) context.node().Learn(s.id, s.body);
    LogInfo(StrCat("peer ", peer->name(), " rotated its key from ",
                   crypto::FingerprintOf(peer->node_key()), " to ",
                   crypto::FingerprintOf(hello.node_key())),
            {.peer = peer->name()});
    peer->set_node_key(hello.node_key());
    // A peer added with 'peers add' is stored under its new key from now on; one from the
    // config file keeps the key written there (its operator updates the file), and is
    // followed through the rotation on every connection.
    if (!peer->from_config()) {
      if (absl::Status s = context.peers().ReplaceKey(peer->name(), hello.node_key()); !s.ok()) {
        LogWarning(StrCat("peer ", peer->name(), " keeps its old key in the list: ", s.message()),
                   {.peer = peer->name()});
      }
    }
    return *peer;
  }
  return absl::NotFoundError(StrCat("node ", crypto::FingerprintOf(hello.node_key()),
                                    " is not a configured peer under its key or an earlier "
                                    "one; add it with 'threatmesh peers add'"));
}

}  // namespace

std::size_t ExchangeContext::LiveStreams() const {
  MutexLock lock(&mu_);
  return streams_.size();
}

bool ExchangeContext::Attach(const std::string& peer, PeerStream* stream, bool preferred,
                             int64_t now_ms) {
  MutexLock lock(&mu_);
  auto it = streams_.find(peer);
  if (it != streams_.end()) {
    if (!preferred) return false;
    it->second->Cancel();
  }
  streams_[peer] = stream;
  PeerCounters& c = counters_[peer];
  c.connected = true;
  c.connected_since = now_ms;
  ++c.connects;
  return true;
}

void ExchangeContext::Detach(const std::string& peer, const PeerStream* stream,
                             std::string_view why) {
  MutexLock lock(&mu_);
  PeerCounters& c = counters_[peer];
  auto it = streams_.find(peer);
  if (it != streams_.end() && it->second == stream) {
    streams_.erase(it);
    c.connected = false;
    c.connected_since = 0;
  }
  c.last_error = std::string(why);
}

void ExchangeContext::Drop(const std::string& peer) {
  MutexLock lock(&mu_);
  auto it = streams_.find(peer);
  if (it != streams_.end()) it->second->Cancel();
}

void ExchangeContext::DropAll() {
  MutexLock lock(&mu_);
  for (const auto& [name, stream] : streams_) stream->Cancel();
}

void ExchangeContext::Update(const std::string& peer, const std::function<void(PeerCounters&)>& f) {
  MutexLock lock(&mu_);
  f(counters_[peer]);
}

void ExchangeContext::NoteRefusedHandshake(const std::string& reason, const std::string* peer,
                                           std::string_view error) {
  MutexLock lock(&mu_);
  ++handshakes_refused_[reason];
  if (peer != nullptr) {
    PeerCounters& c = counters_[*peer];
    ++c.refused[StrCat("handshake: ", reason)];
    c.last_error = std::string(error);
  }
}

void ExchangeContext::RequestResendAll(const std::string& peer) {
  MutexLock lock(&mu_);
  resend_all_.insert(peer);
}

bool ExchangeContext::TakeResendAll(const std::string& peer) {
  MutexLock lock(&mu_);
  return resend_all_.erase(peer) > 0;
}

std::map<std::string, PeerCounters> ExchangeContext::Counters() const {
  MutexLock lock(&mu_);
  return counters_;
}

std::map<std::string, uint64_t> ExchangeContext::RefusedHandshakes() const {
  MutexLock lock(&mu_);
  return handshakes_refused_;
}

uint64_t LoadPeerCursor(storage::Store& store, std::string_view name) {
  absl::StatusOr<std::string> v = store.GetAux(storage::kPeers, storage::PeerCursorKey(name));
  return v.ok() ? storage::DecodeSeq(*v) : 0;
}

namespace {

// Cancels `stream` unless Done() is called within `timeout`: a connection that never
// completes its handshake holds nothing for long.
class HandshakeGuard {
 public:
  HandshakeGuard(PeerStream& stream, std::chrono::milliseconds timeout) {
    thread_ = std::thread([this, &stream, timeout] {
      MutexLock lock(&mu_);
      if (!mu_.AwaitWithTimeout(Condition(&done_), absl::FromChrono(timeout))) {
        fired_ = true;
        stream.Cancel();
      }
    });
  }
  ~HandshakeGuard() {
    Done();
    thread_.join();
  }
  // Whether the timeout passed first (and the stream was cancelled).
  bool fired() const { return fired_.load(); }
  void Done() {
    MutexLock lock(&mu_);
    done_ = true;
  }

 private:
  Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> fired_{false};
  std::thread thread_;
};

// A refused handshake is logged, counted by reason (and for the peer, when it is one of
// ours), and told to the other side; returns `s`.
absl::Status Refuse(ExchangeContext& context, PeerStream& stream, absl::Status s,
                    const char* reason, const PeerConfig* peer) {
  LogWarning(StrCat("peer connection refused (", reason, "): ", s.message()),
             {.peer = peer != nullptr ? std::string_view(peer->name()) : std::string_view()});
  context.NoteRefusedHandshake(reason, peer != nullptr ? &peer->name() : nullptr,
                               std::string(s.message()));
  stream.Write(GoodbyeFor(s));
  return s;
}

// This node's hello, with the rotations that lead to its current key.
PeerMessage OwnHello(ExchangeContext& context) {
  PeerMessage mine;
  std::vector<std::string> rotations;
  for (const std::string& id :
       context.node().keys().RotationsTo(context.node().key().public_key().bytes())) {
    if (absl::StatusOr<std::string> bytes = context.node().store().Get(id); bytes.ok()) {
      rotations.push_back(std::move(*bytes));
    }
  }
  *mine.mutable_hello() = MakeHello(context.node().key(), std::move(rotations));
  return mine;
}

// The configured peer whose key (or a key it rotated from) says `hello`; refused otherwise.
absl::StatusOr<PeerConfig> IdentifyPeer(ExchangeContext& context, PeerStream& stream,
                                        const PeerHello& hello) {
  std::optional<PeerConfig> peer = context.peers().FindByKey(hello.node_key());
  // A key its node rotated away from, or one revoked, opens no stream, configured or not:
  // whoever holds it now may not be that node.
  if (context.node().keys().ForbiddenBy(hello.node_key(), context.node().Now())) {
    return Refuse(
        context, stream,
        absl::PermissionDeniedError(StrCat(
            "node ", crypto::FingerprintOf(hello.node_key()),
            " connected with a key that is no longer its own (",
            context.node().keys().CheckKeyAt(hello.node_key(), context.node().Now()).message(),
            "); only its current key is accepted")),
        "retired key", peer ? &*peer : nullptr);
  }
  if (!peer && hello.rotations_size() > 0) {
    absl::StatusOr<PeerConfig> rotated = FollowRotations(context, hello);
    if (!rotated.ok()) {
      return Refuse(context, stream, rotated.status(),
                    absl::IsNotFound(rotated.status()) ? "unknown key" : "bad key rotation",
                    nullptr);
    }
    return *rotated;
  }
  if (!peer) {
    return Refuse(context, stream,
                  absl::PermissionDeniedError(
                      StrCat("node ", crypto::FingerprintOf(hello.node_key()),
                             " is not a configured peer; add it with 'threatmesh peers add'")),
                  "unknown key", nullptr);
  }
  return *peer;
}

// Both signatures over the two hellos and the TLS certificates each side saw.
absl::Status Authenticate(ExchangeContext& context, PeerStream& stream, const PeerMessage& mine,
                          const PeerMessage& theirs, const PeerConfig& peer) {
  absl::StatusOr<std::string> seen_cert_hash = stream.SeenCertificateHash();
  if (!seen_cert_hash.ok())
    return Refuse(context, stream, seen_cert_hash.status(), "no certificate", &peer);
  PeerMessage auth;
  *auth.mutable_auth() =
      SignPeerAuth(context.node().key(), mine.hello(), theirs.hello(), *seen_cert_hash);
  if (!stream.Write(auth)) return ClosedBy(stream);
  PeerMessage their_auth;
  if (!stream.Read(&their_auth) || !(their_auth.has_auth() || their_auth.has_goodbye())) {
    return absl::UnavailableError(StrCat("peer ", peer.name(), " sent no authentication"));
  }
  if (their_auth.has_goodbye()) {
    return absl::Status(static_cast<absl::StatusCode>(their_auth.goodbye().code()),
                        StrCat("peer ", peer.name(), " refused: ", their_auth.goodbye().reason()));
  }
  if (absl::Status s =
          VerifyPeerAuth(theirs.hello(), mine.hello(), their_auth.auth(), context.own_cert_hash());
      !s.ok()) {
    return Refuse(context, stream, s, "certificate binding", &peer);
  }
  return absl::OkStatus();
}

// After the handshake: the one stream with `peer`, under its policies, until it ends.
absl::Status RunStream(ExchangeContext& context, PeerStream& stream, const PeerConfig& peer,
                       bool dialed) {
  // One stream per peer: the one dialed by the smaller key wins, the same on both sides.
  const bool self_smaller =
      std::string(context.node().key().public_key().bytes()) < peer.node_key();
  const bool preferred = dialed == self_smaller;
  if (!context.Attach(peer.name(), &stream, preferred, context.node().Now())) {
    absl::Status s =
        absl::AlreadyExistsError(StrCat("a stream with peer ", peer.name(), " is up already"));
    stream.Write(GoodbyeFor(s));
    return s;
  }
  std::shared_ptr<const PolicySet> policies = context.policies().Get();
  auto outbound = policies->outbound.find(peer.policy());
  auto inbound = policies->inbound.find(peer.inbound_policy());
  if (outbound == policies->outbound.end() || inbound == policies->inbound.end()) {
    absl::Status s = absl::FailedPreconditionError(
        StrCat("peer ", peer.name(), " uses policy \"",
               outbound == policies->outbound.end() ? peer.policy() : peer.inbound_policy(),
               "\", which the configuration does not define; define it or change the peer"));
    LogError(std::string(s.message()), {.peer = peer.name()});
    context.Detach(peer.name(), &stream, std::string(s.message()));
    stream.Write(GoodbyeFor(s));
    return s;
  }
  LogInfo(StrCat("peer ", peer.name(), " connected (", dialed ? "dialed" : "accepted", ")"),
          {.peer = peer.name()});
  absl::Status status = RunSession(context, stream, peer, outbound->second, inbound->second);
  context.Detach(peer.name(), &stream, std::string(status.message()));
  if (!context.stopping()) {
    LogInfo(StrCat("peer ", peer.name(), " disconnected: ", status.message()),
            {.peer = peer.name()});
  }
  return status;
}

}  // namespace

absl::Status RunExchange(ExchangeContext& context, PeerStream& stream, bool dialed) {
  HandshakeGuard guard(stream, context.peer_timeout());
  PeerMessage mine = OwnHello(context);
  if (!stream.Write(mine)) return ClosedBy(stream);
  PeerMessage theirs;
  if (!stream.Read(&theirs) || !(theirs.has_hello() || theirs.has_goodbye())) {
    return guard.fired()
               ? absl::DeadlineExceededError(
                     StrCat("no handshake within ",
                            std::chrono::duration_cast<std::chrono::seconds>(context.peer_timeout())
                                .count(),
                            " s of connecting; the connection is closed"))
               : absl::UnavailableError("the peer sent no hello");
  }
  if (theirs.has_goodbye()) {
    return absl::Status(static_cast<absl::StatusCode>(theirs.goodbye().code()),
                        StrCat("the peer refused: ", theirs.goodbye().reason()));
  }
  if (absl::Status s = CheckHello(theirs.hello()); !s.ok()) {
    return Refuse(context, stream, s, "protocol version", nullptr);
  }
  absl::StatusOr<PeerConfig> peer = IdentifyPeer(context, stream, theirs.hello());
  if (!peer.ok()) return peer.status();
  if (absl::Status s = Authenticate(context, stream, mine, theirs, *peer); !s.ok()) return s;
  guard.Done();
  return RunStream(context, stream, *peer, dialed);
}

}  // namespace threatmesh
