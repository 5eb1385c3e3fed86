#include "node/mesh/peer_auth.h"

#include "crypto/sodium.h"
#include "crypto/str_cat.h"
#include "node/core/version.h"

namespace threatmesh {

using threatmesh::v1::PeerAuth;
using threatmesh::v1::PeerHello;

constexpr std::size_t kChallengeSize = 32;

PeerHello MakeHello(const crypto::KeyPair& key, std::vector<std::string> rotations) {
  PeerHello hello;
  hello.set_version(kPeerProtocolVersion);
  hello.set_node_key(std::string(key.public_key().bytes()));
  hello.set_challenge(crypto::RandomBytes(kChallengeSize));
  hello.set_agent(StrCat("threatmesh ", kThreatmeshVersion));
  for (std::string& r : rotations) hello.add_rotations(std::move(r));
  return hello;
}

absl::Status CheckHello(const PeerHello& hello) {
  if (hello.version() != kPeerProtocolVersion) {
    return absl::FailedPreconditionError(StrCat(
        "the peer speaks peering protocol version ", hello.version(), " (", hello.agent(),
        "); this node speaks version ", kPeerProtocolVersion, ": upgrade the older of the two"));
  }
  if (hello.node_key().size() != crypto::kPublicKeySize) {
    return absl::InvalidArgumentError(
        StrCat("the peer's hello carries a ", hello.node_key().size(), "-byte key, expected 32"));
  }
  if (hello.challenge().size() != kChallengeSize) {
    return absl::InvalidArgumentError(StrCat(
        "the peer's hello carries a ", hello.challenge().size(), "-byte challenge, expected 32"));
  }
  return absl::OkStatus();
}

std::string PeerAuthTranscript(const PeerHello& signer, const PeerHello& other,
                               std::string_view seen_cert_hash) {
  return StrCat(signer.node_key(), other.node_key(), signer.challenge(), other.challenge(),
                seen_cert_hash);
}

PeerAuth SignPeerAuth(const crypto::KeyPair& key, const PeerHello& mine, const PeerHello& theirs,
                      std::string_view seen_cert_hash) {
  PeerAuth auth;
  auth.set_signature(
      key.Sign(crypto::kPeerAuthDomain, PeerAuthTranscript(mine, theirs, seen_cert_hash)));
  return auth;
}

absl::Status VerifyPeerAuth(const PeerHello& theirs, const PeerHello& mine, const PeerAuth& auth,
                            std::string_view own_cert_hash) {
  if (absl::Status hello = CheckHello(theirs); !hello.ok()) return hello;
  absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromBytes(theirs.node_key());
  if (!key.ok()) return key.status();
  if (!crypto::Verify(*key, crypto::kPeerAuthDomain,
                      PeerAuthTranscript(theirs, mine, own_cert_hash), auth.signature())) {
    return absl::PermissionDeniedError(
        StrCat("node ", key->Fingerprint(),
               " did not prove its key for this connection: either something between the nodes "
               "presents its own TLS certificate (a relay or an interceptor), or the peer does not "
               "hold the key it announced. The connection is refused"));
  }
  return absl::OkStatus();
}

}  // namespace threatmesh
