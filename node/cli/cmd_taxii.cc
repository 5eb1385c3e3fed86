// threatmesh taxii: pulls a TAXII 2.1 collection into the node (each object a record signed by
// the node, as `import` makes them), keeping a cursor per source so that the next run fetches
// only what is new; and lists the sources pulled (docs/TAXII.md, "Pulling").
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "crypto/str_cat.h"
#include "node/cli/commands.h"
#include "node/cli/import_publisher.h"
#include "node/cli/node_access.h"
#include "node/core/clock.h"
#include "node/core/record_builder.h"
#include "node/core/record_view.h"
#include "node/interop/stix_import.h"
#include "node/taxii/taxii_client.h"

namespace threatmesh::cli {
namespace {

using Json = nlohmann::json;

void TaxiiOptions(po::options_description& d) {
  d.add_options()("action", po::value<std::string>()->required(), "pull or sources")(
      "url", po::value<std::string>(), "the TAXII API root's URL (pull)")(
      "collection", po::value<std::string>(), "the collection's id (pull)")(
      "user", po::value<std::string>()->default_value("threatmesh"),
      "HTTP Basic user name (with --password-file)")("password-file", po::value<std::string>(),
                                                     "file holding the HTTP Basic password")(
      "remote-token-file", po::value<std::string>(),
      "file holding a Bearer token for the TAXII server (instead of --password-file)")(
      "remote-ca", po::value<std::string>(),
      "PEM file of the CA (or certificate) to trust for the TAXII server's HTTPS")(
      "limit", po::value<std::size_t>()->default_value(1000), "objects per page (1 to 10000)")(
      "max-pages", po::value<std::size_t>()->default_value(0),
      "stop after this many pages (0: until the collection has no more); the next run goes on")(
      "tlp", po::value<std::string>()->default_value("amber"),
      "TLP of objects that carry no marking")(
      "state", po::value<std::string>(),
      "the file of sources and their cursors (default: DATA_DIR/taxii-sources.json)");
}

std::string StatePath(const po::variables_map& vm) {
  if (vm.count("state")) return vm["state"].as<std::string>();
  return (std::filesystem::path(vm["data-dir"].as<std::string>()) / "taxii-sources.json").string();
}

absl::StatusOr<Json> LoadState(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Json::object();  // no source pulled yet
  Json j = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return absl::DataLossError(StrCat(path,
                                      " does not parse as the sources file; move it away "
                                      "to start the sources over"));
  }
  return j;
}

// Replaces the file whole and durably (temp file, fsync, rename), so a crash leaves the old
// cursor or the new one, never a torn file.
absl::Status SaveState(const std::string& path, const Json& state) {
  const std::string temp = path + ".tmp";
  const std::string text = state.dump(2) + "\n";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  if (fd >= 0) ok = (::close(fd) == 0) && ok;
  if (!ok || std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<taxii::ClientOptions> RemoteOptions(const po::variables_map& vm) {
  taxii::ClientOptions o;
  if (!vm.count("url") || !vm.count("collection")) {
    return absl::InvalidArgumentError("taxii pull needs the API root's URL and --collection ID");
  }
  o.api_root = vm["url"].as<std::string>();
  o.collection = vm["collection"].as<std::string>();
  o.limit = vm["limit"].as<std::size_t>();
  if (o.limit < 1 || o.limit > 10000) {
    return absl::InvalidArgumentError("--limit is 1 to 10000 objects per page");
  }
  if (vm.count("password-file")) {
    absl::StatusOr<std::string> password =
        FirstLineOf(vm["password-file"].as<std::string>(), "password file");
    if (!password.ok()) return password.status();
    o.user = vm["user"].as<std::string>();
    o.password = *password;
  }
  if (vm.count("remote-token-file")) {
    absl::StatusOr<std::string> token =
        FirstLineOf(vm["remote-token-file"].as<std::string>(), "remote token file");
    if (!token.ok()) return token.status();
    o.bearer = *token;
  }
  if (vm.count("remote-ca")) o.ca_file = vm["remote-ca"].as<std::string>();
  return o;
}

// Pages of the source into the node, its cursor saved after each page the node stored. A
// page that fails stops the run with the cursor where the last good page left it.
absl::Status Pull(taxii::Client& remote, Json& source, const std::string& name, v1::Tlp tlp,
                  std::size_t max_pages, Publisher& publisher,
                  const std::function<absl::Status()>& save) {
  const std::string added_after = source.value("added_after", "");
  std::string next;
  std::set<std::string> nexts;
  for (std::size_t page = 0; max_pages == 0 || page < max_pages; ++page) {
    absl::StatusOr<taxii::ObjectsPage> got = remote.Objects(added_after, next);
    if (!got.ok()) return got.status();
    absl::StatusOr<interop::StixImport> read = interop::ReadStix(got->envelope, name, tlp);
    if (!read.ok()) {
      return absl::DataLossError(
          StrCat("the server's page is not STIX: ", read.status().message()));
    }
    if (absl::Status s = publisher.Submit(*read); !s.ok()) return s;
    if (absl::Status s = publisher.Drain(); !s.ok()) return s;
    if (!got->date_added_last.empty()) source["added_after"] = got->date_added_last;
    source["pages"] = source.value("pages", 0) + 1;
    if (absl::Status s = save(); !s.ok()) return s;
    if (!got->more) return absl::OkStatus();
    if (got->next.empty()) {
      // More, but no next: go on after what this page added.
      if (got->date_added_last.empty() || got->objects == 0) {
        return absl::DataLossError(
            "the server says there is more but gives neither next nor "
            "X-TAXII-Date-Added-Last to go on from");
      }
      return absl::OkStatus();
    }
    if (!nexts.insert(got->next).second) {
      return absl::DataLossError(StrCat("the server's next (", got->next,
                                        ") repeats an earlier page's: stopped, not looping"));
    }
    next = got->next;
  }
  return absl::OkStatus();
}

int RunPull(const po::variables_map& vm, Io& io) {
  absl::StatusOr<taxii::ClientOptions> options = RemoteOptions(vm);
  if (!options.ok()) return Fail(io, options.status());
  absl::StatusOr<v1::Tlp> tlp = ParseTlp(vm["tlp"].as<std::string>());
  if (!tlp.ok()) return Fail(io, tlp.status());
  const std::string path = StatePath(vm);
  absl::StatusOr<Json> state = LoadState(path);
  if (!state.ok()) return Fail(io, state.status());
  std::string root = options->api_root;
  if (root.back() != '/') root += '/';
  const std::string key = StrCat(root, "collections/", options->collection, "/");
  Json& source = (*state)["sources"][key];
  source["url"] = root;
  source["collection"] = options->collection;
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  ImportSummary summary;
  absl::Status pulled;
  {
    Publisher publisher(**client, summary);
    pulled = publisher.Start();
    taxii::Client remote(*options);
    if (pulled.ok()) {
      pulled = Pull(remote, source, StrCat("TAXII ", key), *tlp, vm["max-pages"].as<std::size_t>(),
                    publisher, [&] { return SaveState(path, *state); });
    }
  }
  source["last_run"] = FormatTime(SystemNowMs());
  source["last_result"] =
      pulled.ok() ? StrCat(summary.imported, " imported, ", summary.present, " already present, ",
                           summary.read - summary.imported - summary.present, " not imported")
                  : std::string(pulled.message());
  if (absl::Status s = SaveState(path, *state); !s.ok() && pulled.ok()) pulled = s;
  PrintSummary(summary, vm.count("json") > 0, io);
  if (!pulled.ok()) return Fail(io, pulled);
  return kExitOk;
}

int RunSources(const po::variables_map& vm, Io& io) {
  absl::StatusOr<Json> state = LoadState(StatePath(vm));
  if (!state.ok()) return Fail(io, state.status());
  if (vm.count("json")) {
    io.out << state->value("sources", Json::object()).dump() << "\n";
    return kExitOk;
  }
  if (!state->contains("sources")) {
    io.out << "no TAXII source pulled yet (threatmesh taxii pull URL --collection ID)\n";
    return kExitOk;
  }
  for (const auto& [key, s] : (*state)["sources"].items()) {
    io.out << key << "\n  added_after " << s.value("added_after", "(none yet)") << ", last run "
           << s.value("last_run", "never") << ": " << s.value("last_result", "") << "\n";
  }
  return kExitOk;
}

int RunTaxii(const po::variables_map& vm, Io& io) {
  const std::string action = vm["action"].as<std::string>();
  if (action == "pull") return RunPull(vm, io);
  if (action == "sources") return RunSources(vm, io);
  return Fail(
      io, absl::InvalidArgumentError(StrCat("taxii does pull or sources, not \"", action, "\"")));
}

}  // namespace

Command TaxiiCommand() {
  return {"taxii",
          "pull a TAXII 2.1 collection into the node (only what is new since the last pull), "
          "or list the sources pulled",
          "threatmesh taxii pull https://feeds.example.org/api1/ --collection 91a7b528-... "
          "--user me --password-file feed.pass",
          TaxiiOptions,
          RunTaxii,
          {"action", "url"}};
}

}  // namespace threatmesh::cli
