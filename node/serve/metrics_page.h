// What GET /metrics answers (on the HTTP listener, beside TAXII): the node's metrics in the
// Prometheus text format, read at scrape time from what the node keeps anyway: the store's
// counts and its writer's histograms, the API's and TAXII's request counters, each peer's
// counters (those behind `peers list`) and the audit trail's sealing. The families and what
// each means are in docs/METRICS.md; deploy/prometheus-alerts.yml and
// deploy/grafana-dashboard.json use them.
#ifndef THREATMESH_NODE_SERVE_METRICS_PAGE_H_
#define THREATMESH_NODE_SERVE_METRICS_PAGE_H_

#include <chrono>
#include <string>

#include "node/api/api.h"
#include "node/audit.h"
#include "node/http/http_server.h"
#include "node/local_node.h"
#include "node/mesh/exchange.h"
#include "node/peers.h"

namespace threatmesh {

struct MetricsSources {
  LocalNode& node;
  NodeApi& api;
  AuditLog& audit;
  PeerRegistry& peers;
  const ExchangeContext* exchange = nullptr;  // null without peering
  std::chrono::seconds checkpoint_interval{60};
  std::string data_dir;
};

// The exposition, as of now.
std::string RenderMetrics(const MetricsSources& sources);

// Answers GET /metrics: a token with role read (Bearer, or HTTP Basic with the token as
// password), or none from a loopback address when `allow_unauthenticated` (a scraper on the
// node's own host). 401 / 403 / 405 otherwise, with a plain-text reason.
http::Response MetricsResponse(const http::Request& request, const MetricsSources& sources,
                               bool allow_unauthenticated);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_SERVE_METRICS_PAGE_H_
