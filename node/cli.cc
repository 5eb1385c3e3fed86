#include "node/cli.h"

#include <fcntl.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/key_file.h"
#include "crypto/sodium.h"
#include "crypto/str_cat.h"
#include "node/api.h"
#include "node/audit.h"
#include "node/client.h"
#include "node/config.h"
#include "node/custody.h"
#include "node/excerpt_builder.h"
#include "node/excerpt_check.h"
#include "node/indicator.h"
#include "node/line_reader.h"
#include "node/local_node.h"
#include "node/log_formats.h"
#include "node/peers.h"
#include "node/printable.h"
#include "node/proof.h"
#include "node/record_builder.h"
#include "node/record_view.h"
#include "node/sanitize.h"
#include "node/server.h"
#include "node/tls.h"
#include "node/tokens.h"

namespace threatmesh {
namespace {

namespace po = boost::program_options;

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

struct Io {
  std::ostream& out;
  std::ostream& err;
};

// One subcommand: its options, an example, and what it does.
struct Command {
  std::string name;
  std::string summary;
  std::string example;
  std::function<void(po::options_description&)> add_options;
  std::function<int(const po::variables_map&, Io&)> run;
};

int Fail(Io& io, const absl::Status& status) {
  io.err << "threatmesh: error: " << status.message() << "\n";
  return kExitError;
}

// Writes `text` to the file `path` (replacing it), or to standard output when `path` is
// empty. Unavailable naming the file when it cannot be written whole.
absl::Status WriteOutput(const std::string& path, std::string_view text, Io& io) {
  if (path.empty()) {
    io.out << text;
    return absl::OkStatus();
  }
  // Written to a new file beside it, then renamed over it: a reader never sees half a file,
  // and a symlink at `path` is replaced, never written through. (Not synced: these are
  // working files, and a sync per excerpt part doubled the time of a large ingest.)
  std::string temp = path + ".tmp.XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) {
    return absl::UnavailableError(StrCat("cannot create ", path, ": ", std::strerror(errno),
                                         errno == ENOENT ? " (create its directory first)" : ""));
  }
  const mode_t mask = ::umask(0);
  ::umask(mask);
  (void)::fchmod(fd, 0666 & ~mask);
  int error = 0;
  for (std::size_t done = 0; done < text.size() && error == 0;) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = n < 0 ? errno : EIO;
    } else {
      done += static_cast<std::size_t>(n);
    }
  }
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error == 0 && ::rename(temp.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    ::unlink(temp.c_str());
    return absl::UnavailableError(StrCat("cannot write ", path, ": ", std::strerror(error),
                                         error == ENOSPC ? " (the disk is full)" : ""));
  }
  return absl::OkStatus();
}

std::string OutPath(const po::variables_map& vm) {
  return vm.count("out") ? vm["out"].as<std::string>() : std::string();
}

void AddDataDir(po::options_description& d) {
  d.add_options()("data-dir", po::value<std::string>()->default_value(DefaultDataDir()),
                  "node data directory (default: $THREATMESH_DATA_DIR, else "
                  "/var/lib/threatmesh for root, ~/.local/share/threatmesh otherwise)")(
      "passphrase-file", po::value<std::string>(),
      "file holding the key file's passphrase (or set THREATMESH_PASSPHRASE)");
}

absl::StatusOr<std::string> ReadPassphrase(const po::variables_map& vm) {
  if (vm.count("passphrase-file")) {
    const std::string path = vm["passphrase-file"].as<std::string>();
    std::ifstream in(path);
    if (!in) {
      return absl::NotFoundError(StrCat("cannot read passphrase file ", path));
    }
    std::string pass;
    std::getline(in, pass);
    if (pass.empty()) {
      return absl::InvalidArgumentError(
          StrCat("passphrase file ", path, " is empty; put the passphrase on its first line"));
    }
    return pass;
  }
  if (const char* env = std::getenv("THREATMESH_PASSPHRASE"); env) return std::string(env);
  return std::string();
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
  if (!id || id->size() != 32) {
    return absl::InvalidArgumentError(
        StrCat("record id \"", text, "\" is not 64 hex digits; copy it from publish or search"));
  }
  return *id;
}

// Options of every command that talks to a running node.
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

// This machine's name, as a peer name: lower case, [a-z0-9.-] only.
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

VerifiedRecord ToVerified(const v1::StoredRecord& r) {
  VerifiedRecord out;
  out.id = r.id();
  out.signed_bytes = r.signed_record();
  out.body = r.body();
  return out;
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

// ---- init ------------------------------------------------------------------------------

absl::Status CreateAdminTokenFile(const po::variables_map& vm) {
  absl::StatusOr<std::unique_ptr<LocalNode>> node = OpenNode(vm);
  if (!node.ok()) return node.status();
  absl::StatusOr<std::unique_ptr<TokenStore>> tokens = TokenStore::Load((*node)->store());
  if (!tokens.ok()) return tokens.status();
  absl::StatusOr<NewToken> token = (*tokens)->Create("admin", v1::ROLE_ADMIN, (*node)->Now());
  if (!token.ok()) return token.status();
  const std::string path = AdminTokenPath(vm["data-dir"].as<std::string>());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return absl::UnavailableError(StrCat("cannot create ", path));
  const std::string line = token->secret + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced) return absl::UnavailableError(StrCat("cannot write ", path));
  return absl::OkStatus();
}

int RunInit(const po::variables_map& vm, Io& io) {
  crypto::KeyFileOptions key_options;
  absl::StatusOr<std::string> pass = ReadPassphrase(vm);
  if (!pass.ok()) return Fail(io, pass.status());
  key_options.passphrase = *pass;
  crypto::SecureWipe(*pass);
  const std::string dir = vm["data-dir"].as<std::string>();
  absl::StatusOr<crypto::PublicKey> key = LocalNode::Init(dir, key_options);
  crypto::SecureWipe(key_options.passphrase);
  if (!key.ok()) return Fail(io, key.status());
  // The first admin token, for the node's operator; more come from 'threatmesh token'.
  absl::Status token = CreateAdminTokenFile(vm);
  if (!token.ok()) return Fail(io, token);
  // The peer port's certificate; the peer handshake binds it to the node key.
  absl::Status cert =
      WriteSelfSignedCertificate(PeerCertPath(dir), PeerCertKeyPath(dir), "localhost");
  if (!cert.ok()) return Fail(io, cert);
  if (vm.count("json")) {
    io.out << "{\"public_key\":" << JsonString(key->ToText())
           << ",\"fingerprint\":" << JsonString(key->Fingerprint())
           << ",\"data_dir\":" << JsonString(dir) << "}\n";
  } else {
    io.out << "initialised " << dir << "\n"
           << "public key  " << key->ToText() << "\n"
           << "fingerprint " << key->Fingerprint() << "\n"
           << "key file    " << KeyFilePath(dir) << " (mode 0600; back it up)\n"
           << "admin token " << AdminTokenPath(dir)
           << " (mode 0600; the CLI reads it from there by default)\n"
           << "peer cert   " << PeerCertPath(dir) << " (self-signed, for the peer port)\n"
           << "peer line   " << PeerAddLine(ShortHostName(), "HOST:PORT", key->ToText())
           << "\n            (for another node's operator; HOST:PORT is this node's peer-listen)\n";
  }
  return kExitOk;
}

// ---- key -------------------------------------------------------------------------------

// 'key rotate' and 'key revoke' work on the data directory of a stopped node: the store's
// lock refuses them while the node serves.
int RunKey(const po::variables_map& vm, Io& io) {
  const std::string action = vm["action"].as<std::string>();
  const std::string dir = vm["data-dir"].as<std::string>();
  if (action == "rotate") {
    NodeConfig config;
    config.data_dir = dir;
    absl::StatusOr<std::string> pass = ReadPassphrase(vm);
    if (!pass.ok()) return Fail(io, pass.status());
    config.passphrase = *pass;
    crypto::KeyFileOptions key_options;
    key_options.passphrase = *pass;  // the new key file is sealed like the old one
    crypto::SecureWipe(*pass);
    absl::StatusOr<crypto::PublicKey> key = LocalNode::RotateKey(config, key_options);
    crypto::SecureWipe(config.passphrase);
    crypto::SecureWipe(key_options.passphrase);
    if (!key.ok()) return Fail(io, key.status());
    if (vm.count("json")) {
      io.out << "{\"public_key\":" << JsonString(key->ToText())
             << ",\"fingerprint\":" << JsonString(key->Fingerprint()) << "}\n";
    } else {
      io.out << "rotated     the node now signs with a new key; the old secret is gone\n"
             << "public key  " << key->ToText() << "\n"
             << "fingerprint " << key->Fingerprint() << "\n"
             << "peers       know the node by its old key and follow the signed rotation it\n"
             << "            shows them when it connects; new peers add it with:\n"
             << "peer line   " << PeerAddLine(ShortHostName(), "HOST:PORT", key->ToText()) << "\n";
    }
    return kExitOk;
  }
  if (action == "revoke") {
    if (!vm.count("since")) {
      return Fail(io, absl::InvalidArgumentError(
                          "--since is required: from when the old key may have been in other "
                          "hands (records it signed dated before then stay valid)"));
    }
    absl::StatusOr<int64_t> since = ParseTime(vm["since"].as<std::string>());
    if (!since.ok()) return Fail(io, since.status());
    std::string key;  // empty: the key the node last rotated away from
    if (vm.count("key")) {
      absl::StatusOr<crypto::PublicKey> k =
          crypto::PublicKey::FromText(vm["key"].as<std::string>());
      if (!k.ok()) return Fail(io, k.status());
      key = std::string(k->bytes());
    }
    const std::string reason = vm.count("reason") ? vm["reason"].as<std::string>() : "";
    const bool online = vm.count("online") > 0;
    std::string id, revoked;
    if (online) {
      // Through the running node (an admin token), which passes it to its peers at once.
      absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
      if (!client.ok()) return Fail(io, client.status());
      v1::RevokeKeyRequest request;
      request.set_key(key);
      request.set_compromised_since(*since);
      request.set_reason(reason);
      absl::StatusOr<v1::PublishResponse> r = (*client)->RevokeKey(request);
      if (!r.ok()) return Fail(io, r.status());
      v1::GetRequest get;
      get.set_id(r->id());
      absl::StatusOr<v1::GetResponse> stored = (*client)->Get(get);
      if (!stored.ok()) return Fail(io, stored.status());
      id = r->id();
      revoked = stored->record().body().key_revocation().key();
    } else {
      absl::StatusOr<std::unique_ptr<LocalNode>> node = OpenNode(vm);
      if (!node.ok()) return Fail(io, node.status());
      absl::StatusOr<VerifiedRecord> r = (*node)->RevokeKey(key, *since, reason);
      if (!r.ok()) return Fail(io, r.status());
      id = r->id;
      revoked = r->body.key_revocation().key();
    }
    absl::StatusOr<crypto::PublicKey> k = crypto::PublicKey::FromBytes(revoked);
    if (!k.ok()) return Fail(io, k.status());
    if (vm.count("json")) {
      io.out << "{\"id\":\"" << crypto::HexEncode(id)
             << "\",\"revoked\":" << JsonString(k->ToText()) << "}\n";
    } else {
      io.out << "revoked     " << k->Fingerprint() << " from " << FormatTime(*since) << " on\n"
             << "record      " << crypto::HexEncode(id) << "\n"
             << (online ? "            (the node passes it to its peers now)\n"
                        : "            (it reaches peers like any record once the node serves "
                          "again)\n");
    }
    return kExitOk;
  }
  return Fail(io, absl::InvalidArgumentError(
                      StrCat("unknown action \"", action, "\"; use rotate or revoke")));
}

