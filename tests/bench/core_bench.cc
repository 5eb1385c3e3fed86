// Micro-benchmarks of the record core, each printed beside the physical limits measured in
// the same run: the raw libsodium Ed25519 verify rate on one core, and the raw RocksDB rate
// of synced batched puts. After Google Benchmark's own table, a summary gives per benchmark:
//   per second       records (or operations) per second
//   x verify         that rate / the raw single-core verify rate
//   x verify/core    that rate / (raw one-core verify rate * cores used): the target for
//                    validate + durable put is 0.7, since signature checking, not storage,
//                    should be the bottleneck
//   x verify same    that rate / the raw verify rate of the same cores running at once
//                    (measured with one thread per core): on a virtual machine whose cores
//                    slow each other down, this is the limit the hardware really offers
//   x rocks          that rate / the raw RocksDB synced batched put rate
// "cores" is the CPU a run used: measured (CPU time / wall time) for the pipeline, the
// thread count capped at the core count elsewhere.
//
// Run: build/tests/threatmesh_bench   (see README, Performance)
#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <sodium.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/sodium.h"
#include "node/core/custody.h"
#include "node/core/record_builder.h"
#include "node/core/validate.h"
#include "node/proof/proof.h"
#include "storage/store.h"
#include "testing/test_util.h"

namespace threatmesh {
namespace {

using Clock = std::chrono::steady_clock;

double g_verify_rate = 0;      // raw libsodium verifies per second, one core
double g_verify_rate_all = 0;  // the same with one thread per core, summed
double g_rocks_rate = 0;       // raw RocksDB records per second, synced batches of kRawBatch
constexpr int kRawBatch = 64;
const unsigned kCores = std::max(1u, std::thread::hardware_concurrency());

std::string BenchDir(const std::string& name) {
  const char* base = std::getenv("TMPDIR");
  std::string dir = std::string(base && *base ? base : "/tmp") + "/threatmesh-bench-" +
                    std::to_string(::getpid()) + "-" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

// A realistic record: a domain indicator with labels and a description (~250 bytes).
v1::RecordBody SampleBody(const crypto::KeyPair& key, int i) {
  v1::RecordBody body = testing::IndicatorBody(key, v1::INDICATOR_TYPE_DOMAIN,
                                               "host-" + std::to_string(i) + ".bench.example.com");
  body.add_labels("bench");
  body.add_labels(i % 2 ? "odd" : "even");
  body.set_confidence(75);
  body.mutable_indicator()->set_description("beaconing every 60 s to this name over HTTPS");
  return body;
}

// `items` operations were done in this thread's share of the run on `cores_used` cores.
void SetRates(benchmark::State& state, int cores_used, double items = -1) {
  const double n = items >= 0 ? items : static_cast<double>(state.iterations());
  state.counters["per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  // Thread counters are summed; keep "cores" equal to cores_used after the sum.
  state.counters["cores"] = static_cast<double>(cores_used) / state.threads();
}

double VerifyLimit(double cores);

// Prints Google Benchmark's table, then the ratios to the physical limits.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      auto per_s = r.counters.find("per_s");
      auto cores = r.counters.find("cores");
      if (per_s == r.counters.end() || r.error_occurred) continue;
      const double used = cores == r.counters.end() ? 1.0 : cores->second.value;
      Row row{r.benchmark_name(), per_s->second.value, used,
              per_s->second.value / (g_verify_rate * used),
              per_s->second.value / VerifyLimit(used)};
      // Benchmarks that measured the limits right beside themselves report their ratios;
      // the machine's speed drifts by tens of percent over seconds, so those are fairer.
      if (auto m = r.counters.find("median_x_verify_core"); m != r.counters.end()) {
        row.x_verify_core = m->second.value;
        row.x_verify_same = r.counters.find("median_x_verify_same")->second.value;
      }
      rows_.push_back(row);
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf(
        "\nsummary (limits measured in this run: verify %.0f /s on one core, %.0f /s on %u "
        "cores; RocksDB synced batched put %.0f records/s)\n%-58s %6s %11s %9s %14s %14s "
        "%8s\n",
        g_verify_rate, g_verify_rate_all, kCores, g_rocks_rate, "benchmark", "cores", "per second",
        "x verify", "x verify/core", "x verify same", "x rocks");
    for (const Row& row : rows_) {
      std::printf("%-58s %6.2f %11.0f %9.3f %14.3f %14.3f %8.3f\n", row.name.c_str(), row.cores,
                  row.per_s, row.per_s / g_verify_rate, row.x_verify_core, row.x_verify_same,
                  row.per_s / g_rocks_rate);
    }
  }

 private:
  struct Row {
    std::string name;
    double per_s;
    double cores;
    double x_verify_core;  // per_s / (one-core verify rate * cores)
    double x_verify_same;  // per_s / verify rate of `cores` cores at once
  };
  std::vector<Row> rows_;
};

// ---- the physical limits ---------------------------------------------------------------

// Verifies per second of `threads` threads verifying at once for `seconds`, summed.
double MeasureRawVerifyRate(unsigned threads, double seconds = 1.0) {
  std::atomic<long> total{0};
  auto start = Clock::now();
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      unsigned char pk[32], sk[64], sig[64];
      crypto_sign_ed25519_keypair(pk, sk);
      std::string msg(300, 'm');
      const auto* m = reinterpret_cast<const unsigned char*>(msg.data());
      crypto_sign_ed25519_detached(sig, nullptr, m, msg.size(), sk);
      long n = 0;
      do {
        for (int i = 0; i < 256; ++i) {
          n += crypto_sign_ed25519_verify_detached(sig, m, msg.size(), pk) == 0;
        }
      } while (std::chrono::duration<double>(Clock::now() - start).count() < seconds);
      total += n;
    });
  }
  for (std::thread& w : workers) w.join();
  return static_cast<double>(total) / std::chrono::duration<double>(Clock::now() - start).count();
}

