// A sharing community on one machine: --members members and two hubs, each a real
// `threatmesh serve` process peering over TLS on loopback (default 30 + 2 = 32 nodes).
// Members dial one hub or both (member i: hub0 unless i % 3 == 2, hub1 unless i % 3 == 0),
// the hubs dial each other, a few members have direct links (member 8k dials member 8k + 7
// unless that one is dial-only), and every fifth member is dial-only (it listens for no peer).
// --records GREEN records (default 10,000) that may be relayed are published at random members;
// reported:
//   - the time until every node holds every record, beside the limit measured in this run
//     (every node checks every record's author signature once: nodes x records checks over
//     the machine's cores at the one-core verify rate);
//   - records held per node (exactly --records each: one copy per node);
//   - sends per link direction per record (at most 1 expected) and in all;
//   - bytes on the wire per record: TCP payload of every peer connection (TLS, HTTP/2,
//     gRPC and the protocol), from the kernel's counters (ss -ti);
//   - peak RSS per node (hubs and members apart) and the CPU of the busiest node;
//   - the same for a second round of --records while hub0 is killed (SIGKILL) a third of
//     the way in and restarted on its address 2 s later.
//
// Run: build/tests/threatmesh_isac_bench [--members M] [--records N]
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_mesh.h"
#include "bench/bench_util.h"
#include "crypto/str_cat.h"

namespace threatmesh {
namespace {

using bench::Clock;
using bench::Mesh;
using bench::Seconds;
using namespace threatmesh::v1;  // NOLINT

// The community's shape: who dials whom, who listens for no peer.
struct Community {
  std::vector<std::string> hubs{"hub0", "hub1"};
  std::vector<std::string> members;
  std::set<std::string> dial_only;
  std::vector<std::pair<std::string, std::string>> links;  // (dialer, listener)

  std::vector<std::string> All() const {
    std::vector<std::string> all = hubs;
    all.insert(all.end(), members.begin(), members.end());
    return all;
  }
};

Community Shape(int members) {
  Community c;
  c.links.emplace_back("hub0", "hub1");
  for (int i = 0; i < members; ++i) {
    const std::string m = StrCat("m", i < 10 ? "0" : "", i);
    c.members.push_back(m);
    if (i % 5 == 4) c.dial_only.insert(m);
    if (i % 3 != 2) c.links.emplace_back(m, "hub0");
    if (i % 3 != 0) c.links.emplace_back(m, "hub1");
  }
  for (int k = 0; 8 * k + 7 < members; ++k) {
    if (!c.dial_only.count(c.members[8 * k + 7])) {
      c.links.emplace_back(c.members[8 * k], c.members[8 * k + 7]);
    }
  }
  return c;
}

// Bytes both ways over TCP connections to any of `ports` (the peer listeners), as the kernel
// counts them for the listening side.
uint64_t PeerWireBytes(const std::set<std::string>& ports) {
  FILE* ss = ::popen("ss -tinH state established 2>/dev/null", "r");
  if (ss == nullptr) return 0;
  uint64_t total = 0;
  bool counted = false;  // whether the current socket is a peer listener's
  char line[4096];
  while (std::fgets(line, sizeof line, ss) != nullptr) {
    std::istringstream in(line);
    if (line[0] != ' ' && line[0] != '\t') {
      std::string recvq, sendq, local;
      in >> recvq >> sendq >> local;
      counted = ports.count(local.substr(local.rfind(':') + 1)) > 0;
      continue;
    }
    if (!counted) continue;
    for (std::string field; in >> field;) {
      for (const char* name : {"bytes_sent:", "bytes_received:"}) {
        if (field.rfind(name, 0) == 0) total += std::stoull(field.substr(std::strlen(name)));
      }
    }
  }
  ::pclose(ss);
  return total;
}

// Peak resident set of process `pid`, in MB.
double PeakRssMb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

// Records sent by each node to each peer so far (a restarted node counts from zero).
using Sends = std::map<std::pair<std::string, std::string>, uint64_t>;

Sends SendsOf(Mesh& mesh, const Community& c) {
  Sends out;
  for (const std::string& n : c.All()) {
    absl::StatusOr<ListPeersResponse> list = mesh[n].client->ListPeers();
    if (!list.ok()) continue;
    for (const PeerState& st : list->states()) out[{n, st.name()}] = st.sent();
  }
  return out;
}

struct Round {
  double seconds = 0;  // first publish to every node holding every record
  bool converged = false;
  uint64_t min_held = 0, max_held = 0;
  double max_per_direction = 0;  // sends per record over the busiest link direction
  double sends_per_record = 0;   // over all links
  double wire_bytes_per_record = 0;
  double busiest_cpu = 0;  // cores, over the round
  std::string busiest;
  double total_cpu_s = 0;  // every node's CPU seconds over the round
};

class Isac {
 public:
  Isac(const std::string& root, int members) : mesh_(root), c_(Shape(members)) {}