// ---- publish ---------------------------------------------------------------------------

void PublishOptions(po::options_description& d) {
  d.add_options()("type", po::value<std::string>(),
                  ("indicator type: " + IndicatorTypeNames()).c_str())(
      "value", po::value<std::string>(), "indicator value (normalized on publish)")(
      "excerpt", po::value<std::string>(),
      "instead of an indicator: a log excerpt file from 'threatmesh ingest-log', published "
      "only if its checklist passes (with --tlp, --may-relay, --max-hops...)")(
      "indicators", po::value<std::string>(),
      "with --excerpt: reviewed indicator proposals from 'ingest-log --emit-indicators', "
      "published first and listed in the excerpt")(
      "tlp", po::value<std::string>()->default_value("amber"),
      "TLP 2.0 label: clear, green, amber, amber+strict, red")(
      "label", po::value<std::vector<std::string>>()->composing(), "tag (repeatable)")(
      "confidence", po::value<uint32_t>(), "confidence 0..100")(
      "description", po::value<std::string>()->default_value(""), "free text")(
      "valid-from", po::value<std::string>(), "start of validity (YYYY-MM-DD[THH:MM:SSZ])")(
      "valid-until", po::value<std::string>(), "end of validity")(
      "max-hops", po::value<uint32_t>()->default_value(0),
      "most hops from this node (0: the TLP's default)")("may-relay", po::bool_switch(),
                                                         "let receivers pass the record on")(
      "recipient", po::value<std::vector<std::string>>()->composing(),
      "public key that may receive a RED record (repeatable)")(
      "community", po::value<std::vector<std::string>>()->composing(),
      "community a GREEN record may reach (repeatable)")(
      "supersedes", po::value<std::string>(),
      "id of an earlier record of this node that this one replaces (64 hex)");
}

int RunPublishExcerpt(const po::variables_map& vm, Io& io);

int RunPublish(const po::variables_map& vm, Io& io) {
  if (vm.count("excerpt")) return RunPublishExcerpt(vm, io);
  if (!vm.count("type") || !vm.count("value")) {
    io.err << "threatmesh: error: publish needs --type and --value (an indicator) or --excerpt "
              "FILE; see 'threatmesh publish --help'\n";
    return kExitUsage;
  }
  IndicatorSpec spec;
  spec.type = vm["type"].as<std::string>();
  spec.value = vm["value"].as<std::string>();
  spec.tlp = vm["tlp"].as<std::string>();
  if (vm.count("label")) spec.labels = vm["label"].as<std::vector<std::string>>();
  if (vm.count("confidence")) spec.confidence = vm["confidence"].as<uint32_t>();
  spec.description = vm["description"].as<std::string>();
  for (auto [flag, field] :
       {std::pair{"valid-from", &spec.valid_from}, std::pair{"valid-until", &spec.valid_until}}) {
    if (!vm.count(flag)) continue;
    absl::StatusOr<int64_t> t = ParseTime(vm[flag].as<std::string>());
    if (!t.ok())
      return Fail(io, absl::InvalidArgumentError(StrCat("--", flag, ": ", t.status().message())));
    *field = *t;
  }
  spec.max_hops = vm["max-hops"].as<uint32_t>();
  spec.may_relay = vm["may-relay"].as<bool>();
  if (vm.count("recipient")) spec.recipients = vm["recipient"].as<std::vector<std::string>>();
  if (vm.count("community")) spec.communities = vm["community"].as<std::vector<std::string>>();

  // The node sets author and creation time; the builder needs a key only to fill them.
  static const crypto::PublicKey kPlaceholder =
      *crypto::PublicKey::FromBytes(std::string(crypto::kPublicKeySize, '\0'));
  absl::StatusOr<threatmesh::v1::RecordBody> body = BuildIndicator(spec, kPlaceholder, 1);
  if (!body.ok()) return Fail(io, body.status());
  body->clear_author();
  body->clear_created_at();
  if (vm.count("supersedes")) {
    std::optional<std::string> old_id = crypto::HexDecode(vm["supersedes"].as<std::string>());
    if (!old_id || old_id->size() != 32) {
      return Fail(
          io, absl::InvalidArgumentError("--supersedes: expected a record id, 64 hex characters"));
    }
    body->set_supersedes(*old_id);
  }
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  v1::PublishRequest request;
  *request.mutable_body() = std::move(*body);
  absl::StatusOr<v1::PublishResponse> published = (*client)->Publish(request);
  if (!published.ok()) return Fail(io, published.status());
  v1::GetRequest get;
  get.set_id(published->id());
  absl::StatusOr<v1::GetResponse> stored = (*client)->Get(get);
  if (!stored.ok()) return Fail(io, stored.status());
  VerifiedRecord record = ToVerified(stored->record());
  if (vm.count("json")) {
    io.out << RecordJson(record) << "\n";
  } else {
    io.out << "published " << crypto::HexEncode(record.id) << "\n" << RecordText(record);
  }
  return kExitOk;
}

// ---- get -------------------------------------------------------------------------------

int RunGet(const po::variables_map& vm, Io& io) {
  absl::StatusOr<std::string> id = ParseId(vm["id"].as<std::string>());
  if (!id.ok()) return Fail(io, id.status());
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  v1::GetRequest request;
  request.set_id(*id);
  absl::StatusOr<v1::GetResponse> r = (*client)->Get(request);
  if (!r.ok()) return Fail(io, r.status());
  VerifiedRecord record = ToVerified(r->record());
  if (vm.count("json")) {
    io.out << RecordJson(record) << "\n";
    return kExitOk;
  }
  io.out << RecordText(record);
  if (!r->record().retracted_by().empty()) {
    io.out << "retracted   by its author, in record "
           << crypto::HexEncode(r->record().retracted_by()) << "\n";
  }
  if (!r->record().superseded_by().empty()) {
    io.out << "superseded  by its author's newer record "
           << crypto::HexEncode(r->record().superseded_by()) << "\n";
  }
  if (!r->record().distrusted_by().empty()) {
    io.out << "distrusted  its author's key may not sign at its time, by key statement "
           << crypto::HexEncode(r->record().distrusted_by()) << "\n";
  }
  // The custody of this copy, checked here against the node's key: who passed it to whom.
  const v1::CustodyChains& custody = r->record().custody();
  if (custody.chains_size() == 0 || custody.chains(0).hops_size() == 0) {
    io.out << "custody     authored by this node\n";
    return kExitOk;
  }
  absl::StatusOr<v1::StatusResponse> status = (*client)->Status();
  absl::StatusOr<crypto::PublicKey> holder =
      status.ok() ? crypto::PublicKey::FromText(status->public_key())
                  : absl::StatusOr<crypto::PublicKey>(status.status());
  const v1::CustodyChain& chain = custody.chains(0);
  std::string path;
  for (int i = 0; i < chain.hops_size(); ++i) {
    v1::Hop hop;
    hop.ParseFromString(chain.hops(i).payload());
    auto fp = [](const std::string& k) {
      absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromBytes(k);
      return key.ok() ? key->Fingerprint() : std::string("?");
    };
    if (i == 0) path = fp(hop.from());
    path += " -> " + fp(hop.to());
    io.out << "hop " << i << "       " << fp(hop.from()) << " -> " << fp(hop.to()) << "  "
           << FormatTime(hop.at()) << "  policy " << hop.policy() << "\n";
  }
  if (!holder.ok()) return Fail(io, holder.status());
  absl::StatusOr<ChainVerdict> verdict = CheckChain(record.id, record.body, chain, holder->bytes());
  if (!verdict.ok()) {
    io.out << "custody     NOT VERIFIED: " << verdict.status().message() << "\n";
  } else if (!verdict->accepted) {
    io.out << "custody     VIOLATION: " << verdict->rule << "\n";
  } else {
    io.out << "custody     verified: " << path << " (every hop signed by its sender)\n";
  }
  return kExitOk;
}

// ---- search ----------------------------------------------------------------------------

void FilterOptions(po::options_description& d) {
  d.add_options()("only-kind", po::value<std::vector<std::string>>()->composing(),
                  "filter: only this kind (repeatable)")("max-tlp", po::value<std::string>(),
                                                         "filter: TLP up to this label")(
      "with-tag", po::value<std::vector<std::string>>()->composing(),
      "filter: records carrying this tag (repeatable; all must match)")(
      "by", po::value<std::string>(), "filter: only this author's public key")(
      "created-from", po::value<std::string>(), "filter: created at or after")(
      "created-to", po::value<std::string>(), "filter: created at or before");
}

absl::StatusOr<v1::RecordKind> ParseKind(const std::string& kind) {
  static const std::map<std::string, v1::RecordKind> kKinds = {
      {"indicator", v1::RECORD_KIND_INDICATOR},
      {"log-excerpt", v1::RECORD_KIND_LOG_EXCERPT},
      {"sighting", v1::RECORD_KIND_SIGHTING},
      {"retraction", v1::RECORD_KIND_RETRACTION},
      {"key-rotation", v1::RECORD_KIND_KEY_ROTATION},
      {"key-revocation", v1::RECORD_KIND_KEY_REVOCATION}};
  auto it = kKinds.find(kind);
  if (it == kKinds.end()) {
    return absl::InvalidArgumentError(
        StrCat("unknown kind \"", kind,
               "\"; use indicator, log-excerpt, sighting, retraction, key-rotation or "
               "key-revocation"));
  }
  return it->second;
}

absl::StatusOr<v1::Filter> ParseFilter(const po::variables_map& vm) {
  v1::Filter f;
  if (vm.count("only-kind")) {
    for (const std::string& k : vm["only-kind"].as<std::vector<std::string>>()) {
      absl::StatusOr<v1::RecordKind> kind = ParseKind(k);
      if (!kind.ok()) return kind.status();
      f.add_kinds(*kind);
    }
  }
  if (vm.count("max-tlp")) {
    absl::StatusOr<v1::Tlp> tlp = ParseTlp(vm["max-tlp"].as<std::string>());
    if (!tlp.ok()) return tlp.status();
    f.set_max_tlp(*tlp);
  }
  if (vm.count("with-tag")) {
    for (const std::string& t : vm["with-tag"].as<std::vector<std::string>>()) f.add_tags(t);
  }
  if (vm.count("by")) {
    absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromText(vm["by"].as<std::string>());
    if (!key.ok()) return key.status();
    f.set_author(std::string(key->bytes()));
  }
  for (auto [flag, set] : {std::pair<const char*, void (v1::Filter::*)(int64_t)>{
                               "created-from", &v1::Filter::set_created_from},
                           {"created-to", &v1::Filter::set_created_to}}) {
    if (!vm.count(flag)) continue;
    absl::StatusOr<int64_t> t = ParseTime(vm[flag].as<std::string>());
    if (!t.ok()) return absl::InvalidArgumentError(StrCat("--", flag, ": ", t.status().message()));
    (f.*set)(*t);
  }
  return f;
}

void SearchOptions(po::options_description& d) {
  d.add_options()("type", po::value<std::string>(), "indicator type, with --value")(
      "value", po::value<std::string>(), "exact indicator value, with --type")(
      "domain-suffix", po::value<std::string>(), "records naming this domain or a name under it")(
      "ip", po::value<std::string>(), "IP and CIDR indicators whose range contains this address")(
      "author", po::value<std::string>(), "records by this public key, with --since/--until")(
      "since", po::value<std::string>(), "with --author: created at or after")(
      "until", po::value<std::string>(), "with --author: created before")(
      "tag", po::value<std::string>(), "records carrying this label")(
      "kind", po::value<std::string>(),
      "indicator, log-excerpt, sighting, retraction, key-rotation or key-revocation")(
      "limit", po::value<uint32_t>()->default_value(storage::kDefaultLimit), "records per page")(
      "page-token", po::value<std::string>()->default_value(""),
      "continuation token printed by the previous page");
  FilterOptions(d);
}

