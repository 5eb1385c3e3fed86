// Ingest of a large log: generates a Zeek dns.log (TSV, with its header) of --megabytes
// (default 1024), then runs the real `threatmesh ingest-log` on it with sanitization on,
// excerpt parts and indicator proposals written, as a child process, and reports lines/s,
// MB/s, CPU and peak resident memory (the child's ru_maxrss).
//
// The physical limit measured in the same run: reading the same file line by line with
// std::getline, as ingest-log does, from the page cache (the file was just written). The
// ratio says how much of the ingest is parsing, sanitizing and writing, not reading.
//
// Run: build/tests/threatmesh_ingest_bench [--megabytes N] [--keep]   (see README)
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "testing/test_util.h"

namespace threatmesh {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Writes a Zeek dns.log of about `bytes` bytes; returns its line count (header included).
// Clients are internal (10.20.0.0/16, sanitized through Crypto-PAn) or, for one query in
// sixteen, external; resolvers are internal; a third of the names are under the internal
// suffix corp.example (pseudonymized); answers are external addresses.
uint64_t WriteDnsLog(const std::string& path, uint64_t bytes) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    std::perror(path.c_str());
    std::exit(2);
  }
  std::vector<char> buffer(1 << 20);
  std::setvbuf(f, buffer.data(), _IOFBF, buffer.size());
  const char* header =
      "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n"
      "#open\t2026-11-20-10-00-00\n"
      "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\t"
      "query\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\t"
      "answers\tTTLs\trejected\n"
      "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\t"
      "string\tcount\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\t"
      "vector[interval]\tbool\n";
  uint64_t written = std::fputs(header, f) >= 0 ? std::strlen(header) : 0;
  uint64_t lines = 8;
  std::mt19937_64 rng(20261120);
  static const char* kWords[] = {"mail", "cdn",   "api",       "login", "update", "static",
                                 "img",  "video", "telemetry", "auth",  "files",  "portal"};
  static const char* kSites[] = {"example.com",      "example.net",     "example.org",
                                 "evil-example.com", "bad-example.net", "corp.example"};
  static const char* kTypes[][2] = {{"1", "A"}, {"28", "AAAA"}, {"16", "TXT"}, {"15", "MX"}};
  char line[512];
  double ts = 1795168800.0;  // 2026-11-20T10:00:00Z
  while (written < bytes) {
    const uint64_t r = rng();
    ts += 0.0005 + static_cast<double>(r % 1000) / 1e6;
    char client[32];
    if (r % 16 == 0) {
      std::snprintf(client, sizeof client, "198.51.100.%u", static_cast<unsigned>(r >> 8) % 250);
    } else {
      std::snprintf(client, sizeof client, "10.20.%u.%u", static_cast<unsigned>(r >> 16) % 64,
                    static_cast<unsigned>(r >> 24) % 250 + 1);
    }
    const char* site = kSites[(r >> 32) % 6];
    const char* word = kWords[(r >> 36) % 12];
    const auto* type = kTypes[(r >> 40) % 4];
    const unsigned host = static_cast<unsigned>(r >> 44) % 5000;
    const int n = std::snprintf(
        line, sizeof line,
        "%.6f\tC%016llx\t%s\t%u\t10.20.255.53\t53\tudp\t%u\t0.%06u\t%s%u.%s\t1\tC_INTERNET\t%s\t%s"
        "\t0\tNOERROR\tF\tF\tT\tT\t0\t203.0.113.%u,198.51.100.%u\t60.000000,60.000000\tF\n",
        ts, static_cast<unsigned long long>(r), client,
        1024 + static_cast<unsigned>(r >> 20) % 60000, static_cast<unsigned>(r >> 12) % 65536,
        static_cast<unsigned>(r >> 6) % 100000, word, host, site, type[0], type[1],
        static_cast<unsigned>(r >> 50) % 250, static_cast<unsigned>(r >> 56) % 250);
    std::fwrite(line, 1, static_cast<std::size_t>(n), f);
    written += static_cast<uint64_t>(n);
    ++lines;
  }
  std::fputs("#close\t2026-11-20-11-00-00\n", f);
  if (std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::exit(2);
  }
  return lines + 1;
}

// Runs `threatmesh ingest-log` on `log` as a child process, its output in DIR/out and its
// stderr in DIR/ingest.err; its wall time in `wall` and its resource use in `usage`.
// Whether it succeeded.
bool RunIngest(const std::string& dir, const std::string& log, double* wall, struct rusage* usage) {
  std::vector<std::string> args = {testing::ThreatmeshBinary(),
                                   "ingest-log",
                                   log,
                                   "--format",
                                   "zeek-dns",
                                   "--sanitize-key",
                                   dir + "/sanitize.key",
                                   "--internal-suffix",
                                   "corp.example",
                                   "--tlp",
                                   "amber",
                                   "--contact",
                                   "soc@example.org",
                                   "--out",
                                   dir + "/out/excerpt.json",
                                   "--emit-indicators",
                                   dir + "/out/proposed.jsonl"};
  std::vector<char*> argv_child;
  for (std::string& a : args) argv_child.push_back(a.data());
  argv_child.push_back(nullptr);
  const auto start = Clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (std::freopen((dir + "/ingest.err").c_str(), "w", stderr) == nullptr) _exit(127);
    ::execv(argv_child[0], argv_child.data());
    _exit(127);
  }
  int status = 0;
  ::wait4(pid, &status, 0, usage);
  *wall = Seconds(start);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "ingest-log failed (status %d); its stderr is in %s/ingest.err\n", status,
                 dir.c_str());
    return false;
  }
  return true;
}

