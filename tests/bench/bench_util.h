// Helpers shared by the benchmarks that run nodes (api_bench, mesh_bench, export_bench).
#ifndef THREATMESH_TESTS_BENCH_BENCH_UTIL_H_
#define THREATMESH_TESTS_BENCH_BENCH_UTIL_H_

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/hash.h"
#include "node/core/record_builder.h"
#include "node/local_node.h"

namespace threatmesh::bench {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// The `p` quantile (0..1) of `v`.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// A GREEN domain indicator by `key` with `value`, made a second before `now`, that receivers
// may pass on.
inline threatmesh::v1::RecordBody BenchBody(const crypto::KeyPair& key, const std::string& value,
                                            int64_t now) {
  threatmesh::v1::RecordBody body;
  body.set_author(std::string(key.public_key().bytes()));
  body.set_created_at(now - 1000);
  body.set_tlp(threatmesh::v1::TLP_GREEN);
  body.add_labels("bench");
  body.mutable_handling()->set_may_relay(true);
  body.mutable_indicator()->set_type(threatmesh::v1::INDICATOR_TYPE_DOMAIN);
  body.mutable_indicator()->set_value(value);
  body.mutable_indicator()->set_description("command and control seen in proxy logs");
  return body;
}

// Stores `n` records authored by `node`, value(i) each, signed on two threads feeding the
// store's writer directly (no API), with progress on stderr every 100,000.
template <typename ValueFn>
void Prefill(LocalNode& node, uint64_t n, ValueFn value) {
  const int64_t now = SystemNowMs();
  std::atomic<uint64_t> next{0}, outstanding{0};
  auto work = [&] {
    for (uint64_t i = next++; i < n; i = next++) {
      std::string sealed = SealRecord(BenchBody(node.key(), value(i), now), node.key());
      threatmesh::v1::Signed envelope;
      envelope.ParseFromString(sealed);
      threatmesh::v1::RecordBody body;
      body.ParseFromString(envelope.payload());
      while (outstanding.load() > 4096) std::this_thread::yield();
      ++outstanding;
      node.store().PutAsync(
          storage::RecordToStore{crypto::Sha256(envelope.payload()), sealed, body, {}},
          [&](absl::StatusOr<uint64_t>) { --outstanding; });
      if (i % 100000 == 0 && i > 0) std::fprintf(stderr, "  prefilled %lu\n", (unsigned long)i);
    }
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  while (outstanding.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

// CPU seconds (user + system) this process has used.
inline double ProcessCpuSeconds() {
  rusage r;
  getrusage(RUSAGE_SELF, &r);
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

struct ChildRun {
  bool ok = false;
  double wall = 0;
  double cpu = 0;
  double peak_mb = 0;
};

// Runs `args` (the binary first) as a child with stderr in `err_path`; its wall and CPU time
// and peak memory. The child runs under /usr/bin/time, which reports its peak: the peak
// wait4 gives a child forked from this process counts this process's memory too (Linux keeps
// the pre-exec high-water mark).
inline ChildRun RunChild(std::vector<std::string> args, const std::string& err_path) {
  const std::string peak_path = err_path + ".peak";
  args.insert(args.begin(), {"/usr/bin/time", "-f", "%M", "-o", peak_path});
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const auto start = Clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (std::freopen(err_path.c_str(), "w", stderr) == nullptr) _exit(127);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  ChildRun r;
  r.wall = Seconds(start);
  r.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  r.cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
          static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  std::ifstream peak(peak_path);
  long peak_kb = 0;
  peak >> peak_kb;
  r.peak_mb = static_cast<double>(peak_kb) / 1024.0;
  return r;
}

inline std::string Domain(uint64_t i) { return "host" + std::to_string(i) + ".bench.example.com"; }

// A rate, and the cores used meanwhile (process CPU time / wall time).
struct Rate {
  double per_s = 0, cores = 0;
  double per_core() const { return cores > 0 ? per_s / cores : 0; }
};

// The node's own write path on one thread: sign, validate, PutAsync, for `n` records.
inline Rate SignAndPutRate(LocalNode& node, int n) {
  std::atomic<int> outstanding{0};
  const double cpu0 = ProcessCpuSeconds();
  const auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    threatmesh::v1::RecordBody body = BenchBody(node.key(), Domain(50'000'000 + i), 0);
    body.clear_author();
    body.clear_created_at();
    while (outstanding.load() > 2048) std::this_thread::yield();
    ++outstanding;
    node.PublishAsync(std::move(body),
                      [&](absl::StatusOr<LocalNode::Published>) { --outstanding; });
  }
  while (outstanding.load() > 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  const double wall = Seconds(t0);
  return {n / wall, (ProcessCpuSeconds() - cpu0) / wall};
}

}  // namespace threatmesh::bench

#endif  // THREATMESH_TESTS_BENCH_BENCH_UTIL_H_