absl::StatusOr<v1::SearchRequest> SearchRequestFrom(const po::variables_map& vm) {
  v1::SearchRequest request;
  request.set_limit(vm["limit"].as<uint32_t>());
  request.set_page_token(vm["page-token"].as<std::string>());
  absl::StatusOr<v1::Filter> filter = ParseFilter(vm);
  if (!filter.ok()) return filter.status();
  *request.mutable_filter() = std::move(*filter);
  int queries = 0;
  for (const char* q : {"value", "domain-suffix", "ip", "author", "tag", "kind"}) {
    queries += vm.count(q) ? 1 : 0;
  }
  if (queries != 1) {
    return absl::InvalidArgumentError(
        "give exactly one query: --type T --value V, --domain-suffix D, --ip IP, --author KEY, "
        "--tag T or --kind K");
  }
  if (vm.count("value")) {
    if (!vm.count("type")) return absl::InvalidArgumentError("--value needs --type");
    absl::StatusOr<v1::IndicatorType> type = ParseIndicatorType(vm["type"].as<std::string>());
    if (!type.ok()) return type.status();
    request.mutable_indicator()->set_type(*type);
    request.mutable_indicator()->set_value(vm["value"].as<std::string>());
  } else if (vm.count("domain-suffix")) {
    request.set_domain_suffix(vm["domain-suffix"].as<std::string>());
  } else if (vm.count("ip")) {
    request.set_ip(vm["ip"].as<std::string>());
  } else if (vm.count("author")) {
    absl::StatusOr<crypto::PublicKey> key =
        crypto::PublicKey::FromText(vm["author"].as<std::string>());
    if (!key.ok()) return key.status();
    v1::AuthorQuery* a = request.mutable_author();
    a->set_author(std::string(key->bytes()));
    for (auto [flag, set] : {std::pair<const char*, void (v1::AuthorQuery::*)(int64_t)>{
                                 "since", &v1::AuthorQuery::set_from},
                             {"until", &v1::AuthorQuery::set_to}}) {
      if (!vm.count(flag)) continue;
      absl::StatusOr<int64_t> t = ParseTime(vm[flag].as<std::string>());
      if (!t.ok()) return t.status();
      (a->*set)(*t);
    }
  } else if (vm.count("tag")) {
    request.set_tag(vm["tag"].as<std::string>());
  } else {
    absl::StatusOr<v1::RecordKind> kind = ParseKind(vm["kind"].as<std::string>());
    if (!kind.ok()) return kind.status();
    request.set_kind(*kind);
  }
  return request;
}

int RunSearch(const po::variables_map& vm, Io& io) {
  absl::StatusOr<v1::SearchRequest> request = SearchRequestFrom(vm);
  if (!request.ok()) return Fail(io, request.status());
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  absl::StatusOr<v1::SearchResponse> page = (*client)->Search(*request);
  if (!page.ok()) return Fail(io, page.status());
  const bool json = vm.count("json") > 0;
  if (json) io.out << "{\"records\":[";
  bool first = true;
  for (const v1::StoredRecord& r : page->records()) {
    VerifiedRecord record = ToVerified(r);
    if (json) {
      io.out << (first ? "" : ",") << RecordJson(record);
    } else {
      io.out << RecordLine(record) << "\n";
    }
    first = false;
  }
  if (json) {
    io.out << "],\"next_page_token\":" << JsonString(page->next_page_token()) << "}\n";
  } else if (page->records().empty()) {
    io.out << "no records\n";
  }
  if (!json && !page->next_page_token().empty()) {
    io.out << "more: repeat with --page-token " << page->next_page_token() << "\n";
  }
  return kExitOk;
}

// ---- subscribe -------------------------------------------------------------------------

void SubscribeOptions(po::options_description& d) {
  d.add_options()("cursor", po::value<uint64_t>()->default_value(0),
                  "resume after this cursor (the last one printed); 0 for the oldest record")(
      "from-now", po::bool_switch(), "only records stored from now on")(
      "no-follow", po::bool_switch(), "stop once caught up with the records stored now")(
      "max", po::value<uint64_t>()->default_value(0), "stop after this many records (0: no limit)");
  FilterOptions(d);
}

int RunSubscribe(const po::variables_map& vm, Io& io) {
  v1::SubscribeRequest request;
  request.set_cursor(vm["cursor"].as<uint64_t>());
  request.set_from_now(vm["from-now"].as<bool>());
  absl::StatusOr<v1::Filter> filter = ParseFilter(vm);
  if (!filter.ok()) return Fail(io, filter.status());
  *request.mutable_filter() = std::move(*filter);
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  uint64_t until = UINT64_MAX;
  if (vm["no-follow"].as<bool>()) {
    absl::StatusOr<v1::StatusResponse> status = (*client)->Status();
    if (!status.ok()) return Fail(io, status.status());
    until = status->next_seq() - 1;
    if (until <= request.cursor() || request.from_now()) return kExitOk;
  }
  const uint64_t max = vm["max"].as<uint64_t>();
  const bool json = vm.count("json") > 0;
  uint64_t shown = 0;
  absl::Status s = (*client)->Subscribe(request, [&](const v1::SubscribeEvent& event) {
    if (event.has_record()) {
      VerifiedRecord record = ToVerified(event.record());
      if (json) {
        io.out << "{\"cursor\":" << event.cursor() << ",\"record\":" << RecordJson(record) << "}\n";
      } else {
        io.out << "cursor " << event.cursor() << "  " << RecordLine(record) << "\n";
      }
      io.out.flush();
      ++shown;
    }
    return event.cursor() < until && (max == 0 || shown < max);
  });
  if (!s.ok()) return Fail(io, s);
  return kExitOk;
}

// ---- sight, retract --------------------------------------------------------------------

int RunSight(const po::variables_map& vm, Io& io) {
  v1::SightRequest request;
  absl::StatusOr<v1::IndicatorType> type = ParseIndicatorType(vm["type"].as<std::string>());
  if (!type.ok()) return Fail(io, type.status());
  request.set_type(*type);
  request.set_value(vm["value"].as<std::string>());
  request.set_count(vm["count"].as<uint64_t>());
  absl::StatusOr<v1::Tlp> tlp = ParseTlp(vm["tlp"].as<std::string>());
  if (!tlp.ok()) return Fail(io, tlp.status());
  request.set_tlp(*tlp);
  if (vm.count("label")) {
    for (const std::string& l : vm["label"].as<std::vector<std::string>>()) request.add_labels(l);
  }
  for (auto [flag, set] : {std::pair<const char*, void (v1::SightRequest::*)(int64_t)>{
                               "first-seen", &v1::SightRequest::set_first_seen},
                           {"last-seen", &v1::SightRequest::set_last_seen}}) {
    if (!vm.count(flag)) continue;
    absl::StatusOr<int64_t> t = ParseTime(vm[flag].as<std::string>());
    if (!t.ok()) return Fail(io, t.status());
    (request.*set)(*t);
  }
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  return PrintPublished(vm, io, (*client)->Sight(request), "sighting");
}

int RunRetract(const po::variables_map& vm, Io& io) {
  absl::StatusOr<std::string> id = ParseId(vm["id"].as<std::string>());
  if (!id.ok()) return Fail(io, id.status());
  v1::RetractRequest request;
  request.set_target(*id);
  request.set_reason(vm["reason"].as<std::string>());
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  return PrintPublished(vm, io, (*client)->Retract(request), "retraction");
}

// ---- status ----------------------------------------------------------------------------

int RunStatus(const po::variables_map& vm, Io& io) {
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  absl::StatusOr<v1::StatusResponse> s = (*client)->Status();
  if (!s.ok()) return Fail(io, s.status());
  static const char* kKindNames[] = {"",           "indicator",    "log-excerpt",   "sighting",
                                     "retraction", "key-rotation", "key-revocation"};
  if (vm.count("json")) {
    io.out << "{\"public_key\":" << JsonString(s->public_key())
           << ",\"fingerprint\":" << JsonString(s->fingerprint()) << ",\"counts\":{";
    bool first = true;
    for (const v1::KindCount& c : s->counts()) {
      io.out << (first ? "" : ",") << JsonString(kKindNames[c.kind() % 7]) << ":" << c.count();
      first = false;
    }
    io.out << "},\"store_bytes\":" << s->store_bytes()
           << ",\"uptime_seconds\":" << s->uptime_seconds()
           << ",\"version\":" << JsonString(s->version()) << ",\"next_seq\":" << s->next_seq()
           << ",\"audit_entries\":" << s->audit_entries() << "}\n";
    return kExitOk;
  }
  io.out << "public key    " << s->public_key() << "\n"
         << "fingerprint   " << s->fingerprint() << "\n";
  for (const v1::KindCount& c : s->counts()) {
    std::string name = kKindNames[c.kind() % 7];
    io.out << name << std::string(14 - name.size(), ' ') << c.count() << "\n";
  }
  io.out << "store         " << s->store_bytes() << " bytes\n"
         << "uptime        " << s->uptime_seconds() << " s\n"
         << "version       " << s->version() << "\n"
         << "audit entries " << s->audit_entries() << "\n";
  // What another node's operator runs to peer with this one.
  io.out << "peer line     "
         << PeerAddLine(ShortHostName(),
                        s->peer_address().empty() ? "HOST:PORT" : s->peer_address(),
                        s->public_key())
         << (s->peer_address().empty() ? "   (this node does not listen for peers)" : "") << "\n";
  return kExitOk;
}

// ---- token -----------------------------------------------------------------------------

int RunToken(const po::variables_map& vm, Io& io) {
  const std::string action = vm["action"].as<std::string>();
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  const bool json = vm.count("json") > 0;
  if (action == "create") {
    if (!vm.count("name") || !vm.count("role")) {
      return Fail(io, absl::InvalidArgumentError("token create needs --name and --role"));
    }
    absl::StatusOr<Role> role = ParseRole(vm["role"].as<std::string>());
    if (!role.ok()) return Fail(io, role.status());
    v1::CreateTokenRequest request;
    request.set_name(vm["name"].as<std::string>());
    request.set_role(*role);
    absl::StatusOr<v1::Audience> audience = ParseAudience(vm["audience"].as<std::string>());
    if (!audience.ok()) return Fail(io, audience.status());
    request.set_audience(*audience);
    absl::StatusOr<v1::CreateTokenResponse> r = (*client)->CreateToken(request);
    if (!r.ok()) return Fail(io, r.status());
    if (json) {
      io.out << "{\"name\":" << JsonString(r->info().name())
             << ",\"role\":" << JsonString(RoleName(r->info().role()))
             << ",\"audience\":" << JsonString(AudienceName(r->info().audience()))
             << ",\"token\":" << JsonString(r->token()) << "}\n";
    } else {
      io.out << r->token() << "\n"
             << "token \"" << r->info().name() << "\" (role " << RoleName(r->info().role())
             << ", audience " << AudienceName(r->info().audience())
             << "): shown once, the node keeps only its hash\n";
    }
    return kExitOk;
  }
  if (action == "list") {
    absl::StatusOr<v1::ListTokensResponse> r = (*client)->ListTokens();
    if (!r.ok()) return Fail(io, r.status());
    if (json) io.out << "{\"tokens\":[";
    bool first = true;
    for (const v1::TokenInfo& t : r->tokens()) {
      if (json) {
        io.out << (first ? "" : ",") << "{\"name\":" << JsonString(t.name())
               << ",\"role\":" << JsonString(RoleName(t.role()))
               << ",\"audience\":" << JsonString(AudienceName(t.audience()))
               << ",\"created_at\":" << JsonString(FormatTime(t.created_at())) << "}";
      } else {
        io.out << t.name() << "  " << RoleName(t.role()) << "  " << AudienceName(t.audience())
               << "  " << FormatTime(t.created_at()) << "\n";
      }
      first = false;
    }
    if (json) io.out << "]}\n";
    return kExitOk;
  }
  if (action == "revoke") {
    if (!vm.count("name")) return Fail(io, absl::InvalidArgumentError("token revoke needs --name"));
    v1::RevokeTokenRequest request;
    request.set_name(vm["name"].as<std::string>());
    if (absl::Status s = (*client)->RevokeToken(request); !s.ok()) return Fail(io, s);
    io.out << (json ? "{\"revoked\":" + JsonString(request.name()) + "}"
                    : "revoked " + request.name())
           << "\n";
    return kExitOk;
  }
  return Fail(io, absl::InvalidArgumentError(
                      StrCat("unknown token action \"", action, "\"; use create, list or revoke")));
}