// The raw verify rate available to `cores` cores (fractional: the CPU a run used),
// interpolated between the measured one-core and all-core rates.
double VerifyLimit(double cores) {
  if (cores <= 1 || kCores == 1) return g_verify_rate * std::max(cores, 0.0);
  const double per_extra_core = (g_verify_rate_all - g_verify_rate) / (kCores - 1);
  return g_verify_rate + per_extra_core * (std::min<double>(cores, kCores) - 1);
}

double MeasureRawRocksRate() {
  const std::string dir = BenchDir("raw-rocks");
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  if (!rocksdb::DB::Open(options, dir, &db).ok()) return 0;
  rocksdb::WriteOptions wo;
  wo.sync = true;
  std::string value(250, 'v');
  uint64_t key = 0;
  int records = 0;
  auto start = Clock::now();
  std::chrono::duration<double> elapsed{};
  do {
    rocksdb::WriteBatch batch;
    for (int i = 0; i < kRawBatch; ++i) {
      std::string k = crypto::Sha256(std::to_string(key++));
      batch.Put(k, value).PermitUncheckedError();
    }
    if (!db->Write(wo, &batch).ok()) break;
    records += kRawBatch;
    elapsed = Clock::now() - start;
  } while (elapsed.count() < 1.5);
  delete db;
  std::filesystem::remove_all(dir);
  return records / elapsed.count();
}

void BM_RawLibsodiumVerify(benchmark::State& state) {
  unsigned char pk[32], sk[64], sig[64];
  crypto_sign_ed25519_keypair(pk, sk);
  std::string msg(300, 'm');
  crypto_sign_ed25519_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(msg.data()),
                               msg.size(), sk);
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto_sign_ed25519_verify_detached(
        sig, reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), pk));
  }
  SetRates(state, static_cast<int>(std::min<unsigned>(state.threads(), kCores)));
}
BENCHMARK(BM_RawLibsodiumVerify)->Threads(1)->Threads(2)->UseRealTime();

// ---- crypto ----------------------------------------------------------------------------

void BM_Sign(benchmark::State& state) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  const std::string payload = SampleBody(key, 1).SerializeAsString();
  for (auto _ : state) benchmark::DoNotOptimize(key.Sign(crypto::kRecordDomain, payload));
  SetRates(state, 1);
}
BENCHMARK(BM_Sign);

