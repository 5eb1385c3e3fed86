#include "node/serve/metrics_page.h"

#include <filesystem>

#include "crypto/str_cat.h"
#include "node/config.h"
#include "node/metrics/metrics.h"
#include "storage/index_keys.h"

namespace threatmesh {
namespace {

using storage::RecordKind;

double Ms(int64_t ms) { return static_cast<double>(ms) / 1000.0; }
double D(uint64_t v) { return static_cast<double>(v); }

// The node's process and the file system of its data directory.
void WriteNode(MetricsText& out, const MetricsSources& s) {
  out.Family("threatmesh_start_time_seconds", "gauge", "When the node started (Unix time).");
  out.Sample("threatmesh_start_time_seconds", {}, Ms(s.api.started_ms()));
  std::error_code ec;
  const std::filesystem::space_info space = std::filesystem::space(s.data_dir, ec);
  if (ec) return;
  out.Family("threatmesh_data_filesystem_avail_bytes", "gauge",
             "Bytes free for the node on the file system of its data directory.");
  out.Sample("threatmesh_data_filesystem_avail_bytes", {}, D(space.available));
  out.Family("threatmesh_data_filesystem_size_bytes", "gauge",
             "Size of the file system of the node's data directory.");
  out.Sample("threatmesh_data_filesystem_size_bytes", {}, D(space.capacity));
}

void WriteStore(MetricsText& out, storage::Store& store) {
  out.Family("threatmesh_records", "gauge", "Records stored, by kind and TLP label.");
  const std::pair<RecordKind, const char*> kinds[] = {
      {RecordKind::kIndicator, "indicator"},      {RecordKind::kLogExcerpt, "log_excerpt"},
      {RecordKind::kSighting, "sighting"},        {RecordKind::kRetraction, "retraction"},
      {RecordKind::kKeyRotation, "key_rotation"}, {RecordKind::kKeyRevocation, "key_revocation"}};
  const std::pair<v1::Tlp, const char*> tlps[] = {{v1::TLP_CLEAR, "clear"},
                                                  {v1::TLP_GREEN, "green"},
                                                  {v1::TLP_AMBER, "amber"},
                                                  {v1::TLP_AMBER_STRICT, "amber_strict"},
                                                  {v1::TLP_RED, "red"}};
  for (const auto& [kind, name] : kinds) {
    for (const auto& [tlp, label] : tlps) {
      out.Sample("threatmesh_records", {{"kind", name}, {"tlp", label}},
                 D(store.CountOf(kind, tlp)));
    }
  }
  out.Family("threatmesh_log_entries", "gauge",
             "Entries in the node's change feed (records stored, in the order they came).");
  out.Sample("threatmesh_log_entries", {}, D(store.NextSeq() - 1));
  out.Family("threatmesh_store_size_bytes", "gauge", "Bytes the store takes on disk.");
  out.Sample("threatmesh_store_size_bytes", {}, D(store.DiskSize()));
  const storage::Store::WriterStats writer = store.Writer();
  out.Family("threatmesh_store_write_group_size", "histogram",
             "Records per group the store's writer committed with one sync.");
  out.Histogram("threatmesh_store_write_group_size", {}, writer.group_size);
  out.Family("threatmesh_store_commit_duration_seconds", "histogram",
             "Time of each group's write and sync.");
  out.Histogram("threatmesh_store_commit_duration_seconds", {}, writer.commit_seconds);
}

void WriteAudit(MetricsText& out, const AuditLog& audit, std::chrono::seconds interval) {
  const AuditLog::Sealing s = audit.Sealed();
  out.Family("threatmesh_audit_entries", "gauge", "Entries in the audit trail.");
  out.Sample("threatmesh_audit_entries", {}, D(s.entries));
  out.Family("threatmesh_audit_unsealed_entries", "gauge",
             "Audit entries not yet covered by a signed checkpoint.");
  out.Sample("threatmesh_audit_unsealed_entries", {}, D(s.entries - s.sealed));
  out.Family("threatmesh_audit_checkpoints_total", "counter",
             "Audit checkpoints signed and stored since the node started.");
  out.Sample("threatmesh_audit_checkpoints_total", {}, D(s.checkpoints));
  out.Family("threatmesh_audit_last_sealed_timestamp_seconds", "gauge",
             "When the audit trail's head was last known sealed by a checkpoint (Unix time; 0: "
             "not since the node started).");
  out.Sample("threatmesh_audit_last_sealed_timestamp_seconds", {}, Ms(s.sealed_at_ms));
  out.Family("threatmesh_audit_checkpoint_interval_seconds", "gauge",
             "How often the node seals its audit trail (audit-checkpoint-seconds).");
  out.Sample("threatmesh_audit_checkpoint_interval_seconds", {}, D(interval.count()));
}

// One sample per peer of a family; `value` reads it from the peer's counters.
template <typename F>
void PerPeer(MetricsText& out, const char* name, const char* type, const char* help,
             const std::map<std::string, PeerCounters>& peers, F value) {
  out.Family(name, type, help);
  for (const auto& [peer, c] : peers) out.Sample(name, {{"peer", peer}}, value(c));
}

void WritePeers(MetricsText& out, const MetricsSources& s) {
  std::map<std::string, PeerCounters> peers;
  for (const v1::PeerConfig& p : s.peers.List()) peers[p.name()];  // known, maybe never seen
  std::map<std::string, uint64_t> handshakes;
  if (s.exchange != nullptr) {
    for (auto& [name, c] : s.exchange->Counters()) peers[name] = c;
    handshakes = s.exchange->RefusedHandshakes();
  }
  const uint64_t head = s.node.store().NextSeq() - 1;
  PerPeer(out, "threatmesh_peer_up", "gauge", "1 while a stream with the peer is up.", peers,
          [](const PeerCounters& c) { return c.connected ? 1.0 : 0.0; });
  PerPeer(out, "threatmesh_peer_records_sent_total", "counter", "Records sent to the peer.", peers,
          [](const PeerCounters& c) { return D(c.sent); });
  PerPeer(out, "threatmesh_peer_records_received_total", "counter",
          "Records taken from the peer and stored.", peers,
          [](const PeerCounters& c) { return D(c.received); });
  PerPeer(out, "threatmesh_peer_records_duplicate_total", "counter",
          "Records the peer sent that were held already (dropped before any signature check).",
          peers, [](const PeerCounters& c) { return D(c.duplicates); });
  PerPeer(out, "threatmesh_peer_violations_total", "counter",
          "Copies from the peer whose custody chain broke the record's handling (kept as "
          "evidence).",
          peers, [](const PeerCounters& c) { return D(c.violations); });
  PerPeer(out, "threatmesh_peer_lag_records", "gauge",
          "Entries of this node's change feed the peer has not acknowledged.", peers,
          [head](const PeerCounters& c) { return D(head > c.acked ? head - c.acked : 0); });
  PerPeer(out, "threatmesh_peer_last_record_timestamp_seconds", "gauge",
          "When a record from the peer was last stored (Unix time; 0: not since the node "
          "started).",
          peers, [](const PeerCounters& c) { return Ms(c.last_received_ms); });
  PerPeer(out, "threatmesh_peer_reconnects_total", "counter",
          "Streams with the peer that came up after the first, since the node started.", peers,
          [](const PeerCounters& c) { return D(c.connects > 0 ? c.connects - 1 : 0); });
  PerPeer(out, "threatmesh_peer_throttled_seconds_total", "counter",
          "Time spent holding the peer to its inbound rate limit.", peers,
          [](const PeerCounters& c) { return Ms(static_cast<int64_t>(c.throttled_ms)); });
  out.Family("threatmesh_peer_records_refused_total", "counter",
             "Records from the peer refused, by reason.");
  for (const auto& [peer, c] : peers) {
    for (const auto& [reason, n] : c.refused) {
      out.Sample("threatmesh_peer_records_refused_total", {{"peer", peer}, {"reason", reason}},
                 D(n));
    }
  }
  out.Family("threatmesh_peer_handshakes_refused_total", "counter",
             "Peer connections refused at the handshake, by reason.");
  for (const auto& [reason, n] : handshakes) {
    out.Sample("threatmesh_peer_handshakes_refused_total", {{"reason", reason}}, D(n));
  }
}

http::Response Plain(int status, std::string text) {
  http::Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(text) + "\n";
  return r;
}

bool FromLoopback(const std::string& peer) {
  const std::size_t colon = peer.rfind(':');
  return colon != std::string::npos && IsLoopbackHost(peer.substr(0, colon));
}

}  // namespace

std::string RenderMetrics(const MetricsSources& s) {
  MetricsText out;
  WriteNode(out, s);
  WriteStore(out, s.node.store());
  s.api.api_metrics().Write(out, "threatmesh_api_requests_total",
                            "Calls of the gRPC API, by method and status code.",
                            "threatmesh_api_request_duration_seconds",
                            "Time from a call's arrival to its answer (streams: to their end).");
  s.api.taxii_metrics().Write(out, "threatmesh_taxii_requests_total",
                              "TAXII requests, by HTTP method and resource, and HTTP status.",
                              "threatmesh_taxii_request_duration_seconds",
                              "Time to answer a TAXII request.");
  WritePeers(out, s);
  WriteAudit(out, s.audit, s.checkpoint_interval);
  return out.text();
}

http::Response MetricsResponse(const http::Request& request, const MetricsSources& sources,
                               bool allow_unauthenticated) {
  if (request.method != "GET" && request.method != "HEAD") {
    http::Response r = Plain(405, StrCat(request.method, " is not served at /metrics; use GET"));
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  const std::string authorization = BearerFromHttp(request.Header("authorization"));
  const bool anonymous =
      authorization.empty() && allow_unauthenticated && FromLoopback(request.peer);
  if (!anonymous) {
    absl::StatusOr<Caller> caller = sources.api.Authenticate(authorization);
    if (!caller.ok()) {
      http::Response r = Plain(
          401, StrCat(caller.status().message(),
                      allow_unauthenticated ? " (without a token: from a loopback address only)"
                                            : " (or set metrics-allow-unauthenticated = true for "
                                              "a scraper on this host)"));
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"threatmesh metrics\"");
      return r;
    }
    if (absl::Status allowed = NodeApi::Require(*caller, v1::ROLE_READ, "/metrics");
        !allowed.ok()) {
      return Plain(403, std::string(allowed.message()));
    }
  }
  http::Response r;
  r.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  r.body = RenderMetrics(sources);
  return r;
}

}  // namespace threatmesh
