#include "node/metrics/metrics.h"

#include <cmath>
#include <cstdio>

#include "crypto/str_cat.h"

namespace threatmesh {
namespace {

// A label value with backslash, double quote and line feed escaped, as the format asks.
std::string EscapeLabel(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// HELP text escapes backslash and line feed only.
std::string EscapeHelp(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Whole numbers as such (counters read best that way), others with enough digits.
std::string FormatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.9g", v);
  }
  return buf;
}

std::string LabelText(const MetricLabels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ",";
    out += StrCat(labels[i].first, "=\"", EscapeLabel(labels[i].second), "\"");
  }
  return out + "}";
}

}  // namespace

void MetricsText::Family(std::string_view name, std::string_view type, std::string_view help) {
  text_ += StrCat("# HELP ", name, " ", EscapeHelp(help), "\n# TYPE ", name, " ", type, "\n");
}

void MetricsText::Sample(std::string_view name, const MetricLabels& labels, double value) {
  text_ += StrCat(name, LabelText(labels), " ", FormatValue(value), "\n");
}

void MetricsText::Histogram(std::string_view name, const MetricLabels& labels,
                            const threatmesh::Histogram::Snapshot& h) {
  MetricLabels with_le = labels;
  with_le.emplace_back("le", "");
  for (std::size_t i = 0; i < h.bounds.size(); ++i) {
    with_le.back().second = FormatValue(h.bounds[i]);
    Sample(StrCat(name, "_bucket"), with_le, static_cast<double>(h.cumulative[i]));
  }
  with_le.back().second = "+Inf";
  const double count = static_cast<double>(h.cumulative.back());
  Sample(StrCat(name, "_bucket"), with_le, count);
  Sample(StrCat(name, "_sum"), labels, h.sum);
  Sample(StrCat(name, "_count"), labels, count);
}

void RequestMetrics::Record(const std::string& method, const std::string& code, double seconds) {
  threatmesh::Histogram* h;
  {
    MutexLock lock(&mu_);
    ++counts_[{method, code}];
    std::unique_ptr<threatmesh::Histogram>& d = durations_[method];
    if (!d) d = std::make_unique<threatmesh::Histogram>(threatmesh::Histogram::LatencyBounds());
    h = d.get();  // never removed: it outlives the lock
  }
  h->Observe(seconds);
}

void RequestMetrics::Write(MetricsText& out, std::string_view requests,
                           std::string_view requests_help, std::string_view durations,
                           std::string_view durations_help) const {
  MutexLock lock(&mu_);
  out.Family(requests, "counter", requests_help);
  for (const auto& [key, n] : counts_) {
    out.Sample(requests, {{"method", key.first}, {"code", key.second}}, static_cast<double>(n));
  }
  out.Family(durations, "histogram", durations_help);
  for (const auto& [method, h] : durations_)
    out.Histogram(durations, {{"method", method}}, h->Read());
}

}  // namespace threatmesh
