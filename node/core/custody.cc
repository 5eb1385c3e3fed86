#include "node/core/custody.h"

#include <set>

#include "crypto/hash.h"
#include "crypto/str_cat.h"
#include "node/core/key_table.h"
#include "node/core/validate.h"

namespace threatmesh {
namespace {

using threatmesh::v1::CustodyChain;
using threatmesh::v1::Hop;
using threatmesh::v1::RecordBody;
using threatmesh::v1::Signed;

bool OneHopTlp(threatmesh::v1::Tlp tlp) {
  return tlp == threatmesh::v1::TLP_AMBER || tlp == threatmesh::v1::TLP_AMBER_STRICT ||
         tlp == threatmesh::v1::TLP_RED;
}

bool IsRecipient(const RecordBody& body, std::string_view key) {
  for (const std::string& r : body.handling().recipients()) {
    if (r == key) return true;
  }
  return false;
}

std::string Fingerprint(std::string_view key) { return crypto::FingerprintOf(key); }

// The handling rule that sending the copy to `to` as hop number `hop` (0-based) would break,
// or "" when it breaks none.
std::string HandlingBreach(const RecordBody& body, int hop, std::string_view to) {
  if (static_cast<uint32_t>(hop) + 1 > EffectiveMaxHops(body)) {
    return StrCat("hop ", hop + 1, " exceeds the record's hop limit of ", EffectiveMaxHops(body));
  }
  if (hop > 0 && !Relayable(body)) {
    return OneHopTlp(body.tlp()) ? "the TLP label allows no relaying (AMBER, AMBER+STRICT, RED)"
                                 : "the author did not allow relaying (may_relay is false)";
  }
  if (body.tlp() == threatmesh::v1::TLP_RED && !IsRecipient(body, to)) {
    return StrCat("node ", Fingerprint(to), " is not a recipient named by the RED record");
  }
  return "";
}

}  // namespace

uint32_t EffectiveMaxHops(const RecordBody& body) {
  if (OneHopTlp(body.tlp())) return 1;
  return body.handling().max_hops() == 0 ? kDefaultMaxHops : body.handling().max_hops();
}

bool Relayable(const RecordBody& body) {
  return body.handling().may_relay() && !OneHopTlp(body.tlp());
}

void SignHop(CustodyChain& chain, std::string_view record_id, const crypto::KeyPair& from,
             std::string_view to, int64_t at_ms, std::string_view policy) {
  Hop hop;
  hop.set_record_id(std::string(record_id));
  hop.set_from(std::string(from.public_key().bytes()));
  hop.set_to(std::string(to));
  hop.set_at(at_ms);
  hop.set_policy(std::string(policy));
  if (chain.hops_size() > 0) {
    hop.set_prev_hop(crypto::Sha256(chain.hops(chain.hops_size() - 1).payload()));
  }
  Signed* envelope = chain.add_hops();
  envelope->set_payload(hop.SerializeAsString());
  envelope->set_signature(from.Sign(crypto::kHopDomain, envelope->payload()));
}

absl::Status MayForward(const RecordBody& body, const CustodyChain& chain, std::string_view self,
                        std::string_view to) {
  if (to == body.author()) {
    return absl::FailedPreconditionError("the receiver is the record's author");
  }
  if (to == self) return absl::FailedPreconditionError("the receiver is this node");
  for (const Signed& envelope : chain.hops()) {
    Hop hop;
    if (hop.ParseFromString(envelope.payload()) && hop.from() == to) {
      return absl::FailedPreconditionError("the receiver is already in the record's chain");
    }
  }
  if (std::string breach = HandlingBreach(body, chain.hops_size(), to); !breach.empty()) {
    return absl::FailedPreconditionError(breach);
  }
  return absl::OkStatus();
}

absl::StatusOr<ChainVerdict> CheckChain(std::string_view record_id, const RecordBody& body,
                                        const CustodyChain& chain, std::string_view self,
                                        const KeyTable* keys, int* unsound_hop) {
  const std::string id = ShortId(record_id);
  auto unsound = [&](int i, auto&&... what) {
    if (unsound_hop) *unsound_hop = i;
    return absl::InvalidArgumentError(StrCat("record ", id, ": custody hop ", i, " ", what...));
  };
  if (unsound_hop) *unsound_hop = -1;
  if (chain.hops_size() == 0) {
    return absl::InvalidArgumentError(
        StrCat("record ", id, " arrived without a custody chain; every copy carries one"));
  }
  std::set<std::string> seen = {body.author()};
  std::string expected_from = body.author();
  std::string prev_hash;
  std::vector<Hop> hops;
  for (int i = 0; i < chain.hops_size(); ++i) {
    const Signed& envelope = chain.hops(i);
    Hop& hop = hops.emplace_back();
    if (!hop.ParseFromString(envelope.payload())) return unsound(i, "does not parse");
    if (hop.record_id() != record_id) return unsound(i, "is for another record");
    // Hop 0 of a record whose author has rotated its key comes from the node's new key.
    const bool successor = i == 0 && hop.from() != expected_from &&
                           ((body.kind_case() == RecordBody::kKeyRotation &&
                             hop.from() == body.key_rotation().new_key()) ||
                            (keys != nullptr && keys->Succeeds(expected_from, hop.from())));
    if (hop.from() != expected_from && !successor) {
      return unsound(i, i == 0 ? "is not sent by the record's author"
                               : "is not sent by the receiver of the hop before");
    }
    absl::StatusOr<crypto::PublicKey> from = crypto::PublicKey::FromBytes(hop.from());
    if (!from.ok()) return unsound(i, "names a sender that is not a 32-byte key");
    if (!crypto::Verify(*from, crypto::kHopDomain, envelope.payload(), envelope.signature())) {
      return unsound(i, "does not carry a valid signature of its sender ", from->Fingerprint());
    }
    if (keys != nullptr) {
      if (absl::Status s = keys->CheckKeyAt(hop.from(), hop.at()); !s.ok()) {
        return unsound(i, "cannot be trusted: ", s.message());
      }
    }
    if (successor) seen.insert(hop.from());
    if (hop.prev_hop() != prev_hash) {
      return unsound(i, i == 0 ? "links to a previous hop, but it is the first"
                               : "does not link to the hop before (prev_hop mismatch)");
    }
    if (hop.to().size() != crypto::kPublicKeySize) {
      return unsound(i, "names a receiver that is not a 32-byte key");
    }
    if (!seen.insert(hop.to()).second) {
      return unsound(i, "sends the record to a node already in its chain (a loop)");
    }
    prev_hash = crypto::Sha256(envelope.payload());
    expected_from = hop.to();
  }
  if (expected_from != self) {
    if (unsound_hop) *unsound_hop = chain.hops_size();
    return absl::InvalidArgumentError(StrCat("record ", id,
                                             ": the last custody hop is addressed to node ",
                                             Fingerprint(expected_from), ", not to this node"));
  }
  ChainVerdict verdict;
  for (int i = 0; i < static_cast<int>(hops.size()); ++i) {
    if (std::string breach = HandlingBreach(body, i, hops[i].to()); !breach.empty()) {
      verdict.violation = true;
      verdict.offender = i;
      verdict.rule = StrCat("hop ", i, " by node ", Fingerprint(hops[i].from()), ": ", breach);
      return verdict;
    }
  }
  verdict.accepted = true;
  return verdict;
}

}  // namespace threatmesh
