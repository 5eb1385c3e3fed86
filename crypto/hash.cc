#include "crypto/hash.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <cstdlib>

#include "crypto/log.h"
#include "crypto/sodium.h"

namespace threatmesh::crypto {

std::string Sha256(std::string_view data) {
  EnsureSodium();
  std::string out(kDigestSize, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()),
                     reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return out;
}

std::string Md5(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_md5(), nullptr) != 1 || size != 16) {
    LogError("fatal: MD5 failed");
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(digest), size);
}

}  // namespace threatmesh::crypto
