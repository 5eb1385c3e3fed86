#include "crypto/hash.h"

#include <sodium.h>

#include "crypto/sodium.h"

namespace threatmesh::crypto {

std::string Sha256(std::string_view data) {
  EnsureSodium();
  std::string out(kDigestSize, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()),
                     reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return out;
}

}  // namespace threatmesh::crypto