// ---- audit -----------------------------------------------------------------------------

// The whole audit trail, page by page.
absl::StatusOr<v1::ReadAuditResponse> ReadWholeAudit(NodeClient& client) {
  v1::ReadAuditResponse all;
  v1::ReadAuditRequest request;
  request.set_from_seq(1);
  for (;;) {
    absl::StatusOr<v1::ReadAuditResponse> page = client.ReadAudit(request);
    if (!page.ok()) return page.status();
    for (auto& e : *page->mutable_entries()) *all.add_entries() = std::move(e);
    *all.mutable_checkpoints() = std::move(*page->mutable_checkpoints());
    all.set_node_key(page->node_key());
    // Each read is itself audited, so the trail grows as it is read: stop at a short page.
    if (page->entries_size() < static_cast<int>(kMaxSearchLimit)) break;
    request.set_from_seq(page->next_seq());
  }
  return all;
}

int RunAudit(const po::variables_map& vm, Io& io) {
  const std::string action = vm["action"].as<std::string>();
  if (action != "show" && action != "verify" && action != "export") {
    return Fail(io, absl::InvalidArgumentError(StrCat("unknown audit action \"", action,
                                                      "\"; use show, verify or export")));
  }
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  absl::StatusOr<v1::ReadAuditResponse> trail = ReadWholeAudit(**client);
  if (!trail.ok()) return Fail(io, trail.status());
  const bool json = vm.count("json") > 0;
  if (action == "export") {
    std::vector<v1::StoredAuditEntry> entries(trail->entries().begin(), trail->entries().end());
    std::vector<v1::Signed> checkpoints(trail->checkpoints().begin(), trail->checkpoints().end());
    const std::string out = OutPath(vm);
    absl::Status written =
        WriteOutput(out, ExportAuditTrail(trail->node_key(), entries, checkpoints), io);
    if (!written.ok()) return Fail(io, written);
    if (out.empty()) return kExitOk;
    io.err << "wrote " << entries.size() << " entries and " << checkpoints.size()
           << " checkpoints to " << out << "; check it anywhere with: threatmesh verify " << out
           << "\n";
    return kExitOk;
  }
  if (action == "verify") {
    absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromBytes(trail->node_key());
    if (!key.ok()) return Fail(io, key.status());
    if (vm.count("expect-key")) {
      absl::StatusOr<crypto::PublicKey> expected =
          crypto::PublicKey::FromText(vm["expect-key"].as<std::string>());
      if (!expected.ok()) return Fail(io, expected.status());
      if (!(*expected == *key)) {
        return Fail(io, absl::DataLossError("the node's key is not the --expect-key key"));
      }
    }
    std::vector<v1::StoredAuditEntry> entries(trail->entries().begin(), trail->entries().end());
    std::vector<v1::Signed> checkpoints(trail->checkpoints().begin(), trail->checkpoints().end());
    uint64_t unsealed = 0;
    absl::Status ok = VerifyAuditTrail(entries, checkpoints, *key, &unsealed);
    if (!ok.ok()) return Fail(io, ok);
    if (json) {
      io.out << "{\"ok\":true,\"entries\":" << entries.size()
             << ",\"checkpoints\":" << checkpoints.size() << ",\"unsealed\":" << unsealed << "}\n";
    } else {
      io.out << "audit trail ok: " << entries.size() << " entries, " << checkpoints.size()
             << " signed checkpoints by " << key->Fingerprint() << "; " << unsealed
             << " newest entries not yet sealed by a checkpoint\n";
    }
    return kExitOk;
  }
  int64_t since = 0;
  if (vm.count("since")) {
    absl::StatusOr<int64_t> t = ParseTime(vm["since"].as<std::string>());
    if (!t.ok()) return Fail(io, t.status());
    since = *t;
  }
  const std::string who = vm.count("who") ? vm["who"].as<std::string>() : "";
  if (json) io.out << "{\"entries\":[";
  bool first = true;
  for (const v1::StoredAuditEntry& stored : trail->entries()) {
    v1::AuditEntry e;
    if (!e.ParseFromString(stored.entry())) {
      return Fail(io,
                  absl::DataLossError(StrCat("audit entry ", stored.seq(),
                                             " does not parse; run 'threatmesh audit verify'")));
    }
    if (e.at() < since || (!who.empty() && e.who() != who)) continue;
    std::string ids;
    for (const std::string& id : e.record_ids()) {
      ids += (ids.empty() ? "" : ",") + crypto::HexEncode(id).substr(0, 16);
    }
    if (json) {
      io.out << (first ? "" : ",") << "{\"seq\":" << e.seq()
             << ",\"at\":" << JsonString(FormatTime(e.at())) << ",\"who\":" << JsonString(e.who())
             << ",\"role\":" << JsonString(RoleName(e.role()))
             << ",\"method\":" << JsonString(e.method()) << ",\"params\":" << JsonString(e.params())
             << ",\"records\":" << e.record_ids_size() + e.ids_omitted() << ",\"code\":" << e.code()
             << "}";
    } else {
      io.out << e.seq() << "  " << FormatTime(e.at()) << "  " << (e.who().empty() ? "-" : e.who())
             << "(" << RoleName(e.role()) << ")  " << e.method() << "  " << e.params()
             << "  code=" << e.code() << (ids.empty() ? "" : "  ids=" + ids) << "\n";
    }
    first = false;
  }
  if (json) io.out << "]}\n";
  return kExitOk;
}

// ---- peers -----------------------------------------------------------------------------

int RunPeers(const po::variables_map& vm, Io& io) {
  const std::string action = vm["action"].as<std::string>();
  if (action != "add" && action != "list" && action != "remove" && action != "reload" &&
      action != "resync") {
    return Fail(io,
                absl::InvalidArgumentError(StrCat("unknown peers action \"", action,
                                                  "\"; use add, list, remove, reload or resync")));
  }
  const bool json = vm.count("json") > 0;
  if (action == "add") {
    if (!vm.count("name") || !vm.count("key")) {
      return Fail(io, absl::InvalidArgumentError("peers add needs --name and --key"));
    }
    absl::StatusOr<crypto::PublicKey> key =
        crypto::PublicKey::FromText(vm["key"].as<std::string>());
    if (!key.ok()) {
      return Fail(io, absl::InvalidArgumentError(StrCat("--key: ", key.status().message())));
    }
    v1::AddPeerRequest request;
    v1::PeerConfig* peer = request.mutable_peer();
    peer->set_name(vm["name"].as<std::string>());
    peer->set_node_key(std::string(key->bytes()));
    if (vm.count("address")) peer->set_address(vm["address"].as<std::string>());
    if (vm.count("policy")) peer->set_policy(vm["policy"].as<std::string>());
    if (vm.count("inbound-policy"))
      peer->set_inbound_policy(vm["inbound-policy"].as<std::string>());
    absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
    if (!client.ok()) return Fail(io, client.status());
    if (absl::Status s = (*client)->AddPeer(request); !s.ok()) return Fail(io, s);
    io.out << (json ? "{\"added\":" + JsonString(peer->name()) + "}"
                    : "added peer " + peer->name() + " (" + key->Fingerprint() + ")")
           << "\n";
    return kExitOk;
  }
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  if (action == "reload") {
    absl::StatusOr<v1::ReloadConfigResponse> r = (*client)->ReloadConfig();
    if (!r.ok()) return Fail(io, r.status());
    std::string changed, outbound;
    for (const std::string& n : r->peers_changed()) changed += (changed.empty() ? "" : ", ") + n;
    for (const std::string& n : r->outbound_policies()) {
      outbound += (outbound.empty() ? "" : ", ") + n;
    }
    if (json) {
      io.out << "{\"peers_changed\":" << r->peers_changed_size()
             << ",\"outbound_policies\":" << r->outbound_policies_size() << "}\n";
    } else {
      io.out << "reloaded the config: outbound policies " << outbound
             << "; peers changed: " << (changed.empty() ? "none" : changed)
             << "; live streams restarted\n";
    }
    return kExitOk;
  }
  if (action == "resync") {
    if (!vm.count("name")) return Fail(io, absl::InvalidArgumentError("peers resync needs NAME"));
    v1::ResyncPeerRequest request;
    request.set_name(vm["name"].as<std::string>());
    if (absl::Status s = (*client)->ResyncPeer(request); !s.ok()) return Fail(io, s);
    io.out << (json ? "{\"resync\":" + JsonString(request.name()) + "}"
                    : "replaying both logs with " + request.name() +
                          " from the start (records already held are dropped by id)")
           << "\n";
    return kExitOk;
  }
  if (action == "remove") {
    if (!vm.count("name")) return Fail(io, absl::InvalidArgumentError("peers remove needs --name"));
    v1::RemovePeerRequest request;
    request.set_name(vm["name"].as<std::string>());
    if (absl::Status s = (*client)->RemovePeer(request); !s.ok()) return Fail(io, s);
    io.out << (json ? "{\"removed\":" + JsonString(request.name()) + "}"
                    : "removed peer " + request.name())
           << "\n";
    return kExitOk;
  }
  absl::StatusOr<v1::ListPeersResponse> list = (*client)->ListPeers();
  if (!list.ok()) return Fail(io, list.status());
  std::map<std::string, v1::PeerState> states;
  for (const v1::PeerState& st : list->states()) states[st.name()] = st;
  auto state_text = [&](const std::string& name) {
    auto it = states.find(name);
    if (it == states.end()) return std::string("not yet connected");
    const v1::PeerState& st = it->second;
    std::string refused;
    uint64_t refused_total = 0;
    for (const auto& [reason, n] : st.refused()) {
      refused += StrCat(refused.empty() ? "" : ", ", reason, ": ", n);
      refused_total += n;
    }
    return StrCat(st.connected() ? "connected since " + FormatTime(st.connected_since())
                                 : "down (" + st.last_error() + ")",
                  "; sent ", st.sent(), ", received ", st.received(), ", duplicates ",
                  st.duplicates(), ", refused ", refused_total,
                  refused.empty() ? "" : " (" + refused + ")", ", violations ", st.violations(),
                  ", throttled ", st.throttled_ms(), " ms; its log held here to ", st.cursor(),
                  ", ours acknowledged to ", st.acked(), ", lag ", st.lag());
  };
  if (json) io.out << "{\"peers\":[";
  bool first = true;
  for (const v1::PeerConfig& p : list->peers()) {
    absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromBytes(p.node_key());
    const std::string text = key.ok() ? key->ToText() : "?";
    if (json) {
      io.out << (first ? "" : ",") << "{\"name\":" << JsonString(p.name())
             << ",\"address\":" << JsonString(p.address()) << ",\"key\":" << JsonString(text)
             << ",\"policy\":" << JsonString(p.policy())
             << ",\"inbound_policy\":" << JsonString(p.inbound_policy())
             << ",\"state\":" << JsonString(state_text(p.name())) << "}";
    } else {
      io.out << p.name() << "  " << (p.address().empty() ? "(dials in)" : p.address()) << "  "
             << (key.ok() ? key->Fingerprint() : "?") << "  policy " << p.policy() << "/"
             << p.inbound_policy() << "\n    " << state_text(p.name()) << "\n";
    }
    first = false;
  }
  if (!json && list->peers().empty()) io.out << "no peers\n";
  std::string refused;
  for (const auto& [reason, n] : list->handshakes_refused()) {
    refused += StrCat(refused.empty() ? "" : ", ", reason, ": ", n);
  }
  if (json) {
    io.out << "],\"handshakes_refused\":{";
    bool first_reason = true;
    for (const auto& [reason, n] : list->handshakes_refused()) {
      io.out << (first_reason ? "" : ",") << JsonString(reason) << ":" << n;
      first_reason = false;
    }
    io.out << "}}\n";
  } else if (!refused.empty()) {
    io.out << "connections refused in the handshake: " << refused << "\n";
  }
  return kExitOk;
}

