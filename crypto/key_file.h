// The node key file: one Ed25519 key pair, optionally sealed under a passphrase.
//
// The file is text (docs/FORMAT.md, "Key file"): a format line, the printable public key,
// and either the hex seed or, when a passphrase is given, the seed sealed with
// XChaCha20-Poly1305 under a key derived by Argon2id. It is created with mode 0600 and a
// file that group or others can read is refused. Functions are thread-safe.
#ifndef THREATMESH_CRYPTO_KEY_FILE_H_
#define THREATMESH_CRYPTO_KEY_FILE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/keys.h"

namespace threatmesh::crypto {

struct KeyFileOptions {
  // Empty: the seed is stored in clear (the file mode protects it).
  std::string passphrase;
  // Argon2id cost; the defaults are libsodium's "interactive" limits. Tests lower them.
  unsigned long long argon2_opslimit = 2;
  std::size_t argon2_memlimit = 64u << 20;
};

// Writes `key` to `path`, which must not exist yet (AlreadyExists otherwise, so a key is
// never overwritten). The file is written to a temporary name, synced and renamed.
[[nodiscard]] absl::Status SaveKeyFile(const std::string& path, const KeyPair& key,
                                       const KeyFileOptions& options = {});

// Reads a key file. NotFound when missing; PermissionDenied when group or others can read
// it (the message says to chmod 600) or the passphrase is wrong; FailedPrecondition when it
// is sealed and no passphrase was given; DataLoss when it is malformed or its public key does
// not match its secret.
[[nodiscard]] absl::StatusOr<KeyPair> LoadKeyFile(const std::string& path,
                                                  std::string_view passphrase = {});

// Reads a file that holds a secret (`what` names it in messages, e.g. "sanitize key"):
// NotFound when missing; PermissionDenied when group or others can read it (the message says
// to chmod 600); InvalidArgument when it is over `max_bytes`. The caller wipes the result.
[[nodiscard]] absl::StatusOr<std::string> ReadSecretFile(const std::string& path,
                                                         std::string_view what,
                                                         std::size_t max_bytes = 64 * 1024);

}  // namespace threatmesh::crypto

#endif  // THREATMESH_CRYPTO_KEY_FILE_H_
