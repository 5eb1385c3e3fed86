// TLS certificates for the peer port: a self-signed certificate made at init (the node's
// identity is its Ed25519 key, proven in the peer handshake, so no CA is involved), and the
// certificate hash the handshake binds to. OpenSSL stays inside tls.cc. Thread-safe.
#ifndef THREATMESH_NODE_MESH_GRPC_TLS_H_
#define THREATMESH_NODE_MESH_GRPC_TLS_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace threatmesh {

// Writes a new self-signed P-256 certificate (valid 10 years, for `hosts`: IP addresses
// and DNS names, comma separated, e.g. "127.0.0.1,localhost") to `cert_path` and its key to
// `key_path` (mode 0600). Neither file may exist yet.
[[nodiscard]] absl::Status WriteSelfSignedCertificate(const std::string& cert_path,
                                                      const std::string& key_path,
                                                      std::string_view hosts);

// SHA-256 of the DER encoding of the first certificate in `pem` (32 bytes): the same value
// whichever way the PEM text is wrapped. InvalidArgument when `pem` holds no certificate.
[[nodiscard]] absl::StatusOr<std::string> CertificateHash(std::string_view pem);

// Whether `cert_pem` holds a certificate and `key_pem` its private key (unencrypted PEM).
// InvalidArgument naming the file at fault (by the paths given) otherwise.
[[nodiscard]] absl::Status CheckCertificateAndKey(std::string_view cert_pem,
                                                  std::string_view key_pem,
                                                  const std::string& cert_path,
                                                  const std::string& key_path);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_MESH_GRPC_TLS_H_
