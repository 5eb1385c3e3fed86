#include "node/mesh/grpc/tls.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "crypto/hash.h"
#include "crypto/str_cat.h"

namespace threatmesh {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Free>;

// Writes `text` to a new file `path` with `mode`; fails if it exists.
absl::Status WriteNew(const std::string& path, const std::string& text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return absl::AlreadyExistsError(
        StrCat("cannot create ", path, " (it exists, or the directory is not writable)"));
  }
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  return ok ? absl::OkStatus() : absl::UnavailableError(StrCat("cannot write ", path));
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

absl::Status WriteSelfSignedCertificate(const std::string& cert_path, const std::string& key_path,
                                        std::string_view hosts) {
  Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  Owned<X509> cert(X509_new());
  if (!key || !cert) return absl::InternalError("OpenSSL could not make a key");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("threatmesh node"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  std::string san;
  std::size_t start = 0;
  while (start < hosts.size()) {
    std::size_t comma = hosts.find(',', start);
    if (comma == std::string_view::npos) comma = hosts.size();
    std::string host(hosts.substr(start, comma - start));
    if (!host.empty()) {
      const bool ip = host.find_first_not_of("0123456789.:abcdefABCDEF") == std::string::npos &&
                      (host.find('.') != std::string::npos || host.find(':') != std::string::npos);
      san += StrCat(san.empty() ? "" : ",", ip ? "IP:" : "DNS:", host);
    }
    start = comma + 1;
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (auto [nid, value] :
       {std::pair<int, std::string>{NID_subject_alt_name, san},
        std::pair<int, std::string>{NID_basic_constraints, "critical,CA:TRUE"}}) {
    if (value.empty()) continue;
    Owned<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1) {
      return absl::InvalidArgumentError(StrCat("hosts \"", hosts, "\" are not valid names"));
    }
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) {
    return absl::InternalError("OpenSSL could not sign the certificate");
  }
  Owned<BIO> cert_pem(BIO_new(BIO_s_mem())), key_pem(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(cert_pem.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_pem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    return absl::InternalError("OpenSSL could not write PEM");
  }
  if (absl::Status s = WriteNew(key_path, BioText(key_pem.get()), 0600); !s.ok()) return s;
  return WriteNew(cert_path, BioText(cert_pem.get()), 0644);
}

absl::StatusOr<std::string> CertificateHash(std::string_view pem) {
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Owned<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return absl::InvalidArgumentError("no PEM certificate found");
  unsigned char* der = nullptr;
  int n = i2d_X509(cert.get(), &der);
  if (n <= 0) return absl::InvalidArgumentError("the certificate cannot be encoded");
  std::string hash = crypto::Sha256(std::string_view(reinterpret_cast<char*>(der), n));
  OPENSSL_free(der);
  return hash;
}

absl::Status CheckCertificateAndKey(std::string_view cert_pem, std::string_view key_pem,
                                    const std::string& cert_path, const std::string& key_path) {
  Owned<BIO> cert_bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  Owned<X509> cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    return absl::InvalidArgumentError(StrCat(
        "tls-cert ", cert_path, " holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\")"));
  }
  Owned<BIO> key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  Owned<EVP_PKEY> key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return absl::InvalidArgumentError(
        StrCat("tls-key ", key_path, " holds no unencrypted PEM private key"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(StrCat("tls-key ", key_path,
                                             " is not the key of the certificate in tls-cert ",
                                             cert_path, ": give the pair that belongs together"));
  }
  return absl::OkStatus();
}

}  // namespace threatmesh
