// Export of a large store to STIX: a node holding --records records (default 1,000,000) serves
// in this process; the real `threatmesh export --format stix --out FILE` runs against it as a
// child process. Reports the objects written per second, the exporter's CPU and its peak
// resident memory (GNU time's %M), beside the limit measured in the same run: the node's own
// sign + durable put rate per core (the rate at which those records could be made at all).
// Targets: >= 50,000 objects/s on one core of the exporter; peak RSS < 200 MB.
//
// Run: build/tests/threatmesh_export_bench [--records N] [--keep]   (see README)
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "node/serve/server.h"
#include "node/tokens.h"
#include "testing/test_util.h"

namespace threatmesh {
namespace {

using bench::ChildRun;
using bench::Clock;
using bench::RunChild;
using bench::Seconds;

// Objects in a bundle file: one per line after the first (the writer puts each on its own).
uint64_t CountObjects(const std::string& path) {
  std::ifstream in(path);
  uint64_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

int Run(uint64_t records, bool keep) {
  const std::string dir = std::filesystem::temp_directory_path().string() +
                          "/threatmesh-export-bench-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  if (!LocalNode::Init(dir, {}).ok()) return 1;
  std::string token;
  bench::Rate sign_put;
  {
    NodeConfig config;
    config.data_dir = dir;
    std::unique_ptr<LocalNode> node = std::move(*LocalNode::Open(config));
    token =
        (*TokenStore::Load(node->store()))->Create("bench", threatmesh::v1::ROLE_ADMIN, 1)->secret;
    sign_put = bench::SignAndPutRate(*node, 20000);
    std::fprintf(stderr, "prefilling %lu records...\n", (unsigned long)records);
    const auto t0 = Clock::now();
    bench::Prefill(*node, records, bench::Domain);
    std::fprintf(stderr, "prefilled in %.1f s\n", Seconds(t0));
  }
  ServeConfig config;
  config.data_dir = dir;
  config.listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(config);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  const double node_cpu0 = bench::ProcessCpuSeconds();
  const ChildRun run =
      RunChild({testing::ThreatmeshBinary(), "export", "--format", "stix", "--out",
                dir + "/export.json", "--node", (*server)->address(), "--token", token},
               dir + "/export.err");
  const double node_cores = (bench::ProcessCpuSeconds() - node_cpu0) / run.wall;
  (*server)->Shutdown();
  server->reset();
  if (!run.ok) {
    std::fprintf(stderr, "export failed; its stderr is in %s/export.err\n", dir.c_str());
    return 1;
  }
  const uint64_t objects = CountObjects(dir + "/export.json");
  const double size_mb =
      static_cast<double>(std::filesystem::file_size(dir + "/export.json")) / 1e6;
  if (keep) {
    std::ofstream(dir + "/admin.token") << token << "\n";  // for 'threatmesh ... --data-dir'
    std::fprintf(stderr, "kept %s\n", dir.c_str());
  } else {
    std::filesystem::remove_all(dir);
  }

  const double rate = static_cast<double>(objects) / run.wall;
  const double per_core = static_cast<double>(objects) / run.cpu;
  std::printf(
      "\nthreatmesh export benchmark: %lu records to one STIX bundle, node in this process\n",
      (unsigned long)records);
  std::printf("limit measured in this run:\n");
  std::printf(
      "  sign + durable put (node write path): %9.0f records/s, %.2f cores, %9.0f per core\n",
      sign_put.per_s, sign_put.cores, sign_put.per_core());
  std::printf("\n  objects       %lu (%.0f MB)\n", (unsigned long)objects, size_mb);
  std::printf("  wall          %.1f s: %.0f objects/s\n", run.wall, rate);
  std::printf("  exporter CPU  %.1f s (%.2f cores): %.0f objects per CPU second\n", run.cpu,
              run.cpu / run.wall, per_core);
  std::printf("  node CPU      %.2f cores (reading the store, streaming the feed)\n", node_cores);
  std::printf("  peak RSS      %.1f MB (exporter)\n", run.peak_mb);
  std::printf("  ratio         %.2f x the sign + durable put rate per core\n",
              per_core / sign_put.per_core());
  std::printf("\ntargets: >= 50,000 objects/s on one core: %s; peak RSS < 200 MB: %s\n",
              per_core >= 50000 && run.cpu / run.wall <= 1.05 ? "met" : "NOT met",
              run.peak_mb < 200 ? "met" : "NOT met");
  return 0;
}

}  // namespace
}  // namespace threatmesh

int main(int argc, char** argv) {
  uint64_t records = 1'000'000;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--records") && i + 1 < argc) {
      records = std::strtoull(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--keep")) {
      keep = true;
    }
  }
  return threatmesh::Run(std::max<uint64_t>(records, 1), keep);
}
