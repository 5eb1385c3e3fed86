#include "crypto/cryptopan.h"

#include <arpa/inet.h>
#include <openssl/evp.h>

#include <array>
#include <cstring>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/ip_address.h"
#include "crypto/log.h"
#include "crypto/sodium.h"
#include "crypto/str_cat.h"

namespace threatmesh::crypto {

using Block = std::array<unsigned char, 16>;

// AES-128 on single blocks. An EVP context is not safe to share between threads, so each
// call takes its own copy of the keyed template.
struct CryptoPan::Cipher {
  EVP_CIPHER_CTX* keyed = nullptr;
  Block pad{};  // AES_K(second half of the key)

  ~Cipher() { EVP_CIPHER_CTX_free(keyed); }

  // AES-128 (ECB: each block on its own) of `blocks` blocks of `in` into `out`. A copy of the
  // keyed context per call keeps one CryptoPan usable from several threads.
  void Encrypt(const unsigned char* in, unsigned char* out, std::size_t blocks) const {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    const int bytes = static_cast<int>(blocks * 16);
    if (ctx == nullptr || EVP_CIPHER_CTX_copy(ctx, keyed) != 1 ||
        EVP_EncryptUpdate(ctx, out, &n, in, bytes) != 1 || n != bytes) {
      // Only an allocation failure gets here; an address must never pass through unchanged.
      LogError("fatal: AES failed in Crypto-PAn");
      std::abort();
    }
    EVP_CIPHER_CTX_free(ctx);
  }
  Block Encrypt(const Block& in) const {
    Block out{};
    Encrypt(in.data(), out.data(), 1);
    return out;
  }
};

CryptoPan::CryptoPan(std::unique_ptr<Cipher> cipher, std::string key_id)
    : cipher_(std::move(cipher)), key_id_(std::move(key_id)) {}
CryptoPan::CryptoPan(CryptoPan&&) noexcept = default;
CryptoPan& CryptoPan::operator=(CryptoPan&&) noexcept = default;
CryptoPan::~CryptoPan() = default;

absl::StatusOr<CryptoPan> CryptoPan::Create(std::string_view key) {
  if (key.size() != kKeySize) {
    return absl::InvalidArgumentError(
        StrCat("a Crypto-PAn key is ", kKeySize, " bytes, not ", key.size()));
  }
  auto cipher = std::make_unique<Cipher>();
  cipher->keyed = EVP_CIPHER_CTX_new();
  const auto* aes_key = reinterpret_cast<const unsigned char*>(key.data());
  if (cipher->keyed == nullptr ||
      EVP_EncryptInit_ex(cipher->keyed, EVP_aes_128_ecb(), nullptr, aes_key, nullptr) != 1) {
    return absl::InternalError("OpenSSL could not set up AES-128");
  }
  EVP_CIPHER_CTX_set_padding(cipher->keyed, 0);
  Block second_half{};
  std::memcpy(second_half.data(), key.data() + 16, 16);
  cipher->pad = cipher->Encrypt(second_half);
  SecureWipe(second_half.data(), second_half.size());
  std::string id = Sha256(StrCat(std::string_view("threatmesh/cryptopan-key/v1\0", 28), key));
  return CryptoPan(std::move(cipher), HexEncode(id).substr(0, 16));
}

std::string CryptoPan::Anonymize(std::string_view address) const {
  const std::size_t bits = address.size() * 8;
  if (bits != 32 && bits != 128) return std::string(address);
  const auto bit = [](const unsigned char* bytes, std::size_t i) {
    return (bytes[i / 8] >> (7 - i % 8)) & 1;
  };
  const auto* in = reinterpret_cast<const unsigned char*>(address.data());
  std::string out(address);
  // Bit i of the pseudonym is bit i of the address flipped by the first bit of
  // AES_K(the address's first i bits, then the pad's bits from i on). The inputs depend on
  // the address only, so all of them are encrypted in one call.
  std::array<Block, 128> inputs;
  std::array<Block, 128> outputs;
  Block input = cipher_->pad;
  for (std::size_t i = 0; i < bits; ++i) {
    inputs[i] = input;
    // The next input takes one more bit of the address in place of the pad's.
    const unsigned char mask = static_cast<unsigned char>(0x80 >> (i % 8));
    input[i / 8] =
        static_cast<unsigned char>(bit(in, i) ? (input[i / 8] | mask) : (input[i / 8] & ~mask));
  }
  cipher_->Encrypt(inputs[0].data(), outputs[0].data(), bits);
  for (std::size_t i = 0; i < bits; ++i) {
    if (outputs[i][0] & 0x80) out[i / 8] = static_cast<char>(out[i / 8] ^ (0x80 >> (i % 8)));
  }
  return out;
}

absl::StatusOr<std::string> CryptoPan::AnonymizeText(std::string_view address) const {
  if (std::optional<IpAddress> ip = ParseIp(address)) {
    IpAddress pseudonym{ip->family, Anonymize(ip->bytes)};
    return FormatIp(pseudonym);
  }
  return absl::InvalidArgumentError(StrCat("\"", address, "\" is not an IPv4 or IPv6 address"));
}

}  // namespace threatmesh::crypto
