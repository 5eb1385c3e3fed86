// Real node processes for the mesh benchmarks (mesh_bench, isac_bench): a set of
// `threatmesh serve` processes peering over TLS on loopback, and what they are measured by.
#ifndef THREATMESH_TESTS_BENCH_BENCH_MESH_H_
#define THREATMESH_TESTS_BENCH_BENCH_MESH_H_

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "crypto/keys.h"
#include "node/api/grpc/client.h"
#include "node/tokens.h"
#include "testing/serve_process.h"
#include "testing/test_util.h"

namespace threatmesh::bench {

using namespace threatmesh::v1;  // NOLINT
using testing::ServeProcess;

// CPU seconds (user + system) used so far by process `pid`.
inline double ProcessCpu(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string f;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoul(f);
    if (i == 15) stime = std::stoul(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Ed25519 verifications per second on this thread.
inline double VerifyRate() {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  const std::string message(300, 'm');
  const std::string sig = key.Sign(crypto::kRecordDomain, message);
  long n = 0;
  const auto t0 = Clock::now();
  while (Seconds(t0) < 1.5) {
    for (int i = 0; i < 200; ++i)
      n += crypto::Verify(key.public_key(), crypto::kRecordDomain, message, sig);
  }
  return n / Seconds(t0);
}

struct MeshNode {
  std::string dir;
  std::unique_ptr<ServeProcess> process;
  std::unique_ptr<NodeClient> client;
  std::string key;
};

class Mesh {
 public:
  explicit Mesh(std::string root) : root_(std::move(root)) {}

  // Creates node `name`'s data directory (key, store, admin token, peer certificate).
  std::string Init(const std::string& name) {
    const std::string dir = root_ + "/" + name;
    const std::string cmd = testing::ThreatmeshBinary() + " init --data-dir " + dir + " >/dev/null";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "init %s failed\n", name.c_str());
    nodes_[name].dir = dir;
    return dir;
  }

  // Starts node `name` (created first if new): listening for peers on `peer_listen` (an
  // ephemeral port by default; a restarted node passes its old address, which its peers
  // dial), or, with `dial_only`, not at all; `extra`: more options of 'serve'.
  MeshNode& Serve(const std::string& name, bool dial_only = false,
                  const std::string& peer_listen = "127.0.0.1:0",
                  std::vector<std::string> extra = {}) {
    MeshNode& n = nodes_[name];
    if (n.dir.empty()) Init(name);
    if (dial_only) {
      extra.insert(extra.end(), {"--dial-only", "true"});
    } else {
      extra.insert(extra.end(), {"--peer-listen", peer_listen});
    }
    absl::StatusOr<std::unique_ptr<ServeProcess>> p = ServeProcess::Start(n.dir, extra);
    if (!p.ok()) {
      std::fprintf(stderr, "serve %s: %s\n", name.c_str(),
                   std::string(p.status().message()).c_str());
      std::exit(1);
    }
    n.process = std::move(*p);
    std::ifstream token(AdminTokenPath(n.dir));
    ClientOptions options;
    options.address = n.process->address();
    options.timeout = std::chrono::seconds(60);
    std::getline(token, options.token);
    n.client = *NodeClient::Connect(options);
    n.key = std::string(crypto::PublicKey::FromText(n.client->Status()->public_key())->bytes());
    return n;
  }

  // `from` dials `to`; `to` accepts `from`.
  void Link(const std::string& from, const std::string& to) {
    AddPeerRequest in;
    in.mutable_peer()->set_name(from);
    in.mutable_peer()->set_node_key(nodes_[from].key);
    AddPeerRequest out;
    out.mutable_peer()->set_name(to);
    out.mutable_peer()->set_node_key(nodes_[to].key);
    out.mutable_peer()->set_address(nodes_[to].process->peer_address());
    if (!nodes_[to].client->AddPeer(in).ok() || !nodes_[from].client->AddPeer(out).ok()) {
      std::fprintf(stderr, "linking %s to %s failed\n", from.c_str(), to.c_str());
    }
  }

  uint64_t Held(const std::string& name) {
    absl::StatusOr<StatusResponse> s = nodes_[name].client->Status();
    return s.ok() ? s->next_seq() - 1 : 0;
  }

  MeshNode& operator[](const std::string& name) { return nodes_[name]; }

  void StopAll() {
    for (auto& [name, n] : nodes_) {
      n.client.reset();
      if (n.process) n.process->Stop();
    }
  }

 private:
  std::string root_;
  std::map<std::string, MeshNode> nodes_;
};

// A relayable GREEN domain indicator.
inline PublishRequest RelayableDomain(const std::string& value) {
  PublishRequest r;
  r.mutable_body()->set_tlp(TLP_GREEN);
  r.mutable_body()->mutable_handling()->set_may_relay(true);
  r.mutable_body()->mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
  r.mutable_body()->mutable_indicator()->set_value(value);
  return r;
}

// Waits (up to `limit`) until node `name` of `mesh` holds at least `n` records.
inline void WaitForHeld(Mesh& mesh, const std::string& name, uint64_t n,
                        std::chrono::seconds limit = std::chrono::seconds(30)) {
  const auto t0 = Clock::now();
  while (mesh.Held(name) < n && Clock::now() - t0 < limit) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace threatmesh::bench

#endif  // THREATMESH_TESTS_BENCH_BENCH_MESH_H_
