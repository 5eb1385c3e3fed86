#include "crypto/pseudonym.h"

#include <sodium.h>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/sodium.h"
#include "crypto/str_cat.h"

namespace threatmesh::crypto {

absl::StatusOr<Pseudonyms> Pseudonyms::Create(std::string_view key) {
  if (key.size() != kKeySize) {
    return absl::InvalidArgumentError(
        StrCat("a pseudonym key is ", kKeySize, " bytes, not ", key.size()));
  }
  EnsureSodium();
  std::string id = Sha256(StrCat(std::string_view("threatmesh/pseudonym-key/v1\0", 28), key));
  return Pseudonyms(std::string(key), HexEncode(id).substr(0, 16));
}

Pseudonyms::Pseudonyms(Pseudonyms&& other) noexcept
    : key_(std::move(other.key_)), key_id_(std::move(other.key_id_)) {}

Pseudonyms::~Pseudonyms() { SecureWipe(key_); }

std::string Pseudonyms::Of(std::string_view kind, std::string_view value) const {
  std::string message = StrCat(kind, std::string_view("\0", 1), value);
  for (std::size_t i = kind.size() + 1; i < message.size(); ++i) {
    if (message[i] >= 'A' && message[i] <= 'Z') message[i] = static_cast<char>(message[i] + 32);
  }
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key_.data()),
                              key_.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                                message.size());
  crypto_auth_hmacsha256_final(&state, mac);
  sodium_memzero(&state, sizeof(state));
  return StrCat(kind, "-", Base32Encode(std::string_view(reinterpret_cast<const char*>(mac), 10)));
}

}  // namespace threatmesh::crypto
