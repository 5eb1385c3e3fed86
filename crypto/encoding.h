// Text encodings of binary values: hex (ids, signatures, test vectors), lower-case base32
// (the printable public key) and base64 (signed bytes inside JSON, as STIX carries them).
// Thread-safe, no state.
#ifndef THREATMESH_CRYPTO_ENCODING_H_
#define THREATMESH_CRYPTO_ENCODING_H_

#include <optional>
#include <string>
#include <string_view>

namespace threatmesh::crypto {

// Lower-case hex of `bytes`.
std::string HexEncode(std::string_view bytes);

// Decodes hex (either case). Returns nullopt on an odd length or a non-hex character.
std::optional<std::string> HexDecode(std::string_view hex);

// RFC 4648 base32 with the lower-case alphabet and no padding.
std::string Base32Encode(std::string_view bytes);

// Decodes Base32Encode's output; upper case is accepted. Returns nullopt on a character
// outside the alphabet or leftover bits that are not zero.
std::optional<std::string> Base32Decode(std::string_view text);

// RFC 4648 base64 with the standard alphabet and padding.
std::string Base64Encode(std::string_view bytes);

// Decodes Base64Encode's output. Returns nullopt on a character outside the alphabet, wrong
// padding, or leftover bits that are not zero.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace threatmesh::crypto

#endif  // THREATMESH_CRYPTO_ENCODING_H_
