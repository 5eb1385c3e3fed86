// threatmesh export: the node's records in a standard format (node/interop), streamed from
// the node's change feed and written whole or not at all.
#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "crypto/keys.h"
#include "crypto/str_cat.h"
#include "node/api/grpc/client.h"
#include "node/cli/commands.h"
#include "node/cli/node_access.h"
#include "node/core/clock.h"
#include "node/core/indicator.h"
#include "node/core/record_builder.h"
#include "node/core/record_kind.h"
#include "node/core/record_view.h"
#include "node/interop/feeds.h"
#include "node/interop/misp.h"

namespace threatmesh::cli {
namespace {

// An output file written beside its final path and renamed over it once complete and synced,
// so that a resolver or IDS reading the path never sees half an export.
class AtomicOutput {
 public:
  explicit AtomicOutput(std::string path) : path_(std::move(path)) {}
  ~AtomicOutput() {
    if (!temp_.empty()) ::unlink(temp_.c_str());
  }

  absl::Status Open() {
    std::string temp = path_ + ".tmp.XXXXXX";
    const int fd = ::mkstemp(temp.data());
    if (fd < 0) {
      return absl::UnavailableError(StrCat("cannot create ", path_, ": ", std::strerror(errno),
                                           errno == ENOENT ? " (create its directory first)" : ""));
    }
    const mode_t mask = ::umask(0);
    ::umask(mask);
    (void)::fchmod(fd, 0666 & ~mask);
    ::close(fd);
    temp_ = temp;
    out_.open(temp_, std::ios::binary | std::ios::trunc);
    if (!out_) return absl::UnavailableError(StrCat("cannot write ", temp_));
    return absl::OkStatus();
  }

  std::ostream& stream() { return out_; }

  // Flushes, syncs and renames; the export is then in place.
  absl::Status Commit() {
    out_.flush();
    const bool written = static_cast<bool>(out_);
    out_.close();
    int error = written ? 0 : EIO;
    if (error == 0) {
      const int fd = ::open(temp_.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::fsync(fd) != 0) error = errno;
      if (fd >= 0) ::close(fd);
    }
    if (error == 0 && ::rename(temp_.c_str(), path_.c_str()) != 0) error = errno;
    if (error != 0) {
      return absl::UnavailableError(StrCat("cannot write ", path_, ": ", std::strerror(error),
                                           error == ENOSPC ? " (the disk is full)" : ""));
    }
    temp_.clear();
    return absl::OkStatus();
  }

