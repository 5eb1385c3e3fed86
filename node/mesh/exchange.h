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
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "node/core/policy.h"
#include "node/local_node.h"
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
};

struct ExchangeContext {
  LocalNode& node;
  PeerRegistry& peers;
  // SHA-256 of this node's own peer certificate, or of nothing on insecure (plaintext)
  // peering, where the handshake binds no certificate.
  std::string own_cert_hash;
  const std::atomic<bool>& stopping;
  // The named policies in force (replaced on reload).
  const PolicyHolder& policies;
  // Workers for the signature checks of received batches.
  WorkPool& pool;
  // A peer silent this long (or without a handshake this long after connecting) is taken
  // for dead; keepalives go out every third of it.
  std::chrono::milliseconds peer_timeout{45000};
  std::mutex counters_mu;
  std::map<std::string, PeerCounters> counters;  // by peer name; guarded by counters_mu
  // The one live stream per peer (by name); guarded by counters_mu.
  std::map<std::string, PeerStream*> streams;
  // Connections refused in the handshake, by reason (unknown key, certificate binding,
  // protocol version); guarded by counters_mu. A configured peer's refusals also count in its
  // PeerCounters.
  std::map<std::string, uint64_t> handshakes_refused;
  // Peers whose next stream replays both logs from the start, whatever the cursors say
  // ('threatmesh peers resync'); guarded by counters_mu.
  std::set<std::string> resend_all;
};

// Ends the live stream with peer `name`, if any (it reconnects with what is configured now).
void DropStream(ExchangeContext& context, const std::string& name);

// Runs one stream until it ends or the node stops: the handshake, then both directions.
// `dialed` says whether this node opened the stream. When both nodes dial each other, the
// stream dialed by the node with the smaller key is kept and the other is closed
// (ALREADY_EXISTS), on both sides alike. Returns why the stream ended.
absl::Status RunExchange(ExchangeContext& context, PeerStream& stream, bool dialed);

// The cursor (the peer's log position held durably here) of peer `name`.
uint64_t LoadPeerCursor(storage::Store& store, std::string_view name);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_MESH_EXCHANGE_H_
