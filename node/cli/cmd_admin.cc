// status, token, audit, export-proof, violations, policy: the node's state and its records of who
// did what.

#include "crypto/encoding.h"
#include "crypto/keys.h"
#include "crypto/str_cat.h"
#include "node/api/api.h"
#include "node/api/grpc/client.h"
#include "node/cli/commands.h"
#include "node/cli/node_access.h"
#include "node/core/record_builder.h"
#include "node/core/record_kind.h"
#include "node/core/record_view.h"
#include "node/peers.h"
#include "node/proof/audit_trail.h"
#include "node/proof/proof.h"
#include "node/tokens.h"

namespace threatmesh::cli {
namespace {

// ---- status ----------------------------------------------------------------------------

int RunStatus(const po::variables_map& vm, Io& io) {
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  absl::StatusOr<v1::StatusResponse> s = (*client)->Status();
  if (!s.ok()) return Fail(io, s.status());
  if (vm.count("json")) {
    io.out << "{\"public_key\":" << JsonString(s->public_key())
           << ",\"fingerprint\":" << JsonString(s->fingerprint()) << ",\"counts\":{";
    bool first = true;
    for (const v1::KindCount& c : s->counts()) {
      io.out << (first ? "" : ",") << JsonString(RecordKindName(c.kind())) << ":" << c.count();
      first = false;
    }
    io.out << "},\"store_bytes\":" << s->store_bytes()
           << ",\"uptime_seconds\":" << s->uptime_seconds()
           << ",\"version\":" << JsonString(s->version()) << ",\"next_seq\":" << s->next_seq()
           << ",\"audit_entries\":" << s->audit_entries() << "}\n";
    return kExitOk;
  }
  io.out << "public key    " << s->public_key() << "\n"
         << "fingerprint   " << s->fingerprint() << "\n";
  for (const v1::KindCount& c : s->counts()) {
    std::string name(RecordKindName(c.kind()));
    io.out << name << std::string(14 - name.size(), ' ') << c.count() << "\n";
  }
  io.out << "store         " << s->store_bytes() << " bytes\n"
         << "uptime        " << s->uptime_seconds() << " s\n"
         << "version       " << s->version() << "\n"
         << "audit entries " << s->audit_entries() << "\n";
  // What another node's operator runs to peer with this one.
  io.out << "peer line     "
         << PeerAddLine(ShortHostName(),
                        s->peer_address().empty() ? "HOST:PORT" : s->peer_address(),
                        s->public_key())
         << (s->peer_address().empty() ? "   (this node does not listen for peers)" : "") << "\n";
  return kExitOk;
}

// ---- token -----------------------------------------------------------------------------

int RunToken(const po::variables_map& vm, Io& io) {
  const std::string action = vm["action"].as<std::string>();
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  const bool json = vm.count("json") > 0;
  if (action == "create") {
    if (!vm.count("name") || !vm.count("role")) {
      return Fail(io, absl::InvalidArgumentError("token create needs --name and --role"));
    }
    absl::StatusOr<Role> role = ParseRole(vm["role"].as<std::string>());
    if (!role.ok()) return Fail(io, role.status());
    v1::CreateTokenRequest request;
    request.set_name(vm["name"].as<std::string>());
    request.set_role(*role);
    absl::StatusOr<v1::Audience> audience = ParseAudience(vm["audience"].as<std::string>());
    if (!audience.ok()) return Fail(io, audience.status());
    request.set_audience(*audience);
    absl::StatusOr<v1::CreateTokenResponse> r = (*client)->CreateToken(request);
    if (!r.ok()) return Fail(io, r.status());
    if (json) {
      io.out << "{\"name\":" << JsonString(r->info().name())
             << ",\"role\":" << JsonString(RoleName(r->info().role()))
             << ",\"audience\":" << JsonString(AudienceName(r->info().audience()))
             << ",\"token\":" << JsonString(r->token()) << "}\n";
    } else {
      io.out << r->token() << "\n"
             << "token \"" << r->info().name() << "\" (role " << RoleName(r->info().role())
             << ", audience " << AudienceName(r->info().audience())
             << "): shown once, the node keeps only its hash\n";
    }
    return kExitOk;
  }
  if (action == "list") {
    absl::StatusOr<v1::ListTokensResponse> r = (*client)->ListTokens();
    if (!r.ok()) return Fail(io, r.status());
    if (json) io.out << "{\"tokens\":[";
    bool first = true;
    for (const v1::TokenInfo& t : r->tokens()) {
      if (json) {
        io.out << (first ? "" : ",") << "{\"name\":" << JsonString(t.name())
               << ",\"role\":" << JsonString(RoleName(t.role()))
               << ",\"audience\":" << JsonString(AudienceName(t.audience()))
               << ",\"created_at\":" << JsonString(FormatTime(t.created_at())) << "}";
      } else {
        io.out << t.name() << "  " << RoleName(t.role()) << "  " << AudienceName(t.audience())
               << "  " << FormatTime(t.created_at()) << "\n";
      }
      first = false;
    }
    if (json) io.out << "]}\n";
    return kExitOk;
  }
  if (action == "revoke") {
    if (!vm.count("name")) return Fail(io, absl::InvalidArgumentError("token revoke needs --name"));
    v1::RevokeTokenRequest request;
    request.set_name(vm["name"].as<std::string>());
    if (absl::Status s = (*client)->RevokeToken(request); !s.ok()) return Fail(io, s);
    io.out << (json ? "{\"revoked\":" + JsonString(request.name()) + "}"
                    : "revoked " + request.name())
           << "\n";
    return kExitOk;
  }
  return Fail(io, absl::InvalidArgumentError(
                      StrCat("unknown token action \"", action, "\"; use create, list or revoke")));
}

// ---- audit -----------------------------------------------------------------------------

// The whole audit trail, page by page.
absl::StatusOr<v1::ReadAuditResponse> ReadWholeAudit(NodeClient& client) {
  v1::ReadAuditResponse all;
  v1::ReadAuditRequest request;
  request.set_from_seq(1);
  for (;;) {
    absl::StatusOr<v1::ReadAuditResponse> page = client.ReadAudit(request);
    if (!page.ok()) return page.status();
    for (auto& e : *page->mutable_entries()) *all.add_entries() = std::move(e);
    *all.mutable_checkpoints() = std::move(*page->mutable_checkpoints());
    all.set_node_key(page->node_key());
    // Each read is itself audited, so the trail grows as it is read: stop at a short page.
    if (page->entries_size() < static_cast<int>(kMaxSearchLimit)) break;
    request.set_from_seq(page->next_seq());
  }
  return all;
}

int AuditExport(const po::variables_map& vm, const v1::ReadAuditResponse& trail, Io& io) {
  std::vector<v1::StoredAuditEntry> entries(trail.entries().begin(), trail.entries().end());
  std::vector<v1::Signed> checkpoints(trail.checkpoints().begin(), trail.checkpoints().end());
  const std::string out = OutPath(vm);
  absl::Status written =
      WriteOutput(out, ExportAuditTrail(trail.node_key(), entries, checkpoints), io);
  if (!written.ok()) return Fail(io, written);
  if (out.empty()) return kExitOk;
  io.err << "wrote " << entries.size() << " entries and " << checkpoints.size()
         << " checkpoints to " << out << "; check it anywhere with: threatmesh verify " << out
         << "\n";
  return kExitOk;
}

int AuditVerify(const po::variables_map& vm, const v1::ReadAuditResponse& trail, bool json,
                Io& io) {
  absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromBytes(trail.node_key());
  if (!key.ok()) return Fail(io, key.status());
  if (vm.count("expect-key")) {
    absl::StatusOr<crypto::PublicKey> expected =
        crypto::PublicKey::FromText(vm["expect-key"].as<std::string>());
    if (!expected.ok()) return Fail(io, expected.status());
    if (!(*expected == *key)) {
      return Fail(io, absl::DataLossError("the node's key is not the --expect-key key"));
    }
  }
  std::vector<v1::StoredAuditEntry> entries(trail.entries().begin(), trail.entries().end());
  std::vector<v1::Signed> checkpoints(trail.checkpoints().begin(), trail.checkpoints().end());
  uint64_t unsealed = 0;
  absl::Status ok = VerifyAuditTrail(entries, checkpoints, *key, &unsealed);
  if (!ok.ok()) return Fail(io, ok);
  if (json) {
    io.out << "{\"ok\":true,\"entries\":" << entries.size()
           << ",\"checkpoints\":" << checkpoints.size() << ",\"unsealed\":" << unsealed << "}\n";
  } else {
    io.out << "audit trail ok: " << entries.size() << " entries, " << checkpoints.size()
           << " signed checkpoints by " << key->Fingerprint() << "; " << unsealed
           << " newest entries not yet sealed by a checkpoint\n";
  }
  return kExitOk;
}

int AuditShow(const po::variables_map& vm, const v1::ReadAuditResponse& trail, bool json, Io& io) {
  int64_t since = 0;
  if (vm.count("since")) {
    absl::StatusOr<int64_t> t = ParseTime(vm["since"].as<std::string>());
    if (!t.ok()) return Fail(io, t.status());
    since = *t;
  }
  const std::string who = vm.count("who") ? vm["who"].as<std::string>() : "";
  if (json) io.out << "{\"entries\":[";
  bool first = true;
  for (const v1::StoredAuditEntry& stored : trail.entries()) {
    v1::AuditEntry e;
    if (!e.ParseFromString(stored.entry())) {
      return Fail(io,
                  absl::DataLossError(StrCat("audit entry ", stored.seq(),
                                             " does not parse; run 'threatmesh audit verify'")));
    }
    if (e.at() < since || (!who.empty() && e.who() != who)) continue;
    std::string ids;
    for (const std::string& id : e.record_ids()) {
      ids += (ids.empty() ? "" : ",") + crypto::HexEncode(id).substr(0, 16);
    }
    if (json) {
      io.out << (first ? "" : ",") << "{\"seq\":" << e.seq()
             << ",\"at\":" << JsonString(FormatTime(e.at())) << ",\"who\":" << JsonString(e.who())
             << ",\"role\":" << JsonString(RoleName(e.role()))
             << ",\"method\":" << JsonString(e.method()) << ",\"params\":" << JsonString(e.params())
             << ",\"records\":" << e.record_ids_size() + e.ids_omitted() << ",\"code\":" << e.code()
             << "}";
    } else {
      io.out << e.seq() << "  " << FormatTime(e.at()) << "  " << (e.who().empty() ? "-" : e.who())
             << "(" << RoleName(e.role()) << ")  " << e.method() << "  " << e.params()
             << "  code=" << e.code() << (ids.empty() ? "" : "  ids=" + ids) << "\n";
    }
    first = false;
  }
  if (json) io.out << "]}\n";
  return kExitOk;
}

int RunAudit(const po::variables_map& vm, Io& io) {
  const std::string action = vm["action"].as<std::string>();
  if (action != "show" && action != "verify" && action != "export") {
    return Fail(io, absl::InvalidArgumentError(StrCat("unknown audit action \"", action,
                                                      "\"; use show, verify or export")));
  }
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  absl::StatusOr<v1::ReadAuditResponse> trail = ReadWholeAudit(**client);
  if (!trail.ok()) return Fail(io, trail.status());
  const bool json = vm.count("json") > 0;
  if (action == "export") return AuditExport(vm, *trail, io);
  if (action == "verify") return AuditVerify(vm, *trail, json, io);
  return AuditShow(vm, *trail, json, io);
}

// ---- violations ------------------------------------------------------------------------

int RunExportProof(const po::variables_map& vm, Io& io) {
  absl::StatusOr<std::string> id = ParseId(vm["id"].as<std::string>());
  if (!id.ok()) return Fail(io, id.status());
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  v1::ExportProofRequest request;
  request.set_record_id(*id);
  request.set_violation(vm["violation"].as<bool>());
  absl::StatusOr<v1::ExportProofResponse> r = (*client)->ExportProof(request);
  if (!r.ok()) return Fail(io, r.status());
  const std::string out = OutPath(vm);
  if (absl::Status written = WriteOutput(out, r->bundle(), io); !written.ok()) {
    return Fail(io, written);
  }
  if (out.empty()) return kExitOk;
  io.err << "wrote " << out << "; check it anywhere with: threatmesh verify " << out << "\n";
  return kExitOk;
}

int RunViolations(const po::variables_map& vm, Io& io) {
  v1::ListViolationsRequest request;
  request.set_limit(vm["limit"].as<uint32_t>());
  if (vm.count("page-token")) {
    std::optional<std::string> token = crypto::HexDecode(vm["page-token"].as<std::string>());
    if (!token) {
      return Fail(io, absl::InvalidArgumentError("--page-token: expected the hex printed before"));
    }
    request.set_page_token(*token);
  }
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  absl::StatusOr<v1::ListViolationsResponse> r = (*client)->ListViolations(request);
  if (!r.ok()) return Fail(io, r.status());
  const bool json = vm.count("json") > 0;
  auto fingerprint = [](const std::string& key) { return crypto::FingerprintOf(key); };
  if (json) io.out << "{\"violations\":[";
  bool first = true;
  for (const v1::Violation& v : r->violations()) {
    v1::RecordBody body;
    body.ParseFromString(v.record().payload());
    if (json) {
      io.out << (first ? "" : ",") << "{\"id\":" << JsonString(crypto::HexEncode(v.record_id()))
             << ",\"author\":" << JsonString(fingerprint(body.author()))
             << ",\"tlp\":" << JsonString(TlpName(body.tlp()))
             << ",\"hops\":" << v.chain().hops_size() << ",\"offender_hop\":" << v.offender_hop()
             << ",\"offender\":" << JsonString(fingerprint(v.offender_key()))
             << ",\"rule\":" << JsonString(v.rule()) << "}";
    } else {
      io.out << crypto::HexEncode(v.record_id()) << "  " << TlpName(body.tlp()) << "  by "
             << fingerprint(body.author()) << "\n    hop " << v.offender_hop() << " signed by "
             << fingerprint(v.offender_key()) << " broke it: " << v.rule() << "\n";
    }
    first = false;
  }
  if (json) {
    io.out << "],\"next_page_token\":" << JsonString(crypto::HexEncode(r->next_page_token()))
           << "}\n";
  } else {
    if (r->violations().empty()) io.out << "no violations\n";
    if (!r->next_page_token().empty()) {
      io.out << "more: --page-token " << crypto::HexEncode(r->next_page_token()) << "\n";
    }
  }
  return kExitOk;
}

// ---- policy ----------------------------------------------------------------------------

int RunPolicy(const po::variables_map& vm, Io& io) {
  if (vm["action"].as<std::string>() != "explain") {
    return Fail(io,
                absl::InvalidArgumentError("unknown policy action; use: policy explain ID PEER"));
  }
  if (!vm.count("id") || !vm.count("peer")) {
    return Fail(io, absl::InvalidArgumentError("policy explain needs a record id and a peer name"));
  }
  absl::StatusOr<std::string> id = ParseId(vm["id"].as<std::string>());
  if (!id.ok()) return Fail(io, id.status());
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  v1::ExplainPolicyRequest request;
  request.set_record_id(*id);
  request.set_peer(vm["peer"].as<std::string>());
  absl::StatusOr<v1::ExplainPolicyResponse> r = (*client)->ExplainPolicy(request);
  if (!r.ok()) return Fail(io, r.status());
  if (vm.count("json")) {
    io.out << "{\"sent\":" << (r->sent() ? "true" : "false")
           << ",\"rule\":" << JsonString(r->rule()) << "}\n";
  } else {
    io.out << (r->sent() ? "sent to " : "not sent to ") << request.peer() << ": " << r->rule()
           << "\n";
  }
  return kExitOk;
}

}  // namespace

Command StatusCommand() {
  return {"status", "the node's key, counts, size and uptime", "threatmesh status --json", nullptr,
          RunStatus};
}

Command TokenCommand() {
  return {"token",
          "manage API tokens: create, list, revoke (admin)",
          "threatmesh token create --name soc-reader --role read",
          [](po::options_description& d) {
            d.add_options()("action", po::value<std::string>()->required(),
                            "create, list or revoke")("name", po::value<std::string>(),
                                                      "token name (create, revoke)")(
                "role", po::value<std::string>(), "read, publish or admin (create)")(
                "audience", po::value<std::string>()->default_value("member"),
                "member (the organization; the default) or client (its clients too: such a token "
                "never sees AMBER+STRICT or RED records, in any answer) (create)");
          },
          RunToken,
          {"action"}};
}

Command AuditCommand() {
  return {"audit",
          "show, verify or export the node's audit trail (admin)",
          "threatmesh audit show --since 2026-11-01 --who soc-reader | threatmesh audit verify | "
          "threatmesh audit export --out trail.json",
          [](po::options_description& d) {
            d.add_options()("action", po::value<std::string>()->required(), "show or verify")(
                "since", po::value<std::string>(), "show: entries at or after this time")(
                "who", po::value<std::string>(), "show: entries of this token name")(
                "expect-key", po::value<std::string>(),
                "verify: the node's public key as you know it (tmpk...)")(
                "out", po::value<std::string>(), "export: write the trail here (default: stdout)");
          },
          RunAudit,
          {"action"}};
}

Command ExportProofCommand() {
  return {"export-proof",
          "write a signed proof bundle of a record, or of its kept violations, for auditors",
          "threatmesh export-proof 4f1c...e9 --out proof.json",
          [](po::options_description& d) {
            d.add_options()("id", po::value<std::string>()->required(), "record id (64 hex)")(
                "violation", po::bool_switch(), "the violations kept for the record")(
                "out", po::value<std::string>(),
                "write the bundle here (default: standard output)");
          },
          RunExportProof,
          {"id"}};
}

Command ViolationsCommand() {
  return {"violations", "list copies received that broke their author's handling (admin)",
          "threatmesh violations --limit 20",
          [](po::options_description& d) {
            d.add_options()("limit", po::value<uint32_t>()->default_value(100),
                            "at most this many")("page-token", po::value<std::string>(),
                                                 "continue from a previous page (hex)");
          },
          RunViolations};
}

Command PolicyCommand() {
  return {"policy",
          "explain whether a record goes to a peer, and why (admin)",
          "threatmesh policy explain 4f1c...e9 isac-hub",
          [](po::options_description& d) {
            d.add_options()("action", po::value<std::string>()->required(), "explain")(
                "id", po::value<std::string>(), "record id (64 hex)")(
                "peer", po::value<std::string>(), "peer name");
          },
          RunPolicy,
          {"action", "id", "peer"}};
}

}  // namespace threatmesh::cli