  void Start() {
    for (const std::string& n : c_.All()) {
      mesh_.Serve(n, c_.dial_only.count(n) > 0, "127.0.0.1:0", HubOptions(n));
      if (!c_.dial_only.count(n)) {
        const std::string& a = mesh_[n].process->peer_address();
        ports_.insert(a.substr(a.rfind(':') + 1));
      }
    }
    for (const auto& [from, to] : c_.links) mesh_.Link(from, to);
    // Every link up before anything is published.
    const auto t0 = Clock::now();
    while (!AllConnected() && Seconds(t0) < 120) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::fprintf(stderr, "%zu nodes, %zu links up in %.1f s\n", c_.All().size(), c_.links.size(),
                 Seconds(t0));
  }

  // Publishes `records` more at random members (`kill_hub`: kills hub0 a third of the way in
  // and restarts it 2 s later) and waits until every node holds all `total` published.
  Round Publish(uint64_t records, uint64_t total, bool kill_hub) {
    const Sends before = SendsOf(mesh_, c_);
    const uint64_t bytes0 = kill_hub ? 0 : PeerWireBytes(ports_);
    std::map<std::string, double> cpu0;
    for (const std::string& n : c_.All()) cpu0[n] = bench::ProcessCpu(mesh_[n].process->pid());
    const auto t0 = Clock::now();
    std::thread restart;
    for (uint64_t done = 0; done < records; done += kChunk) {
      if (kill_hub && done == records / 3 / kChunk * kChunk) restart = KillHub(cpu0);
      std::vector<PublishRequest> chunk;
      for (uint64_t i = 0; i < std::min(kChunk, records - done); ++i) {
        chunk.push_back(bench::RelayableDomain(StrCat("r", published_++, ".isac.example.com")));
      }
      const std::string& at = c_.members[rng_() % c_.members.size()];
      (void)mesh_[at].client->PublishStream(chunk);
    }
    if (restart.joinable()) restart.join();
    Round r;
    r.converged = WaitForAll(total, std::chrono::seconds(600));
    r.seconds = Seconds(t0);
    Measure(r, before, records, cpu0);
    if (!kill_hub) {
      r.wire_bytes_per_record = static_cast<double>(PeerWireBytes(ports_) - bytes0) / records;
    }
    return r;
  }

  // Peak RSS (MB): the hubs' largest, the members' mean and largest.
  void PeakRss(double& hub, double& member_mean, double& member_max) {
    hub = member_mean = member_max = 0;
    for (const std::string& h : c_.hubs) hub = std::max(hub, PeakRssMb(mesh_[h].process->pid()));
    for (const std::string& m : c_.members) {
      const double rss = PeakRssMb(mesh_[m].process->pid());
      member_mean += rss / c_.members.size();
      member_max = std::max(member_max, rss);
    }
  }

  std::size_t nodes() const { return c_.All().size(); }
  std::size_t links() const { return c_.links.size(); }
  void StopAll() { mesh_.StopAll(); }

 private:
  static constexpr uint64_t kChunk = 50;

  // On loopback every peer comes from 127.0.0.1, which the per-address connection limit
  // (16 by default) counts as one client; a hub's members each have an address of their own
  // in a real community.
  std::vector<std::string> HubOptions(const std::string& n) const {
    if (std::find(c_.hubs.begin(), c_.hubs.end(), n) == c_.hubs.end()) return {};
    return {"--max-connections-per-address", "256"};
  }

  bool AllConnected() {
    for (const auto& [from, to] : c_.links) {
      absl::StatusOr<ListPeersResponse> list = mesh_[from].client->ListPeers();
      if (!list.ok()) return false;
      bool up = false;
      for (const PeerState& st : list->states()) up |= st.name() == to && st.connected();
      if (!up) return false;
    }
    return true;
  }

  // Kills hub0 now; the thread returned restarts it on its old address 2 s later.
  std::thread KillHub(std::map<std::string, double>& cpu0) {
    const std::string address = mesh_["hub0"].process->peer_address();
    killed_cpu_ = bench::ProcessCpu(mesh_["hub0"].process->pid()) - cpu0["hub0"];
    mesh_["hub0"].client.reset();
    mesh_["hub0"].process->Kill();
    std::fprintf(stderr, "hub0 killed\n");
    return std::thread([this, address, &cpu0] {
      std::this_thread::sleep_for(std::chrono::seconds(2));
      mesh_.Serve("hub0", false, address, HubOptions("hub0"));
      cpu0["hub0"] = -killed_cpu_;  // what the killed process used counts too
      std::fprintf(stderr, "hub0 restarted\n");
    });
  }

