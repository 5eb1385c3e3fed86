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
#include "node/cli/import_publisher.h"
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
