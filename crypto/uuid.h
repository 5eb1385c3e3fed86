// UUIDs in their text form (RFC 4122): name-based version 5 (SHA-1), for identifiers that every
// node derives alike from the same name (STIX ids, docs/STIX.md), and random version 4.
#ifndef THREATMESH_CRYPTO_UUID_H_
#define THREATMESH_CRYPTO_UUID_H_

#include <optional>
#include <string>
#include <string_view>

namespace threatmesh::crypto {

// threatmesh's own UUID namespace: every node derives the same version 5 UUIDs in it (the
// STIX ids of records, docs/STIX.md; the store's UUID index, storage/index_keys.h).
inline constexpr std::string_view kThreatmeshUuidNamespace = "9508b2d5-64f7-46c9-b1fe-6dfc5b2e389c";

// The 16 bytes of a UUID in text form ("9508b2d5-64f7-46c9-b1fe-6dfc5b2e389c", any case);
// nullopt when `text` is not one.
std::optional<std::string> ParseUuid(std::string_view text);

// The version 5 UUID of `name` in the namespace `namespace_bytes` (16 bytes), in lower-case
// text form: SHA-1 of the namespace then the name, its first 16 bytes with the version and
// variant bits set (RFC 4122 section 4.3).
std::string Uuid5(std::string_view namespace_bytes, std::string_view name);
// The same UUID as its 16 bytes.
std::string Uuid5Bytes(std::string_view namespace_bytes, std::string_view name);
// The 16 bytes of a UUID in text form.
std::string FormatUuid(std::string_view bytes);

// A random version 4 UUID, in lower-case text form.
std::string RandomUuid4();

}  // namespace threatmesh::crypto

#endif  // THREATMESH_CRYPTO_UUID_H_