  bool WaitForAll(uint64_t total, std::chrono::seconds limit) {
    const auto t0 = Clock::now();
    for (;;) {
      bool all = true;
      for (const std::string& n : c_.All()) all = all && mesh_.Held(n) >= total;
      if (all) return true;
      if (Clock::now() - t0 > limit) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  void Measure(Round& r, const Sends& before, uint64_t records,
               const std::map<std::string, double>& cpu0) {
    r.min_held = UINT64_MAX;
    for (const std::string& n : c_.All()) {
      const uint64_t held = mesh_.Held(n);
      r.min_held = std::min(r.min_held, held);
      r.max_held = std::max(r.max_held, held);
      const double cpu_s = bench::ProcessCpu(mesh_[n].process->pid()) - cpu0.at(n);
      r.total_cpu_s += cpu_s;
      const double cpu = cpu_s / r.seconds;
      if (cpu > r.busiest_cpu) {
        r.busiest_cpu = cpu;
        r.busiest = n;
      }
    }
    uint64_t all = 0, most = 0;
    for (const auto& [link, sent] : SendsOf(mesh_, c_)) {
      auto it = before.find(link);
      const uint64_t was = it == before.end() || it->second > sent ? 0 : it->second;
      all += sent - was;
      most = std::max(most, sent - was);
    }
    r.sends_per_record = static_cast<double>(all) / records;
    r.max_per_direction = static_cast<double>(most) / records;
  }

  Mesh mesh_;
  const Community c_;
  std::set<std::string> ports_;
  std::mt19937_64 rng_{20261205};
  uint64_t published_ = 0;
  double killed_cpu_ = 0;
};

void Print(const char* title, const Round& r, uint64_t records, double bound, std::size_t nodes,
           uint64_t new_records, double verify) {
  std::printf("\n%s\n", title);
  std::printf("  every node holds every record after     %8.2f s   (bound %.2f s: %.3f of it)%s\n",
              r.seconds, bound, bound / r.seconds, r.converged ? "" : "  NOT CONVERGED");
  std::printf("  records held per node                   %8lu .. %lu  (of %lu published: %s)\n",
              (unsigned long)r.min_held, (unsigned long)r.max_held, (unsigned long)records,
              r.min_held == records && r.max_held == records ? "one copy each" : "MISMATCH");
  std::printf("  sends per record, busiest link direction %7.3f\n", r.max_per_direction);
  std::printf("  sends per record, all links              %7.2f\n", r.sends_per_record);
  if (r.wire_bytes_per_record > 0) {
    std::printf("  bytes on the wire per record, all links  %7.0f\n", r.wire_bytes_per_record);
  }
  std::printf("  CPU of the busiest node (%s)           %7.2f cores\n", r.busiest.c_str(),
              r.busiest_cpu);
  std::printf(
      "  CPU of all nodes: %.2f cores; per record and node %.0f µs (the check alone: "
      "%.0f µs)\n",
      r.total_cpu_s / r.seconds, r.total_cpu_s / nodes / new_records * 1e6, 1e6 / verify);
}

int Run(int members, uint64_t records) {
  const std::string root = std::filesystem::temp_directory_path().string() +
                           "/threatmesh-isac-bench-" + std::to_string(::getpid());
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  const double verify = bench::VerifyRate();
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  Isac isac(root, members);
  isac.Start();
  const double bound = static_cast<double>(isac.nodes() * records) / (cores * verify);
  const Round first = isac.Publish(records, records, false);
  double hub_rss = 0, member_rss = 0, member_rss_max = 0;
  isac.PeakRss(hub_rss, member_rss, member_rss_max);
  const Round second = isac.Publish(records, 2 * records, true);
  isac.StopAll();
  std::filesystem::remove_all(root);

  std::printf(
      "\nthreatmesh ISAC benchmark: %zu real nodes (2 hubs, %d members), %zu links, TLS "
      "peering on loopback\n",
      isac.nodes(), members, isac.links());
  std::printf(
      "limit measured in this run: Ed25519 verify %.0f/s on one core, %u cores: every "
      "node checks every record once\n",
      verify, cores);
  Print(StrCat("round 1: ", records, " records published at random members").c_str(), first,
        records, bound, isac.nodes(), records, verify);
  std::printf("  peak RSS: hubs %.1f MB, members %.1f MB mean (%.1f MB largest)\n", hub_rss,
              member_rss, member_rss_max);
  Print(StrCat("round 2: ", records, " more, hub0 killed a third of the way in, back 2 s later")
            .c_str(),
        second, 2 * records, bound, isac.nodes(), records, verify);
  return first.converged && second.converged && first.max_held == records &&
                 first.min_held == records && second.min_held == 2 * records &&
                 second.max_held == 2 * records
             ? 0
             : 1;
}

}  // namespace
}  // namespace threatmesh

int main(int argc, char** argv) {
  int members = 30;
  uint64_t records = 10'000;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--members") == 0) members = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--records") == 0) records = std::strtoull(argv[i + 1], nullptr, 10);
  }
  return threatmesh::Run(std::clamp(members, 2, 200), std::max<uint64_t>(records, 50));
}
