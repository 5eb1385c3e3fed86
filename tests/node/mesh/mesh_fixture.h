// The fixture of the mesh tests: nodes as real `threatmesh serve` processes peering over
// loopback TLS with the certificates made at init, each with an admin client; and peer
// doubles that speak the protocol under a key and TLS identity of their own.
#ifndef THREATMESH_TESTS_NODE_MESH_MESH_FIXTURE_H_
#define THREATMESH_TESTS_NODE_MESH_MESH_FIXTURE_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/str_cat.h"
#include "node/api/grpc/client.h"
#include "node/core/clock.h"
#include "node/core/custody.h"
#include "node/core/record_builder.h"
#include "node/local_node.h"
#include "node/mesh/grpc/peer_transport.h"
#include "node/mesh/grpc/tls.h"
#include "node/mesh/peer_auth.h"
#include "node/proof/proof.h"
#include "testing/serve_process.h"
#include "testing/test_util.h"
#include "testing/wait.h"
#include "threatmesh/v1/peer.grpc.pb.h"

namespace threatmesh::testing {

using namespace threatmesh::v1;  // NOLINT: the API's own types.

struct Node {
  std::string dir;
  std::unique_ptr<ServeProcess> process;
  std::unique_ptr<NodeClient> client;
  std::string key;                // 32 bytes
  std::vector<std::string> args;  // of 'serve', beyond the data dir and API address
};

// Records as a hostile peer sends them to the node whose key is `to_key`: signed by their
// author and carried along a chain of relays, the last hop to the node.
struct CopyMaker {
  std::string to_key;
  int64_t now = SystemNowMs();

  RecordBody BodyBy(const crypto::KeyPair& author, const std::string& value, Tlp tlp) const {
    RecordBody b = testing::IndicatorBody(author, INDICATOR_TYPE_DOMAIN, value, now - 1000);
    b.set_tlp(tlp);
    b.mutable_handling()->set_may_relay(true);
    return b;
  }

  // A copy sent along `relays` after its author.
  PeerRecord Copy(const RecordBody& body, const crypto::KeyPair& author,
                  std::vector<const crypto::KeyPair*> relays) const {
    PeerRecord r;
    r.set_signed_record(SealRecord(body, author));
    Signed envelope;
    envelope.ParseFromString(r.signed_record());
    const std::string id = crypto::RecordId(envelope.payload());
    std::vector<const crypto::KeyPair*> path = {&author};
    path.insert(path.end(), relays.begin(), relays.end());
    for (std::size_t i = 0; i < path.size(); ++i) {
      const std::string to =
          i + 1 < path.size() ? std::string(path[i + 1]->public_key().bytes()) : to_key;
      SignHop(*r.mutable_chain(), id, *path[i], to, now, "p");
    }
    return r;
  }
};

// The record id of a copy.
inline std::string IdOf(const PeerRecord& r) {
  Signed envelope;
  envelope.ParseFromString(r.signed_record());
  return crypto::RecordId(envelope.payload());
}

class MeshTest : public ::testing::Test {
 protected:
  // Creates node `name` and serves it: peering over TLS with the certificate made at init,
  // listening for peers unless `dial_only`.
  Node& Start(const std::string& name, bool dial_only = false,
              std::vector<std::string> extra = {}) {
    Node& n = nodes_[name];
    n.dir = dir_.Sub(name);
    std::string cmd = testing::ThreatmeshBinary() + " init --data-dir " + n.dir + " >/dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    n.args = dial_only ? std::vector<std::string>{"--dial-only", "true"}
                       : std::vector<std::string>{"--peer-listen", "127.0.0.1:0"};
    n.args.insert(n.args.end(), extra.begin(), extra.end());
    Serve(n);
    absl::StatusOr<crypto::PublicKey> key =
        crypto::PublicKey::FromText(n.client->Status()->public_key());
    n.key = std::string(key->bytes());
    return n;
  }

  // Starts (or restarts) the node's process and its admin client.
  void Serve(Node& n) {
    absl::StatusOr<std::unique_ptr<ServeProcess>> p = ServeProcess::Start(n.dir, n.args);
    ASSERT_TRUE(p.ok()) << p.status();
    n.process = std::move(*p);
    std::ifstream token(AdminTokenPath(n.dir));
    ClientOptions options;
    options.address = n.process->address();
    std::getline(token, options.token);
    n.client = *NodeClient::Connect(options);
  }

  // The live state of peer `peer` at node `at`.
  PeerState StateOf(const std::string& at, const std::string& peer) {
    absl::StatusOr<ListPeersResponse> list = nodes_[at].client->ListPeers();
    EXPECT_TRUE(list.ok()) << list.status();
    if (!list.ok()) return {};
    for (const PeerState& st : list->states()) {
      if (st.name() == peer) return st;
    }
    return {};
  }

  // `from` knows `to`; with `dial`, it dials `to` at its peer port.
  void Peer(const std::string& from, const std::string& to, bool dial) {
    AddPeerRequest r;
    r.mutable_peer()->set_name(to);
    r.mutable_peer()->set_node_key(nodes_[to].key);
    if (dial) r.mutable_peer()->set_address(nodes_[to].process->peer_address());
    ASSERT_TRUE(nodes_[from].client->AddPeer(r).ok());
  }

  // Links a and b; a dials.
  void Link(const std::string& a, const std::string& b) {
    Peer(b, a, false);
    Peer(a, b, true);
  }