// ---- violations ------------------------------------------------------------------------

int RunExportProof(const po::variables_map& vm, Io& io) {
  absl::StatusOr<std::string> id = ParseId(vm["id"].as<std::string>());
  if (!id.ok()) return Fail(io, id.status());
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  v1::ExportProofRequest request;
  request.set_record_id(*id);
  request.set_violation(vm["violation"].as<bool>());
  absl::StatusOr<v1::ExportProofResponse> r = (*client)->ExportProof(request);
  if (!r.ok()) return Fail(io, r.status());
  const std::string out = OutPath(vm);
  if (absl::Status written = WriteOutput(out, r->bundle(), io); !written.ok()) {
    return Fail(io, written);
  }
  if (out.empty()) return kExitOk;
  io.err << "wrote " << out << "; check it anywhere with: threatmesh verify " << out << "\n";
  return kExitOk;
}

int RunVerify(const po::variables_map& vm, Io& io) {
  const std::string path = vm["file"].as<std::string>();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    io.err << "threatmesh: error: cannot read " << path << "\n";
    return kExitUsage;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const ProofResult r = VerifyOfflineFile(text);
  const int code = r.verdict == ProofResult::Verdict::kValid     ? kExitOk
                   : r.verdict == ProofResult::Verdict::kInvalid ? kExitError
                                                                 : kExitUsage;
  if (vm.count("json")) {
    io.out << ProofResultJson(r) << "\n";
    return code;
  }
  for (const std::string& line : r.story) io.out << line << "\n";
  for (const ProofFailure& f : r.failures) {
    io.out << "FAIL  " << f.element << ": " << f.message;
    if (!f.key.empty()) {
      absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromBytes(f.key);
      io.out << " (key " << (key.ok() ? key->ToText() : crypto::HexEncode(f.key)) << ")";
    }
    io.out << "\n";
  }
  if (r.verdict == ProofResult::Verdict::kValid) {
    io.out << (r.kind == "violation" ? "verdict: VIOLATION PROVEN, every signature verifies\n"
               : r.kind == "audit"   ? "verdict: VALID, the trail is intact\n"
                                     : "verdict: VALID, every check passed\n");
  } else if (r.verdict == ProofResult::Verdict::kInvalid) {
    io.out << "verdict: INVALID, " << r.failures.size() << " check(s) failed\n";
  } else {
    io.out << "verdict: UNUSABLE, " << path << " is not a proof bundle this verifier reads\n";
  }
  return code;
}

int RunViolations(const po::variables_map& vm, Io& io) {
  v1::ListViolationsRequest request;
  request.set_limit(vm["limit"].as<uint32_t>());
  if (vm.count("page-token")) {
    std::optional<std::string> token = crypto::HexDecode(vm["page-token"].as<std::string>());
    if (!token) {
      return Fail(io, absl::InvalidArgumentError("--page-token: expected the hex printed before"));
    }
    request.set_page_token(*token);
  }
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  absl::StatusOr<v1::ListViolationsResponse> r = (*client)->ListViolations(request);
  if (!r.ok()) return Fail(io, r.status());
  const bool json = vm.count("json") > 0;
  auto fingerprint = [](const std::string& key) {
    absl::StatusOr<crypto::PublicKey> k = crypto::PublicKey::FromBytes(key);
    return k.ok() ? k->Fingerprint() : std::string("?");
  };
  if (json) io.out << "{\"violations\":[";
  bool first = true;
  for (const v1::Violation& v : r->violations()) {
    v1::RecordBody body;
    body.ParseFromString(v.record().payload());
    if (json) {
      io.out << (first ? "" : ",") << "{\"id\":" << JsonString(crypto::HexEncode(v.record_id()))
             << ",\"author\":" << JsonString(fingerprint(body.author()))
             << ",\"tlp\":" << JsonString(TlpName(body.tlp()))
             << ",\"hops\":" << v.chain().hops_size() << ",\"offender_hop\":" << v.offender_hop()
             << ",\"offender\":" << JsonString(fingerprint(v.offender_key()))
             << ",\"rule\":" << JsonString(v.rule()) << "}";
    } else {
      io.out << crypto::HexEncode(v.record_id()) << "  " << TlpName(body.tlp()) << "  by "
             << fingerprint(body.author()) << "\n    hop " << v.offender_hop() << " signed by "
             << fingerprint(v.offender_key()) << " broke it: " << v.rule() << "\n";
    }
    first = false;
  }
  if (json) {
    io.out << "],\"next_page_token\":" << JsonString(crypto::HexEncode(r->next_page_token()))
           << "}\n";
  } else {
    if (r->violations().empty()) io.out << "no violations\n";
    if (!r->next_page_token().empty()) {
      io.out << "more: --page-token " << crypto::HexEncode(r->next_page_token()) << "\n";
    }
  }
  return kExitOk;
}

// ---- log excerpts ------------------------------------------------------------------------

// The sanitization keys from --sanitize-key: a file of 32 bytes, raw or as 64 hex digits. The
// Crypto-PAn key is those bytes (so addresses map as in any Crypto-PAn implementation given the
// same key); the name key is derived from them.
struct SanitizeKeys {
  std::unique_ptr<crypto::CryptoPan> addresses;
  std::unique_ptr<crypto::Pseudonyms> names;
};

absl::StatusOr<SanitizeKeys> LoadSanitizeKeys(const po::variables_map& vm) {
  if (!vm.count("sanitize-key")) {
    return absl::InvalidArgumentError(
        "--sanitize-key FILE is needed: 32 secret bytes, readable by its owner only, e.g. made "
        "with '(umask 077; head -c 32 /dev/urandom > sanitize.key)'; keep it, so that "
        "pseudonyms stay the same across excerpts");
  }
  const std::string path = vm["sanitize-key"].as<std::string>();
  absl::StatusOr<std::string> key = crypto::ReadSecretFile(path, "sanitize key");
  if (!key.ok()) return key.status();
  crypto::ScopedWipe wipe(*key);
  std::string trimmed = *key;
  crypto::ScopedWipe wipe_trimmed(trimmed);
  // 32 raw bytes are the key whatever they are (a last byte may be a line feed); otherwise a
  // line of 64 hex digits, or 32 bytes and a line end.
  if (trimmed.size() != 32) {
    while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r')) {
      trimmed.pop_back();
    }
  }
  if (trimmed.size() == 64) {
    if (std::optional<std::string> raw = crypto::HexDecode(trimmed)) trimmed = *raw;
  }
  if (trimmed.size() != 32) {
    return absl::InvalidArgumentError(StrCat(
        "the sanitize key ", path, " must hold 32 bytes (or 64 hex digits), not ", trimmed.size()));
  }
  absl::StatusOr<crypto::CryptoPan> pan = crypto::CryptoPan::Create(trimmed);
  std::string name_key =
      crypto::Sha256(StrCat(std::string_view("threatmesh/sanitize-names/v1\0", 29), trimmed));
  crypto::ScopedWipe wipe_name(name_key);
  absl::StatusOr<crypto::Pseudonyms> names = crypto::Pseudonyms::Create(name_key);
  if (!pan.ok()) return pan.status();
  if (!names.ok()) return names.status();
  SanitizeKeys keys;
  keys.addresses = std::make_unique<crypto::CryptoPan>(std::move(*pan));
  keys.names = std::make_unique<crypto::Pseudonyms>(std::move(*names));
  return keys;
}

absl::StatusOr<SanitizeOptions> InternalOptions(const po::variables_map& vm) {
  SanitizeOptions options;
  if (vm.count("internal-range")) {
    options.internal_ranges.clear();
    for (const std::string& r : vm["internal-range"].as<std::vector<std::string>>()) {
      absl::StatusOr<AddressRange> range = ParseAddressRange(r);
      if (!range.ok()) return range.status();
      options.internal_ranges.push_back(*range);
    }
  }
  if (vm.count("internal-suffix")) {
    options.internal_suffixes = vm["internal-suffix"].as<std::vector<std::string>>();
  }
  return options;
}

void InternalOptionsDesc(po::options_description& d) {
  d.add_options()("internal-suffix", po::value<std::vector<std::string>>()->composing(),
                  "internal DNS suffix, e.g. corp.example (repeatable)")(
      "internal-range", po::value<std::vector<std::string>>()->composing(),
      "internal address range (repeatable; default RFC 1918, shared, loopback, link-local, "
      "ULA)");
}

absl::StatusOr<v1::RecordBody> ReadExcerptFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(StrCat("cannot read excerpt file ", path));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  v1::RecordBody body;
  if (!google::protobuf::util::JsonStringToMessage(text, &body).ok() || !body.has_log_excerpt()) {
    return absl::InvalidArgumentError(
        StrCat(path, " is not an excerpt written by 'threatmesh ingest-log'"));
  }
  return body;
}

// The key of the small file 'ingest-log --out' writes for an excerpt in several parts.
constexpr char kPartsKey[] = "excerpt_parts";

// "excerpt.json" -> "excerpt.part-0003.json" for part index 2.
std::string ExcerptPartPath(const std::string& out, int part) {
  const bool json = out.size() > 5 && out.compare(out.size() - 5, 5, ".json") == 0;
  char number[24];
  std::snprintf(number, sizeof number, ".part-%04d.json", part + 1);
  return StrCat(json ? out.substr(0, out.size() - 5) : out, number);
}

