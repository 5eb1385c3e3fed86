// Merkle trees over byte strings, as Certificate Transparency defines them (RFC 6962 section
// 2.1, restated in RFC 9162 section 2.1): a leaf's hash is SHA-256(0x00 || leaf), an inner
// node's SHA-256(0x01 || left || right), so that a leaf can never pass for an inner node; a
// tree of n > 1 leaves is the node over the tree of its first k leaves and the tree of the
// rest, k the largest power of two smaller than n (an odd last node is carried up, never
// doubled). threatmesh signs one tree head for a batch of custody hops (docs/FORMAT.md,
// "Batch hops"). Pure functions; thread-safe.
#ifndef THREATMESH_CRYPTO_MERKLE_H_
#define THREATMESH_CRYPTO_MERKLE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace threatmesh::crypto {

// SHA-256(0x00 || leaf), 32 bytes.
std::string MerkleLeafHash(std::string_view leaf);
// SHA-256(0x01 || left || right), 32 bytes.
std::string MerkleNodeHash(std::string_view left, std::string_view right);

// A tree over leaf hashes (at least one): its root, and each leaf's inclusion path (the
// sibling hashes from the leaf up to the root, RFC 6962's PATH).
struct MerkleTree {
  std::string root;
  std::vector<std::vector<std::string>> paths;
};
MerkleTree BuildMerkleTree(const std::vector<std::string>& leaf_hashes);

// The root that the leaf with hash `leaf_hash`, at `index` of a tree of `size` leaves,
// reaches by `path` (RFC 9162 section 2.1.3.2); nullopt when the path cannot belong to such a
// tree (index past the size, a path too short or too long).
std::optional<std::string> MerkleRootFromPath(std::string_view leaf_hash, uint64_t index,
                                              uint64_t size,
                                              const std::vector<std::string_view>& path);

}  // namespace threatmesh::crypto

#endif  // THREATMESH_CRYPTO_MERKLE_H_
