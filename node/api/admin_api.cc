// NodeApi, the node's administration: status, tokens, peers, policies, violations, proof
// bundles, key revocation and the audit trail (records are in api.cc).
#include <algorithm>
#include <set>
#include <tuple>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/mutex.h"
#include "crypto/str_cat.h"
#include "node/api/api.h"
#include "node/api/api_internal.h"
#include "node/core/custody.h"
#include "node/core/indicator.h"
#include "node/core/record_builder.h"
#include "node/core/record_kind.h"
#include "node/core/record_view.h"
#include "node/proof/proof.h"
#include "storage/index_keys.h"
#include "threatmesh/v1/peer.pb.h"

namespace threatmesh {

using namespace threatmesh::v1;  // NOLINT: the API's own types, used throughout.

StatusResponse NodeApi::Status() const {
  StatusResponse out;
  out.set_public_key(node_.key().public_key().ToText());
  out.set_fingerprint(node_.key().public_key().Fingerprint());
  for (const RecordKindInfo& kind : RecordKinds()) {
    KindCount* c = out.add_counts();
    c->set_kind(kind.api_kind);
    c->set_count(node_.store().CountOf(*StoreKind(kind.api_kind)));
  }
  out.set_store_bytes(node_.store().DiskSize());
  out.set_uptime_seconds(static_cast<uint64_t>(std::max<int64_t>(0, node_.Now() - started_ms_)) /
                         1000);
  out.set_version(version_);
  out.set_next_seq(node_.store().NextSeq());
  out.set_audit_entries(audit_.Count());
  out.set_peer_address(peer_address_);
  return out;
}

absl::StatusOr<CreateTokenResponse> NodeApi::CreateToken(const CreateTokenRequest& request,
                                                         AuditEntry& audit) {
  audit.set_params(StrCat("name=", request.name(), " role=", RoleName(request.role()),
                          " audience=", AudienceName(request.audience())));
  if (request.audience() != AUDIENCE_UNSPECIFIED && request.audience() != AUDIENCE_MEMBER &&
      request.audience() != AUDIENCE_CLIENT) {
    return absl::InvalidArgumentError("audience must be member or client");
  }
  absl::StatusOr<NewToken> token =
      tokens_.Create(request.name(), request.role(), node_.Now(), request.audience());
  if (!token.ok()) return token.status();
  CreateTokenResponse out;
  out.set_token(std::move(token->secret));
  *out.mutable_info() = std::move(token->info);
  return out;
}

ListTokensResponse NodeApi::ListTokens() const {
  ListTokensResponse out;
  for (TokenInfo& info : tokens_.List()) *out.add_tokens() = std::move(info);
  return out;
}

absl::Status NodeApi::RevokeToken(const RevokeTokenRequest& request, AuditEntry& audit) {
  audit.set_params(StrCat("name=", request.name()));
  return tokens_.Revoke(request.name());
}

absl::Status NodeApi::AddPeer(const AddPeerRequest& request, AuditEntry& audit) {
  audit.set_params(StrCat("name=", request.peer().name(), " address=", request.peer().address()));
  PeerConfig peer = request.peer();
  peer.set_from_config(false);
  if (policies_ != nullptr) {
    std::shared_ptr<const PolicySet> set = policies_->Get();
    for (auto [name, known, what] :
         {std::tuple{peer.policy(), peer.policy().empty() || set->outbound.count(peer.policy()),
                     "outbound"},
          std::tuple{peer.inbound_policy(),
                     peer.inbound_policy().empty() || set->inbound.count(peer.inbound_policy()),
                     "inbound"}}) {
      if (!known) {
        return absl::InvalidArgumentError(
            StrCat("peer \"", peer.name(), "\": the configuration defines no ", what, " policy \"",
                   name, "\" (add an [", what, ".", name,
                   "] section, or leave the policy out for \"default\")"));
      }
    }
  }
  return peers_.Add(std::move(peer), node_.Now());
}

absl::StatusOr<ReloadConfigResponse> NodeApi::ReloadConfig(AuditEntry& audit) {
  if (!control_.reload) return absl::UnimplementedError("this node runs no peers to reload");
  absl::StatusOr<ReloadConfigResponse> r = control_.reload();
  if (r.ok()) audit.set_params(StrCat("peers_changed=", r->peers_changed_size()));
  return r;
}

absl::Status NodeApi::ResyncPeer(const ResyncPeerRequest& request, AuditEntry& audit) {
  audit.set_params(StrCat("name=", request.name()));
  if (!control_.resync) return absl::UnimplementedError("this node runs no peers to resync");
  for (const PeerConfig& p : peers_.List()) {
    if (p.name() == request.name()) {
      control_.resync(request.name());
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError(
      StrCat("no peer named \"", request.name(), "\"; 'threatmesh peers list' shows them"));
}

absl::StatusOr<ListViolationsResponse> NodeApi::ListViolations(const ListViolationsRequest& request,
                                                               AuditEntry& audit) {
  const std::size_t limit = request.limit() == 0 ? 100 : request.limit();
  if (limit > 1000) {
    return absl::InvalidArgumentError(
        StrCat("limit ", request.limit(), " is above 1000; page with next_page_token"));
  }
  audit.set_params(StrCat("limit=", limit));
  // Evidence keys: record id (32 bytes) || hop count; the page token is the next key.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> rows =
      node_.store().ScanAux(storage::kEvidence, "", request.page_token(), limit + 1);
  if (!rows.ok()) return rows.status();
  ListViolationsResponse out;
  const std::string self(node_.key().public_key().bytes());
  for (std::size_t i = 0; i < rows->size(); ++i) {
    if (i == limit) {
      out.set_next_page_token((*rows)[i].first);
      break;
    }
    PeerRecord copy;
    Violation& v = *out.add_violations();
    if (!copy.ParseFromString((*rows)[i].second) ||
        !v.mutable_record()->ParseFromString(copy.signed_record())) {
      return absl::DataLossError("a kept violation does not parse; the store may be damaged");
    }
    v.set_record_id((*rows)[i].first.substr(0, crypto::kRecordIdSize));
    *v.mutable_chain() = copy.chain();
    RecordBody body;
    body.ParseFromString(v.record().payload());
    absl::StatusOr<ChainVerdict> verdict = CheckChain(v.record_id(), body, copy.chain(), self);
    if (verdict.ok() && verdict->violation && verdict->offender >= 0) {
      v.set_offender_hop(static_cast<uint32_t>(verdict->offender));
      Hop hop;
      Signed envelope = copy.chain().hops(verdict->offender);
      if (hop.ParseFromString(envelope.payload())) v.set_offender_key(hop.from());
      v.set_rule(verdict->rule);
    }
    AuditIds(audit, v.record_id());
  }
  return out;
}

// The evidence kept against the relays of record `id`, as a violation bundle's material.
absl::Status NodeApi::LoadViolation(const std::string& id, ProofMaterial& m) {
  m.kind = "violation";
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> rows =
      node_.store().ScanAux(storage::kEvidence, id, "", 1000);
  if (!rows.ok()) return rows.status();
  for (const auto& [key, value] : *rows) {
    PeerRecord copy;
    if (!copy.ParseFromString(value)) {
      return absl::DataLossError("a kept violation does not parse; the store may be damaged");
    }
    if (m.chains.empty() && !m.record.ParseFromString(copy.signed_record())) {
      return absl::DataLossError("a kept violation does not parse; the store may be damaged");
    }
    m.chains.push_back(copy.chain());
  }
  if (m.chains.empty()) {
    return absl::NotFoundError(StrCat("no violation is kept for record ", crypto::HexEncode(id),
                                      "; 'threatmesh violations' lists them"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ExportProofResponse> NodeApi::ExportProof(const ExportProofRequest& request,
                                                         AuditEntry& audit, Tlp max_tlp) {
  absl::StatusOr<std::string> id = CheckId(request.record_id(), "record_id");
  if (!id.ok()) return id.status();
  audit.set_params(
      StrCat("record=", crypto::HexEncode(*id), request.violation() ? " violation" : ""));
  ProofMaterial m;
  if (request.violation()) {
    if (absl::Status s = LoadViolation(*id, m); !s.ok()) return s;
  } else {
    absl::StatusOr<VerifiedRecord> record = node_.Get(*id);
    if (!record.ok()) return record.status();
    if (!m.record.ParseFromString(record->signed_bytes)) {
      return absl::DataLossError("the stored record does not parse; the store may be damaged");
    }
    absl::StatusOr<CustodyChains> chains = node_.store().GetCustody(*id);
    if (!chains.ok()) return chains.status();
    for (const CustodyChain& c : chains->chains()) m.chains.push_back(c);
    absl::StatusOr<LocalNode::Withdrawal> marks = node_.WithdrawnBy(*id, record->body);
    if (!marks.ok()) return marks.status();
    for (const std::optional<std::string>& mark_id : {marks->retracted_by, marks->superseded_by}) {
      if (!mark_id) continue;
      absl::StatusOr<VerifiedRecord> mark = node_.Get(*mark_id);
      if (!mark.ok()) return mark.status();
      m.marks.emplace_back().ParseFromString(mark->signed_bytes);
    }
  }
  // The names this node gives the keys involved: its peers', and its own.
  std::set<std::string> involved;
  RecordBody body;
  body.ParseFromString(m.record.payload());
  if (body.tlp() > max_tlp) {  // as if absent: a client token learns nothing of it
    return absl::NotFoundError(StrCat("no record ", crypto::HexEncode(*id)));
  }
  involved.insert(body.author());
  for (const CustodyChain& c : m.chains) {
    for (const Signed& s : c.hops()) {
      Hop hop;
      if (hop.ParseFromString(s.payload())) {
        involved.insert(hop.from());
        involved.insert(hop.to());
      }
    }
  }
  const std::string self(node_.key().public_key().bytes());
  for (const PeerConfig& p : peers_.List()) {
    if (involved.count(p.node_key()) && p.node_key() != self) {
      m.names.emplace_back(p.node_key(), p.name());
    }
  }
  // The rotations and revocations of every key involved, so the verifier judges each
  // signature by what this node knows of its key.
  involved.insert(self);
  for (const Signed& mark : m.marks) {
    RecordBody mb;
    if (mb.ParseFromString(mark.payload())) involved.insert(mb.author());
  }
  std::set<std::string> statements;
  for (const std::string& key : involved) {
    for (std::string& s : node_.keys().StatementsAbout(key)) statements.insert(std::move(s));
  }
  for (const std::string& sid : statements) {
    absl::StatusOr<VerifiedRecord> st = node_.Get(sid);
    if (!st.ok()) return st.status();
    m.key_statements.emplace_back().ParseFromString(st->signed_bytes);
  }
  AuditIds(audit, *id);
  ExportProofResponse out;
  out.set_bundle(ExportProofBundle(m, node_.key(), node_.Now()));
  return out;
}

absl::StatusOr<PublishResponse> NodeApi::RevokeKey(const RevokeKeyRequest& request,
                                                   AuditEntry& audit) {
  if (!request.key().empty() && request.key().size() != crypto::kPublicKeySize) {
    return absl::InvalidArgumentError(StrCat("key is ", request.key().size(),
                                             " bytes; give a 32-byte key, or none for the "
                                             "key this node last rotated away from"));
  }
  if (request.compromised_since() <= 0) {
    return absl::InvalidArgumentError(
        "compromised_since is required: from when the key may have been in other hands");
  }
  audit.set_params(StrCat("key=", crypto::HexEncode(request.key()),
                          " since=", FormatTime(request.compromised_since())));
  absl::StatusOr<VerifiedRecord> r =
      node_.RevokeKey(request.key(), request.compromised_since(), request.reason());
  if (!r.ok()) return r.status();
  AuditIds(audit, r->id);
  PublishResponse out;
  out.set_id(r->id);
  out.set_seq(r->seq);
  return out;
}

absl::StatusOr<ExplainPolicyResponse> NodeApi::ExplainPolicy(const ExplainPolicyRequest& request,
                                                             AuditEntry& audit) {
  absl::StatusOr<std::string> id = CheckId(request.record_id(), "record_id");
  if (!id.ok()) return id.status();
  audit.set_params(StrCat("record=", crypto::HexEncode(*id), " peer=", request.peer()));
  std::optional<PeerConfig> peer;
  for (PeerConfig& p : peers_.List()) {
    if (p.name() == request.peer()) peer = std::move(p);
  }
  if (!peer) {
    return absl::NotFoundError(
        StrCat("no peer named \"", request.peer(), "\"; 'threatmesh peers list' shows them"));
  }
  absl::StatusOr<StoredRecord> record = Load(*id);
  if (!record.ok()) return record.status();
  AuditIds(audit, *id);
  OutboundPolicy policy = *ParseOutboundPolicy(kDefaultPolicy, {});
  if (policies_ != nullptr) {
    std::shared_ptr<const PolicySet> set = policies_->Get();
    auto it = set->outbound.find(peer->policy());
    if (it == set->outbound.end()) {
      return absl::FailedPreconditionError(StrCat("peer ", peer->name(), " uses policy \"",
                                                  peer->policy(),
                                                  "\", which the configuration does not define"));
    }
    policy = it->second;
  }
  const CustodyChain chain =
      record->custody().chains_size() > 0 ? record->custody().chains(0) : CustodyChain();
  Decision d = ExplainOutbound(policy, record->body(), chain, node_.key().public_key().bytes(),
                               peer->node_key(), &node_.keys());
  ExplainPolicyResponse out;
  out.set_sent(d.allowed);
  out.set_rule(d.rule);
  return out;
}

ListPeersResponse NodeApi::ListPeers() const {
  ListPeersResponse out;
  for (PeerConfig& p : peers_.List()) *out.add_peers() = std::move(p);
  if (peer_view_) peer_view_(out);
  return out;
}

absl::Status NodeApi::RemovePeer(const RemovePeerRequest& request, AuditEntry& audit) {
  audit.set_params(StrCat("name=", request.name()));
  return peers_.Remove(request.name());
}

absl::StatusOr<ReadAuditResponse> NodeApi::ReadAudit(const ReadAuditRequest& request,
                                                     AuditEntry& audit) const {
  if (request.limit() > kMaxSearchLimit) {
    return absl::InvalidArgumentError(
        StrCat("limit ", request.limit(), " is above ", kMaxSearchLimit));
  }
  audit.set_params(StrCat("from_seq=", request.from_seq()));
  return audit_.Read(request.from_seq(), request.limit() == 0 ? kMaxSearchLimit : request.limit());
}

}  // namespace threatmesh