void BM_Verify(benchmark::State& state) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  const std::string payload = SampleBody(key, 1).SerializeAsString();
  const std::string sig = key.Sign(crypto::kRecordDomain, payload);
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto::Verify(key.public_key(), crypto::kRecordDomain, payload, sig));
  }
  SetRates(state, 1);
}
BENCHMARK(BM_Verify);

void BM_RecordId(benchmark::State& state) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  const std::string payload = SampleBody(key, 1).SerializeAsString();
  for (auto _ : state) benchmark::DoNotOptimize(crypto::RecordId(payload));
  SetRates(state, 1);
}
BENCHMARK(BM_RecordId);

void BM_Validate(benchmark::State& state) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  const std::string bytes = SealRecord(SampleBody(key, 1), key);
  for (auto _ : state) {
    benchmark::DoNotOptimize(ValidateRecord(bytes, {}, testing::kTestNowMs));
  }
  SetRates(state, 1);
}
BENCHMARK(BM_Validate);

// `threatmesh verify` of a bundle of a record that crossed 10 hops: 12 signatures (record, 10
// hops, the holder's) and every rule; one bundle per iteration. Target: under 10 ms.
void BM_VerifyProofBundle10Hops(benchmark::State& state) {
  std::vector<crypto::KeyPair> nodes;
  for (int i = 0; i <= 10; ++i) nodes.push_back(crypto::KeyPair::Generate());
  v1::RecordBody body = SampleBody(nodes[0], 1);
  body.mutable_handling()->set_may_relay(true);
  body.mutable_handling()->set_max_hops(10);
  ProofMaterial m;
  m.record.ParseFromString(SealRecord(body, nodes[0]));
  const std::string id = crypto::Sha256(m.record.payload());
  v1::CustodyChain& chain = m.chains.emplace_back();
  for (int i = 0; i < 10; ++i) {
    SignHop(chain, id, nodes[i], nodes[i + 1].public_key().bytes(), testing::kTestNowMs + i,
            "bench");
  }
  const std::string bundle = ExportProofBundle(m, nodes[10], testing::kTestNowMs + 60000);
  if (VerifyProofBundle(bundle).verdict != ProofResult::Verdict::kValid) {
    state.SkipWithError("the 10-hop bundle does not verify");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(VerifyProofBundle(bundle));
  SetRates(state, 1);
  state.counters["ms_per_bundle"] = benchmark::Counter(
      static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_VerifyProofBundle10Hops)->Unit(benchmark::kMillisecond);

// ---- storage -----------------------------------------------------------------------------

void BM_RawRocksSyncedBatch(benchmark::State& state) {
  const std::string dir = BenchDir("raw-batch");
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  if (!rocksdb::DB::Open(options, dir, &db).ok()) {
    state.SkipWithError("cannot open RocksDB");
    return;
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  const std::string value(250, 'v');
  uint64_t key = 0;
  for (auto _ : state) {
    rocksdb::WriteBatch batch;
    for (int i = 0; i < kRawBatch; ++i) {
      batch.Put(crypto::Sha256(std::to_string(key++)), value).PermitUncheckedError();
    }
    if (!db->Write(wo, &batch).ok()) state.SkipWithError("write failed");
  }
  // Each iteration is kRawBatch records.
  SetRates(state, 1, static_cast<double>(state.iterations()) * kRawBatch);
  delete db;
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_RawRocksSyncedBatch)->UseRealTime()->Unit(benchmark::kMillisecond);

// Validate + durable put from many client threads sharing the cores: the writer groups
// their puts into shared syncs. Records are signed before timing starts.
struct PutFixture {
  std::unique_ptr<storage::Store> store;
  std::vector<std::string> records;
  std::atomic<std::size_t> next{0};
  std::string dir;
};
PutFixture* g_put = nullptr;
constexpr int kPutsPerThread = 400;

void BM_ValidateAndDurablePut(benchmark::State& state) {
  if (state.thread_index() == 0) {
    g_put = new PutFixture;
    g_put->dir = BenchDir("put");
    storage::StoreOptions options;
    options.create_if_missing = true;
    g_put->store = std::move(*storage::Store::Open(g_put->dir, options));
    crypto::KeyPair key = crypto::KeyPair::Generate();
    const int total = kPutsPerThread * state.threads();
    for (int i = 0; i < total; ++i) g_put->records.push_back(SealRecord(SampleBody(key, i), key));
  }
  for (auto _ : state) {
    const std::string& bytes = g_put->records[g_put->next++];
    absl::StatusOr<VerifiedRecord> r = ValidateRecord(bytes, {}, testing::kTestNowMs);
    if (!r.ok()) state.SkipWithError("validation failed");
    absl::StatusOr<uint64_t> seq = g_put->store->Put(storage::RecordToStore{
        std::move(r->id), std::move(r->signed_bytes), std::move(r->body), {}});
    if (!seq.ok()) state.SkipWithError("put failed");
  }
  SetRates(state, static_cast<int>(std::min<unsigned>(state.threads(), kCores)));
  if (state.thread_index() == 0) {
    // Every thread has left the timed loop (the loop's end is a barrier).
    g_put->store.reset();
    std::filesystem::remove_all(g_put->dir);
    delete g_put;
    g_put = nullptr;
  }
}
BENCHMARK(BM_ValidateAndDurablePut)
    ->Iterations(kPutsPerThread)
    ->UseRealTime()
    ->Threads(1)
    ->Threads(2)
    ->Threads(16)
    ->Threads(64)
    ->Threads(128);

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// Process CPU time (all threads, user + system), in seconds.
double ProcessCpuSeconds() {
  rusage r;
  getrusage(RUSAGE_SELF, &r);
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

// The ingest pipeline: state.range(0) validator threads validate pre-signed records and hand
// them to the writer with PutAsync, never waiting for a sync; at most kInFlight puts are
// outstanding per validator. Each iteration (round) pushes kPipelineRecords records through.
// "cores" is the CPU the whole process used (validators, writer, RocksDB threads) divided
// by the wall time: the cores this rate actually cost. The verify limits are measured right
// before and right after each round, and each round's ratios are taken against their mean;
// the summary shows the median over the rounds, which the machine's drift moves least.
constexpr int kPipelineRecords = 10000;
constexpr int kPipelineRounds = 8;
constexpr int kInFlight = 2048;

void BM_ValidateAndDurablePutPipeline(benchmark::State& state) {
  const std::string dir = BenchDir("pipeline");
  storage::StoreOptions options;
  options.create_if_missing = true;
  std::unique_ptr<storage::Store> store = std::move(*storage::Store::Open(dir, options));
  crypto::KeyPair key = crypto::KeyPair::Generate();
  const int iterations = static_cast<int>(state.max_iterations);
  std::vector<std::string> records;
  for (int i = 0; i < kPipelineRecords * iterations; ++i) {
    records.push_back(SealRecord(SampleBody(key, i), key));
  }
  const int validators = static_cast<int>(state.range(0));
  std::atomic<int> failures{0};
  double cpu_total = 0, wall_total = 0;
  std::vector<double> per_core_ratios, same_ratios;
  int round = 0;
  for (auto _ : state) {
    // The limits right before this round (outside the timed part), and right after below.
    double verify_1 = MeasureRawVerifyRate(1, 0.2);
    double verify_all = MeasureRawVerifyRate(kCores, 0.2);
    std::atomic<int> next{round * kPipelineRecords};
    const int end = (round + 1) * kPipelineRecords;
    const double cpu_start = ProcessCpuSeconds();
    const auto wall_start = Clock::now();
    std::vector<std::thread> threads;
    for (int v = 0; v < validators; ++v) {
      threads.emplace_back([&] {
        pthread_setname_np(pthread_self(), "tm-validator");
        // Credits for puts in flight: an atomic, so a callback costs no lock.
        std::atomic<int> outstanding{0};
        auto wait_below = [&](int limit) {
          for (int o = outstanding.load(); o >= limit; o = outstanding.load()) {
            outstanding.wait(o);
          }
        };
        for (int i = next++; i < end; i = next++) {
          absl::StatusOr<VerifiedRecord> r = ValidateRecord(records[i], {}, testing::kTestNowMs);
          if (!r.ok()) {
            ++failures;
            continue;
          }
          wait_below(kInFlight);
          ++outstanding;
          store->PutAsync(
              storage::RecordToStore{
                  std::move(r->id), std::move(r->signed_bytes), std::move(r->body), {}},
              [&](absl::StatusOr<uint64_t> seq) {
                if (!seq.ok()) ++failures;
                --outstanding;
                outstanding.notify_one();
              });
        }
        wait_below(1);
      });
    }
    for (std::thread& t : threads) t.join();
    const double wall = std::chrono::duration<double>(Clock::now() - wall_start).count();
    const double cpu = ProcessCpuSeconds() - cpu_start;
    state.SetIterationTime(wall);
    wall_total += wall;
    cpu_total += cpu;
    verify_1 = (verify_1 + MeasureRawVerifyRate(1, 0.2)) / 2;
    verify_all = (verify_all + MeasureRawVerifyRate(kCores, 0.2)) / 2;
    const double rate = kPipelineRecords / wall, cores = cpu / wall;
    per_core_ratios.push_back(rate / (verify_1 * cores));
    const double same_limit = verify_1 + (verify_all - verify_1) / std::max(1u, kCores - 1) *
                                             (std::min<double>(cores, kCores) - 1);
    same_ratios.push_back(rate / std::max(same_limit, verify_1));
    ++round;
  }
  if (failures > 0) state.SkipWithError("a record failed validation or storage");
  const double n = static_cast<double>(state.iterations()) * kPipelineRecords;
  state.counters["per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  state.counters["cores"] = cpu_total / wall_total;
  state.counters["median_x_verify_core"] = Median(per_core_ratios);
  state.counters["median_x_verify_same"] = Median(same_ratios);
  store.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ValidateAndDurablePutPipeline)
    ->ArgName("validators")
    ->Arg(1)
    ->Arg(2)
    ->Iterations(kPipelineRounds)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// Reads and queries on a store of kQueryRecords records.
constexpr int kQueryRecords = 20000;
struct QueryFixture {
  std::unique_ptr<storage::Store> store;
  std::vector<std::string> ids;
  std::string author;
  std::string dir;
};
QueryFixture* g_query = nullptr;

QueryFixture& Queries() {
  if (g_query) return *g_query;
  g_query = new QueryFixture;
  g_query->dir = BenchDir("query");
  storage::StoreOptions options;
  options.create_if_missing = true;
  g_query->store = std::move(*storage::Store::Open(g_query->dir, options));
  crypto::KeyPair key = crypto::KeyPair::Generate();
  g_query->author = std::string(key.public_key().bytes());
  // Concurrent loading, so the load itself is grouped.
  std::mutex mu;
  std::vector<std::thread> loaders;
  for (int t = 0; t < 32; ++t) {
    loaders.emplace_back([&, t] {
      for (int i = t; i < kQueryRecords; i += 32) {
        v1::RecordBody body = SampleBody(key, i);
        if (i % 3 == 0) {
          body.mutable_indicator()->set_type(v1::INDICATOR_TYPE_CIDR);
          body.mutable_indicator()->set_value("10." + std::to_string(i % 256) + ".0.0/16");
        }
        body.set_created_at(testing::kTestNowMs - kQueryRecords + i);
        storage::RecordToStore r = testing::ToStore(body, key);
        std::string id = r.id;
        if (g_query->store->Put(std::move(r)).ok()) {
          std::lock_guard<std::mutex> lock(mu);
          g_query->ids.push_back(id);
        }
      }
    });
  }
  for (std::thread& th : loaders) th.join();
  return *g_query;
}

void BM_Get(benchmark::State& state) {
  QueryFixture& q = Queries();
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(q.store->Get(q.ids[i++ % q.ids.size()]));
  SetRates(state, 1);
}
BENCHMARK(BM_Get);

template <typename F>
void QueryBench(benchmark::State& state, F query) {
  QueryFixture& q = Queries();
  std::size_t i = 0, found = 0;
  for (auto _ : state) {
    absl::StatusOr<storage::Page> page = query(q, i++);
    if (!page.ok()) state.SkipWithError("query failed");
    found += page->ids.size();
  }
  SetRates(state, 1);
  state.counters["ids_per_query"] =
      static_cast<double>(found) / std::max<double>(1, state.iterations());
}

void BM_FindIndicator(benchmark::State& state) {
  QueryBench(state, [](QueryFixture& q, std::size_t i) {
    int n = static_cast<int>(i % kQueryRecords) | 1;  // odd numbers are domains
    return q.store->FindIndicator(v1::INDICATOR_TYPE_DOMAIN,
                                  "host-" + std::to_string(n) + ".bench.example.com", {});
  });
}
BENCHMARK(BM_FindIndicator);

void BM_FindDomainSuffix(benchmark::State& state) {
  QueryBench(state, [](QueryFixture& q, std::size_t) {
    return q.store->FindDomainSuffix("bench.example.com", {100, ""});
  });
}
BENCHMARK(BM_FindDomainSuffix);

void BM_FindContainingIp(benchmark::State& state) {
  QueryBench(state, [](QueryFixture& q, std::size_t i) {
    return q.store->FindContainingIp("10." + std::to_string(i % 256) + ".3.4", {});
  });
}
BENCHMARK(BM_FindContainingIp);

void BM_FindByAuthor(benchmark::State& state) {
  QueryBench(state, [](QueryFixture& q, std::size_t i) {
    int64_t from = testing::kTestNowMs - kQueryRecords + static_cast<int64_t>(i % 10000);
    return q.store->FindByAuthor(q.author, from, from + 100, {});
  });
}
BENCHMARK(BM_FindByAuthor);

void BM_FindByTag(benchmark::State& state) {
  QueryBench(state, [](QueryFixture& q, std::size_t) {
    return q.store->FindByTag("odd", {100, ""});
  });
}
BENCHMARK(BM_FindByTag);

void BM_FindByKind(benchmark::State& state) {
  QueryBench(state, [](QueryFixture& q, std::size_t) {
    return q.store->FindByKind(storage::RecordKind::kIndicator, {100, ""});
  });
}
BENCHMARK(BM_FindByKind);

void BM_ReadLog(benchmark::State& state) {
  QueryFixture& q = Queries();
  uint64_t from = 1;
  std::size_t read = 0;
  for (auto _ : state) {
    absl::StatusOr<storage::LogPage> page = q.store->ReadLog(from, 100);
    if (!page.ok()) state.SkipWithError("read failed");
    read += page->entries.size();
    from = page->entries.empty() ? 1 : page->next_seq;
  }
  SetRates(state, 1);
  state.counters["entries_per_s"] =
      benchmark::Counter(static_cast<double>(read), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ReadLog);

}  // namespace
}  // namespace threatmesh

int main(int argc, char** argv) {
  threatmesh::crypto::EnsureSodium();
  benchmark::Initialize(&argc, argv);
  threatmesh::g_verify_rate = threatmesh::MeasureRawVerifyRate(1);
  threatmesh::g_verify_rate_all = threatmesh::MeasureRawVerifyRate(threatmesh::kCores);
  threatmesh::g_rocks_rate = threatmesh::MeasureRawRocksRate();
  std::printf(
      "physical limits measured in this run (%u cores):\n"
      "  libsodium Ed25519 verify, one core: %.0f /s\n"
      "  libsodium Ed25519 verify, one thread per core: %.0f /s\n"
      "  RocksDB synced batched put (%d records/batch): %.0f records/s\n\n",
      threatmesh::kCores, threatmesh::g_verify_rate, threatmesh::g_verify_rate_all,
      threatmesh::kRawBatch, threatmesh::g_rocks_rate);
  std::fflush(stdout);
  threatmesh::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  if (threatmesh::g_query) {
    threatmesh::g_query->store.reset();
    std::filesystem::remove_all(threatmesh::g_query->dir);
  }
  return 0;
}