// The excerpt behind `path`, one body per part in part order: either an excerpt file, or the
// list of part files 'ingest-log' writes for an excerpt in several parts (paths relative to
// the list's directory). InvalidArgument when the parts are not one complete excerpt.
absl::StatusOr<std::vector<v1::RecordBody>> ReadExcerptParts(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(StrCat("cannot read excerpt file ", path));
  std::string head(64, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  std::vector<v1::RecordBody> parts;
  if (head.find(StrCat("\"", kPartsKey, "\"")) == std::string::npos) {
    absl::StatusOr<v1::RecordBody> body = ReadExcerptFile(path);
    if (!body.ok()) return body.status();
    parts.push_back(std::move(*body));
  } else {
    in.seekg(0);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    google::protobuf::Struct list;
    auto it = list.fields().end();
    if (google::protobuf::util::JsonStringToMessage(text, &list).ok()) {
      it = list.fields().find(kPartsKey);
    }
    if (it == list.fields().end() || !it->second.has_list_value()) {
      return absl::InvalidArgumentError(
          StrCat(path, " is neither an excerpt nor a list of excerpt parts"));
    }
    const std::filesystem::path dir = std::filesystem::path(path).parent_path();
    for (const google::protobuf::Value& v : it->second.list_value().values()) {
      absl::StatusOr<v1::RecordBody> body = ReadExcerptFile((dir / v.string_value()).string());
      if (!body.ok()) {
        return absl::Status(body.status().code(),
                            StrCat(body.status().message(), ", listed in ", path,
                                   ": keep every part file that ingest-log wrote beside the "
                                   "list, or run ingest-log again"));
      }
      parts.push_back(std::move(*body));
    }
  }
  if (absl::Status s = CheckExcerptParts(parts); !s.ok()) {
    return absl::InvalidArgumentError(StrCat(path, ": ", s.message()));
  }
  return parts;
}

// Prints the checklist; true when every item passed.
bool PrintChecklist(const std::vector<v1::ChecklistItem>& items, std::ostream& out) {
  for (const v1::ChecklistItem& item : items) {
    out << (item.passed() ? "pass  " : "FAIL  ") << Printable(item.item()) << ": "
        << Printable(item.reason()) << "\n";
  }
  return AllPassed(items);
}

// Reads the log at `path` once through a parser of its own, and has `sanitizer` learn the
// user names its lines give. A log that is not a regular file (a pipe) cannot be read twice:
// it is not, and its names are learned as they come.
absl::Status LearnUsers(const std::string& path, const std::string& format,
                        const LogParserOptions& parser_options, std::size_t max_line_bytes,
                        Sanitizer& sanitizer) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<LogParser>> parser = MakeLogParser(format, parser_options);
  if (!parser.ok()) return parser.status();
  LineReader in;
  if (absl::Status s = in.Open(path, max_line_bytes); !s.ok()) return s;
  std::string_view line;
  ParsedLine p;
  for (LineReader::Result r; (r = in.Next(line)) != LineReader::Result::kEnd;) {
    if (r != LineReader::Result::kLine) continue;
    (*parser)->ParseInto(line, p);
    if (p.kind == ParsedLine::Kind::kEvent) sanitizer.LearnUsers(p.event, line);
  }
  return in.error();
}

// The format of the log at `path`, from its first 50 lines.
absl::StatusOr<std::string> DetectLogFormatOf(const std::string& path, std::size_t max_line_bytes) {
  LineReader head;
  if (absl::Status s = head.Open(path, max_line_bytes); !s.ok()) return s;
  std::vector<std::string> first;
  std::string_view line;
  for (LineReader::Result r;
       first.size() < 50 && (r = head.Next(line)) != LineReader::Result::kEnd;) {
    if (r == LineReader::Result::kLine) first.emplace_back(line);
  }
  return DetectLogFormat(first);
}

int RunIngestLog(const po::variables_map& vm, Io& io) {
  LogParserOptions parser_options;
  if (vm.count("timezone")) parser_options.timezone = vm["timezone"].as<std::string>();
  std::string format = vm["format"].as<std::string>();
  const std::string path = vm["file"].as<std::string>();
  const std::size_t max_line_bytes = vm["max-line-bytes"].as<std::size_t>();
  if (max_line_bytes < 1024 || max_line_bytes > (std::size_t{1} << 30)) {
    return Fail(io, absl::InvalidArgumentError("--max-line-bytes must be from 1024 to 1073741824"));
  }
  if (format == "auto") {
    absl::StatusOr<std::string> detected = DetectLogFormatOf(path, max_line_bytes);
    if (!detected.ok()) return Fail(io, detected.status());
    format = *detected;
    io.err << "ingest-log: the format is " << format << "\n";
  }
  absl::StatusOr<std::unique_ptr<LogParser>> parser = MakeLogParser(format, parser_options);
  if (!parser.ok()) return Fail(io, parser.status());
  absl::StatusOr<SanitizeKeys> keys = LoadSanitizeKeys(vm);
  if (!keys.ok()) return Fail(io, keys.status());
  absl::StatusOr<SanitizeOptions> internal = InternalOptions(vm);
  if (!internal.ok()) return Fail(io, internal.status());
  ExcerptBuilderOptions options;
  if (vm.count("window")) {
    const std::string w = vm["window"].as<std::string>();
    const std::size_t dots = w.find("..");
    absl::StatusOr<int64_t> from = ParseTime(w.substr(0, dots));
    absl::StatusOr<int64_t> to = dots == std::string::npos
                                     ? absl::StatusOr<int64_t>(absl::InvalidArgumentError("no .."))
                                     : ParseTime(w.substr(dots + 2));
    if (!from.ok() || !to.ok() || *to <= *from) {
      return Fail(io, absl::InvalidArgumentError(
                          "--window: expected START..END in UTC, e.g. "
                          "2026-11-20T10:00:00Z..2026-11-20T11:00:00Z, END after START"));
    }
    options.window_start = *from;
    options.window_end = *to;
  }
  if (vm.count("tlp")) {
    absl::StatusOr<v1::Tlp> tlp = ParseTlp(vm["tlp"].as<std::string>());
    if (!tlp.ok()) return Fail(io, tlp.status());
    options.tlp = *tlp;
  }
  if (vm.count("contact")) options.contact = vm["contact"].as<std::string>();
  if (vm.count("collection-method")) {
    options.collection_method = vm["collection-method"].as<std::string>();
  }
  options.max_record_bytes = vm["max-record-bytes"].as<std::size_t>();
  if (options.max_record_bytes < kMinExcerptRecordBytes) {
    return Fail(io, absl::InvalidArgumentError(
                        StrCat("--max-record-bytes must be at least ", kMinExcerptRecordBytes)));
  }
  options.check.internal = *internal;
  options.propose_indicators = vm.count("emit-indicators") > 0;
  // Read in 1 MiB blocks; a line over the limit is skipped to its end, never held.
  LineReader in;
  if (absl::Status s = in.Open(path, max_line_bytes); !s.ok()) return Fail(io, s);

  // Parts go to their files as they fill; without --out the excerpt must fit one record.
  const std::string out = vm.count("out") ? vm["out"].as<std::string>() : std::string();
  std::vector<std::string> part_files;
  std::optional<v1::RecordBody> held;  // the first part, until it is known to be the only one
  std::vector<std::string> failed;     // "part N: item: reason"
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  std::string json_buffer;  // reused for every part
  auto write_json = [&io, &json_buffer](const std::string& file,
                                        v1::RecordBody& body) -> absl::Status {
    json_buffer.clear();
    AppendExcerptPartJson(body, json_buffer);
    json_buffer.push_back('\n');
    return WriteOutput(file, json_buffer, io);
  };
  auto note_failures = [&](const v1::RecordBody& part) {
    for (const v1::ChecklistItem& item : part.log_excerpt().checklist()) {
      if (!item.passed()) {
        failed.push_back(StrCat("part ", part.log_excerpt().part() + 1, ": ",
                                Printable(item.item()), ": ", Printable(item.reason())));
      }
    }
  };
  auto sink = [&](v1::RecordBody& part) -> absl::Status {
    note_failures(part);
    if (!held && part_files.empty()) {
      held = std::move(part);
      return absl::OkStatus();
    }
    if (out.empty()) {
      return absl::FailedPreconditionError(StrCat(
          "the excerpt is larger than one record of ", options.max_record_bytes,
          " bytes; give --out FILE, and it is written in parts that are published together"));
    }
    if (held) {
      part_files.push_back(ExcerptPartPath(out, 0));
      if (absl::Status s = write_json(part_files.back(), *held); !s.ok()) return s;
      held.reset();
    }
    part_files.push_back(ExcerptPartPath(out, static_cast<int>(part_files.size())));
    return write_json(part_files.back(), part);
  };
  internal->users_in_text = FormatMayNameUsers(format);
  Sanitizer sanitizer(*internal, *keys->addresses, *keys->names);
  if (FormatMayNameUsers(format)) {
    // A first pass learns every user name the log gives, so that each is replaced on every
    // line, also on the lines above the one that named it.
    absl::Status learned = LearnUsers(path, format, parser_options, max_line_bytes, sanitizer);
    if (!learned.ok()) return Fail(io, learned);
  }
  options.check.known_users = &sanitizer.known_users();
  ExcerptBuilder builder(options, sanitizer, **parser, sink);

  uint64_t number = 0, errors = 0;
  std::string_view line;
  ParsedLine p;  // reused: its event's storage cycles between the parser and the builder
  for (LineReader::Result r; (r = in.Next(line)) != LineReader::Result::kEnd;) {
    if (++number % 1000000 == 0) {
      io.err << "ingest-log: " << number << " lines read, " << builder.events() << " events, "
             << builder.parts() << " parts finished\n";
    }
    if (r == LineReader::Result::kTooLong) {
      if (++errors <= 20) {
        io.err << path << ":" << number << ": the line is " << in.too_long_bytes()
               << " bytes, longer than --max-line-bytes " << max_line_bytes << "; not parsed\n";
      }
      continue;
    }
    (*parser)->ParseInto(line, p);
    if (p.kind == ParsedLine::Kind::kError) {
      // A parse error may quote the line: its bytes are shown escaped.
      if (++errors <= 20) io.err << path << ":" << number << ": " << Printable(p.error) << "\n";
      continue;
    }
    if (p.kind != ParsedLine::Kind::kEvent) continue;
    if (absl::Status s = builder.Add(p.event, line); !s.ok()) {
      return Fail(io, absl::Status(s.code(), StrCat(path, ":", number, ": ", s.message())));
    }
  }
  if (!in.error().ok())
    return Fail(io, absl::DataLossError(StrCat(path, ": ", in.error().message())));
  if (errors > 20) io.err << "... and " << errors - 20 << " more lines that do not parse\n";
  if (absl::Status s = builder.Finish(); !s.ok()) {
    return Fail(io, absl::Status(s.code(),
                                 StrCat(path, " as ", (*parser)->format(), ": ", s.message(), "; ",
                                        number, " lines read, ", errors, " did not parse")));
  }
  if (held) {
    // One part: the excerpt itself, readable.
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(*held, &json, print);
    if (absl::Status written = WriteOutput(out, json, io); !written.ok()) return Fail(io, written);
  } else {
    // Several parts: `out` lists them, and stands for the whole excerpt.
    std::string list = StrCat("{\"", kPartsKey, "\": [");
    for (std::size_t i = 0; i < part_files.size(); ++i) {
      list += StrCat(i ? ", " : "",
                     JsonString(std::filesystem::path(part_files[i]).filename().string()));
    }
    list += "]}\n";
    if (absl::Status written = WriteOutput(out, list, io); !written.ok()) return Fail(io, written);
  }
  io.err << "ingest-log: " << builder.events() << " events from " << number << " lines (" << errors
         << " did not parse, " << builder.outside_window() << " outside the window)";
  if (builder.parts() > 1) {
    io.err << " in " << builder.parts() << " parts listed in " << out;
  }
  io.err << "\n";
  if (builder.utf8_repaired() > 0) {
    io.err << "ingest-log: " << builder.utf8_repaired()
           << " events had bytes that are not UTF-8; each was replaced by U+FFFD\n";
  }
  if (options.propose_indicators) {
    const std::string file = vm["emit-indicators"].as<std::string>();
    const std::vector<IndicatorProposal> proposals = builder.Proposals();
    std::string lines;
    for (const IndicatorProposal& p : proposals) StrAppend(&lines, ProposalToJson(p), "\n");
    if (absl::Status written = WriteOutput(file, lines, io); !written.ok()) {
      return Fail(io, written);
    }
    io.err << "ingest-log: " << proposals.size() << " indicator proposals in " << file
           << " (one per line, most seen first";
    if (builder.proposals_dropped() > 0) {
      io.err << "; the first " << options.max_proposals << " distinct values are kept, and "
             << builder.proposals_dropped() << " later sightings of other values were not counted";
    }
    io.err << "). Review them: delete the lines not to publish, then publish them with the "
              "excerpt: threatmesh publish --excerpt FILE --indicators "
           << file << "\n";
  }
  if (held) {
    PrintChecklist(std::vector<v1::ChecklistItem>(held->log_excerpt().checklist().begin(),
                                                  held->log_excerpt().checklist().end()),
                   io.err);
  } else {
    for (const std::string& f : failed) io.err << "FAIL  " << f << "\n";
    if (failed.empty()) io.err << "every part passed its release checklist\n";
  }
  io.err << (builder.all_passed() ? "ready to publish: threatmesh publish --excerpt FILE\n"
                                  : "not ready: fix the failed items, then check again\n");
  return kExitOk;
}

