// Keyed pseudonyms for names in log excerpts (internal host and domain names, user names):
// HMAC-SHA256 under a secret key, so that the same name gives the same pseudonym for as long
// as the key is kept, and nobody without the key can test a guess. Thread-safe; the key is
// wiped when the object goes.
#ifndef THREATMESH_CRYPTO_PSEUDONYM_H_
#define THREATMESH_CRYPTO_PSEUDONYM_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace threatmesh::crypto {

class Pseudonyms {
 public:
  inline static constexpr std::size_t kKeySize = 32;

  // InvalidArgument unless `key` is 32 bytes.
  [[nodiscard]] static absl::StatusOr<Pseudonyms> Create(std::string_view key);
  Pseudonyms(Pseudonyms&& other) noexcept;
  Pseudonyms& operator=(Pseudonyms&&) = delete;
  ~Pseudonyms();

  // "<kind>-" and 16 base32 characters (80 bits) of HMAC-SHA256(key, kind || 0x00 ||
  // value), e.g. Of("user", "alice") = "user-3kq...". `kind` separates the name spaces, so a
  // host and a user of the same name get different pseudonyms. Names are case-folded
  // (ASCII) first, as DNS names and most user names compare without case.
  std::string Of(std::string_view kind, std::string_view value) const;

  // Names the key without revealing it (16 hex digits), for an excerpt's manifest.
  const std::string& key_id() const { return key_id_; }

 private:
  Pseudonyms(std::string key, std::string key_id)
      : key_(std::move(key)), key_id_(std::move(key_id)) {}
  std::string key_;
  std::string key_id_;
};

}  // namespace threatmesh::crypto

#endif  // THREATMESH_CRYPTO_PSEUDONYM_H_
