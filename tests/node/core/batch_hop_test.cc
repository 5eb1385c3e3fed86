// Custody hops signed per batch (docs/FORMAT.md, "Batch hops"): sound batches of every size,
// each kind of tampering refused and named, chains mixing single and batch hops, the cache of
// checked statements, and the worked test vector of FORMAT.md.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "crypto/str_cat.h"
#include "node/core/custody.h"
#include "testing/test_util.h"

namespace threatmesh {
namespace {

using v1::CustodyChain;
using v1::HopBatch;
using v1::RecordBody;

class BatchHopTest : public ::testing::Test {
 protected:
  std::vector<crypto::KeyPair> nodes_ = [] {
    std::vector<crypto::KeyPair> v;
    for (int i = 0; i < 4; ++i) v.push_back(crypto::KeyPair::Generate());
    return v;
  }();
  std::string Key(int i) { return std::string(nodes_[i].public_key().bytes()); }

  // `n` GREEN records of node 0, relayable, and their ids.
  void MakeRecords(int n) {
    for (int i = 0; i < n; ++i) {
      RecordBody body =
          testing::IndicatorBody(nodes_[0], v1::INDICATOR_TYPE_DOMAIN, StrCat("r", i, ".example"));
      body.mutable_handling()->set_may_relay(true);
      ids_.push_back(crypto::Sha256(body.SerializeAsString()));
      bodies_.push_back(std::move(body));
    }
    chains_.assign(n, CustodyChain());
  }
  // Node `from` sends every record to node `to` in one batch.
  void SendAll(int from, int to, int64_t at) {
    std::vector<BatchHop> hops;
    for (std::size_t i = 0; i < ids_.size(); ++i) hops.push_back({&chains_[i], ids_[i]});
    SignHopBatch(hops, nodes_[from], Key(to), at, "default");
  }
  absl::StatusOr<ChainVerdict> Check(std::size_t i, int self, VerifiedBatches* cache = nullptr,
                                     std::string* kind = nullptr) {
    return CheckChain(ids_[i], bodies_[i], chains_[i], Key(self), nullptr, nullptr, cache, kind);
  }

  // Ways to tamper with hop 0 of chains_[0] (node 0 sent six records to node 1 in one
  // batch), each with the fault's kind and a part of its message.
  struct TamperCase {
    std::string name;
    std::function<void(CustodyChain&)> tamper;
    std::string kind;
    std::string message_part;
  };
  std::vector<TamperCase> TamperCases() {
    return {
        {"a path that proves another leaf",
         [&](CustodyChain& c) { *c.mutable_hops(0)->mutable_batch() = chains_[1].hops(0).batch(); },
         "batch path", "does not lead to the batch's root"},
        {"a changed path hash",
         [](CustodyChain& c) { (*c.mutable_hops(0)->mutable_batch()->mutable_path(0))[3] ^= 1; },
         "batch path", "inclusion path"},
        {"a path one hash short",
         [](CustodyChain& c) { c.mutable_hops(0)->mutable_batch()->mutable_path()->RemoveLast(); },
         "batch path", "inclusion path"},
        {"another index", [](CustodyChain& c) { c.mutable_hops(0)->mutable_batch()->set_index(1); },
         "batch path", "leaf 1"},
        {"a root that does not cover the record",
         [&](CustodyChain& c) {
           HopBatch s;
           ASSERT_TRUE(s.ParseFromString(c.hops(0).batch().statement()));
           s.set_root(crypto::Sha256("another tree"));
           c.mutable_hops(0)->mutable_batch()->set_statement(s.SerializeAsString());
           c.mutable_hops(0)->mutable_batch()->set_signature(
               nodes_[0].Sign(crypto::kHopBatchDomain, s.SerializeAsString()));
         },
         "batch path", "does not lead to the batch's root"},
        {"a batch signed by a key other than the sender's",
         [&](CustodyChain& c) {
           c.mutable_hops(0)->mutable_batch()->set_signature(
               nodes_[3].Sign(crypto::kHopBatchDomain, c.hops(0).batch().statement()));
         },
         "batch signature", "valid signature of its sender"},
        {"a statement naming another receiver",
         [&](CustodyChain& c) {
           HopBatch s;
           ASSERT_TRUE(s.ParseFromString(c.hops(0).batch().statement()));
           s.set_to(Key(2));
           c.mutable_hops(0)->mutable_batch()->set_statement(s.SerializeAsString());
         },
         "batch statement", "differs from its signed batch statement"},
        {"a leaf changed after signing",
         [&](CustodyChain& c) {
           v1::Hop hop;
           ASSERT_TRUE(hop.ParseFromString(c.hops(0).payload()));
           hop.set_policy("other");
           c.mutable_hops(0)->set_payload(hop.SerializeAsString());
         },
         "batch statement", "differs from its signed batch statement"},
        {"a statement that does not parse",
         [](CustodyChain& c) { c.mutable_hops(0)->mutable_batch()->set_statement("\xff\xff"); },
         "batch statement", "does not parse"},
        {"a signature and a batch",
         [&](CustodyChain& c) {
           c.mutable_hops(0)->set_signature(
               nodes_[0].Sign(crypto::kHopDomain, c.hops(0).payload()));
         },
         "hop signature", "both a signature and a batch"},
    };
  }

