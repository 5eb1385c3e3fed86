// Prefix-preserving address pseudonyms: Crypto-PAn (J. Xu, J. Fan, M. Ammar, S. Moon,
// "Prefix-Preserving IP Address Anonymization", ICNP 2002), with the key layout of the
// authors' reference distribution: 32 bytes, the first 16 an AES-128 key, the last 16 a
// secret pad that is itself encrypted under that key before use. Two addresses that share
// their first n bits map to two that share exactly their first n bits; the same key gives the
// same output as other implementations of that construction. IPv6 applies the same rule to
// all 128 bits. Used to sanitize internal addresses in log excerpts.
//
// Thread-safe: Anonymize may be called from many threads.
#ifndef THREATMESH_CRYPTO_CRYPTOPAN_H_
#define THREATMESH_CRYPTO_CRYPTOPAN_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace threatmesh::crypto {

class CryptoPan {
 public:
  inline static constexpr std::size_t kKeySize = 32;

  // InvalidArgument unless `key` is 32 bytes.
  [[nodiscard]] static absl::StatusOr<CryptoPan> Create(std::string_view key);
  CryptoPan(CryptoPan&&) noexcept;
  CryptoPan& operator=(CryptoPan&&) noexcept;
  ~CryptoPan();

  // The pseudonym of an address in network byte order: 4 bytes (IPv4) or 16 (IPv6); the
  // result has the same length. Any other length is returned unchanged.
  std::string Anonymize(std::string_view address) const;

  // The same on text ("10.1.2.3", "fd00::1"); InvalidArgument when it is not an address.
  [[nodiscard]] absl::StatusOr<std::string> AnonymizeText(std::string_view address) const;

  // Names the key without revealing it: the first 16 hex digits of SHA-256 of the domain
  // "threatmesh/cryptopan-key/v1" and the key. Goes in an excerpt's manifest.
  const std::string& key_id() const { return key_id_; }

 private:
  struct Cipher;
  CryptoPan(std::unique_ptr<Cipher> cipher, std::string key_id);

  std::unique_ptr<Cipher> cipher_;
  std::string key_id_;
};

}  // namespace threatmesh::crypto

#endif  // THREATMESH_CRYPTO_CRYPTOPAN_H_