int RunCheck(const po::variables_map& vm, Io& io) {
  absl::StatusOr<std::vector<v1::RecordBody>> parts =
      ReadExcerptParts(vm["file"].as<std::string>());
  if (!parts.ok()) return Fail(io, parts.status());
  absl::StatusOr<SanitizeOptions> internal = InternalOptions(vm);
  if (!internal.ok()) return Fail(io, internal.status());
  ExcerptCheckOptions check;
  check.internal = *internal;
  bool passed = true;
  for (const v1::RecordBody& part : *parts) {
    if (parts->size() > 1) {
      io.out << "part " << part.log_excerpt().part() + 1 << " of " << parts->size() << "\n";
    }
    passed = PrintChecklist(CheckExcerpt(part, check), io.out) && passed;
  }
  return passed ? kExitOk : kExitError;
}

// Reads reviewed proposals (one JSON object per line; blank lines and lines starting with
// '#' are skipped). Every line must be a valid proposal, or nothing is published.
absl::StatusOr<std::vector<IndicatorProposal>> ReadProposals(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(StrCat("cannot read indicator proposals ", path));
  std::vector<IndicatorProposal> out;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#') continue;
    absl::StatusOr<IndicatorProposal> p = ProposalFromJson(line);
    if (!p.ok()) {
      return absl::InvalidArgumentError(
          StrCat(path, ":", number, ": ", p.status().message(), "; nothing published"));
    }
    out.push_back(std::move(*p));
  }
  return out;
}

int RunPublishExcerpt(const po::variables_map& vm, Io& io) {
  absl::StatusOr<std::vector<v1::RecordBody>> parts =
      ReadExcerptParts(vm["excerpt"].as<std::string>());
  if (!parts.ok()) return Fail(io, parts.status());
  std::vector<IndicatorProposal> proposals;
  if (vm.count("indicators")) {
    absl::StatusOr<std::vector<IndicatorProposal>> read =
        ReadProposals(vm["indicators"].as<std::string>());
    if (!read.ok()) return Fail(io, read.status());
    proposals = std::move(*read);
  }
  absl::StatusOr<SanitizeOptions> internal = InternalOptions(vm);
  if (!internal.ok()) return Fail(io, internal.status());
  ExcerptCheckOptions check;
  check.internal = *internal;
  const uint32_t count = static_cast<uint32_t>(parts->size());
  // Every part is made ready and checked before anything is published.
  for (v1::RecordBody& body : *parts) {
    // The handling given here wins over the file's.
    if (!vm["tlp"].defaulted() || body.tlp() == v1::TLP_UNSPECIFIED) {
      absl::StatusOr<v1::Tlp> tlp = ParseTlp(vm["tlp"].as<std::string>());
      if (!tlp.ok()) return Fail(io, tlp.status());
      body.set_tlp(*tlp);
    }
    if (vm["may-relay"].as<bool>()) body.mutable_handling()->set_may_relay(true);
    if (vm["max-hops"].as<uint32_t>() > 0) {
      body.mutable_handling()->set_max_hops(vm["max-hops"].as<uint32_t>());
    }
    std::vector<v1::ChecklistItem> items = CheckExcerpt(body, check);
    if (!AllPassed(items)) {
      std::string failed;
      for (const v1::ChecklistItem& item : items) {
        if (!item.passed())
          failed += StrCat(failed.empty() ? "" : "; ", Printable(item.item()), ": ",
                           Printable(item.reason()));
      }
      return Fail(io, absl::FailedPreconditionError(StrCat(
                          "the excerpt",
                          count > 1 ? StrCat(" (part ", body.log_excerpt().part() + 1, ")") : "",
                          " fails its release checklist, nothing published: ", failed)));
    }
    v1::LogExcerpt* x = body.mutable_log_excerpt();
    x->clear_checklist();
    for (const v1::ChecklistItem& item : items) *x->add_checklist() = item;
    x->set_part_count(count > 1 ? count : 0);
    body.clear_author();
    body.clear_created_at();
  }
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  const v1::RecordBody& first = parts->front();
  const v1::LogExcerpt& fx = first.log_excerpt();

  // Reviewed indicators first: the excerpt lists their ids, signed with it.
  std::vector<std::string> indicator_ids;
  for (const IndicatorProposal& p : proposals) {
    v1::PublishRequest request;
    v1::RecordBody* body = request.mutable_body();
    body->set_tlp(first.tlp());
    *body->mutable_handling() = first.handling();
    body->add_labels("log-excerpt");
    v1::Indicator* ind = body->mutable_indicator();
    ind->set_type(p.type);
    ind->set_value(p.value);
    ind->set_description(
        StrCat("drawn from a ", fx.source_format(), " log excerpt",
               p.field.empty() ? "" : StrCat(" (", p.field, ")"),
               p.count > 0 ? StrCat(": ", p.count, " events from ", FormatTime(p.first_seen),
                                    " to ", FormatTime(p.last_seen))
                           : ""));
    absl::StatusOr<v1::PublishResponse> published = (*client)->Publish(request);
    if (!published.ok()) {
      return Fail(io,
                  absl::Status(published.status().code(),
                               StrCat("indicator ", IndicatorTypeName(p.type), " ", p.value, ": ",
                                      published.status().message(), " (", indicator_ids.size(),
                                      " indicators published before it; the excerpt is not)")));
    }
    indicator_ids.push_back(published->id());
    if (!vm.count("json")) {
      io.out << "published indicator " << crypto::HexEncode(published->id()) << " "
             << IndicatorTypeName(p.type) << " " << p.value << "\n";
    }
  }
  std::string first_id;
  std::vector<std::pair<std::string, uint64_t>> done;
  for (v1::RecordBody& body : *parts) {
    v1::LogExcerpt* x = body.mutable_log_excerpt();
    if (x->part() == 0) {
      for (const std::string& id : indicator_ids) x->add_indicator_ids(id);
    } else {
      x->set_first_part(first_id);
    }
    v1::PublishRequest request;
    *request.mutable_body() = std::move(body);
    absl::StatusOr<v1::PublishResponse> published = (*client)->Publish(request);
    if (!published.ok()) {
      return Fail(
          io, absl::Status(
                  published.status().code(),
                  StrCat(count > 1 ? StrCat("part ", x->part() + 1, " of ", count, ": ") : "",
                         published.status().message(),
                         done.empty() ? ""
                                      : StrCat(" (", done.size(), " parts published before it)"))));
    }
    if (first_id.empty()) first_id = published->id();
    done.emplace_back(published->id(), published->seq());
    if (!vm.count("json")) {
      io.out << "published log excerpt " << crypto::HexEncode(published->id());
      if (count > 1) io.out << " (part " << done.size() << " of " << count << ")";
      io.out << " (seq " << published->seq() << ")\n";
    }
  }
  if (vm.count("json")) {
    io.out << "{\"id\":" << JsonString(crypto::HexEncode(done.front().first))
           << ",\"seq\":" << done.front().second << ",\"parts\":[";
    for (std::size_t i = 0; i < done.size(); ++i) {
      io.out << (i ? "," : "") << JsonString(crypto::HexEncode(done[i].first));
    }
    io.out << "],\"indicators\":[";
    for (std::size_t i = 0; i < indicator_ids.size(); ++i) {
      io.out << (i ? "," : "") << JsonString(crypto::HexEncode(indicator_ids[i]));
    }
    io.out << "]}\n";
  }
  return kExitOk;
}

// ---- policy ----------------------------------------------------------------------------

int RunPolicy(const po::variables_map& vm, Io& io) {
  if (vm["action"].as<std::string>() != "explain") {
    return Fail(io,
                absl::InvalidArgumentError("unknown policy action; use: policy explain ID PEER"));
  }
  if (!vm.count("id") || !vm.count("peer")) {
    return Fail(io, absl::InvalidArgumentError("policy explain needs a record id and a peer name"));
  }
  absl::StatusOr<std::string> id = ParseId(vm["id"].as<std::string>());
  if (!id.ok()) return Fail(io, id.status());
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  v1::ExplainPolicyRequest request;
  request.set_record_id(*id);
  request.set_peer(vm["peer"].as<std::string>());
  absl::StatusOr<v1::ExplainPolicyResponse> r = (*client)->ExplainPolicy(request);
  if (!r.ok()) return Fail(io, r.status());
  if (vm.count("json")) {
    io.out << "{\"sent\":" << (r->sent() ? "true" : "false")
           << ",\"rule\":" << JsonString(r->rule()) << "}\n";
  } else {
    io.out << (r->sent() ? "sent to " : "not sent to ") << request.peer() << ": " << r->rule()
           << "\n";
  }
  return kExitOk;
}

// ---- serve -----------------------------------------------------------------------------

int RunServeCommand(int argc, char** argv, Io& io) {
  bool help = false;
  std::string help_text;
  absl::StatusOr<ServeConfig> config = ParseServeConfig(argc, argv, &help, &help_text);
  if (help) {
    io.out << "run the node: the local gRPC API until SIGINT or SIGTERM\nexample: threatmesh "
              "serve --config /etc/threatmesh/threatmesh.conf\n\n"
           << help_text;
    return kExitOk;
  }
  if (!config.ok()) {
    io.err << "threatmesh serve: " << config.status().message() << "\n";
    return kExitUsage;
  }
  return RunServe(*config, io.out, io.err);
}

// Whether a command talks to a running node (and so takes --node, --token...).
bool IsClientCommand(const std::string& name) {
  return name != "init" && name != "serve" && name != "ingest-log" && name != "check" &&
         name != "verify" && name != "key";
}

