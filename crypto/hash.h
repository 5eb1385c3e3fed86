// SHA-256, the hash behind record ids, hop links and fingerprints. Thread-safe.
#ifndef THREATMESH_CRYPTO_HASH_H_
#define THREATMESH_CRYPTO_HASH_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace threatmesh::crypto {

inline constexpr std::size_t kDigestSize = 32;
// A record id is the SHA-256 of its signed payload (RecordId below).
inline constexpr std::size_t kRecordIdSize = kDigestSize;

// The 32 raw bytes of SHA-256(data).
std::string Sha256(std::string_view data);

// The 16 raw bytes of MD5(data), through OpenSSL: only where a format asks for it (MISP feeds
// list their attribute values by MD5); never for anything that must resist collisions.
std::string Md5(std::string_view data);

// The id of a record: SHA-256 of its payload bytes exactly as signed (docs/FORMAT.md).
inline std::string RecordId(std::string_view payload) { return Sha256(payload); }

}  // namespace threatmesh::crypto

#endif  // THREATMESH_CRYPTO_HASH_H_