  std::vector<std::string> ids_;
  std::vector<RecordBody> bodies_;
  std::vector<CustodyChain> chains_;
};

TEST_F(BatchHopTest, BatchesOfEverySizeAreSoundOverTwoHops) {
  for (int n : {1, 2, 3, 5, 8, 13, 64, 100}) {
    ids_.clear();
    bodies_.clear();
    MakeRecords(n);
    SendAll(0, 1, testing::kTestNowMs);
    SendAll(1, 2, testing::kTestNowMs + 1);
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(chains_[i].hops_size(), 2);
      EXPECT_TRUE(chains_[i].hops(1).signature().empty());
      EXPECT_EQ(chains_[i].hops(1).batch().index(), static_cast<uint32_t>(i));
      absl::StatusOr<ChainVerdict> v = Check(i, 2);
      ASSERT_TRUE(v.ok()) << n << " " << i << " " << v.status();
      EXPECT_TRUE(v->accepted);
    }
  }
}

// Only one signature check per batch and hop: the cache holds each statement once checked.
TEST_F(BatchHopTest, EachStatementIsCheckedOnce) {
  MakeRecords(50);
  SendAll(0, 1, testing::kTestNowMs);
  SendAll(1, 2, testing::kTestNowMs + 1);
  VerifiedBatches cache;
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(Check(i, 2, &cache).ok());
  EXPECT_EQ(cache.misses(), 2u);  // the first record: both hops' statements
  EXPECT_EQ(cache.hits(), 98u);   // every other record: both found
}

// A received batch's statements are listed once each (the records share them), never one
// already checked, at most the limit; checked ahead, they leave CheckChain nothing to verify.
// A forged one stays out of the cache, and CheckChain still names its fault.
TEST_F(BatchHopTest, StatementsCheckedAheadAreListedOnceAndForgedOnesStayOut) {
  MakeRecords(20);
  SendAll(0, 1, testing::kTestNowMs);
  SendAll(1, 2, testing::kTestNowMs + 1);
  std::vector<const CustodyChain*> chains;
  for (const CustodyChain& c : chains_) chains.push_back(&c);
  VerifiedBatches cache;
  std::vector<const v1::BatchInclusion*> listed = UncheckedBatchStatements(chains, cache, 100);
  ASSERT_EQ(listed.size(), 2u);  // one per hop: every record came in the same two batches
  EXPECT_EQ(listed[0]->signature(), chains_[0].hops(0).batch().signature());
  EXPECT_EQ(listed[1]->signature(), chains_[0].hops(1).batch().signature());
  EXPECT_EQ(UncheckedBatchStatements(chains, cache, 1).size(), 1u);
  CheckBatchStatement(*listed[0], cache);
  EXPECT_EQ(UncheckedBatchStatements(chains, cache, 100).size(), 1u);  // hop 0's is known
  CheckBatchStatement(*listed[1], cache);
  EXPECT_TRUE(UncheckedBatchStatements(chains, cache, 100).empty());
  const uint64_t misses = cache.misses();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Check(i, 2, &cache).ok());
  EXPECT_EQ(cache.misses(), misses);  // every statement found: no signature checked

