#include "testing/test_util.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "node/record_builder.h"

namespace threatmesh::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/threatmesh-test.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::cerr << "mkdtemp failed for " << tmpl << "\n";
    std::abort();
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

threatmesh::v1::RecordBody IndicatorBody(const crypto::KeyPair& key,
                                         threatmesh::v1::IndicatorType type,
                                         const std::string& value, int64_t created_at) {
  threatmesh::v1::RecordBody body;
  body.set_author(std::string(key.public_key().bytes()));
  body.set_created_at(created_at != 0 ? created_at : kTestNowMs - 1000);
  body.set_tlp(threatmesh::v1::TLP_GREEN);
  body.mutable_indicator()->set_type(type);
  body.mutable_indicator()->set_value(value);
  return body;
}

std::string Seal(const threatmesh::v1::RecordBody& body, const crypto::KeyPair& key) {
  return SealRecord(body, key);
}

storage::RecordToStore ToStore(const threatmesh::v1::RecordBody& body, const crypto::KeyPair& key) {
  absl::StatusOr<VerifiedRecord> r = ValidateRecord(Seal(body, key), {}, kTestNowMs);
  if (!r.ok()) {
    std::cerr << "test record does not validate: " << r.status() << "\n";
    std::abort();
  }
  return storage::RecordToStore{r->id, r->signed_bytes, r->body, {}};
}

std::string ThreatmeshBinary() { return THREATMESH_BINARY; }

}  // namespace threatmesh::testing

namespace threatmesh::testing {

bool WriteSelfSignedCertificate(const std::string& dir) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  bool ok = key != nullptr && cert != nullptr;
  if (ok) {
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 7 * 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                              std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      ok = ok && ext != nullptr && X509_add_ext(cert, ext, -1) == 1;
      X509_EXTENSION_free(ext);
    }
    ok = ok && X509_sign(cert, key, EVP_sha256()) > 0;
  }
  if (ok) {
    FILE* c = std::fopen((dir + "/cert.pem").c_str(), "w");
    FILE* k = std::fopen((dir + "/key.pem").c_str(), "w");
    ok = c && k && PEM_write_X509(c, cert) == 1 &&
         PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    if (c) std::fclose(c);
    if (k) std::fclose(k);
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  return ok;
}

}  // namespace threatmesh::testing
