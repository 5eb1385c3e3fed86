#include "crypto/uuid.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <cstdlib>

#include "crypto/log.h"
#include "crypto/sodium.h"

namespace threatmesh::crypto {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// 16 bytes as 8-4-4-4-12 lower-case hex.
std::string Format(const unsigned char* b) {
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xf]);
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> ParseUuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int hi = HexDigit(text[i]), lo = HexDigit(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
    i += 2;
  }
  return out;
}

std::string Uuid5Bytes(std::string_view namespace_bytes, std::string_view name) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, namespace_bytes.data(), namespace_bytes.size()) != 1 ||
      EVP_DigestUpdate(ctx, name.data(), name.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, digest, &size) != 1 || size < 16) {
    // Only an allocation failure gets here; an id must never be made up.
    LogError("fatal: SHA-1 failed for a UUID");
    std::abort();
  }
  EVP_MD_CTX_free(ctx);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x50);  // version 5
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return std::string(reinterpret_cast<const char*>(digest), 16);
}

std::string Uuid5(std::string_view namespace_bytes, std::string_view name) {
  return Format(reinterpret_cast<const unsigned char*>(Uuid5Bytes(namespace_bytes, name).data()));
}

std::string FormatUuid(std::string_view bytes) {
  if (bytes.size() != 16) return "";
  return Format(reinterpret_cast<const unsigned char*>(bytes.data()));
}

std::string RandomUuid4() {
  EnsureSodium();
  unsigned char b[16];
  randombytes_buf(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  return Format(b);
}

}  // namespace threatmesh::crypto