  // Hop 1's statement re-signed by a key other than its sender's.
  CustodyChain forged = chains_[0];
  forged.mutable_hops(1)->mutable_batch()->set_signature(
      nodes_[3].Sign(crypto::kHopBatchDomain, forged.hops(1).batch().statement()));
  VerifiedBatches fresh;
  listed = UncheckedBatchStatements({&forged}, fresh, 100);
  ASSERT_EQ(listed.size(), 2u);
  for (const v1::BatchInclusion* s : listed) CheckBatchStatement(*s, fresh);
  EXPECT_EQ(UncheckedBatchStatements({&forged}, fresh, 100).size(), 1u);  // the forged one
  std::string kind;
  absl::StatusOr<ChainVerdict> v =
      CheckChain(ids_[0], bodies_[0], forged, Key(2), nullptr, nullptr, &fresh, &kind);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(kind, "batch signature");
}

// Tampering with the leaf, the path, the index, the root, the statement's fields or its
// signature is refused, named, and counted under its own kind; a batch signed by another key
// than the hop's sender is too. With a cache, a forged proof never reaches it.
TEST_F(BatchHopTest, EveryTamperingIsRefusedAndNamed) {
  MakeRecords(6);
  SendAll(0, 1, testing::kTestNowMs);
  const CustodyChain original = chains_[0];
  for (const TamperCase& tc : TamperCases()) {
    SCOPED_TRACE(tc.name);
    chains_[0] = original;
    ASSERT_NO_FATAL_FAILURE(tc.tamper(chains_[0]));
    VerifiedBatches cache;
    std::string kind;
    int hop = -2;
    absl::StatusOr<ChainVerdict> v =
        CheckChain(ids_[0], bodies_[0], chains_[0], Key(1), nullptr, &hop, &cache, &kind);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(v.status().message().find(tc.message_part), std::string::npos) << v.status();
    EXPECT_EQ(kind, tc.kind);
    EXPECT_EQ(hop, 0);
    const v1::BatchInclusion& proof = chains_[0].hops(0).batch();
    EXPECT_FALSE(cache.Contains(crypto::Sha256(proof.statement() + proof.signature())));
    chains_[0] = original;
    EXPECT_TRUE(Check(0, 1).ok()) << "the untampered chain";
  }
}

// A chain may mix single hops (from an older node, or stored before batches) and batch hops.
TEST_F(BatchHopTest, SingleAndBatchHopsMixInOneChain) {
  MakeRecords(3);
  for (std::size_t i = 0; i < 3; ++i) {
    SignHop(chains_[i], ids_[i], nodes_[0], Key(1), testing::kTestNowMs, "default");
  }
  SendAll(1, 2, testing::kTestNowMs + 1);
  for (std::size_t i = 0; i < 3; ++i) {
    SignHop(chains_[i], ids_[i], nodes_[2], Key(3), testing::kTestNowMs + 2, "default");
    absl::StatusOr<ChainVerdict> v = Check(i, 3);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_TRUE(v->accepted);
  }
}

