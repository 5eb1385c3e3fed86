// threatmesh import: objects of another tool's file (STIX 2.1, or CSV) become records signed
// by the node, each published once however often the file is imported (node/interop).
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <vector>

#include "crypto/keys.h"
#include "crypto/str_cat.h"
#include "node/api/grpc/client.h"
#include "node/cli/commands.h"
#include "node/cli/node_access.h"
#include "node/core/json_string.h"
#include "node/core/record_builder.h"
#include "node/interop/csv_import.h"
#include "node/interop/stix_import.h"

namespace threatmesh::cli {
namespace {

// The largest file read whole; a larger bundle is refused with a message to split it.
constexpr std::uintmax_t kMaxImportBytes = 256u << 20;
// Object ids listed per reason in the text summary (--json lists them all).
constexpr std::size_t kIdsShown = 5;

void ImportOptions(po::options_description& d) {
  d.add_options()("file", po::value<std::string>()->required(), "the file to import")(
      "format", po::value<std::string>()->default_value("stix"),
      "stix, or csv (a header row naming type and value, and tlp, confidence, labels, "
      "valid_from, valid_until, description when present)")(
      "tlp", po::value<std::string>()->default_value("amber"),
      "TLP of objects that carry no marking");
}

absl::StatusOr<std::string> ReadImportFile(const std::string& path) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return absl::NotFoundError(StrCat("cannot read ", path, ": ", ec.message()));
  if (size > kMaxImportBytes) {
    return absl::ResourceExhaustedError(
        StrCat(path, " is ", size >> 20, " MB, over the ", kMaxImportBytes >> 20,
               " MB read at once: split the bundle into smaller files"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot read ", path));
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// What became of the objects: by outcome, the ids of the objects.
struct ImportSummary {
  uint64_t read = 0, imported = 0, present = 0;
  std::map<std::string, std::vector<std::string>> not_imported;  // reason -> object ids
};

void PrintSummary(const ImportSummary& s, bool json, Io& io) {
  if (json) {
    io.out << "{\"read\":" << s.read << ",\"imported\":" << s.imported
           << ",\"already_present\":" << s.present << ",\"not_imported\":[";
    bool first = true;
    for (const auto& [why, ids] : s.not_imported) {
      io.out << (first ? "" : ",") << "{\"reason\":" << JsonString(why) << ",\"ids\":[";
      for (std::size_t i = 0; i < ids.size(); ++i) io.out << (i ? "," : "") << JsonString(ids[i]);
      io.out << "]}";
      first = false;
    }
    io.out << "]}\n";
    return;
  }
  io.out << "import: " << s.imported << " imported, " << s.present << " already present, "
         << s.read - s.imported - s.present << " not imported, of " << s.read << " values\n";
  for (const auto& [why, ids] : s.not_imported) {
    io.out << "  " << ids.size() << " not imported: " << why << " (";
    for (std::size_t i = 0; i < ids.size() && i < kIdsShown; ++i) {
      io.out << (i ? ", " : "") << ids[i];
    }
    io.out << (ids.size() > kIdsShown ? ", ...)\n" : ")\n");
  }
}

int RunImport(const po::variables_map& vm, Io& io) {
  const std::string path = vm["file"].as<std::string>();
  const std::string format = vm["format"].as<std::string>();
  if (format != "stix" && format != "csv") {
    return Fail(io, absl::InvalidArgumentError(StrCat("import reads --format stix or csv; ", format,
                                                      " is not built yet")));
  }
  absl::StatusOr<v1::Tlp> tlp = ParseTlp(vm["tlp"].as<std::string>());
  if (!tlp.ok()) return Fail(io, tlp.status());
  absl::StatusOr<std::string> text = ReadImportFile(path);
  if (!text.ok()) return Fail(io, text.status());
  const std::string name = std::filesystem::path(path).filename().string();
  absl::StatusOr<interop::StixImport> read =
      format == "csv" ? interop::ReadCsv(*text, name, *tlp) : interop::ReadStix(*text, name, *tlp);
  if (!read.ok()) {
    return Fail(io, absl::InvalidArgumentError(
                        StrCat(path, ": ", read.status().message(), "; nothing was imported")));
  }
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  ImportSummary summary;
  for (const auto& [id, why] : read->skipped) summary.not_imported[why].push_back(id);
  summary.read = read->requests.size() + read->skipped.size();
  if (!read->requests.empty()) {
    // A RED object stays with this node: its record names the node as its one recipient.
    absl::StatusOr<v1::StatusResponse> status = (*client)->Status();
    if (!status.ok()) return Fail(io, status.status());
    absl::StatusOr<crypto::PublicKey> self = crypto::PublicKey::FromText(status->public_key());
    if (!self.ok()) return Fail(io, self.status());
    std::vector<v1::PublishRequest> requests;
    requests.reserve(read->requests.size());
    for (const auto& [id, r] : read->requests) {
      requests.push_back(r);
      v1::RecordBody* body = requests.back().mutable_body();
      if (body->tlp() == v1::TLP_RED && body->handling().recipients().empty()) {
        body->mutable_handling()->add_recipients(std::string(self->bytes()));
      }
    }
    absl::StatusOr<v1::PublishStreamResponse> published = (*client)->PublishStream(requests);
    if (!published.ok()) return Fail(io, published.status());
    summary.imported = published->stored();
    summary.present = published->duplicates();
    std::set<uint64_t> listed;
    for (const v1::PublishError& e : published->errors()) {
      if (e.index() >= read->requests.size()) continue;
      listed.insert(e.index());
      summary.not_imported[StrCat("refused by the node: ", e.message())].push_back(
          read->requests[e.index()].first);
    }
    // Refusals beyond the errors the node lists are counted without their reason.
    const uint64_t unlisted = published->refused() - listed.size();
    for (uint64_t i = 0; i < unlisted; ++i) {
      summary.not_imported["refused by the node (reason not listed)"].push_back("?");
    }
  }
  PrintSummary(summary, vm.count("json") > 0, io);
  return kExitOk;
}

}  // namespace

Command ImportCommand() {
  return {"import",
          "sign and publish the indicators of a STIX 2.1 or CSV file; a second import adds nothing",
          "threatmesh import feed.stix.json --tlp green",
          ImportOptions,
          RunImport,
          {"file"}};
}

}  // namespace threatmesh::cli
