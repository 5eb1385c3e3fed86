#include "crypto/sodium.h"

#include <sodium.h>

#include <cstdlib>
#include <mutex>

#include "crypto/log.h"

namespace threatmesh::crypto {

void EnsureSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) {
      LogError("libsodium could not initialise (no system randomness?)");
      std::abort();
    }
  });
}

std::string RandomBytes(std::size_t n) {
  EnsureSodium();
  std::string out(n, '\0');
  randombytes_buf(out.data(), n);
  return out;
}

void SecureWipe(void* data, std::size_t size) { sodium_memzero(data, size); }

void SecureWipe(std::string& s) {
  s.resize(s.capacity());
  sodium_memzero(s.data(), s.size());
  s.clear();
}

}  // namespace threatmesh::crypto