std::vector<Command> Commands() {
  auto id_option = [](po::options_description& d) {
    d.add_options()("id", po::value<std::string>()->required(), "record id (64 hex)");
  };
  return {
      {"init", "create a node: a new key, an empty store and an admin token in --data-dir",
       "threatmesh init --data-dir /var/lib/threatmesh", nullptr, RunInit},
      {"key", "rotate the node's key (node stopped), or revoke a key it rotated away from",
       "threatmesh key rotate --data-dir /var/lib/threatmesh | threatmesh key revoke --since "
       "2026-11-20T08:00:00Z --reason \"laptop stolen\"",
       [](po::options_description& d) {
         d.add_options()("action", po::value<std::string>()->required(), "rotate or revoke")(
             "since", po::value<std::string>(),
             "revoke: from when the key may have been in other hands (UTC)")(
             "reason", po::value<std::string>(), "revoke: why, for people")(
             "key", po::value<std::string>(),
             "revoke: the key (tmpk...); default: the one the node last rotated away from")(
             "online",
             "revoke: through the running node (--node, an admin token) instead of the stopped "
             "node's data directory");
       },
       RunKey},
      {"serve", "run the node: the local gRPC API, until SIGINT or SIGTERM",
       "threatmesh serve --config /etc/threatmesh/threatmesh.conf", nullptr, nullptr},
      {"publish", "sign and store an indicator authored by the node",
       "threatmesh publish --type domain --value evil.example.com --tlp green --label apt29 "
       "--confidence 80",
       PublishOptions, RunPublish},
      {"get", "show one record by id", "threatmesh get 4f1c...e9 --json", id_option, RunGet},
      {"ingest-log",
       "parse and sanitize a log file into an excerpt for review (offline; no node needed)",
       "threatmesh ingest-log --format bind-query --timezone Europe/Berlin --sanitize-key "
       "sanitize.key --window 2026-11-20T10:00:00Z..2026-11-20T11:00:00Z --tlp amber --contact "
       "soc@example.org --internal-suffix corp.example query.log --out excerpt.json",
       [](po::options_description& d) {
         d.add_options()("file", po::value<std::string>()->required(), "the log file")(
             "format", po::value<std::string>()->required(),
             "bind-query, nginx-combined, apache-combined, syslog-5424, syslog-3164, "
             "windows-dns, zeek-dns, zeek-http, zeek-conn, or auto (told from the first 50 "
             "lines)")("timezone", po::value<std::string>(),
                       "IANA zone of a log written in local time without a zone (bind-query, "
                       "syslog-3164, windows-dns)")("sanitize-key", po::value<std::string>(),
                                                    "file of 32 secret bytes (or 64 hex)")(
             "window", po::value<std::string>(), "START..END in UTC; events outside are left out")(
             "tlp", po::value<std::string>(),
             "TLP 2.0 label: clear, green, amber, amber+strict, red")(
             "contact", po::value<std::string>(), "whom to ask about the excerpt")(
             "collection-method", po::value<std::string>(), "how the log was collected")(
             "out", po::value<std::string>(),
             "write the excerpt here (default: standard output); one larger than a record is "
             "written in parts beside it, and this file lists them")(
             "max-record-bytes", po::value<std::size_t>()->default_value(1 << 20),
             "record limit of the receiving nodes: each part of the excerpt fits in it")(
             "max-line-bytes", po::value<std::size_t>()->default_value(kDefaultMaxLineBytes),
             "a longer log line is reported and skipped, never held (1024 to 1073741824)")(
             "emit-indicators", po::value<std::string>(),
             "write indicator proposals drawn from the log to this file, for review");
         InternalOptionsDesc(d);
       },
       RunIngestLog},
      {"check", "run the release checklist on an excerpt file (offline)",
       "threatmesh check excerpt.json --internal-suffix corp.example",
       [](po::options_description& d) {
         d.add_options()("file", po::value<std::string>()->required(), "the excerpt file");
         InternalOptionsDesc(d);
       },
       RunCheck},
      {"search", "query the node (one query per call, paged, optionally filtered)",
       "threatmesh search --type domain --value example.com | --domain-suffix example.com | "
       "--ip 10.1.2.3 | --author tmpk... | --tag apt29 | --kind indicator [--max-tlp amber]",
       SearchOptions, RunSearch},
      {"subscribe", "print records as the node stores them, from a cursor",
       "threatmesh subscribe --cursor 1200 --only-kind indicator --max-tlp green", SubscribeOptions,
       RunSubscribe},
      {"sight", "publish a sighting of an indicator",
       "threatmesh sight --type ipv4 --value 192.0.2.7 --count 12 --tlp amber",
       [](po::options_description& d) {
         d.add_options()("type", po::value<std::string>()->required(), "indicator type")(
             "value", po::value<std::string>()->required(), "indicator value")(
             "count", po::value<uint64_t>()->default_value(1), "times seen")(
             "first-seen", po::value<std::string>(), "first seen (default now)")(
             "last-seen", po::value<std::string>(), "last seen (default now)")(
             "tlp", po::value<std::string>()->default_value("amber"), "TLP of the sighting")(
             "label", po::value<std::vector<std::string>>()->composing(), "tag (repeatable)");
       },
       RunSight},
      {"retract", "withdraw one of the node's own records",
       "threatmesh retract 4f1c...e9 --reason \"false positive\"",
       [id_option](po::options_description& d) {
         id_option(d);
         d.add_options()("reason", po::value<std::string>()->default_value(""), "why");
       },
       RunRetract},
      {"status", "the node's key, counts, size and uptime", "threatmesh status --json", nullptr,
       RunStatus},
      {"token", "manage API tokens: create, list, revoke (admin)",
       "threatmesh token create --name soc-reader --role read",
       [](po::options_description& d) {
         d.add_options()("action", po::value<std::string>()->required(), "create, list or revoke")(
             "name", po::value<std::string>(), "token name (create, revoke)")(
             "role", po::value<std::string>(), "read, publish or admin (create)")(
             "audience", po::value<std::string>()->default_value("member"),
             "member (the organization; the default) or client (its clients too: such a token "
             "never sees AMBER+STRICT or RED records, in any answer) (create)");
       },
       RunToken},
      {"peers", "add, list, remove, reload (config file) or resync the node's peers (admin)",
       "threatmesh peers add --name isac-hub --address hub.example.org:7421 --key tmpk...",
       [](po::options_description& d) {
         d.add_options()("action", po::value<std::string>()->required(),
                         "add, list, remove, reload or resync")(
             "name", po::value<std::string>(), "the peer's local name (add, remove, resync)")(
             "address", po::value<std::string>(),
             "host:port of its peer port (add; leave out for a peer that only dials in)")(
             "key", po::value<std::string>(), "its public key, tmpk... (add)")(
             "policy", po::value<std::string>(), "outbound policy (add; default: default)")(
             "inbound-policy", po::value<std::string>(), "inbound policy (add; default: default)");
       },
       RunPeers},
      {"export-proof",
       "write a signed proof bundle of a record, or of its kept violations, for auditors",
       "threatmesh export-proof 4f1c...e9 --out proof.json",
       [](po::options_description& d) {
         d.add_options()("id", po::value<std::string>()->required(), "record id (64 hex)")(
             "violation", po::bool_switch(), "the violations kept for the record")(
             "out", po::value<std::string>(), "write the bundle here (default: standard output)");
       },
       RunExportProof},
      {"verify", "check a proof bundle offline: no node, network or data directory needed",
       "threatmesh verify proof.json [--json]",
       [](po::options_description& d) {
         d.add_options()("file", po::value<std::string>()->required(), "the bundle");
       },
       RunVerify},
      {"violations", "list copies received that broke their author's handling (admin)",
       "threatmesh violations --limit 20",
       [](po::options_description& d) {
         d.add_options()("limit", po::value<uint32_t>()->default_value(100), "at most this many")(
             "page-token", po::value<std::string>(), "continue from a previous page (hex)");
       },
       RunViolations},
      {"policy", "explain whether a record goes to a peer, and why (admin)",
       "threatmesh policy explain 4f1c...e9 isac-hub",
       [](po::options_description& d) {
         d.add_options()("action", po::value<std::string>()->required(), "explain")(
             "id", po::value<std::string>(), "record id (64 hex)")("peer", po::value<std::string>(),
                                                                   "peer name");
       },
       RunPolicy},
      {"audit", "show, verify or export the node's audit trail (admin)",
       "threatmesh audit show --since 2026-11-01 --who soc-reader | threatmesh audit verify | "
       "threatmesh audit export --out trail.json",
       [](po::options_description& d) {
         d.add_options()("action", po::value<std::string>()->required(), "show or verify")(
             "since", po::value<std::string>(), "show: entries at or after this time")(
             "who", po::value<std::string>(), "show: entries of this token name")(
             "expect-key", po::value<std::string>(),
             "verify: the node's public key as you know it (tmpk...)")(
             "out", po::value<std::string>(), "export: write the trail here (default: stdout)");
       },
       RunAudit},
  };
}

po::options_description OptionsFor(const Command& c) {
  po::options_description d(StrCat("threatmesh ", c.name, " options"));
  d.add_options()("help,h", "show this help")("json", "machine-readable JSON output");
  AddDataDir(d);
  if (IsClientCommand(c.name) || c.name == "key") AddNodeOptions(d);
  if (c.add_options) c.add_options(d);
  return d;
}

void PrintUsage(std::ostream& os) {
  os << "threatmesh: a federated exchange node for threat indicators and log excerpts\n\n"
        "usage: threatmesh COMMAND [options]\n\ncommands:\n";
  for (const Command& c : Commands()) {
    os << "  " << c.name << std::string(c.name.size() < 13 ? 13 - c.name.size() : 1, ' ')
       << c.summary << "\n";
  }
  os << "\n'threatmesh COMMAND --help' shows a command's options with an example.\n";
}

}  // namespace

int RunCli(int argc, char** argv, std::ostream& out, std::ostream& err) {
  Io io{out, err};
  if (argc < 2) {
    PrintUsage(err);
    return kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") {
    if (argc > 2) {
      if (std::string(argv[2]) == "serve") {
        const char* args[] = {"serve", "--help"};
        return RunServeCommand(2, const_cast<char**>(args), io);
      }
      for (const Command& c : Commands()) {
        if (c.name == argv[2]) {
          out << c.summary << "\nexample: " << c.example << "\n\n" << OptionsFor(c);
          return kExitOk;
        }
      }
    }
    PrintUsage(out);
    return kExitOk;
  }
  if (name == "serve") return RunServeCommand(argc - 1, argv + 1, io);
  for (const Command& c : Commands()) {
    if (c.name != name) continue;
    po::options_description desc = OptionsFor(c);
    po::positional_options_description positional;
    if (c.name == "get" || c.name == "retract" || c.name == "export-proof") {
      positional.add("id", 1);
    }
    if (c.name == "ingest-log" || c.name == "check" || c.name == "verify") {
      positional.add("file", 1);
    }
    if (c.name == "token" || c.name == "audit" || c.name == "key") positional.add("action", 1);
    if (c.name == "peers") positional.add("action", 1).add("name", 1);
    if (c.name == "policy") positional.add("action", 1).add("id", 1).add("peer", 1);
    po::variables_map vm;
    try {
      po::store(
          po::command_line_parser(argc - 1, argv + 1).options(desc).positional(positional).run(),
          vm);
      if (vm.count("help")) {
        out << c.summary << "\nexample: " << c.example << "\n\n" << desc;
        return kExitOk;
      }
      po::notify(vm);
    } catch (const po::error& e) {
      err << "threatmesh " << c.name << ": " << e.what() << "\n"
          << "see 'threatmesh " << c.name << " --help'\n";
      return kExitUsage;
    }
    return c.run(vm, io);
  }
  err << "threatmesh: unknown command \"" << name << "\"\n\n";
  PrintUsage(err);
  return kExitUsage;
}

}  // namespace threatmesh
