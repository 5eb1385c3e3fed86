#include "crypto/keys.h"

#include <sodium.h>

#include <cctype>
#include <cstring>
#include <optional>

#include "absl/status/status.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/sodium.h"
#include "crypto/str_cat.h"

namespace threatmesh::crypto {
namespace {

constexpr std::string_view kPublicKeyChecksumDomain = "threatmesh/pubkey/v1";
constexpr std::size_t kChecksumSize = 4;

// domain || 0x00 || message, the bytes every signature covers.
std::string SignedMessage(std::string_view domain, std::string_view message) {
  std::string out;
  out.reserve(domain.size() + 1 + message.size());
  out.append(domain);
  out.push_back('\0');
  out.append(message);
  return out;
}

std::string Checksum(std::string_view key) {
  return Sha256(SignedMessage(kPublicKeyChecksumDomain, key)).substr(0, kChecksumSize);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

absl::StatusOr<PublicKey> PublicKey::FromBytes(std::string_view raw) {
  if (raw.size() != kPublicKeySize) {
    return absl::InvalidArgumentError(
        StrCat("public key is ", raw.size(), " bytes, expected ", kPublicKeySize));
  }
  PublicKey key;
  std::memcpy(key.raw_.data(), raw.data(), raw.size());
  return key;
}

absl::StatusOr<PublicKey> PublicKey::FromText(std::string_view text) {
  text = Trim(text);
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::size_t expected_size =
      kPublicKeyTextPrefix.size() + ((kPublicKeySize + kChecksumSize) * 8 + 4) / 5;
  if (lower.rfind(kPublicKeyTextPrefix, 0) != 0) {
    return absl::InvalidArgumentError(
        StrCat("public key \"", text, "\" does not start with \"", kPublicKeyTextPrefix,
               "\"; copy the whole key printed by 'threatmesh init' or 'threatmesh status'"));
  }
  if (lower.size() != expected_size) {
    return absl::InvalidArgumentError(StrCat("public key \"", text, "\" is ", lower.size(),
                                             " characters, expected ", expected_size,
                                             "; part of it was lost in copying, copy it again"));
  }
  std::optional<std::string> raw =
      Base32Decode(std::string_view(lower).substr(kPublicKeyTextPrefix.size()));
  if (!raw || raw->size() != kPublicKeySize + kChecksumSize ||
      Checksum(std::string_view(*raw).substr(0, kPublicKeySize)) !=
          std::string_view(*raw).substr(kPublicKeySize)) {
    return absl::InvalidArgumentError(
        StrCat("public key \"", text,
               "\" fails its checksum: a character was mistyped or changed; copy it again"));
  }
  return FromBytes(std::string_view(*raw).substr(0, kPublicKeySize));
}

std::string PublicKey::ToText() const {
  std::string payload(bytes());
  payload += Checksum(bytes());
  return StrCat(kPublicKeyTextPrefix, Base32Encode(payload));
}

std::string PublicKey::Fingerprint() const {
  std::string hex = HexEncode(Sha256(bytes()).substr(0, 8));
  return StrCat(hex.substr(0, 4), ":", hex.substr(4, 4), ":", hex.substr(8, 4), ":",
                hex.substr(12, 4));
}

std::string FingerprintOf(std::string_view bytes) {
  absl::StatusOr<PublicKey> key = PublicKey::FromBytes(bytes);
  if (key.ok()) return key->Fingerprint();
  return StrCat("(not a key: ", HexEncode(bytes.substr(0, 32)), bytes.size() > 32 ? "..." : "",
                ")");
}

KeyPair KeyPair::Generate() {
  EnsureSodium();
  KeyPair pair;
  unsigned char pk[kPublicKeySize];
  crypto_sign_ed25519_keypair(pk, pair.secret_.data());
  std::memcpy(pair.public_.raw_.data(), pk, sizeof pk);
  return pair;
}

absl::StatusOr<KeyPair> KeyPair::FromSeed(std::string_view seed) {
  if (seed.size() != kSeedSize) {
    return absl::InvalidArgumentError(
        StrCat("key seed is ", seed.size(), " bytes, expected ", kSeedSize));
  }
  EnsureSodium();
  KeyPair pair;
  unsigned char pk[kPublicKeySize];
  crypto_sign_ed25519_seed_keypair(pk, pair.secret_.data(),
                                   reinterpret_cast<const unsigned char*>(seed.data()));
  std::memcpy(pair.public_.raw_.data(), pk, sizeof pk);
  return pair;
}

KeyPair::KeyPair(KeyPair&& other) noexcept : public_(other.public_), secret_(other.secret_) {
  SecureWipe(other.secret_.data(), other.secret_.size());
}

KeyPair& KeyPair::operator=(KeyPair&& other) noexcept {
  if (this != &other) {
    public_ = other.public_;
    secret_ = other.secret_;
    SecureWipe(other.secret_.data(), other.secret_.size());
  }
  return *this;
}

KeyPair::~KeyPair() { SecureWipe(secret_.data(), secret_.size()); }

std::string KeyPair::Seed() const {
  return std::string(reinterpret_cast<const char*>(secret_.data()), kSeedSize);
}

std::string KeyPair::Sign(std::string_view domain, std::string_view message) const {
  EnsureSodium();
  std::string signed_message = SignedMessage(domain, message);
  std::string sig(kSignatureSize, '\0');
  crypto_sign_ed25519_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                               reinterpret_cast<const unsigned char*>(signed_message.data()),
                               signed_message.size(), secret_.data());
  return sig;
}

bool Verify(const PublicKey& key, std::string_view domain, std::string_view message,
            std::string_view signature) {
  if (signature.size() != kSignatureSize) return false;
  EnsureSodium();
  std::string signed_message = SignedMessage(domain, message);
  return crypto_sign_ed25519_verify_detached(
             reinterpret_cast<const unsigned char*>(signature.data()),
             reinterpret_cast<const unsigned char*>(signed_message.data()), signed_message.size(),
             reinterpret_cast<const unsigned char*>(key.bytes().data())) == 0;
}

}  // namespace threatmesh::crypto
