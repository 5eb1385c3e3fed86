// threatmesh import: objects of another tool's file (STIX 2.1, a MISP event or feed, or CSV)
// become records signed by the node, each published once however often the file is imported
// (node/interop). STIX streams: a bundle of any size is read in two passes, one object at a
// time, and published in batches.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <set>
#include <streambuf>
#include <vector>

#include "crypto/keys.h"
#include "crypto/str_cat.h"
#include "node/api/grpc/client.h"
#include "node/cli/commands.h"
#include "node/cli/node_access.h"
#include "node/core/json_string.h"
#include "node/core/record_builder.h"
#include "node/interop/csv_import.h"
#include "node/interop/misp_import.h"
#include "node/interop/stix_import.h"

namespace threatmesh::cli {
namespace {

// The largest CSV or MISP file read whole; STIX is streamed and has no limit.
constexpr std::uintmax_t kMaxWholeFileBytes = 256u << 20;
// Object ids listed per reason in the text summary, and kept per reason for --json.
constexpr std::size_t kIdsShown = 5;
constexpr std::size_t kIdsKept = 1000;
// Requests sent on one PublishStream call.
constexpr std::size_t kBatch = 2048;
// A progress line on stderr for files from this size, each time this much more is read.
constexpr uint64_t kProgressBytes = 64u << 20;

void ImportOptions(po::options_description& d) {
  d.add_options()("file", po::value<std::string>()->required(),
                  "the file to import (for misp, an event file or a feed directory)")(
      "format", po::value<std::string>()->default_value("stix"),
      "stix (a bundle of any size, a TAXII envelope or one object), misp (an event file, "
      "a list of events, or a feed directory with manifest.json), or csv (a header row naming "
      "type and value, and tlp, confidence, labels, valid_from, valid_until, description when "
      "present)")("tlp", po::value<std::string>()->default_value("amber"),
                  "TLP of objects that carry no marking");
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return absl::NotFoundError(StrCat("cannot read ", path, ": ", ec.message()));
  if (size > kMaxWholeFileBytes) {
    return absl::ResourceExhaustedError(
        StrCat(path, " is ", size >> 20, " MB, over the ", kMaxWholeFileBytes >> 20,
               " MB read at once for this format: split it into smaller files"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot read ", path));
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A file read in large blocks, counting what it has handed out (for the progress line).
class FileBuf : public std::streambuf {
 public:
  static absl::StatusOr<std::unique_ptr<FileBuf>> Open(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
      return absl::NotFoundError(StrCat("cannot read ", path, ": ", std::strerror(errno)));
    }
    return std::unique_ptr<FileBuf>(new FileBuf(f));
  }
  ~FileBuf() override { std::fclose(file_); }
  uint64_t consumed() const { return filled_ - static_cast<uint64_t>(egptr() - gptr()); }
  bool failed() const { return std::ferror(file_) != 0; }

 protected:
  int_type underflow() override {
    const std::size_t n = std::fread(buffer_.data(), 1, buffer_.size(), file_);
    if (n == 0) return traits_type::eof();
    filled_ += n;
    setg(buffer_.data(), buffer_.data(), buffer_.data() + n);
    return traits_type::to_int_type(buffer_[0]);
  }

 private:
  explicit FileBuf(FILE* f) : file_(f), buffer_(1u << 20) {}
  FILE* file_;
  std::vector<char> buffer_;
  uint64_t filled_ = 0;
};

// What became of the objects: by outcome, the ids of the objects.
struct ImportSummary {
  uint64_t read = 0, imported = 0, present = 0;
  struct Reason {
    uint64_t count = 0;
    std::vector<std::string> ids;  // the first kIdsKept
  };
  std::map<std::string, Reason> not_imported;

  void NotImported(const std::string& why, const std::string& id) {
    Reason& r = not_imported[why];
    ++r.count;
    if (r.ids.size() < kIdsKept) r.ids.push_back(id);
  }
};

void PrintSummary(const ImportSummary& s, bool json, Io& io) {
  if (json) {
    io.out << "{\"read\":" << s.read << ",\"imported\":" << s.imported
           << ",\"already_present\":" << s.present << ",\"not_imported\":[";
    bool first = true;
    for (const auto& [why, r] : s.not_imported) {
      io.out << (first ? "" : ",") << "{\"reason\":" << JsonString(why) << ",\"count\":" << r.count
             << ",\"ids\":[";
      for (std::size_t i = 0; i < r.ids.size(); ++i) {
        io.out << (i ? "," : "") << JsonString(r.ids[i]);
      }
      io.out << "]}";
      first = false;
    }
    io.out << "]}\n";
    return;
  }
  io.out << "import: " << s.imported << " imported, " << s.present << " already present, "
         << s.read - s.imported - s.present << " not imported, of " << s.read << " values\n";
  for (const auto& [why, r] : s.not_imported) {
    io.out << "  " << r.count << " not imported: " << why << " (";
    for (std::size_t i = 0; i < r.ids.size() && i < kIdsShown; ++i) {
      io.out << (i ? ", " : "") << r.ids[i];
    }
    io.out << (r.count > kIdsShown ? ", ...)\n" : ")\n");
  }
}

// Publishes batches of imported requests and counts what became of them. One batch is
// published on a thread of its own while the caller reads the next, so that the node does
// not wait for the file.
class Publisher {
 public:
  Publisher(NodeClient& client, ImportSummary& summary) : client_(client), summary_(summary) {}
  ~Publisher() { (void)Drain(); }

  absl::Status Start() {
    absl::StatusOr<v1::StatusResponse> status = client_.Status();
    if (!status.ok()) return status.status();
    absl::StatusOr<crypto::PublicKey> self = crypto::PublicKey::FromText(status->public_key());
    if (!self.ok()) return self.status();
    self_ = std::string(self->bytes());
    return absl::OkStatus();
  }

  // Counts the batch's skipped objects and starts publishing its requests, once the batch
  // before it is done; an error of an earlier batch.
  absl::Status Submit(interop::StixImport& batch) {
    for (const auto& [id, why] : batch.skipped) summary_.NotImported(why, id);
    summary_.read += batch.requests.size() + batch.skipped.size();
    if (batch.requests.empty()) return absl::OkStatus();
    if (absl::Status s = Drain(); !s.ok()) return s;
    std::vector<v1::PublishRequest> requests;
    requests.reserve(batch.requests.size());
    ids_.clear();
    for (auto& [id, r] : batch.requests) {
      ids_.push_back(std::move(id));
      requests.push_back(std::move(r));
      // A RED object stays with this node: its record names the node as its one recipient.
      v1::RecordBody* body = requests.back().mutable_body();
      if (body->tlp() == v1::TLP_RED && body->handling().recipients().empty()) {
        body->mutable_handling()->add_recipients(self_);
      }
    }
    in_flight_ = std::async(std::launch::async, [this, requests = std::move(requests)] {
      return client_.PublishStream(requests);
    });
    return absl::OkStatus();
  }

  // Waits for the batch in flight and counts what became of it.
  absl::Status Drain() {
    if (!in_flight_.valid()) return absl::OkStatus();
    absl::StatusOr<v1::PublishStreamResponse> published = in_flight_.get();
    if (!published.ok()) return published.status();
    summary_.imported += published->stored();
    summary_.present += published->duplicates();
    std::set<uint64_t> listed;
    for (const v1::PublishError& e : published->errors()) {
      if (e.index() >= ids_.size()) continue;
      listed.insert(e.index());
      summary_.NotImported(StrCat("refused by the node: ", e.message()), ids_[e.index()]);
    }
    // Refusals beyond the errors the node lists are counted without their reason.
    for (uint64_t i = listed.size(); i < published->refused(); ++i) {
      summary_.NotImported("refused by the node (reason not listed)", "?");
    }
    return absl::OkStatus();
  }

 private:
  NodeClient& client_;
  ImportSummary& summary_;
  std::string self_;
  std::future<absl::StatusOr<v1::PublishStreamResponse>> in_flight_;
  std::vector<std::string> ids_;  // the object ids of the batch in flight
};

// Prints "import: PHASE N of M MB" on stderr each time kProgressBytes more are read, for a
// file of at least that size.
class ProgressLine {
 public:
  ProgressLine(uint64_t total, Io& io) : total_(total), io_(io) {}
  void Show(std::string_view phase, uint64_t done, const ImportSummary* summary) {
    if (total_ < kProgressBytes || done < next_) return;
    next_ = done - done % kProgressBytes + kProgressBytes;
    io_.err << "import: " << phase << " " << (done >> 20) << " of " << (total_ >> 20) << " MB";
    if (summary != nullptr) {
      io_.err << ": " << summary->imported << " imported, " << summary->present
              << " already present";
    }
    io_.err << std::endl;
  }
  void Restart() { next_ = kProgressBytes; }

 private:
  const uint64_t total_;
  Io& io_;
  uint64_t next_ = kProgressBytes;
};

// STIX, in two passes over the file: nothing is published unless all of it is STIX.
absl::Status ImportStix(const std::string& path, v1::Tlp tlp, const po::variables_map& vm,
                        ImportSummary& summary, Io& io) {
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return absl::NotFoundError(StrCat("cannot read ", path, ": ", ec.message()));
  interop::StixImporter importer(std::filesystem::path(path).filename().string(), tlp);
  ProgressLine progress(size, io);
  absl::StatusOr<std::unique_ptr<FileBuf>> scan_buf = FileBuf::Open(path);
  if (!scan_buf.ok()) return scan_buf.status();
  {
    std::istream in(scan_buf->get());
    importer.set_progress([&] { progress.Show("checked", (*scan_buf)->consumed(), nullptr); });
    absl::Status scanned = importer.Scan(in);
    if ((*scan_buf)->failed()) scanned = absl::DataLossError(StrCat("cannot read ", path));
    if (!scanned.ok()) {
      return absl::InvalidArgumentError(
          StrCat(path, ": ", scanned.message(), "; nothing was imported"));
    }
  }
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return client.status();
  Publisher publisher(**client, summary);
  if (absl::Status s = publisher.Start(); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<FileBuf>> read_buf = FileBuf::Open(path);
  if (!read_buf.ok()) return read_buf.status();
  std::istream in(read_buf->get());
  progress.Restart();
  importer.set_progress([&] { progress.Show("read", (*read_buf)->consumed(), &summary); });
  absl::Status published = absl::OkStatus();
  absl::Status read = importer.Read(in, kBatch, [&](interop::StixImport& batch) {
    if (published.ok()) published = publisher.Submit(batch);
  });
  if (absl::Status drained = publisher.Drain(); published.ok()) published = drained;
  if (!read.ok()) {
    return absl::DataLossError(StrCat(path, " changed while it was imported: ", read.message(),
                                      "; import it again to finish"));
  }
  return published;
}

// MISP or CSV, read whole: a MISP feed directory is each event its manifest names.
absl::Status ImportWhole(const std::string& path, const std::string& format, v1::Tlp tlp,
                         const po::variables_map& vm, ImportSummary& summary) {
  std::vector<std::string> files = {path};
  if (format == "misp" && std::filesystem::is_directory(path)) {
    absl::StatusOr<std::string> manifest = ReadWholeFile(path + "/manifest.json");
    if (!manifest.ok()) return manifest.status();
    absl::StatusOr<std::vector<std::string>> events = interop::MispManifestEvents(*manifest);
    if (!events.ok()) {
      return absl::InvalidArgumentError(
          StrCat(path, "/manifest.json: ", events.status().message(), "; nothing was imported"));
    }
    files.clear();
    for (const std::string& uuid : *events) files.push_back(StrCat(path, "/", uuid, ".json"));
  }
  std::vector<interop::StixImport> reads;
  for (const std::string& file : files) {
    absl::StatusOr<std::string> text = ReadWholeFile(file);
    if (!text.ok()) return text.status();
    const std::string name = std::filesystem::path(file).filename().string();
    absl::StatusOr<interop::StixImport> read =
        format == "csv" ? interop::ReadCsv(*text, name, tlp) : interop::ReadMisp(*text, name, tlp);
    if (!read.ok()) {
      return absl::InvalidArgumentError(
          StrCat(file, ": ", read.status().message(), "; nothing was imported"));
    }
    reads.push_back(std::move(*read));
  }
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return client.status();
  Publisher publisher(**client, summary);
  if (absl::Status s = publisher.Start(); !s.ok()) return s;
  for (interop::StixImport& read : reads) {
    if (absl::Status s = publisher.Submit(read); !s.ok()) return s;
  }
  return publisher.Drain();
}

int RunImport(const po::variables_map& vm, Io& io) {
  const std::string path = vm["file"].as<std::string>();
  const std::string format = vm["format"].as<std::string>();
  if (format != "stix" && format != "csv" && format != "misp") {
    return Fail(io, absl::InvalidArgumentError(
                        StrCat("import reads --format stix, misp or csv, not ", format)));
  }
  absl::StatusOr<v1::Tlp> tlp = ParseTlp(vm["tlp"].as<std::string>());
  if (!tlp.ok()) return Fail(io, tlp.status());
  ImportSummary summary;
  absl::Status done = format == "stix" ? ImportStix(path, *tlp, vm, summary, io)
                                       : ImportWhole(path, format, *tlp, vm, summary);
  if (!done.ok()) {
    if (summary.imported + summary.present > 0) PrintSummary(summary, vm.count("json") > 0, io);
    return Fail(io, done);
  }
  PrintSummary(summary, vm.count("json") > 0, io);
  return kExitOk;
}

}  // namespace

Command ImportCommand() {
  return {"import",
          "sign and publish the indicators and sightings of a STIX 2.1, MISP or CSV file; a "
          "second import adds nothing",
          "threatmesh import feed.stix.json --tlp green",
          ImportOptions,
          RunImport,
          {"file"}};
}

}  // namespace threatmesh::cli
