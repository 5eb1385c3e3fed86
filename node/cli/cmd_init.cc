// init, key and serve: making a node, rotating and revoking its key, running it.
#include <fcntl.h>

#include "crypto/encoding.h"
#include "crypto/key_file.h"
#include "crypto/keys.h"
#include "crypto/sodium.h"
#include "crypto/str_cat.h"
#include "node/api/grpc/client.h"
#include "node/cli/commands.h"
#include "node/cli/node_access.h"
#include "node/config.h"
#include "node/core/record_view.h"
#include "node/local_node.h"
#include "node/mesh/grpc/tls.h"
#include "node/peers.h"
#include "node/serve/server.h"
#include "node/tokens.h"

namespace threatmesh::cli {
namespace {

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
int KeyRotate(const po::variables_map& vm, Io& io) {
  NodeConfig config;
  config.data_dir = vm["data-dir"].as<std::string>();
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

// Signs the revocation of `key` ("": the key the node last rotated away from), through the
// running node with --online, else in the stopped node's data directory.
absl::Status RevokeKey(const po::variables_map& vm, const std::string& key, int64_t since,
                       const std::string& reason, std::string* id, std::string* revoked) {
  if (vm.count("online") > 0) {
    // Through the running node (an admin token), which passes it to its peers at once.
    absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
    if (!client.ok()) return client.status();
    v1::RevokeKeyRequest request;
    request.set_key(key);
    request.set_compromised_since(since);
    request.set_reason(reason);
    absl::StatusOr<v1::PublishResponse> r = (*client)->RevokeKey(request);
    if (!r.ok()) return r.status();
    v1::GetRequest get;
    get.set_id(r->id());
    absl::StatusOr<v1::GetResponse> stored = (*client)->Get(get);
    if (!stored.ok()) return stored.status();
    *id = r->id();
    *revoked = stored->record().body().key_revocation().key();
  } else {
    absl::StatusOr<std::unique_ptr<LocalNode>> node = OpenNode(vm);
    if (!node.ok()) return node.status();
    absl::StatusOr<VerifiedRecord> r = (*node)->RevokeKey(key, since, reason);
    if (!r.ok()) return r.status();
    *id = r->id;
    *revoked = r->body.key_revocation().key();
  }
  return absl::OkStatus();
}

int KeyRevoke(const po::variables_map& vm, Io& io) {
  if (!vm.count("since")) {
    return Fail(io, absl::InvalidArgumentError(
                        "--since is required: from when the old key may have been in other "
                        "hands (records it signed dated before then stay valid)"));
  }
  absl::StatusOr<int64_t> since = ParseTime(vm["since"].as<std::string>());
  if (!since.ok()) return Fail(io, since.status());
  std::string key;  // empty: the key the node last rotated away from
  if (vm.count("key")) {
    absl::StatusOr<crypto::PublicKey> k = crypto::PublicKey::FromText(vm["key"].as<std::string>());
    if (!k.ok()) return Fail(io, k.status());
    key = std::string(k->bytes());
  }
  const std::string reason = vm.count("reason") ? vm["reason"].as<std::string>() : "";
  const bool online = vm.count("online") > 0;
  std::string id, revoked;
  if (absl::Status s = RevokeKey(vm, key, *since, reason, &id, &revoked); !s.ok()) {
    return Fail(io, s);
  }
  absl::StatusOr<crypto::PublicKey> k = crypto::PublicKey::FromBytes(revoked);
  if (!k.ok()) return Fail(io, k.status());
  if (vm.count("json")) {
    io.out << "{\"id\":\"" << crypto::HexEncode(id) << "\",\"revoked\":" << JsonString(k->ToText())
           << "}\n";
  } else {
    io.out << "revoked     " << k->Fingerprint() << " from " << FormatTime(*since) << " on\n"
           << "record      " << crypto::HexEncode(id) << "\n"
           << (online ? "            (the node passes it to its peers now)\n"
                      : "            (it reaches peers like any record once the node serves "
                        "again)\n");
  }
  return kExitOk;
}

int RunKey(const po::variables_map& vm, Io& io) {
  const std::string action = vm["action"].as<std::string>();
  if (action == "rotate") return KeyRotate(vm, io);
  if (action == "revoke") return KeyRevoke(vm, io);
  return Fail(io, absl::InvalidArgumentError(
                      StrCat("unknown action \"", action, "\"; use rotate or revoke")));
}

}  // namespace

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

Command InitCommand() {
  return {"init",
          "create a node: a new key, an empty store and an admin token in --data-dir",
          "threatmesh init --data-dir /var/lib/threatmesh",
          nullptr,
          RunInit,
          {},
          /*node_options=*/false};
}

Command KeyCommand() {
  return {"key",
          "rotate the node's key (node stopped), or revoke a key it rotated away from",
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
          RunKey,
          {"action"}};
}

Command ServeCommand() {
  return {"serve",
          "run the node: the local gRPC API, until SIGINT or SIGTERM",
          "threatmesh serve --config /etc/threatmesh/threatmesh.conf",
          nullptr,
          nullptr,
          {},
          /*node_options=*/false};
}

}  // namespace threatmesh::cli
