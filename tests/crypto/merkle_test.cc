#include "crypto/merkle.h"

#include <gtest/gtest.h>

#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace threatmesh::crypto {
namespace {

std::string Hex(std::string_view bytes) { return HexEncode(bytes); }
std::string Unhex(std::string_view hex) { return *HexDecode(hex); }

std::vector<std::string_view> Views(const std::vector<std::string>& v) {
  return std::vector<std::string_view>(v.begin(), v.end());
}

// The reference tree of Certificate Transparency's test data (the eight leaves and the roots
// of their first 1..8 leaves that RFC 6962 implementations check against).
const std::vector<std::string>& ReferenceLeaves() {
  static const auto* leaves =
      new std::vector<std::string>{"",
                                   Unhex("00"),
                                   Unhex("10"),
                                   Unhex("2021"),
                                   Unhex("3031"),
                                   Unhex("40414243"),
                                   Unhex("5051525354555657"),
                                   Unhex("606162636465666768696a6b6c6d6e6f")};
  return *leaves;
}

TEST(MerkleTest, RootsAreThoseOfTheReferenceTree) {
  const std::vector<std::string> roots = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
  std::vector<std::string> hashes;
  for (std::size_t n = 1; n <= 8; ++n) {
    hashes.push_back(MerkleLeafHash(ReferenceLeaves()[n - 1]));
    EXPECT_EQ(Hex(BuildMerkleTree(hashes).root), roots[n - 1]) << n << " leaves";
  }
  // The reference inclusion path of leaf 0 in the tree of eight.
  const MerkleTree tree = BuildMerkleTree(hashes);
  EXPECT_EQ(tree.paths[0],
            (std::vector<std::string>{
                Unhex("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                Unhex("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                Unhex("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")}));
}

// Every leaf's path leads to the root in every tree size (every shape of the split), and a
// path read with another index or leaf, a changed hash, or a hash missing or added does not.
TEST(MerkleTest, EveryPathLeadsToTheRootAndNothingElseDoes) {
  for (std::size_t n = 1; n <= 70; ++n) {
    std::vector<std::string> hashes;
    for (std::size_t i = 0; i < n; ++i)
      hashes.push_back(MerkleLeafHash("leaf " + std::to_string(i)));
    const MerkleTree tree = BuildMerkleTree(hashes);
    ASSERT_EQ(tree.paths.size(), n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::vector<std::string_view> path = Views(tree.paths[i]);
      EXPECT_EQ(MerkleRootFromPath(hashes[i], i, n, path), tree.root) << n << " " << i;
      if (n > 1) {
        EXPECT_NE(MerkleRootFromPath(hashes[i], (i + 1) % n, n, path), tree.root) << n << " " << i;
        EXPECT_NE(MerkleRootFromPath(hashes[(i + 1) % n], i, n, path), tree.root);
        std::vector<std::string> changed = tree.paths[i];
        changed[0][0] ^= 1;
        EXPECT_NE(MerkleRootFromPath(hashes[i], i, n, Views(changed)), tree.root);
        std::vector<std::string_view> shorter = path;
        shorter.pop_back();
        EXPECT_NE(MerkleRootFromPath(hashes[i], i, n, shorter), tree.root);
      }
      std::vector<std::string_view> longer = path;
      longer.push_back(hashes[0]);
      EXPECT_EQ(MerkleRootFromPath(hashes[i], i, n, longer), std::nullopt);
      // (A path may also fit a tree of another size with the same root; the signed batch
      // statement binds the size with the root.)
    }
    EXPECT_EQ(MerkleRootFromPath(hashes[0], n, n, Views(tree.paths[0])), std::nullopt);
  }
}

// A leaf's hash and an inner node's are made with different prefixes: the 64 bytes of two
// child hashes, offered as a leaf, do not hash to their parent.
TEST(MerkleTest, ALeafCannotPassForAnInnerNode) {
  const std::string a = MerkleLeafHash("a"), b = MerkleLeafHash("b");
  EXPECT_NE(MerkleLeafHash(a + b), MerkleNodeHash(a, b));
  EXPECT_EQ(MerkleNodeHash(a, b), Sha256(std::string(1, '\x01') + a + b));
  EXPECT_EQ(MerkleLeafHash("a"), Sha256(std::string(1, '\x00') + "a"));
}

}  // namespace
}  // namespace threatmesh::crypto
