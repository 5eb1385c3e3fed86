// One peer stream after its handshake: both logs flow, in batches, each side from the cursor
// the other holds for it. The reading thread receives (drops known ids, checks the rest on
// the work pool, stores what passes in one synced group, keeps evidence of broken handling);
// a sender thread streams this node's log through the outbound policy and the custody rules,
// a window of batches at a time; an acker thread moves the peer's cursor and acknowledges
// each received batch once it is durable, and cuts off a peer silent past the timeout.
#ifndef THREATMESH_NODE_MESH_SESSION_H_
#define THREATMESH_NODE_MESH_SESSION_H_

#include "absl/status/status.h"
#include "node/core/policy.h"
#include "node/mesh/exchange.h"
#include "threatmesh/v1/peer.pb.h"

namespace threatmesh {

// Runs the session until the stream ends or the node stops; returns why it ended.
absl::Status RunSession(ExchangeContext& context, PeerStream& stream, const PeerConfig& peer,
                        const OutboundPolicy& outbound, const InboundPolicy& inbound);

// The goodbye that tells the other side why this side ends the stream.
threatmesh::v1::PeerMessage GoodbyeFor(const absl::Status& s);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_MESH_SESSION_H_
