#include "node/cli/node_access.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/sodium.h"
#include "crypto/str_cat.h"
#include "node/config.h"

namespace threatmesh::cli {

void AddDataDir(po::options_description& d) {
  d.add_options()("data-dir", po::value<std::string>()->default_value(DefaultDataDir()),
                  "node data directory (default: $THREATMESH_DATA_DIR, else "
                  "/var/lib/threatmesh for root, ~/.local/share/threatmesh otherwise)")(
      "passphrase-file", po::value<std::string>(),
      "file holding the key file's passphrase (or set THREATMESH_PASSPHRASE)");
}

absl::StatusOr<std::string> ReadPassphrase(const po::variables_map& vm) {
  return LoadPassphrase(vm.count("passphrase-file") ? vm["passphrase-file"].as<std::string>()
                                                    : std::string());
}

absl::StatusOr<std::unique_ptr<LocalNode>> OpenNode(const po::variables_map& vm) {
  NodeConfig config;
  config.data_dir = vm["data-dir"].as<std::string>();
  absl::StatusOr<std::string> pass = ReadPassphrase(vm);
  if (!pass.ok()) return pass.status();
  config.passphrase = *pass;
  crypto::SecureWipe(*pass);
  absl::StatusOr<std::unique_ptr<LocalNode>> node = LocalNode::Open(config);
  crypto::SecureWipe(config.passphrase);
  return node;
}

absl::StatusOr<std::string> ParseId(std::string_view text) {
  std::optional<std::string> id = crypto::HexDecode(text);
  if (!id || id->size() != crypto::kRecordIdSize) {
    return absl::InvalidArgumentError(
        StrCat("record id \"", text, "\" is not 64 hex digits; copy it from publish or search"));
  }
  return *id;
}

void AddNodeOptions(po::options_description& d) {
  const char* env_node = std::getenv("THREATMESH_NODE");
  d.add_options()("node",
                  po::value<std::string>()->default_value(
                      env_node && *env_node ? env_node : std::string(kDefaultListen)),
                  "address of the node's API (default: $THREATMESH_NODE, else 127.0.0.1:7420)")(
      "token", po::value<std::string>(), "API token (or set THREATMESH_TOKEN)")(
      "token-file", po::value<std::string>(),
      "file holding the API token (default: DATA_DIR/admin.token when readable)")(
      "tls-ca", po::value<std::string>(), "PEM CA certificate, for a node that serves TLS")(
      "timeout", po::value<double>()->default_value(30), "seconds to wait for an answer");
}

absl::StatusOr<std::string> FirstLineOf(const std::string& path, std::string_view what) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(StrCat("cannot read ", what, " ", path));
  std::string line;
  std::getline(in, line);
  if (line.empty()) {
    return absl::InvalidArgumentError(StrCat(what, " ", path, " is empty"));
  }
  return line;
}

absl::StatusOr<std::unique_ptr<NodeClient>> ConnectClient(const po::variables_map& vm) {
  ClientOptions options;
  options.address = vm["node"].as<std::string>();
  const double timeout = vm["timeout"].as<double>();
  if (!(timeout > 0 && timeout <= 86400)) {
    return absl::InvalidArgumentError("--timeout must be between 0 and 86400 seconds");
  }
  options.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000));
  if (vm.count("tls-ca")) options.tls_ca = vm["tls-ca"].as<std::string>();
  if (vm.count("token")) {
    options.token = vm["token"].as<std::string>();
  } else if (const char* env = std::getenv("THREATMESH_TOKEN"); env && *env) {
    options.token = env;
  } else if (vm.count("token-file")) {
    absl::StatusOr<std::string> t = FirstLineOf(vm["token-file"].as<std::string>(), "token file");
    if (!t.ok()) return t.status();
    options.token = *t;
  } else {
    const std::string path = AdminTokenPath(vm["data-dir"].as<std::string>());
    if (::access(path.c_str(), R_OK) == 0) {
      absl::StatusOr<std::string> t = FirstLineOf(path, "token file");
      if (!t.ok()) return t.status();
      options.token = *t;
    }
  }
  return NodeClient::Connect(options);
}

std::string ShortHostName() {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0) return "node";
  std::string out;
  for (const char* c = host; *c && *c != '.'; ++c) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(*c)));
    out += (std::isalnum(static_cast<unsigned char>(l)) || l == '-') ? l : '-';
  }
  return out.empty() ? "node" : out;
}

int PrintPublished(const po::variables_map& vm, Io& io,
                   const absl::StatusOr<v1::PublishResponse>& r, std::string_view what) {
  if (!r.ok()) return Fail(io, r.status());
  if (vm.count("json")) {
    io.out << "{\"id\":" << JsonString(crypto::HexEncode(r->id())) << ",\"seq\":" << r->seq()
           << "}\n";
  } else {
    io.out << "published " << what << " " << crypto::HexEncode(r->id()) << " (seq " << r->seq()
           << ")\n";
  }
  return kExitOk;
}

}  // namespace threatmesh::cli
