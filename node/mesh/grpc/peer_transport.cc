#include "node/mesh/grpc/peer_transport.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "node/mesh/grpc/tls.h"

namespace threatmesh {

std::shared_ptr<grpc::ServerCredentials> PeerServerCredentials(const PeerIdentity& identity) {
  grpc::SslServerCredentialsOptions options(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  options.pem_key_cert_pairs.push_back({identity.key_pem, identity.cert_pem});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> PeerChannelCredentials(const PeerIdentity& identity) {
  auto provider = std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
      std::vector<grpc::experimental::IdentityKeyCertPair>{{identity.key_pem, identity.cert_pem}});
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(false);
  options.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  options.set_check_call_host(false);
  return grpc::experimental::TlsCredentials(options);
}

grpc::ChannelArguments PeerChannelArguments() {
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  return args;
}

absl::StatusOr<std::string> SeenCertificateHash(const grpc::AuthContext* auth) {
  std::vector<grpc::string_ref> pem;
  if (auth != nullptr) pem = auth->FindPropertyValues("x509_pem_cert");
  if (pem.empty()) {
    return absl::PermissionDeniedError(
        "the peer presented no TLS certificate; is it set for insecure-peering?");
  }
  return CertificateHash(std::string_view(pem.front().data(), pem.front().size()));
}

}  // namespace threatmesh
