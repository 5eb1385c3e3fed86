// Ed25519 keys and domain-separated signatures.
//
// Every signature threatmesh makes covers `domain || 0x00 || message`, where the domain is
// one of the strings below, so a signature made for one purpose never verifies for another
// (docs/FORMAT.md). PublicKey is a plain value. KeyPair owns a secret key, is move-only and
// wipes the secret when destroyed. Both are safe to use from several threads at once as long
// as none of them is being modified.
#ifndef THREATMESH_CRYPTO_KEYS_H_
#define THREATMESH_CRYPTO_KEYS_H_

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace threatmesh::crypto {

inline constexpr std::size_t kPublicKeySize = 32;
inline constexpr std::size_t kSeedSize = 32;
inline constexpr std::size_t kSignatureSize = 64;

// Domain strings, one per kind of signed object. Append-only: never change one.
inline constexpr std::string_view kRecordDomain = "threatmesh/record/v1";
inline constexpr std::string_view kHopDomain = "threatmesh/hop/v1";
inline constexpr std::string_view kHopBatchDomain = "threatmesh/hop-batch/v1";
inline constexpr std::string_view kAuditDomain = "threatmesh/audit/v1";
inline constexpr std::string_view kKeyRotationDomain = "threatmesh/key-rotation/v1";
inline constexpr std::string_view kPeerAuthDomain = "threatmesh/peer-auth/v1";

// The printable public key starts with this; see PublicKey::ToText.
inline constexpr std::string_view kPublicKeyTextPrefix = "tmpk";

class PublicKey {
 public:
  // Exactly 32 raw bytes; otherwise InvalidArgument naming the length.
  [[nodiscard]] static absl::StatusOr<PublicKey> FromBytes(std::string_view raw);
  // Parses ToText()'s form. Surrounding white space and upper case are accepted; a wrong
  // prefix, a wrong length or any mistyped character is InvalidArgument.
  [[nodiscard]] static absl::StatusOr<PublicKey> FromText(std::string_view text);

  // The 32 raw bytes.
  std::string_view bytes() const {
    return std::string_view(reinterpret_cast<const char*>(raw_.data()), raw_.size());
  }
  // "tmpk" + base32(key || first 4 bytes of SHA-256("threatmesh/pubkey/v1" 0x00 key)):
  // 62 characters of [a-z2-7] that survive copy-paste, with a checksum that catches typos.
  std::string ToText() const;
  // Short form for display: the first 8 bytes of SHA-256(key) as "3fa2:9c81:0b7d:44e2".
  std::string Fingerprint() const;

  friend bool operator==(const PublicKey& a, const PublicKey& b) { return a.raw_ == b.raw_; }

 private:
  friend class KeyPair;

  std::array<unsigned char, kPublicKeySize> raw_{};
};

// The fingerprint of the public key held in `bytes`; for bytes that are not one (in a
// malformed record or file), "(not a key: HEX)" showing up to its first 32 bytes.
std::string FingerprintOf(std::string_view bytes);

class KeyPair {
 public:
  // A new random key pair.
  static KeyPair Generate();
  // The key pair for a 32-byte seed (RFC 8032 private key); InvalidArgument otherwise.
  [[nodiscard]] static absl::StatusOr<KeyPair> FromSeed(std::string_view seed);

  KeyPair(KeyPair&& other) noexcept;
  KeyPair& operator=(KeyPair&& other) noexcept;
  KeyPair(const KeyPair&) = delete;
  KeyPair& operator=(const KeyPair&) = delete;
  ~KeyPair();

  const PublicKey& public_key() const { return public_; }
  // The 32-byte seed. The caller must SecureWipe() what it copies out.
  std::string Seed() const;

  // 64-byte Ed25519 signature over domain || 0x00 || message.
  std::string Sign(std::string_view domain, std::string_view message) const;

 private:
  KeyPair() = default;

  PublicKey public_;
  // libsodium's secret key: seed followed by the public key.
  std::array<unsigned char, 64> secret_{};
};

// True when `signature` is `key`'s Ed25519 signature over domain || 0x00 || message.
[[nodiscard]] bool Verify(const PublicKey& key, std::string_view domain, std::string_view message,
                          std::string_view signature);

}  // namespace threatmesh::crypto

#endif  // THREATMESH_CRYPTO_KEYS_H_
