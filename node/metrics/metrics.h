// The node's metrics in the Prometheus text exposition format (version 0.0.4): a writer of
// families and samples, and the request counters the API and the TAXII server keep. What
// /metrics shows is assembled at scrape time (node/serve/metrics_page.h) from counters the
// node keeps anyway (the peers' counters behind `peers list`, the store's counts) plus these.
//
// Names follow Prometheus's conventions: the prefix threatmesh_, counters ending in _total,
// base units (seconds, bytes), label sets bounded (methods, codes, peers, reasons; never ids).
#ifndef THREATMESH_NODE_METRICS_METRICS_H_
#define THREATMESH_NODE_METRICS_METRICS_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/histogram.h"
#include "crypto/mutex.h"

namespace threatmesh {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Builds an exposition: each family's HELP and TYPE lines, then its samples.
class MetricsText {
 public:
  // Starts family `name`; `type` is counter, gauge or histogram.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, const MetricLabels& labels, double value);
  // A histogram's _bucket (with le), _sum and _count samples.
  void Histogram(std::string_view name, const MetricLabels& labels,
                 const threatmesh::Histogram::Snapshot& h);
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// Requests of one interface, counted by method and result code, with their durations by
// method. Thread-safe.
class RequestMetrics {
 public:
  void Record(const std::string& method, const std::string& code, double seconds);
  // Families `requests` (counter, labels method and code) and `durations` (histogram in
  // seconds, label method).
  void Write(MetricsText& out, std::string_view requests, std::string_view requests_help,
             std::string_view durations, std::string_view durations_help) const;

 private:
  mutable Mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> counts_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<threatmesh::Histogram>> durations_ ABSL_GUARDED_BY(mu_);
};

}  // namespace threatmesh

#endif  // THREATMESH_NODE_METRICS_METRICS_H_
