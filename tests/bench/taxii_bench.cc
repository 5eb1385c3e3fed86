// The TAXII 2.1 server under a TAXII client's load: a node holding --records records (default
// 1,000,000) serves in this process with --taxii-listen; a client on one kept-alive loopback
// connection pages through the whole collection with limit=1000, as a consumer catching up
// does. Reports each page's latency (p50, p99) and the objects served per second and per CPU
// second, beside the request ceiling measured in the same run: GET /taxii2/ (authentication,
// the audit entry, a small JSON answer) on the same connection.
// Targets: p99 <= 50 ms per page of 1,000; >= 20,000 objects/s per core.
//
// Run: build/tests/threatmesh_taxii_bench [--records N]   (see README)
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "crypto/encoding.h"
#include "node/serve/server.h"
#include "node/taxii/taxii.h"
#include "node/tokens.h"

namespace threatmesh {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using bench::Clock;
using bench::Seconds;

// One kept-alive connection to the TAXII server.
class Client {
 public:
  Client(const std::string& address, const std::string& token)
      : socket_(io_), auth_("Basic " + crypto::Base64Encode("bench:" + token)) {
    const std::size_t colon = address.rfind(':');
    tcp::resolver resolver(io_);
    boost::asio::connect(socket_,
                         resolver.resolve(address.substr(0, colon), address.substr(colon + 1)));
  }
  // GET `target`: the status and the body.
  int Get(const std::string& target, std::string& body) {
    bhttp::request<bhttp::empty_body> req(bhttp::verb::get, target, 11);
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(bhttp::field::authorization, auth_);
    req.set(bhttp::field::accept, "application/taxii+json;version=2.1");
    bhttp::write(socket_, req);
    bhttp::response<bhttp::string_body> res;
    bhttp::read(socket_, buffer_, res);
    body = std::move(res.body());
    return static_cast<int>(res.result_int());
  }

 private:
  boost::asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::string auth_;
};

uint64_t Count(const std::string& text, const std::string& needle) {
  uint64_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

int Run(uint64_t records) {
  const std::string dir = std::filesystem::temp_directory_path().string() +
                          "/threatmesh-taxii-bench-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  if (!LocalNode::Init(dir, {}).ok()) return 1;
  std::string token;
  {
    NodeConfig config;
    config.data_dir = dir;
    std::unique_ptr<LocalNode> node = std::move(*LocalNode::Open(config));
    token =
        (*TokenStore::Load(node->store()))->Create("bench", threatmesh::v1::ROLE_READ, 1)->secret;
    std::fprintf(stderr, "prefilling %lu records...\n", (unsigned long)records);
    bench::Prefill(*node, records, bench::Domain);
  }
  ServeConfig config;
  config.data_dir = dir;
  config.listen = "127.0.0.1:0";
  config.taxii_listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(config);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  Client client((*server)->taxii_address().substr(7), token);  // past "http://"
  std::string body;
  // The ceiling: the cheapest request, for two seconds.
  uint64_t pings = 0;
  const auto ping_start = Clock::now();
  while (Seconds(ping_start) < 2.0) {
    if (client.Get("/taxii2/", body) != 200) return 1;
    ++pings;
  }
  const double ping_rate = static_cast<double>(pings) / Seconds(ping_start);
  // The catch-up: every page of 1,000.
  const std::string objects = std::string(taxii::kApiRoot) + "collections/" +
                              taxii::DefaultCollectionId() + "/objects/?limit=1000";
  std::vector<double> latencies;
  uint64_t served = 0;
  std::string next;
  const double cpu0 = bench::ProcessCpuSeconds();
  const auto start = Clock::now();
  for (uint64_t page = 0; page < records; ++page) {
    const auto t0 = Clock::now();
    if (client.Get(objects + (next.empty() ? "" : "&next=" + next), body) != 200) return 1;
    latencies.push_back(Seconds(t0) * 1000);
    served += Count(body, "\"type\":\"indicator\"");
    const std::size_t at = body.find("\"next\":\"");
    if (at == std::string::npos) break;
    next = body.substr(at + 8, body.find('"', at + 8) - at - 8);
  }
  const double wall = Seconds(start);
  const double cpu = bench::ProcessCpuSeconds() - cpu0;
  (*server)->Shutdown();
  server->reset();
  std::filesystem::remove_all(dir);

  const double p50 = bench::Percentile(latencies, 0.50), p99 = bench::Percentile(latencies, 0.99);
  std::printf("\nthreatmesh TAXII benchmark: %lu records, pages of 1,000 on one connection\n",
              (unsigned long)records);
  std::printf("limit measured in this run:\n");
  std::printf("  GET /taxii2/ (token, audit entry, small answer): %.0f requests/s, %.2f ms each\n",
              ping_rate, 1000.0 / ping_rate);
  std::printf("\n  pages         %zu, objects %lu (indicators), %.1f s\n", latencies.size(),
              (unsigned long)served, wall);
  std::printf("  page latency  p50 %.1f ms, p99 %.1f ms (%.1f x and %.1f x a GET /taxii2/)\n", p50,
              p99, p50 * ping_rate / 1000.0, p99 * ping_rate / 1000.0);
  std::printf("  objects/s     %.0f wall; %.0f per CPU second (server and client, %.2f cores)\n",
              static_cast<double>(served) / wall, static_cast<double>(served) / cpu, cpu / wall);
  std::printf("\ntargets: p99 <= 50 ms: %s; >= 20,000 objects/s per core: %s\n",
              p99 <= 50 ? "met" : "NOT met",
              static_cast<double>(served) / cpu >= 20000 ? "met" : "NOT met");
  return served == records ? 0 : 1;
}

}  // namespace
}  // namespace threatmesh

int main(int argc, char** argv) {
  uint64_t records = 1'000'000;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--records") && i + 1 < argc) {
      records = std::strtoull(argv[++i], nullptr, 10);
    }
  }
  return threatmesh::Run(std::max<uint64_t>(records, 1));
}
