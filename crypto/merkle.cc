#include "crypto/merkle.h"

#include <sodium.h>

#include "crypto/hash.h"
#include "crypto/sodium.h"

namespace threatmesh::crypto {
namespace {

// SHA-256(prefix || a || b).
std::string PrefixedHash(unsigned char prefix, std::string_view a, std::string_view b) {
  EnsureSodium();
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, &prefix, 1);
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(a.data()), a.size());
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(b.data()), b.size());
  std::string out(kDigestSize, '\0');
  crypto_hash_sha256_final(&state, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

// The largest power of two smaller than n (n > 1).
std::size_t SplitPoint(std::size_t n) {
  std::size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// The root of leaves [lo, hi); appends to each of their paths the sibling of every subtree
// they are in, from the bottom up (the deeper subtrees finish first).
std::string Build(const std::vector<std::string>& leaves, std::size_t lo, std::size_t hi,
                  std::vector<std::vector<std::string>>& paths) {
  if (hi - lo == 1) return leaves[lo];
  const std::size_t mid = lo + SplitPoint(hi - lo);
  const std::string left = Build(leaves, lo, mid, paths);
  const std::string right = Build(leaves, mid, hi, paths);
  for (std::size_t i = lo; i < mid; ++i) paths[i].push_back(right);
  for (std::size_t i = mid; i < hi; ++i) paths[i].push_back(left);
  return MerkleNodeHash(left, right);
}

}  // namespace

std::string MerkleLeafHash(std::string_view leaf) { return PrefixedHash(0x00, leaf, {}); }

std::string MerkleNodeHash(std::string_view left, std::string_view right) {
  return PrefixedHash(0x01, left, right);
}

MerkleTree BuildMerkleTree(const std::vector<std::string>& leaf_hashes) {
  MerkleTree tree;
  if (leaf_hashes.empty()) return tree;
  tree.paths.resize(leaf_hashes.size());
  tree.root = Build(leaf_hashes, 0, leaf_hashes.size(), tree.paths);
  return tree;
}

std::optional<std::string> MerkleRootFromPath(std::string_view leaf_hash, uint64_t index,
                                              uint64_t size,
                                              const std::vector<std::string_view>& path) {
  if (index >= size) return std::nullopt;
  uint64_t fn = index, sn = size - 1;
  std::string r(leaf_hash);
  for (std::string_view p : path) {
    if (sn == 0) return std::nullopt;  // a path longer than the tree is deep
    if ((fn & 1) != 0 || fn == sn) {
      r = MerkleNodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {  // a right-most node carried up: skip its levels
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = MerkleNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return std::nullopt;  // a path shorter than the tree is deep
  return r;
}

}  // namespace threatmesh::crypto
