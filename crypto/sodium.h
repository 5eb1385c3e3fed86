// libsodium set-up shared by everything in crypto/.
//
// EnsureSodium() initialises libsodium exactly once per process and is safe to call from any
// thread; every entry point of crypto/ calls it, so callers never need to. SecureWipe() clears
// secret bytes in a way the compiler may not optimise away.
#ifndef THREATMESH_CRYPTO_SODIUM_H_
#define THREATMESH_CRYPTO_SODIUM_H_

#include <cstddef>
#include <string>

namespace threatmesh::crypto {

// Initialises libsodium once. libsodium only fails to initialise when the system has no
// source of randomness; there is no safe way on from there, so this aborts with a message.
void EnsureSodium();

// `n` bytes from the system's cryptographic random source.
std::string RandomBytes(std::size_t n);

// Overwrites `size` bytes at `data` with zeros.
void SecureWipe(void* data, std::size_t size);

// Wipes a string's whole buffer (its capacity, not only its size) and empties it.
void SecureWipe(std::string& s);

// Wipes a string when the scope that holds it ends, however it ends.
class ScopedWipe {
 public:
  explicit ScopedWipe(std::string& s) : s_(s) {}
  ScopedWipe(const ScopedWipe&) = delete;
  ScopedWipe& operator=(const ScopedWipe&) = delete;
  ~ScopedWipe() { SecureWipe(s_); }

 private:
  std::string& s_;
};

}  // namespace threatmesh::crypto

#endif  // THREATMESH_CRYPTO_SODIUM_H_
