#include "node/core/custody.h"

#include <set>

#include "absl/container/flat_hash_set.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "crypto/str_cat.h"
#include "node/core/key_table.h"
#include "node/core/validate.h"

namespace threatmesh {
namespace {

using threatmesh::v1::BatchInclusion;
using threatmesh::v1::CustodyChain;
using threatmesh::v1::Hop;
using threatmesh::v1::HopBatch;
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

// Hop `hop` (with the previous hop's digest) as the payload its sender signs or batches.
Hop MakeHop(std::string_view record_id, std::string_view from, std::string_view to, int64_t at_ms,
            std::string_view policy, const CustodyChain& chain) {
  Hop hop;
  hop.set_record_id(std::string(record_id));
  hop.set_from(std::string(from));
  hop.set_to(std::string(to));
  hop.set_at(at_ms);
  hop.set_policy(std::string(policy));
  if (chain.hops_size() > 0) {
    hop.set_prev_hop(crypto::Sha256(chain.hops(chain.hops_size() - 1).payload()));
  }
  return hop;
}

// The key under which VerifiedBatches holds a checked batch statement.
std::string StatementDigest(const BatchInclusion& proof) {
  return crypto::Sha256(proof.statement() + proof.signature());
}

// Why a batch hop's proof does not hold, as (kind, message); kind "" when it holds.
std::pair<std::string, std::string> BatchFault(const Signed& envelope, const Hop& hop,
                                               const crypto::PublicKey& from,
                                               VerifiedBatches* batches) {
  const BatchInclusion& proof = envelope.batch();
  HopBatch statement;
  if (!statement.ParseFromString(proof.statement())) {
    return {"batch statement", "carries a batch statement that does not parse"};
  }
  if (statement.from() != hop.from() || statement.to() != hop.to() || statement.at() != hop.at() ||
      statement.policy() != hop.policy()) {
    return {"batch statement",
            "differs from its signed batch statement (sender, receiver, time or policy)"};
  }
  std::vector<std::string_view> path(proof.path().begin(), proof.path().end());
  const std::optional<std::string> root =
      statement.size() == 0 ? std::nullopt
                            : crypto::MerkleRootFromPath(crypto::MerkleLeafHash(envelope.payload()),
                                                         proof.index(), statement.size(), path);
  if (!root || *root != statement.root()) {
    return {"batch path", StrCat("is not in its signed batch: the inclusion path of leaf ",
                                 proof.index(), " does not lead to the batch's root")};
  }
  const std::string digest = StatementDigest(proof);
  if (batches != nullptr && batches->Contains(digest)) return {};
  if (!crypto::Verify(from, crypto::kHopBatchDomain, proof.statement(), proof.signature())) {
    return {"batch signature",
            StrCat("is in a batch that does not carry a valid signature of its sender ",
                   from.Fingerprint())};
  }
  if (batches != nullptr) batches->Add(digest);
  return {};
}

// Why hop `envelope` (its payload parsed as `hop`) is not signed by its sender `from`, as
// (kind, message); kind "" when it is: its own signature, or its batch's.
std::pair<std::string, std::string> SignatureFault(const Signed& envelope, const Hop& hop,
                                                   const crypto::PublicKey& from,
                                                   VerifiedBatches* batches) {
  if (envelope.has_batch()) {
    if (!envelope.signature().empty()) {
      return {"hop signature", "carries both a signature and a batch; a hop has one of them"};
    }
    return BatchFault(envelope, hop, from, batches);
  }
  if (!crypto::Verify(from, crypto::kHopDomain, envelope.payload(), envelope.signature())) {
    return {"hop signature",
            StrCat("does not carry a valid signature of its sender ", from.Fingerprint())};
  }
  return {};
}

// The verdict on a sound chain: accepted, or the first hop that broke the handling.
ChainVerdict HandlingVerdict(const RecordBody& body, const std::vector<Hop>& hops) {
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
  const Hop hop = MakeHop(record_id, from.public_key().bytes(), to, at_ms, policy, chain);
  Signed* envelope = chain.add_hops();
  envelope->set_payload(hop.SerializeAsString());
  envelope->set_signature(from.Sign(crypto::kHopDomain, envelope->payload()));
}

void SignHopBatch(const std::vector<BatchHop>& hops, const crypto::KeyPair& from,
                  std::string_view to, int64_t at_ms, std::string_view policy) {
  if (hops.empty()) return;
  std::vector<std::string> leaves;
  leaves.reserve(hops.size());
  for (const BatchHop& h : hops) {
    const Hop hop = MakeHop(h.record_id, from.public_key().bytes(), to, at_ms, policy, *h.chain);
    Signed* envelope = h.chain->add_hops();
    envelope->set_payload(hop.SerializeAsString());
    leaves.push_back(crypto::MerkleLeafHash(envelope->payload()));
  }
  crypto::MerkleTree tree = crypto::BuildMerkleTree(leaves);
  HopBatch statement;
  statement.set_from(std::string(from.public_key().bytes()));
  statement.set_to(std::string(to));
  statement.set_at(at_ms);
  statement.set_policy(std::string(policy));
  statement.set_root(tree.root);
  statement.set_size(static_cast<uint32_t>(hops.size()));
  const std::string bytes = statement.SerializeAsString();
  const std::string signature = from.Sign(crypto::kHopBatchDomain, bytes);
  for (std::size_t i = 0; i < hops.size(); ++i) {
    BatchInclusion* proof =
        hops[i].chain->mutable_hops(hops[i].chain->hops_size() - 1)->mutable_batch();
    proof->set_statement(bytes);
    proof->set_signature(signature);
    proof->set_index(static_cast<uint32_t>(i));
    for (std::string& sibling : tree.paths[i]) {
      proof->add_path(std::move(sibling));
    }
  }
}

std::vector<const BatchInclusion*> UncheckedBatchStatements(
    const std::vector<const CustodyChain*>& chains, const VerifiedBatches& batches,
    std::size_t limit) {
  std::vector<const BatchInclusion*> out;
  absl::flat_hash_set<std::string_view> seen;  // by signature: one per statement signed
  for (const CustodyChain* chain : chains) {
    for (const Signed& hop : chain->hops()) {
      if (out.size() >= limit) return out;
      if (!hop.has_batch() || !seen.insert(hop.batch().signature()).second) continue;
      if (!batches.Contains(StatementDigest(hop.batch()))) out.push_back(&hop.batch());
    }
  }
  return out;
}

void CheckBatchStatement(const BatchInclusion& proof, VerifiedBatches& batches) {
  HopBatch statement;
  if (!statement.ParseFromString(proof.statement())) return;
  absl::StatusOr<crypto::PublicKey> from = crypto::PublicKey::FromBytes(statement.from());
  if (!from.ok() ||
      !crypto::Verify(*from, crypto::kHopBatchDomain, proof.statement(), proof.signature())) {
    return;
  }
  batches.Add(StatementDigest(proof));
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
                                        const KeyTable* keys, int* unsound_hop,
                                        VerifiedBatches* batches, std::string* unsound_kind) {
  const std::string id = ShortId(record_id);
  auto unsound = [&](int i, std::string_view kind, auto&&... what) {
    if (unsound_hop) *unsound_hop = i;
    if (unsound_kind) *unsound_kind = std::string(kind);
    return absl::InvalidArgumentError(StrCat("record ", id, ": custody hop ", i, " ", what...));
  };
  if (unsound_hop) *unsound_hop = -1;
  if (chain.hops_size() == 0) {
    if (unsound_kind) *unsound_kind = "no chain";
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
    if (!hop.ParseFromString(envelope.payload())) return unsound(i, "hop", "does not parse");
    if (hop.record_id() != record_id) return unsound(i, "hop", "is for another record");
    // Hop 0 of a record whose author has rotated its key comes from the node's new key.
    const bool successor = i == 0 && hop.from() != expected_from &&
                           ((body.kind_case() == RecordBody::kKeyRotation &&
                             hop.from() == body.key_rotation().new_key()) ||
                            (keys != nullptr && keys->Succeeds(expected_from, hop.from())));
    if (hop.from() != expected_from && !successor) {
      return unsound(i, "hop link",
                     i == 0 ? "is not sent by the record's author"
                            : "is not sent by the receiver of the hop before");
    }
    absl::StatusOr<crypto::PublicKey> from = crypto::PublicKey::FromBytes(hop.from());
    if (!from.ok()) return unsound(i, "hop", "names a sender that is not a 32-byte key");
    if (auto [kind, fault] = SignatureFault(envelope, hop, *from, batches); !kind.empty()) {
      return unsound(i, kind, fault);
    }
    if (keys != nullptr) {
      if (absl::Status s = keys->CheckKeyAt(hop.from(), hop.at()); !s.ok()) {
        return unsound(i, "hop key", "cannot be trusted: ", s.message());
      }
    }
    if (successor) seen.insert(hop.from());
    if (hop.prev_hop() != prev_hash) {
      return unsound(i, "hop link",
                     i == 0 ? "links to a previous hop, but it is the first"
                            : "does not link to the hop before (prev_hop mismatch)");
    }
    if (hop.to().size() != crypto::kPublicKeySize) {
      return unsound(i, "hop", "names a receiver that is not a 32-byte key");
    }
    if (!seen.insert(hop.to()).second) {
      return unsound(i, "hop link", "sends the record to a node already in its chain (a loop)");
    }
    prev_hash = crypto::Sha256(envelope.payload());
    expected_from = hop.to();
  }
  if (expected_from != self) {
    if (unsound_hop) *unsound_hop = chain.hops_size();
    if (unsound_kind) *unsound_kind = "hop link";
    return absl::InvalidArgumentError(StrCat("record ", id,
                                             ": the last custody hop is addressed to node ",
                                             Fingerprint(expected_from), ", not to this node"));
  }
  return HandlingVerdict(body, hops);
}

}  // namespace threatmesh
