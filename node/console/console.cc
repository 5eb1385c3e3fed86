#include "node/console/console.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/keys.h"
#include "crypto/str_cat.h"
#include "node/api/search_options.h"
#include "node/console/assets.h"
#include "node/core/record_view.h"
#include "node/tokens.h"

namespace threatmesh::console {
namespace {

namespace v1 = threatmesh::v1;
using Json = nlohmann::json;

// What every console answer carries: no caching of data, no sniffing, no framing, no referrer,
// and scripts, styles and connections only from the node itself (the pages build their
// markup from text, so no inline script or style is needed).
void AddSecurityHeaders(http::Response& r) {
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; script-src 'self'; style-src 'self'; "
                         "img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; "
                         "frame-ancestors 'none'; base-uri 'none'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
}

http::Response JsonAnswer(int status, const Json& body) {
  http::Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

http::Response Error(int status, std::string_view why) {
  return JsonAnswer(status, Json{{"error", std::string(why)}});
}

// The HTTP status for an API error.
int HttpStatusOf(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

http::Response Error(const absl::Status& s) {
  return Error(HttpStatusOf(s), std::string(s.message()));
}

std::string_view ContentType(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

// A map of counters as a JSON object (empty: {}).
template <typename Map>
Json Counts(const Map& counts) {
  Json out = Json::object();
  for (const auto& [k, n] : counts) out[k] = n;
  return out;
}

std::string Fingerprint(std::string_view key) { return crypto::FingerprintOf(key); }

// A stored record as the pages show it: RecordJson's fields and what withdrew it.
Json RecordAnswer(const v1::StoredRecord& r) {
  Json j = Json::parse(RecordJson(ToVerified(r)), nullptr, false);
  j.erase("signed_hex");
  j["retracted_by"] = crypto::HexEncode(r.retracted_by());
  j["superseded_by"] = crypto::HexEncode(r.superseded_by());
  j["distrusted_by"] = crypto::HexEncode(r.distrusted_by());
  return j;
}

// A 32-byte id from 64 hex characters, or InvalidArgument.
absl::StatusOr<std::string> IdParam(const std::vector<std::pair<std::string, std::string>>& query) {
  for (const auto& [k, v] : query) {
    if (k != "id") continue;
    std::optional<std::string> id = crypto::HexDecode(v);
    if (!id || id->size() != 32) {
      return absl::InvalidArgumentError("id: expected a record id, 64 hex characters");
    }
    return *id;
  }
  return absl::InvalidArgumentError("give the record's id: ?id=64 hex characters");
}

std::string Param(const std::vector<std::pair<std::string, std::string>>& query,
                  std::string_view name) {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return "";
}

}  // namespace

// One /console/api/ request as it is answered.
struct ConsoleService::Call {
  const http::Request& request;
  std::vector<std::pair<std::string, std::string>> query;
  Caller caller;
  v1::AuditEntry audit;
};

bool ConsoleService::Owns(std::string_view path) {
  return path == "/console" || path.starts_with(kPrefix);
}

http::Response ConsoleService::Handle(const http::Request& request) {
  const std::string_view target = request.target;
  const std::string_view path = target.substr(0, target.find('?'));
  http::Response response;
  if (request.method != "GET" && request.method != "HEAD") {
    response = Error(405, "the console only reads: GET or HEAD");
    response.headers.emplace_back("Allow", "GET, HEAD");
  } else if (path == "/console") {
    response.status = 308;
    response.headers.emplace_back("Location", std::string(kPrefix));
  } else if (path.starts_with("/console/api/")) {
    response = Api(request, path.substr(13));
  } else {
    const Asset* asset = FindAsset(path.substr(kPrefix.size()));
    if (asset == nullptr) {
      response = Error(404, StrCat("no console page ", path.substr(0, 200)));
    } else {
      response.body = std::string(asset->bytes);
      response.headers.emplace_back("Content-Type", std::string(ContentType(asset->name)));
      response.headers.emplace_back("Cache-Control", "no-cache");
    }
  }
  AddSecurityHeaders(response);
  return response;
}

http::Response ConsoleService::Api(const http::Request& request, std::string_view what) {
  const auto started = std::chrono::steady_clock::now();
  const std::size_t q = request.target.find('?');
  Call call{request,
            q == std::string::npos
                ? std::vector<std::pair<std::string, std::string>>()
                : http::QueryPairs(std::string_view(request.target).substr(q + 1)),
            {},
            {}};
  call.audit.set_method(StrCat("CONSOLE ", request.method, " /console/api/", what.substr(0, 64)));
  // The token comes only as Bearer: the pages never put it anywhere else. No
  // WWW-Authenticate on a 401, so that the browser shows the login page, not its own dialog.
  absl::StatusOr<Caller> caller = api_.Authenticate(request.Header("authorization"));
  http::Response response;
  if (!caller.ok()) {
    response = Error(401, StrCat(caller.status().message(),
                                 "; log in with a token of this node (threatmesh token create)"));
  } else {
    call.caller = *caller;
    call.audit.set_who(caller->name);
    call.audit.set_role(caller->role);
    response = Route(call, what);
  }
  const std::string query = q == std::string::npos ? "" : request.target.substr(q + 1, 256);
  if (call.audit.params().empty()) call.audit.set_params(query);
  call.audit.set_code(http::AuditCodeOf(response.status));
  if (absl::StatusOr<uint64_t> appended = api_.audit_log().Append(call.audit); !appended.ok()) {
    return Error(503, StrCat("the audit trail cannot be written (", appended.status().message(),
                             "); free disk space on the node and retry"));
  }
  api_.taxii_metrics().Record(
      StrCat(request.method.substr(0, 16), " console"), std::to_string(response.status),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return response;
}

http::Response ConsoleService::Route(Call& call, std::string_view what) {
  struct Page {
    std::string_view name;
    Role need;
    http::Response (ConsoleService::*answer)(Call&);
  };
  static constexpr Page kPages[] = {
      {"session", v1::ROLE_READ, &ConsoleService::Session},
      {"search", v1::ROLE_READ, &ConsoleService::Search},
      {"record", v1::ROLE_READ, &ConsoleService::Record},
      {"proof", v1::ROLE_READ, &ConsoleService::Proof},
      {"violations", v1::ROLE_ADMIN, &ConsoleService::Violations},
      {"peers", v1::ROLE_ADMIN, &ConsoleService::Peers},
      {"audit", v1::ROLE_ADMIN, &ConsoleService::Audit},
  };
  for (const Page& page : kPages) {
    if (page.name != what) continue;
    if (absl::Status s = NodeApi::Require(call.caller, page.need, StrCat("the console's ", what));
        !s.ok()) {
      return Error(s);
    }
    return (this->*page.answer)(call);
  }
  return Error(404, StrCat("no console request ", what.substr(0, 64)));
}

http::Response ConsoleService::Session(Call& call) {
  const v1::StatusResponse status = api_.Status();
  return JsonAnswer(200, Json{{"node",
                               {{"public_key", status.public_key()},
                                {"fingerprint", status.fingerprint()},
                                {"version", status.version()}}},
                              {"caller",
                               {{"name", call.caller.name},
                                {"role", std::string(RoleName(call.caller.role))},
                                {"max_tlp", v1::Tlp_Name(call.caller.max_tlp())}}}});
}

// The options of `threatmesh search`, given as query parameters without their dashes
// (?domain-suffix=example.com&with-tag=apt&limit=20).
http::Response ConsoleService::Search(Call& call) {
  std::vector<std::string> args;
  for (const auto& [k, v] : call.query) {
    args.push_back(StrCat("--", k));
    args.push_back(v);
  }
  absl::StatusOr<v1::SearchRequest> request = SearchRequestFromArgs(args);
  if (!request.ok()) return Error(request.status());
  *request->mutable_filter() = call.caller.Clamp(request->filter());
  absl::StatusOr<v1::SearchResponse> page = api_.Search(*request, call.audit);
  if (!page.ok()) return Error(page.status());
  Json records = Json::array();
  for (const v1::StoredRecord& r : page->records()) records.push_back(RecordAnswer(r));
  return JsonAnswer(
      200, Json{{"records", std::move(records)}, {"next_page_token", page->next_page_token()}});
}

// A record, its withdrawals and its proof bundle (the custody the page verifies and draws).
http::Response ConsoleService::Record(Call& call) {
  absl::StatusOr<std::string> id = IdParam(call.query);
  if (!id.ok()) return Error(id.status());
  v1::GetRequest get;
  get.set_id(*id);
  absl::StatusOr<v1::GetResponse> got = api_.Get(get, call.audit, call.caller.max_tlp());
  if (!got.ok()) return Error(got.status());
  v1::ExportProofRequest proof;
  proof.set_record_id(*id);
  absl::StatusOr<v1::ExportProofResponse> bundle =
      api_.ExportProof(proof, call.audit, call.caller.max_tlp());
  if (!bundle.ok()) return Error(bundle.status());
  Json out = RecordAnswer(got->record());
  Json answer{{"record", out},
              {"retracted_by", out["retracted_by"]},
              {"superseded_by", out["superseded_by"]},
              {"distrusted_by", out["distrusted_by"]},
              {"bundle", Json::parse(bundle->bundle(), nullptr, false)}};
  return JsonAnswer(200, answer);
}

// A proof bundle as `threatmesh export-proof` writes it (?violation=1: the evidence kept
// against the relays, for admin tokens only).
http::Response ConsoleService::Proof(Call& call) {
  absl::StatusOr<std::string> id = IdParam(call.query);
  if (!id.ok()) return Error(id.status());
  v1::ExportProofRequest request;
  request.set_record_id(*id);
  request.set_violation(Param(call.query, "violation") == "1");
  if (request.violation()) {
    if (absl::Status s =
            NodeApi::Require(call.caller, v1::ROLE_ADMIN, "the console's violation evidence");
        !s.ok()) {
      return Error(s);
    }
  }
  absl::StatusOr<v1::ExportProofResponse> bundle =
      api_.ExportProof(request, call.audit, call.caller.max_tlp());
  if (!bundle.ok()) return Error(bundle.status());
  http::Response r;
  r.body = bundle->bundle();
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

http::Response ConsoleService::Violations(Call& call) {
  const v1::ListPeersResponse peers = api_.ListPeers();
  auto name_of = [&](const std::string& key) {
    for (const v1::PeerConfig& p : peers.peers()) {
      if (p.node_key() == key) return p.name();
    }
    return std::string();
  };
  v1::ListViolationsRequest request;
  request.set_limit(static_cast<uint32_t>(
      std::clamp<long>(std::strtol(Param(call.query, "limit").c_str(), nullptr, 10), 0, 1000)));
  std::optional<std::string> token = crypto::HexDecode(Param(call.query, "page_token"));
  if (!token) return Error(400, "page_token: expected the hex of a previous answer");
  request.set_page_token(*token);
  absl::StatusOr<v1::ListViolationsResponse> list = api_.ListViolations(request, call.audit);
  if (!list.ok()) return Error(list.status());
  Json out = Json::array();
  for (const v1::Violation& v : list->violations()) {
    out.push_back({{"record_id", crypto::HexEncode(v.record_id())},
                   {"offender_key", crypto::HexEncode(v.offender_key())},
                   {"offender_fingerprint", Fingerprint(v.offender_key())},
                   {"offender_name", name_of(v.offender_key())},
                   {"offender_hop", v.offender_hop()},
                   {"rule", v.rule()}});
  }
  return JsonAnswer(200, Json{{"violations", std::move(out)},
                              {"next_page_token", crypto::HexEncode(list->next_page_token())}});
}

http::Response ConsoleService::Peers(Call& call) {
  const v1::ListPeersResponse list = api_.ListPeers();
  const v1::StatusResponse status = api_.Status();
  Json peers = Json::array();
  for (const v1::PeerConfig& p : list.peers()) {
    Json j{{"name", p.name()},
           {"address", p.address()},
           {"fingerprint", Fingerprint(p.node_key())},
           {"policy", p.policy()},
           {"connected", false},
           {"sent", 0},
           {"received", 0},
           {"duplicates", 0},
           {"violations", 0},
           {"lag", 0},
           {"refused", Json::object()},
           {"last_error", ""},
           {"connected_since", 0}};
    for (const v1::PeerState& s : list.states()) {
      if (s.name() != p.name()) continue;
      j.update(Json{{"connected", s.connected()},
                    {"sent", s.sent()},
                    {"received", s.received()},
                    {"duplicates", s.duplicates()},
                    {"violations", s.violations()},
                    {"lag", s.lag()},
                    {"refused", Counts(s.refused())},
                    {"last_error", s.last_error()},
                    {"connected_since", s.connected_since()}});
    }
    peers.push_back(std::move(j));
  }
  call.audit.set_params(StrCat("peers=", list.peers_size()));
  return JsonAnswer(
      200,
      Json{{"self", {{"fingerprint", status.fingerprint()}, {"public_key", status.public_key()}}},
           {"peers", std::move(peers)},
           {"handshakes_refused", Counts(list.handshakes_refused())}});
}

namespace {

// The audit page's filters: the token's name, a part of the method, a record id, the code.
struct AuditFilter {
  std::string who, method, record, code;

  bool Matches(const v1::AuditEntry& e) const {
    if (!who.empty() && e.who() != who) return false;
    if (!method.empty() && e.method().find(method) == std::string::npos) return false;
    if (!code.empty() && std::to_string(e.code()) != code) return false;
    if (record.empty()) return true;
    return std::any_of(e.record_ids().begin(), e.record_ids().end(),
                       [&](const std::string& id) { return id == record; });
  }
};

Json AuditJson(const v1::AuditEntry& e) {
  Json ids = Json::array();
  for (const std::string& id : e.record_ids()) ids.push_back(crypto::HexEncode(id));
  return {{"seq", e.seq()},       {"at", e.at()},
          {"who", e.who()},       {"role", std::string(RoleName(e.role()))},
          {"method", e.method()}, {"params", e.params()},
          {"record_ids", ids},    {"ids_omitted", e.ids_omitted()},
          {"code", e.code()}};
}

}  // namespace

// The audit trail newest first, `limit` entries (at most 500) matching the filters before
// entry `before`; at most kScan entries are read per request, and `next_before` says where
// to go on.
http::Response ConsoleService::Audit(Call& call) {
  constexpr uint64_t kScan = 20000, kChunk = 500;
  AuditFilter filter{Param(call.query, "who"), Param(call.query, "method"), "",
                     Param(call.query, "code")};
  if (const std::string record = Param(call.query, "record"); !record.empty()) {
    std::optional<std::string> id = crypto::HexDecode(record);
    if (!id || id->size() != 32) return Error(400, "record: expected a record id, 64 hex");
    filter.record = *id;
  }
  const uint64_t total = api_.audit_log().Count();
  uint64_t before = total + 1;
  if (const std::string b = Param(call.query, "before"); !b.empty()) {
    before = std::min<uint64_t>(before, std::strtoull(b.c_str(), nullptr, 10));
  }
  const std::size_t limit = static_cast<std::size_t>(
      std::clamp<long>(std::strtol(Param(call.query, "limit").c_str(), nullptr, 10), 0, 500));
  const std::size_t want = limit == 0 ? 100 : limit;
  Json entries = Json::array();
  uint64_t scanned = 0;
  while (before > 1 && entries.size() < want && scanned < kScan) {
    const uint64_t from = before > kChunk ? before - kChunk : 1;
    absl::StatusOr<v1::ReadAuditResponse> page = api_.audit_log().Read(from, before - from);
    if (!page.ok()) return Error(page.status());
    scanned += before - from;
    for (auto it = page->entries().rbegin(); it != page->entries().rend(); ++it) {
      v1::AuditEntry e;
      if (!e.ParseFromString(it->entry()) || !filter.Matches(e)) continue;
      entries.push_back(AuditJson(e));
      if (entries.size() == want) {
        before = e.seq();  // the next page starts below this entry
        break;
      }
    }
    if (entries.size() < want) before = from;
  }
  call.audit.set_params(StrCat("before=", before, " entries=", entries.size()));
  return JsonAnswer(200, Json{{"entries", std::move(entries)},
                              {"total", total},
                              {"sealed_through", api_.audit_log().Sealed().sealed},
                              {"next_before", before > 1 ? before : 0}});
}

}  // namespace threatmesh::console