  std::string Publish(const std::string& at, const std::string& value, Tlp tlp,
                      std::function<void(RecordBody&)> edit = nullptr) {
    PublishRequest r;
    r.mutable_body()->set_tlp(tlp);
    r.mutable_body()->mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
    r.mutable_body()->mutable_indicator()->set_value(value);
    if (edit) edit(*r.mutable_body());
    absl::StatusOr<PublishResponse> p = nodes_[at].client->Publish(r);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? p->id() : "";
  }

  std::optional<StoredRecord> Held(const std::string& at, const std::string& id) {
    GetRequest g;
    g.set_id(id);
    absl::StatusOr<GetResponse> r = nodes_[at].client->Get(g);
    if (!r.ok()) return std::nullopt;
    return r->record();
  }

  // Waits (up to 30 s) until `at` holds `id`.
  std::optional<StoredRecord> WaitFor(const std::string& at, const std::string& id) {
    std::optional<StoredRecord> held;
    testing::WaitUntil([&] { return (held = Held(at, id)).has_value(); }, std::chrono::seconds(30));
    return held;
  }

  // The proof bundle node `at` exports for record `id`, checked offline; unusable (the
  // default verdict) when the export fails.
  ProofResult ProofAt(const std::string& at, const std::string& id) {
    ExportProofRequest request;
    request.set_record_id(id);
    absl::StatusOr<ExportProofResponse> bundle = nodes_[at].client->ExportProof(request);
    EXPECT_TRUE(bundle.ok()) << at << ": " << bundle.status();
    return bundle.ok() ? VerifyProofBundle(bundle->bundle()) : ProofResult();
  }

  // A new self-signed certificate and key, for a test double.
  PeerIdentity Identity(const std::string& name) {
    const std::string cert = dir_.Sub(name + ".crt"), key = dir_.Sub(name + ".key");
    EXPECT_TRUE(WriteSelfSignedCertificate(cert, key, "localhost").ok());
    std::ifstream c(cert), k(key);
    std::stringstream cs, ks;
    cs << c.rdbuf();
    ks << k.rdbuf();
    return PeerIdentity{cs.str(), ks.str()};
  }

  // A peer double speaking the protocol as `key` with a TLS identity of its own: an Exchange
  // stream to node `to`, handshake done. `accepted` tells whether the node authenticated it
  // (otherwise `refusal` holds the node's goodbye).
  struct Double {
    std::unique_ptr<Peering::Stub> stub;
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReaderWriter<PeerMessage, PeerMessage>> stream;
    bool accepted = false;
    std::string refusal;

    // Sends `batch` (through_seq set) and waits for the node's ack of it.
    bool SendAndWaitForAck(PeerMessage batch) {
      if (!stream->Write(batch)) return false;
      PeerMessage m;
      while (stream->Read(&m)) {
        if (m.has_ack() && m.ack().cursor() == batch.batch().through_seq()) return true;
      }
      return false;
    }
  };
  std::unique_ptr<Double> Connect(const std::string& to, const crypto::KeyPair& key) {
    auto d = std::make_unique<Double>();
    PeerIdentity tls = Identity(StrCat("double-", ++doubles_));
    d->stub = Peering::NewStub(grpc::CreateCustomChannel(
        nodes_[to].process->peer_address(), PeerChannelCredentials(tls), PeerChannelArguments()));
    d->stream = d->stub->Exchange(&d->ctx);
    PeerMessage hello, theirs, auth, their_auth;
    *hello.mutable_hello() = MakeHello(key);
    if (!d->stream->Write(hello) || !d->stream->Read(&theirs)) return d;
    if (!theirs.has_hello()) {
      d->refusal = theirs.goodbye().reason();
      return d;
    }
    absl::StatusOr<std::string> seen = SeenCertificateHash(d->ctx.auth_context().get());
    if (!seen.ok()) return d;
    *auth.mutable_auth() = SignPeerAuth(key, hello.hello(), theirs.hello(), *seen);
    // A node that refuses may have closed the stream before this write: its goodbye is
    // still there to read.
    (void)d->stream->Write(auth);
    if (!d->stream->Read(&their_auth)) return d;
    if (!their_auth.has_auth()) {
      d->refusal = their_auth.goodbye().reason();
      return d;
    }
    d->accepted = VerifyPeerAuth(theirs.hello(), hello.hello(), their_auth.auth(),
                                 *CertificateHash(tls.cert_pem))
                      .ok();
    return d;
  }
  // `key` becomes peer `name` of node `n` (called `at` in the fixture) and connects as a
  // double, speaking TLS with a certificate of its own and binding it properly: a peer that
  // is configured, authenticated, and may be hostile.
  void ConnectAsPeer(Node& n, const std::string& at, const std::string& name,
                     const crypto::KeyPair& key, std::unique_ptr<Double>& link) {
    AddPeerRequest add;
    add.mutable_peer()->set_name(name);
    add.mutable_peer()->set_node_key(std::string(key.public_key().bytes()));
    ASSERT_TRUE(n.client->AddPeer(add).ok());
    link = Connect(at, key);
    ASSERT_TRUE(link->accepted) << link->refusal;
  }

  testing::TempDir dir_;
  std::map<std::string, Node> nodes_;
  int doubles_ = 0;
};

}  // namespace threatmesh::testing

#endif  // THREATMESH_TESTS_NODE_MESH_MESH_FIXTURE_H_