 private:
  const std::string path_;
  std::string temp_;
  std::ofstream out_;
};

void ExportOptions(po::options_description& d) {
  d.add_options()("format", po::value<std::string>()->required(),
                  "stix, misp-feed (a directory), plain, csv, zeek-intel or rpz")(
      "out", po::value<std::string>(),
      "write here, replacing it whole once complete (default: standard output)")(
      "since", po::value<std::string>(), "only records created at or after this time")(
      "type", po::value<std::vector<std::string>>()->composing(),
      "only indicators of this type (repeatable)")(
      "tag", po::value<std::vector<std::string>>()->composing(),
      "only records carrying this tag (repeatable; all must match)")(
      "kind", po::value<std::vector<std::string>>()->composing(),
      "only records of this kind (repeatable)")("author", po::value<std::string>(),
                                                "only this author's public key")(
      "max-tlp", po::value<std::string>(), "only records labelled up to this TLP")(
      "include-retracted", po::bool_switch(),
      "also retracted records (STIX marks them revoked); enforcement feeds leave them out")(
      "rpz-action", po::value<std::string>()->default_value("nxdomain"),
      "rpz: nxdomain, nodata, drop or passthru")(
      "source", po::value<std::string>()->default_value("threatmesh"),
      "zeek-intel: the meta.source of every line; misp-feed: the organisation's name");
}

absl::StatusOr<v1::Filter> ExportFilter(const po::variables_map& vm) {
  v1::Filter f;
  if (vm.count("kind")) {
    for (const std::string& k : vm["kind"].as<std::vector<std::string>>()) {
      std::optional<RecordKindInfo> kind = FindRecordKind(k);
      if (!kind) return absl::InvalidArgumentError(StrCat("--kind: unknown kind \"", k, "\""));
      f.add_kinds(kind->api_kind);
    }
  }
  if (vm.count("max-tlp")) {
    absl::StatusOr<v1::Tlp> tlp = ParseTlp(vm["max-tlp"].as<std::string>());
    if (!tlp.ok()) return tlp.status();
    f.set_max_tlp(*tlp);
  }
  if (vm.count("tag")) {
    for (const std::string& t : vm["tag"].as<std::vector<std::string>>()) f.add_tags(t);
  }
  if (vm.count("author")) {
    absl::StatusOr<crypto::PublicKey> key =
        crypto::PublicKey::FromText(vm["author"].as<std::string>());
    if (!key.ok()) return key.status();
    f.set_author(std::string(key->bytes()));
  }
  if (vm.count("since")) {
    absl::StatusOr<int64_t> t = ParseTime(vm["since"].as<std::string>());
    if (!t.ok()) return absl::InvalidArgumentError(StrCat("--since: ", t.status().message()));
    f.set_created_from(*t);
  }
  return f;
}

// What an export did: records written, and those left out by reason.
struct ExportCounts {
  uint64_t written = 0;
  std::map<std::string, uint64_t> skipped;
};

// Streams every record the node holds now, through the filter, into `writer`.
absl::Status StreamRecords(NodeClient& client, const po::variables_map& vm,
                           interop::FeedWriter& writer, ExportCounts& counts) {
  absl::StatusOr<v1::Filter> filter = ExportFilter(vm);
  if (!filter.ok()) return filter.status();
  std::set<int> types;
  if (vm.count("type")) {
    for (const std::string& t : vm["type"].as<std::vector<std::string>>()) {
      absl::StatusOr<v1::IndicatorType> type = ParseIndicatorType(t);
      if (!type.ok()) return type.status();
      types.insert(*type);
    }
  }
  absl::StatusOr<v1::StatusResponse> status = client.Status();
  if (!status.ok()) return status.status();
  const uint64_t head = status->next_seq() - 1;
  if (head == 0) return absl::OkStatus();
  const bool include_retracted = vm["include-retracted"].as<bool>();
  v1::SubscribeRequest request;
  *request.mutable_filter() = *filter;
  return client.Subscribe(request, [&](const v1::SubscribeEvent& event) {
    if (!event.has_record()) return event.cursor() < head;
    const v1::StoredRecord& r = event.record();
    std::string why;
    if (!r.distrusted_by().empty()) {
      why = "its author's key was revoked or rotated before it";
    } else if (!r.superseded_by().empty()) {
      why = "a newer version supersedes it";
    } else if (!r.retracted_by().empty() && !include_retracted) {
      why = "retracted (--include-retracted keeps it)";
    } else if (!types.empty() &&
               !(r.body().has_indicator() && types.count(r.body().indicator().type()))) {
      why = "not of a --type asked for";
    }
    if (why.empty() && writer.Add(r, &why)) {
      ++counts.written;
    } else {
      ++counts.skipped[why];
    }
    return event.cursor() < head;
  });
}

// misp-feed: the directory `dir` (made when missing) gets EVENT-UUID.json, hashes.csv and
// manifest.json, each replaced whole, the manifest last, so a MISP that fetches the feed never
// sees a manifest naming a half-written event.
absl::Status ExportMispFeed(NodeClient& client, const po::variables_map& vm, const std::string& dir,
                            ExportCounts& counts) {
  if (dir.empty()) {
    return absl::InvalidArgumentError("misp-feed writes a directory: give --out DIR");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(StrCat("cannot make ", dir, ": ", ec.message()));
  absl::StatusOr<v1::StatusResponse> status = client.Status();
  if (!status.ok()) return status.status();
  absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromText(status->public_key());
  if (!key.ok()) return key.status();
  interop::MispFeedOptions options;
  options.node_key = std::string(key->bytes());
  options.org_name = vm["source"].as<std::string>();
  options.now_ms = SystemNowMs();
  AtomicOutput event(StrCat(dir, "/", interop::MispEventUuid(options.node_key), ".json"));
  AtomicOutput hashes(dir + "/hashes.csv");
  AtomicOutput manifest(dir + "/manifest.json");
  for (AtomicOutput* out : {&event, &hashes, &manifest}) {
    if (absl::Status s = out->Open(); !s.ok()) return s;
  }
  interop::MispFeedWriter writer(event.stream(), hashes.stream(), options);
  if (absl::Status s = StreamRecords(client, vm, writer, counts); !s.ok()) return s;
  writer.Finish();
  manifest.stream() << writer.Manifest();
  for (AtomicOutput* out : {&event, &hashes, &manifest}) {
    if (absl::Status s = out->Commit(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void PrintCounts(const ExportCounts& counts, const std::string& format, const std::string& out,
                 Io& io) {
  io.err << "export: " << counts.written << " records as " << format << " to "
         << (out.empty() ? "standard output" : out) << "\n";
  for (const auto& [why, n] : counts.skipped) io.err << "  left out " << n << ": " << why << "\n";
}

// An export reads a million messages on gRPC's threads and frees them on this one. glibc's
// malloc then gives each thread an arena that keeps what was freed into it: 700 MB resident
// for a million records, against 30 MB with one arena (export_bench).
void TuneMallocForStreaming() { mallopt(M_ARENA_MAX, 1); }

int RunExport(const po::variables_map& vm, Io& io) {
  TuneMallocForStreaming();  // before the client starts gRPC's threads
  const std::string format = vm["format"].as<std::string>();
  interop::FeedOptions options;
  absl::StatusOr<interop::RpzAction> action =
      interop::ParseRpzAction(vm["rpz-action"].as<std::string>());
  if (!action.ok()) return Fail(io, action.status());
  options.rpz_action = *action;
  options.source = vm["source"].as<std::string>();
  const std::string out_path = OutPath(vm);
  // The zone's serial grows with every export to the same file (its SOA is in the first
  // lines: only those are read).
  uint32_t previous = 0;
  if (format == "rpz" && !out_path.empty()) {
    std::ifstream old(out_path, std::ios::binary);
    std::string head(4096, '\0');
    old.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(old.gcount()));
    previous = interop::RpzSerialOf(head);
  }
  options.rpz_serial = std::max<uint32_t>(previous + 1, static_cast<uint32_t>(std::time(nullptr)));

  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  options.lookup = [&client](const std::string& id) -> std::optional<v1::StoredRecord> {
    v1::GetRequest get;
    get.set_id(id);
    absl::StatusOr<v1::GetResponse> r = (*client)->Get(get);
    if (!r.ok()) return std::nullopt;
    return r->record();
  };
  ExportCounts counts;
  if (format == "misp-feed") {
    if (absl::Status s = ExportMispFeed(**client, vm, out_path, counts); !s.ok()) {
      return Fail(io, s);
    }
    PrintCounts(counts, format, out_path, io);
    return kExitOk;
  }
  std::optional<AtomicOutput> file;
  if (!out_path.empty()) {
    file.emplace(out_path);
    if (absl::Status s = file->Open(); !s.ok()) return Fail(io, s);
  }
  std::ostream& out = file ? file->stream() : io.out;
  absl::StatusOr<std::unique_ptr<interop::FeedWriter>> writer =
      interop::MakeFeedWriter(format, out, std::move(options));
  if (!writer.ok()) return Fail(io, writer.status());
  if (absl::Status s = StreamRecords(**client, vm, **writer, counts); !s.ok()) return Fail(io, s);
  (*writer)->Finish();
  if (file) {
    if (absl::Status s = file->Commit(); !s.ok()) return Fail(io, s);
  }
  PrintCounts(counts, format, out_path, io);
  return kExitOk;
}

}  // namespace

Command ExportCommand() {
  return {"export",
          "write the node's records as STIX 2.1, a MISP feed, or a feed for DNS servers, IDS and "
          "firewalls",
          "threatmesh export --format rpz --type domain --out /etc/bind/threatmesh.rpz",
          ExportOptions, RunExport};
}

}  // namespace threatmesh::cli