// The read limit: the file read line by line with std::getline, from the page cache.
struct ReadLimit {
  double lines_per_s = 0;
  double mb_per_s = 0;
};

ReadLimit MeasureReadLimit(const std::string& log) {
  const auto start = Clock::now();
  uint64_t read_lines = 0, read_bytes = 0;
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    ++read_lines;
    read_bytes += line.size() + 1;
  }
  const double read_s = Seconds(start);
  return {static_cast<double>(read_lines) / read_s, static_cast<double>(read_bytes) / 1e6 / read_s};
}

void Report(const std::string& dir, uint64_t lines, double size_mb, double wall,
            const struct rusage& usage, const ReadLimit& limit) {
  const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  uint64_t out_bytes = 0, parts = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/out")) {
    out_bytes += entry.file_size();
    parts += entry.path().filename().string().find(".part-") != std::string::npos;
  }
  std::ifstream err(dir + "/ingest.err");
  std::string summary;
  for (std::string l; std::getline(err, l);) {
    if (l.find(" events from ") != std::string::npos ||
        l.find("proposals in") != std::string::npos) {
      summary += "  " + l.substr(0, 160) + "\n";
    }
  }
  const double rate = static_cast<double>(lines) / wall;
  std::printf(
      "ingest of a generated Zeek dns.log, sanitization on (Crypto-PAn, pseudonyms, checklist),\n"
      "excerpt parts and indicator proposals written:\n%s"
      "  input        %llu lines, %.0f MB\n"
      "  wall         %.1f s, CPU %.1f s (%.2f cores)\n"
      "  rate         %.0f lines/s, %.1f MB/s; per core of CPU %.0f lines/s\n"
      "  peak RSS     %.1f MB\n"
      "  output       %llu parts, %.0f MB\n"
      "  limit        std::getline over the same file: %.0f lines/s (%.0f MB/s)\n"
      "  ratio        %.3f of the read limit\n"
      "  targets      >= 100,000 lines/s on one core: %s; peak RSS < 200 MB: %s\n",
      summary.c_str(), static_cast<unsigned long long>(lines), size_mb, wall, cpu, cpu / wall, rate,
      size_mb / wall, static_cast<double>(lines) / cpu,
      static_cast<double>(usage.ru_maxrss) / 1024.0, static_cast<unsigned long long>(parts),
      static_cast<double>(out_bytes) / 1e6, limit.lines_per_s, limit.mb_per_s,
      rate / limit.lines_per_s, static_cast<double>(lines) / cpu >= 100000 ? "met" : "NOT met",
      usage.ru_maxrss < 200 * 1024 ? "met" : "NOT met");
}

int Main(int argc, char** argv) {
  uint64_t megabytes = 1024;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--megabytes") && i + 1 < argc) {
      megabytes = std::strtoull(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--keep")) {
      keep = true;
    } else {
      std::fprintf(stderr, "usage: %s [--megabytes N (default 1024)] [--keep]\n", argv[0]);
      return 2;
    }
  }
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/threatmesh-ingest-bench-" +
                          std::to_string(::getpid());
  std::filesystem::create_directories(dir + "/out");
  const std::string log = dir + "/dns.log";
  {
    std::ofstream key(dir + "/sanitize.key", std::ios::binary);
    key << std::string(32, 's');
  }
  std::filesystem::permissions(dir + "/sanitize.key", std::filesystem::perms::owner_read |
                                                          std::filesystem::perms::owner_write);
  std::fprintf(stderr, "generating %llu MB of Zeek dns.log in %s ...\n",
               static_cast<unsigned long long>(megabytes), dir.c_str());
  auto start = Clock::now();
  const uint64_t lines = WriteDnsLog(log, megabytes * 1000 * 1000);
  const double size_mb = static_cast<double>(std::filesystem::file_size(log)) / 1e6;
  std::fprintf(stderr, "generated %llu lines, %.0f MB in %.1f s\n",
               static_cast<unsigned long long>(lines), size_mb, Seconds(start));

  const ReadLimit limit = MeasureReadLimit(log);
  double wall = 0;
  struct rusage usage {};
  if (!RunIngest(dir, log, &wall, &usage)) return 1;
  Report(dir, lines, size_mb, wall, usage, limit);
  if (!keep) std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace threatmesh

int main(int argc, char** argv) { return threatmesh::Main(argc, argv); }
