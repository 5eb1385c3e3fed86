// Import of STIX into a node: a bundle of --indicators indicators (default 100,000, in the
// shape of a vendor feed: TLP marking, labels, confidence, validity, creator) is imported by
// the real `threatmesh import` as a child process into a node serving in this process.
// Reports indicators imported per second beside the limit measured in the same run, the
// node's own sign + durable put rate per core (target: >= 0.6 of it). Then a bundle of
// --big-mb megabytes (default 1,024; 0 skips it), mostly objects that are not imported, shows
// the streaming reader's rate and that its peak memory does not grow with the file.
//
// Run: build/tests/threatmesh_import_bench [--indicators N] [--big-mb M]   (see README)
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

// A bundle of `indicators` indicators, then notes (which import skips) up to `pad_mb` MB.
void WriteBundle(const std::string& path, uint64_t indicators, uint64_t pad_mb) {
  std::ofstream out(path);
  out << "{\"type\": \"bundle\", \"id\": \"bundle--5e1f0000-0000-4000-8000-000000000000\", "
         "\"objects\": [\n{\"type\": \"identity\", \"spec_version\": \"2.1\", \"id\": "
         "\"identity--5e1f0000-0000-4000-8000-000000000001\", \"created\": "
         "\"2026-11-01T00:00:00.000Z\", \"modified\": \"2026-11-01T00:00:00.000Z\", \"name\": "
         "\"Bench Vendor\", \"identity_class\": \"organization\"}";
  for (uint64_t i = 0; i < indicators; ++i) {
    char id[64];
    std::snprintf(id, sizeof id, "%08lx-0000-4000-8000-%012lx", (unsigned long)(i >> 16),
                  (unsigned long)i);
    out << ",\n{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": \"indicator--" << id
        << "\", \"created_by_ref\": \"identity--5e1f0000-0000-4000-8000-000000000001\", "
           "\"created\": \"2026-11-01T00:00:00.000Z\", \"modified\": "
           "\"2026-11-01T00:00:00.000Z\", \"name\": \"C2 domain\", \"indicator_types\": "
           "[\"malicious-activity\"], \"pattern\": \"[domain-name:value = '"
        << bench::Domain(i)
        << "']\", \"pattern_type\": \"stix\", \"valid_from\": \"2026-11-01T00:00:00.000Z\", "
           "\"valid_until\": \"2027-11-01T00:00:00.000Z\", \"confidence\": 80, \"labels\": "
           "[\"c2\", \"bench\"], \"object_marking_refs\": "
           "[\"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb\"]}";
  }
  const std::string padding(900, 'n');
  for (uint64_t i = 0; static_cast<uint64_t>(out.tellp()) < (pad_mb << 20); ++i) {
    out << ",\n{\"type\": \"note\", \"spec_version\": \"2.1\", \"id\": \"note--" << 10000000 + i
        << "-0000-4000-8000-000000000000\", \"content\": \"" << padding << "\"}";
  }
  out << "]}\n";
}

struct Import {
  ChildRun run;
  double node_cores = 0;
  double size_mb = 0;
};

// Imports `path` into the node at `address` as a child process.
Import RunImport(Server& server, const std::string& token, const std::string& path,
                 const std::string& dir) {
  Import out;
  out.size_mb = static_cast<double>(std::filesystem::file_size(path)) / 1e6;
  const double node_cpu0 = bench::ProcessCpuSeconds();
  out.run = RunChild(
      {testing::ThreatmeshBinary(), "import", path, "--node", server.address(), "--token", token},
      dir + "/import.err");
  out.node_cores = (bench::ProcessCpuSeconds() - node_cpu0) / out.run.wall;
  return out;
}

int Run(uint64_t indicators, uint64_t big_mb) {
  const std::string dir = std::filesystem::temp_directory_path().string() +
                          "/threatmesh-import-bench-" + std::to_string(::getpid());
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
  }
  WriteBundle(dir + "/feed.json", indicators, 0);
  if (big_mb > 0) WriteBundle(dir + "/big.json", 10000, big_mb);
  ServeConfig config;
  config.data_dir = dir;
  config.listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(config);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  const Import feed = RunImport(**server, token, dir + "/feed.json", dir);
  Import big;
  if (feed.run.ok && big_mb > 0) big = RunImport(**server, token, dir + "/big.json", dir);
  (*server)->Shutdown();
  server->reset();
  if (!feed.run.ok || (big_mb > 0 && !big.run.ok)) {
    std::fprintf(stderr, "import failed; its stderr is in %s/import.err\n", dir.c_str());
    return 1;
  }
  std::filesystem::remove_all(dir);

  const double rate = static_cast<double>(indicators) / feed.run.wall;
  std::printf(
      "\nthreatmesh import benchmark: a STIX bundle of %lu indicators, node in this "
      "process\n",
      (unsigned long)indicators);
  std::printf("limit measured in this run:\n");
  std::printf(
      "  sign + durable put (node write path): %9.0f records/s, %.2f cores, %9.0f per core\n",
      sign_put.per_s, sign_put.cores, sign_put.per_core());
  std::printf("\n  bundle        %.0f MB\n", feed.size_mb);
  std::printf("  wall          %.1f s: %.0f indicators/s\n", feed.run.wall, rate);
  std::printf("  importer CPU  %.1f s (%.2f cores), peak RSS %.1f MB\n", feed.run.cpu,
              feed.run.cpu / feed.run.wall, feed.run.peak_mb);
  std::printf("  node CPU      %.2f cores (checking, signing, storing)\n", feed.node_cores);
  std::printf("  ratio         %.2f x the sign + durable put rate per core\n",
              rate / sign_put.per_core());
  if (big_mb > 0) {
    std::printf(
        "\n  big bundle    %.0f MB (10,000 indicators, the rest notes): %.1f s, %.0f MB/s "
        "over two passes; importer peak RSS %.1f MB\n",
        big.size_mb, big.run.wall, big.size_mb / big.run.wall, big.run.peak_mb);
  }
  std::printf("\ntarget: >= 0.6 x the sign + durable put rate per core: %s\n",
              rate >= 0.6 * sign_put.per_core() ? "met" : "NOT met");
  return 0;
}

}  // namespace
}  // namespace threatmesh

int main(int argc, char** argv) {
  uint64_t indicators = 100'000;
  uint64_t big_mb = 1024;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--indicators") && i + 1 < argc) {
      indicators = std::strtoull(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--big-mb") && i + 1 < argc) {
      big_mb = std::strtoull(argv[++i], nullptr, 10);
    }
  }
  return threatmesh::Run(std::max<uint64_t>(indicators, 1), big_mb);
}