// The worked example of docs/FORMAT.md ("Batch hops"), made here from fixed keys and compared
// with the page line by line. THREATMESH_UPDATE_DOCS=1 prints the block instead.
TEST(BatchHopVectorTest, TheDocumentedVectorIsWhatTheCodeMakes) {
  std::string seed(32, '\0'), receiver_seed(32, '\0');
  for (int i = 0; i < 32; ++i) {
    seed[i] = static_cast<char>(i);
    receiver_seed[i] = static_cast<char>(0x20 + i);
  }
  const crypto::KeyPair sender = *crypto::KeyPair::FromSeed(seed);
  const crypto::KeyPair receiver = *crypto::KeyPair::FromSeed(receiver_seed);
  std::vector<CustodyChain> chains(3);
  std::vector<std::string> ids = {
      *crypto::HexDecode("fc4800e571f73c2f3b1d9aa8756c1a6b5d2a2caf4272a6613dc243d93072b37e"),
      crypto::Sha256("second record"), crypto::Sha256("third record")};
  std::vector<BatchHop> hops;
  for (int i = 0; i < 3; ++i) hops.push_back({&chains[i], ids[i]});
  SignHopBatch(hops, sender, receiver.public_key().bytes(), 1767225601000, "default");
  // Hex in lines of 64 digits, each line after the first indented by `indent`.
  auto wrap = [](std::string_view bytes, std::string_view indent) {
    const std::string hex = crypto::HexEncode(bytes);
    std::string out;
    for (std::size_t at = 0; at < hex.size(); at += 64) {
      out += StrCat(at == 0 ? "" : "\n", at == 0 ? "" : indent, hex.substr(at, 64));
    }
    return out;
  };
  const std::string pad(13, ' ');
  std::ostringstream block;
  block << "sender       " << crypto::HexEncode(sender.public_key().bytes())
        << "  (the seed above)\nreceiver     " << crypto::HexEncode(receiver.public_key().bytes())
        << "  (seed 202122...3f)\nat           1767225601000, policy \"default\"\n";
  for (int i = 0; i < 3; ++i) {
    const std::string& payload = chains[i].hops(0).payload();
    block << "\nleaf " << i << " (Hop: record " << crypto::HexEncode(ids[i]).substr(0, 8)
          << "..., hop 0)\n"
          << pad << wrap(payload, pad) << "\nleaf hash " << i << "  "
          << crypto::HexEncode(crypto::MerkleLeafHash(payload)) << "\n";
  }
  const v1::BatchInclusion& proof = chains[2].hops(0).batch();
  HopBatch statement;
  ASSERT_TRUE(statement.ParseFromString(proof.statement()));
  const std::string node01 =
      crypto::MerkleNodeHash(crypto::MerkleLeafHash(chains[0].hops(0).payload()),
                             crypto::MerkleLeafHash(chains[1].hops(0).payload()));
  block << "\nnode(0,1)    " << crypto::HexEncode(node01) << "\nroot         "
        << crypto::HexEncode(statement.root()) << "  = node(node(0,1), leaf hash 2)\n"
        << "\nHopBatch     " << wrap(proof.statement(), pad) << "\nsignature    "
        << wrap(proof.signature(), pad) << "\n";
  for (int i : {0, 2}) {
    block << "\npath of leaf " << i;
    for (const std::string& h : chains[i].hops(0).batch().path()) {
      block << "\n" << pad << crypto::HexEncode(h);
    }
  }
  block << "\n";
  const std::string text = block.str();
  if (std::getenv("THREATMESH_UPDATE_DOCS") != nullptr) std::cout << text;
  std::ifstream doc(std::string(THREATMESH_SOURCE_DIR) + "/docs/FORMAT.md");
  std::stringstream page;
  page << doc.rdbuf();
  EXPECT_NE(page.str().find(text), std::string::npos)
      << "docs/FORMAT.md does not hold the batch hop vector the code makes:\n"
      << text;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(CheckChain(
                    ids[i],
                    [&] {
                      RecordBody b;
                      b.set_author(std::string(sender.public_key().bytes()));
                      return b;
                    }(),
                    chains[i], receiver.public_key().bytes())
                    .ok());
  }
}

}  // namespace
}  // namespace threatmesh
