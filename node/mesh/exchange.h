// The Exchange: one authenticated peer stream, the same whichever side dialed
// (proto/threatmesh/v1/peer.proto). After the handshake (node/mesh/peer_auth.h) each side asks
// for the other's change feed from the cursor it holds durably; each side then streams its
// log in batches, filtered by its outbound policy for the peer and the custody rules, each
// record with its chain and a new signed hop; the receiver drops known ids before any
// signature check, validates the rest, checks chain and inbound policy, stores what passes
// (a copy breaking its author's handling goes to the evidence family instead), and
// acknowledges the batch once it is durable. Live records follow the catch-up on the same
// stream.
//
// Thread-safe: RunExchange uses the calling thread to read, and threads of its own to send,
// to acknowledge, and to time the handshake; many exchanges may run at once.
#ifndef THREATMESH_NODE_MESH_EXCHANGE_H_
#define THREATMESH_NODE_MESH_EXCHANGE_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "crypto/mutex.h"
#include "node/core/policy.h"
#include "node/local_node.h"
#include "node/mesh/relay.h"
#include "node/peers.h"
#include "node/work_pool.h"
#include "threatmesh/v1/peer.pb.h"

namespace threatmesh {

// The two directions of a gRPC bidirectional stream, server or client side.
class PeerStream {
 public:
  virtual ~PeerStream() = default;
  virtual bool Read(threatmesh::v1::PeerMessage* message) = 0;
  // Called from one thread at a time (RunExchange serializes its writers).
  virtual bool Write(const threatmesh::v1::PeerMessage& message) = 0;
  // Ends the stream from this side; Read then returns false.
  virtual void Cancel() = 0;
  // SHA-256 of the TLS certificate the other side presented (SHA-256 of nothing on insecure
  // peering). Asked once the first message has arrived, when the connection is up.
  virtual absl::StatusOr<std::string> SeenCertificateHash() = 0;
};

// Counters of one peer, for the operator's view.
struct PeerCounters {
  uint64_t sent = 0;
  uint64_t sent_early = 0;  // of sent: relayed before their commit here
  uint64_t received = 0;
  uint64_t duplicates = 0;
  std::map<std::string, uint64_t> refused;  // by reason
  uint64_t violations = 0;
  // Time spent holding the peer back to its inbound rate limit.
  uint64_t throttled_ms = 0;
  bool connected = false;
  // Unix ms when the current stream came up.
  int64_t connected_since = 0;
  // This node's log position the peer has acknowledged.
  uint64_t acked = 0;
  std::string last_error;
  // Streams that came up with the peer, and when (Unix ms) a record from it was last stored.
  uint64_t connects = 0;
  int64_t last_received_ms = 0;
};

// What every exchange of a node shares: the node and its peer table, the policies in force,
// the signature workers, and the live state of each peer (its one stream, its counters,
// whether it is to be resent everything). Thread-safe: the peer state has a lock of its own;
// the rest is set at construction.
class ExchangeContext {
 public:
  // `own_cert_hash`: SHA-256 of this node's own peer certificate, or of nothing on insecure
  // (plaintext) peering, where the handshake binds no certificate. `peer_timeout`: a peer
  // silent this long (or without a handshake this long after connecting) is taken for dead;
  // keepalives go out every third of it. The references must outlive the context.
  ExchangeContext(LocalNode& node, PeerRegistry& peers, std::string own_cert_hash,
                  const std::atomic<bool>& stopping, const PolicyHolder& policies, WorkPool& pool,
                  std::chrono::milliseconds peer_timeout)
      : node_(node),
        peers_(peers),
        own_cert_hash_(std::move(own_cert_hash)),
        stopping_(stopping),
        policies_(policies),
        pool_(pool),
        peer_timeout_(peer_timeout) {}

  LocalNode& node() const { return node_; }
  PeerRegistry& peers() const { return peers_; }
  const std::string& own_cert_hash() const { return own_cert_hash_; }
  bool stopping() const { return stopping_.load(); }
  // The named policies in force (replaced on reload).
  const PolicyHolder& policies() const { return policies_; }
  // Workers for the signature checks of received batches.
  WorkPool& pool() const { return pool_; }
  std::chrono::milliseconds peer_timeout() const { return peer_timeout_; }
  // Checked records on their way to the store, for the other sessions to relay at once.
  RelayQueue& relay() { return relay_; }
  // How many peers have a live stream.
  std::size_t LiveStreams() const;

  // Makes `stream` the live stream of `peer`. One is up already: a `preferred` stream cancels
  // it and takes its place; otherwise nothing changes and false is returned.
  bool Attach(const std::string& peer, PeerStream* stream, bool preferred, int64_t now_ms);
  // Ends the peer's record of `stream`, if it is still its live stream, and notes `why`.
  void Detach(const std::string& peer, const PeerStream* stream, std::string_view why);
  // Cancels the live stream with `peer`, if any (it reconnects with what is configured now).
  void Drop(const std::string& peer);
  // Cancels every live stream.
  void DropAll();

  // Runs `f` on the counters of `peer` under the lock.
  void Update(const std::string& peer, const std::function<void(PeerCounters&)>& f);
  // A connection refused in the handshake: counted by reason, and for `peer` when it is a
  // configured one (nullptr otherwise).
  void NoteRefusedHandshake(const std::string& reason, const std::string* peer,
                            std::string_view error);
  // The next stream with `peer` replays both logs from the start ('peers resync').
  void RequestResendAll(const std::string& peer);
  // Whether a resend was requested for `peer`; clears the request.
  bool TakeResendAll(const std::string& peer);

  // Copies, for the operator's view.
  std::map<std::string, PeerCounters> Counters() const;
  std::map<std::string, uint64_t> RefusedHandshakes() const;

 private:
  LocalNode& node_;
  PeerRegistry& peers_;
  const std::string own_cert_hash_;
  const std::atomic<bool>& stopping_;
  const PolicyHolder& policies_;
  WorkPool& pool_;
  const std::chrono::milliseconds peer_timeout_;
  RelayQueue relay_;

  mutable Mutex mu_;
  std::map<std::string, PeerCounters> counters_ ABSL_GUARDED_BY(mu_);  // by peer name
  std::map<std::string, PeerStream*> streams_ ABSL_GUARDED_BY(mu_);    // the live one per peer
  // Connections refused in the handshake, by reason (unknown key, certificate binding,
  // protocol version). A configured peer's refusals also count in its PeerCounters.
  std::map<std::string, uint64_t> handshakes_refused_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> resend_all_ ABSL_GUARDED_BY(mu_);
};

// Runs one stream until it ends or the node stops: the handshake, then both directions.
// `dialed` says whether this node opened the stream. When both nodes dial each other, the
// stream dialed by the node with the smaller key is kept and the other is closed
// (ALREADY_EXISTS), on both sides alike. Returns why the stream ended.
absl::Status RunExchange(ExchangeContext& context, PeerStream& stream, bool dialed);

// The cursor (the peer's log position held durably here) of peer `name`.
uint64_t LoadPeerCursor(storage::Store& store, std::string_view name);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_MESH_EXCHANGE_H_
