#include "node/proof/proof.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/str_cat.h"
#include "node/core/custody.h"
#include "node/core/key_table.h"
#include "node/core/record_builder.h"
#include "testing/test_util.h"

namespace threatmesh {
namespace {

using v1::CustodyChain;
using v1::RecordBody;
using v1::Signed;

class ProofTest : public ::testing::Test {
 protected:
  // Nodes 0..5; node 0 is the author.
  std::vector<crypto::KeyPair> nodes_ = [] {
    std::vector<crypto::KeyPair> v;
    for (int i = 0; i < 6; ++i) v.push_back(crypto::KeyPair::Generate());
    return v;
  }();
  std::string Key(int i) { return std::string(nodes_[i].public_key().bytes()); }

  Signed Record(v1::Tlp tlp = v1::TLP_GREEN, bool may_relay = true) {
    RecordBody body =
        testing::IndicatorBody(nodes_[0], v1::INDICATOR_TYPE_DOMAIN, "c2.evil-example.com");
    body.set_tlp(tlp);
    body.mutable_handling()->set_may_relay(may_relay);
    Signed s;
    EXPECT_TRUE(s.ParseFromString(SealRecord(body, nodes_[0])));
    return s;
  }
  static std::string Id(const Signed& s) { return crypto::Sha256(s.payload()); }

  // The chain along `path` (node indexes, starting at the author); with `batches`, each hop
  // signed as the second of a batch of three (docs/FORMAT.md, "Batch hops").
  CustodyChain Chain(const std::string& id, const std::vector<int>& path, bool batches = false) {
    CustodyChain chain, other_a, other_b;
    for (std::size_t i = 0; i + 1 < path.size(); ++i) {
      const int64_t at = testing::kTestNowMs + static_cast<int64_t>(i) * 1000;
      if (batches) {
        SignHopBatch(
            {{&other_a, crypto::Sha256("a")}, {&chain, id}, {&other_b, crypto::Sha256("b")}},
            nodes_[path[i]], Key(path[i + 1]), at, "partners");
      } else {
        SignHop(chain, id, nodes_[path[i]], Key(path[i + 1]), at, "partners");
      }
    }
    return chain;
  }

  // A bundle of `record` held by the last node of `path`.
  ProofMaterial Material(const Signed& record, const std::vector<int>& path, bool batches = false) {
    ProofMaterial m;
    m.record = record;
    m.chains.push_back(Chain(Id(record), path, batches));
    m.names = {{Key(0), "isac-hub"}, {Key(1), "bank-a"}};
    return m;
  }
  std::string Export(const ProofMaterial& m, int holder) {
    return ExportProofBundle(m, nodes_[holder], testing::kTestNowMs + 60000);
  }

  // Bundles about node 0 rotating its key to `next_` at kRotatedAt, each named: the record
  // (by node 0, dated before the rotation) reached node 2 through node 1, sent on by node
  // 0's new key after the rotation.
  crypto::KeyPair next_ = crypto::KeyPair::Generate();
  static constexpr int64_t kRotatedAt = testing::kTestNowMs + 10000;
  Signed Statement(const std::string& sealed) {
    Signed s;
    EXPECT_TRUE(s.ParseFromString(sealed));
    return s;
  }
  std::vector<std::pair<std::string, std::string>> RotationBundles() {
    std::vector<std::pair<std::string, std::string>> out;
    const Signed rotation = Statement(SealRotation(nodes_[0], next_, kRotatedAt));
    const Signed record = Record();
    auto relayed = [&](const Signed& r, const crypto::KeyPair& first_sender, int64_t at) {
      ProofMaterial m;
      m.record = r;
      CustodyChain chain;
      SignHop(chain, Id(r), first_sender, Key(1), at, "partners");
      SignHop(chain, Id(r), nodes_[1], Key(2), at + 1000, "partners");
      m.chains.push_back(chain);
      return m;
    };
    ProofMaterial m = relayed(record, next_, kRotatedAt + 1000);
    m.key_statements = {rotation};
    out.emplace_back("rotated-sent-by-new-key", Export(m, 2));
    m.key_statements.clear();
    out.emplace_back("rotated-without-statement", Export(m, 2));
    m.key_statements = {rotation, Statement(SealRevocation(next_, Key(0), kRotatedAt,
                                                           "disk image leaked", kRotatedAt + 5))};
    out.emplace_back("revoked-after-the-record", Export(m, 2));
    m.key_statements = {rotation,
                        Statement(SealRevocation(next_, Key(0), testing::kTestNowMs - 5000,
                                                 "disk image leaked", kRotatedAt + 5))};
    out.emplace_back("revoked-before-the-record", Export(m, 2));
    Signed bad_consent = rotation;
    RecordBody body;
    body.ParseFromString(bad_consent.payload());
    (*body.mutable_key_rotation()->mutable_new_key_signature())[5] ^= 1;
    bad_consent = Statement(SealRecord(body, nodes_[0]));
    m.key_statements = {bad_consent};
    out.emplace_back("rotation-without-consent", Export(m, 2));
    // Signed by the old key after the rotation: the record, then a hop.
    RecordBody late = testing::IndicatorBody(nodes_[0], v1::INDICATOR_TYPE_DOMAIN,
                                             "late.evil-example.com", kRotatedAt + 2000);
    late.set_tlp(v1::TLP_GREEN);
    late.mutable_handling()->set_may_relay(true);
    ProofMaterial forged =
        relayed(Statement(SealRecord(late, nodes_[0])), nodes_[0], kRotatedAt + 3000);
    forged.key_statements = {rotation};
    out.emplace_back("signed-by-old-key-after-rotation", Export(forged, 2));
    ProofMaterial old_hop = relayed(record, nodes_[0], kRotatedAt + 3000);
    old_hop.key_statements = {rotation};
    out.emplace_back("hop-by-old-key-after-rotation", Export(old_hop, 2));
    // The author's own copy, exported under its new key.
    ProofMaterial own;
    own.record = record;
    own.chains.emplace_back();
    own.key_statements = {rotation};
    out.emplace_back("own-copy-after-rotation",
                     ExportProofBundle(own, next_, testing::kTestNowMs + 60000));
    return out;
  }

  static bool Names(const ProofResult& r, const std::string& element) {
    return std::any_of(r.failures.begin(), r.failures.end(),
                       [&](const ProofFailure& f) { return f.element == element; });
  }
  static std::string Failures(const ProofResult& r) {
    std::string out;
    for (const ProofFailure& f : r.failures) out += f.element + ": " + f.message + "\n";
    return out;
  }

  using NamedBundles = std::vector<std::pair<std::string, std::string>>;

  void ExpectAgreementOnTheSuite(const std::string& verifier, const std::string& who);

  // Bundles of the suite: valid ones of 1, 2 and 4 hops (`four` is the last), the author's
  // own copy, a withdrawn record, a violation; and hops skipped or swapped.
  void SuiteBundles(NamedBundles* bundles, std::string* four) {
    const Signed record = Record();
    bundles->emplace_back("hops1", Export(Material(record, {0, 1}), 1));
    bundles->emplace_back("hops2", Export(Material(record, {0, 1, 2}), 2));
    *four = Export(Material(record, {0, 1, 2, 3, 4}), 4);
    bundles->emplace_back("hops4", *four);
    ProofMaterial own;
    own.record = record;
    own.chains.emplace_back();
    bundles->emplace_back("own", Export(own, 0));
    bundles->emplace_back("own-claimed", Export(own, 2));
    ProofMaterial withdrawn = Material(record, {0, 1});
    for (int author : {0, 3}) {
      RecordBody retraction;
      retraction.set_author(Key(author));
      retraction.set_created_at(testing::kTestNowMs);
      retraction.set_tlp(v1::TLP_GREEN);
      retraction.mutable_retraction()->set_target(Id(record));
      Signed mark;
      ASSERT_TRUE(mark.ParseFromString(SealRecord(retraction, nodes_[author])));
      withdrawn.marks = {mark};
      bundles->emplace_back(StrCat("retracted-by-", author), Export(withdrawn, 1));
    }
    ProofMaterial violation = Material(Record(v1::TLP_AMBER, false), {0, 1, 2});
    violation.kind = "violation";
    bundles->emplace_back("violation", Export(violation, 2));
    violation.kind = "record";
    bundles->emplace_back("violation-as-record", Export(violation, 2));
    ProofMaterial skipped = Material(record, {0, 1, 2, 3});
    skipped.chains[0].mutable_hops()->DeleteSubrange(1, 1);
    bundles->emplace_back("skipped", Export(skipped, 3));
    ProofMaterial swapped = Material(record, {0, 1, 2, 3});
    swapped.chains[0].mutable_hops()->SwapElements(1, 2);
    bundles->emplace_back("swapped", Export(swapped, 3));
    // Hops signed per batch, and a bundle of the previous format (single hops, version 2).
    bundles->emplace_back("batch-hops3", Export(Material(record, {0, 1, 2, 3}, true), 3));
    ProofMaterial mixed = Material(record, {0, 1, 2}, true);
    SignHop(mixed.chains[0], Id(record), nodes_[2], Key(3), testing::kTestNowMs + 5000, "x");
    bundles->emplace_back("batch-and-single", Export(mixed, 3));
    ProofMaterial version2 = Material(record, {0, 1, 2});
    version2.version = 2;
    bundles->emplace_back("version2", Export(version2, 2));
    ProofMaterial other_leaf = Material(record, {0, 1, 2}, true);
    other_leaf.chains[0].mutable_hops(1)->mutable_batch()->set_index(2);
    bundles->emplace_back("batch-other-leaf", Export(other_leaf, 2));
  }

  // A byte changed in each hex string of `four`, at two places.
  static NamedBundles ChangedBytes(const std::string& four) {
    NamedBundles bundles;
    int n = 0;
    for (std::size_t q = four.find('"'); q != std::string::npos; q = four.find('"', q + 1)) {
      const std::size_t end = four.find('"', q + 1);
      if (end == std::string::npos) break;
      const std::string_view text(four.data() + q + 1, end - q - 1);
      if (text.size() >= 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos) {
        for (std::size_t at : {std::size_t{1}, text.size() / 2 + 1}) {
          std::string changed = four;
          char& c = changed[q + 1 + at];
          c = c == '0' ? '1' : '0';
          bundles.emplace_back(StrCat("changed-", n++), changed);
        }
      }
      q = end;
    }
    return bundles;
  }
};

TEST_F(ProofTest, BundlesOfOneTwoAndFourHopsVerifyWithTheirStory) {
  const Signed record = Record();
  for (const std::vector<int>& path :
       std::vector<std::vector<int>>{{0, 1}, {0, 1, 2}, {0, 1, 2, 3, 4}}) {
    const int holder = path.back();
    ProofResult r = VerifyProofBundle(Export(Material(record, path), holder));
    ASSERT_EQ(r.verdict, ProofResult::Verdict::kValid) << Failures(r);
    EXPECT_EQ(r.record_id, Id(record));
    EXPECT_EQ(r.kind, "record");
    // Title, author, one line per hop, held by.
    ASSERT_EQ(r.story.size(), path.size() - 1 + 3);
    EXPECT_NE(
        r.story[1].find("authored by " + nodes_[0].public_key().Fingerprint() + " (isac-hub)"),
        std::string::npos)
        << r.story[1];
    EXPECT_NE(
        r.story[2].find("sent by " + nodes_[0].public_key().Fingerprint() + " (isac-hub) to " +
                        nodes_[1].public_key().Fingerprint() + " (bank-a)"),
        std::string::npos)
        << r.story[2];
    EXPECT_NE(r.story.back().find("held by " + nodes_[holder].public_key().Fingerprint()),
              std::string::npos);
    EXPECT_NE(r.story.back().find("not retracted or superseded"), std::string::npos);
  }
  // The author's own copy: an empty chain, held by the author.
  ProofMaterial own;
  own.record = record;
  own.chains.emplace_back();
  ProofResult r = VerifyProofBundle(Export(own, 0));
  EXPECT_EQ(r.verdict, ProofResult::Verdict::kValid) << Failures(r);
  // The same claimed by another holder fails.
  r = VerifyProofBundle(Export(own, 1));
  EXPECT_EQ(r.verdict, ProofResult::Verdict::kInvalid);
  EXPECT_TRUE(Names(r, "chains[0]")) << Failures(r);
}

// Changing one byte anywhere in a signed element fails, naming that element.
TEST_F(ProofTest, OneChangedByteInAnySignedElementIsFoundAndNamed) {
  const Signed record = Record();
  ProofMaterial m = Material(record, {0, 1, 2, 3, 4});
  RecordBody retraction;
  retraction.set_author(Key(0));
  retraction.set_created_at(testing::kTestNowMs + 5000);
  retraction.set_tlp(v1::TLP_GREEN);
  retraction.mutable_retraction()->set_target(Id(record));
  retraction.mutable_retraction()->set_reason("false positive");
  Signed mark;
  ASSERT_TRUE(mark.ParseFromString(SealRecord(retraction, nodes_[0])));
  m.marks.push_back(mark);
  const std::string bundle = Export(m, 4);
  ProofResult clean = VerifyProofBundle(bundle);
  ASSERT_EQ(clean.verdict, ProofResult::Verdict::kValid) << Failures(clean);
  EXPECT_NE(clean.story.back().find("withdrawn"), std::string::npos);
  EXPECT_NE(clean.story[clean.story.size() - 2].find("retracted by its author"), std::string::npos);

  struct Element {
    std::string bytes;  // as it appears in the file, hex
    std::string name;   // the element a failure must name
  };
  std::vector<Element> elements = {
      {crypto::HexEncode(record.payload()), "record"},
      {crypto::HexEncode(record.signature()), "record"},
      {crypto::HexEncode(mark.payload()), "marks[0]"},
      {crypto::HexEncode(mark.signature()), "marks[0]"},
      {crypto::HexEncode(Key(4)), "holder"},
  };
  for (int j = 0; j < m.chains[0].hops_size(); ++j) {
    const std::string name = StrCat("chains[0][", j, "]");
    elements.push_back({crypto::HexEncode(m.chains[0].hops(j).payload()), name});
    elements.push_back({crypto::HexEncode(m.chains[0].hops(j).signature()), name});
  }
  const std::size_t sig_at = bundle.find("\"signature\": \"") + 14;
  elements.push_back({bundle.substr(sig_at, 128), "signature"});
  int mutations = 0;
  for (const Element& e : elements) {
    const std::size_t at =
        e.name == "holder" ? bundle.find("\"holder\": \"") + 11 : bundle.find(e.bytes);
    ASSERT_NE(at, std::string::npos) << e.name;
    const std::size_t bytes = e.bytes.size() / 2;
    // Many positions across the element: every byte of short ones, a spread of long ones.
    const std::size_t step = std::max<std::size_t>(1, bytes / 24);
    for (std::size_t b = 0; b < bytes; b += step) {
      std::string changed = bundle;
      char& digit = changed[at + 2 * b + 1];
      digit = digit == '0' ? '1' : '0';
      ProofResult r = VerifyProofBundle(changed);
      ++mutations;
      EXPECT_NE(r.verdict, ProofResult::Verdict::kValid) << e.name << " byte " << b;
      EXPECT_TRUE(Names(r, e.name)) << e.name << " byte " << b << ":\n" << Failures(r);
    }
  }
  EXPECT_GT(mutations, 200);
  // The export time is covered by the holder's signature.
  std::string later = bundle;
  const std::size_t t = later.find("\"exported_at\": \"") + 16;
  later[t + 3] = later[t + 3] == '7' ? '8' : '7';  // another year
  ProofResult r = VerifyProofBundle(later);
  EXPECT_EQ(r.verdict, ProofResult::Verdict::kInvalid);
  EXPECT_TRUE(Names(r, "signature")) << Failures(r);
}

TEST_F(ProofTest, SkippedSwappedOrRedirectedHopsFail) {
  const Signed record = Record();
  const std::string id = Id(record);
  ProofMaterial m = Material(record, {0, 1, 2, 3, 4});
  CustodyChain full = m.chains[0];
  struct Case {
    std::string what;
    CustodyChain chain;
    std::string element;
  };
  std::vector<Case> cases;
  {
    CustodyChain skip;
    for (int j : {0, 2, 3}) *skip.add_hops() = full.hops(j);
    cases.push_back({"hop 1 skipped", skip, "chains[0][1]"});
  }
  {
    CustodyChain swap = full;
    swap.mutable_hops()->SwapElements(1, 2);
    cases.push_back({"hops 1 and 2 swapped", swap, "chains[0][1]"});
  }
  {
    // Node 1 signs a hop to node 5 instead of node 2: its own signature is valid, but the
    // chain no longer continues.
    CustodyChain redirected = Chain(id, {0, 1, 5});
    for (int j : {2, 3}) *redirected.add_hops() = full.hops(j);
    cases.push_back({"hop 1 sent to another node", redirected, "chains[0][2]"});
  }
  for (const Case& c : cases) {
    ProofMaterial changed = m;
    changed.chains[0] = c.chain;
    ProofResult r = VerifyProofBundle(Export(changed, 4));
    EXPECT_EQ(r.verdict, ProofResult::Verdict::kInvalid) << c.what;
    EXPECT_TRUE(Names(r, c.element)) << c.what << ":\n" << Failures(r);
  }
}

// A relay that passed on an AMBER record is named by its own signed hop.
TEST_F(ProofTest, AViolationBundleProvesTheViolationAndNamesTheRelay) {
  const Signed record = Record(v1::TLP_AMBER, false);
  ProofMaterial m = Material(record, {0, 1, 2});
  m.kind = "violation";
  ProofResult r = VerifyProofBundle(Export(m, 2));
  ASSERT_EQ(r.verdict, ProofResult::Verdict::kValid) << Failures(r);
  bool named = false;
  for (const std::string& line : r.story) {
    named = named || (line.find("VIOLATION") != std::string::npos &&
                      line.find("hop 1, signed by " + nodes_[1].public_key().Fingerprint()) !=
                          std::string::npos);
  }
  EXPECT_TRUE(named);
  // As a record bundle, the same copy is invalid, naming the hop and the relay's key.
  m.kind = "record";
  r = VerifyProofBundle(Export(m, 2));
  ASSERT_EQ(r.verdict, ProofResult::Verdict::kInvalid);
  ASSERT_TRUE(Names(r, "chains[0][1]")) << Failures(r);
  EXPECT_EQ(r.failures.back().key, Key(1));
  // Relayed in a batch: the violation rests on the relay's own signed batch statement.
  ProofMaterial batched = Material(record, {0, 1, 2}, /*batches=*/true);
  batched.kind = "violation";
  r = VerifyProofBundle(Export(batched, 2));
  ASSERT_EQ(r.verdict, ProofResult::Verdict::kValid) << Failures(r);
  v1::HopBatch statement;
  ASSERT_TRUE(statement.ParseFromString(batched.chains[0].hops(1).batch().statement()));
  bool statement_named = false;
  for (const std::string& line : r.story) {
    statement_named =
        statement_named ||
        (line.find("VIOLATION") != std::string::npos &&
         line.find("hop 1, signed by " + nodes_[1].public_key().Fingerprint()) !=
             std::string::npos &&
         line.find("batch statement of 3 hops (root " +
                   crypto::HexEncode(statement.root()).substr(0, 16)) != std::string::npos);
  }
  EXPECT_TRUE(statement_named) << ::testing::PrintToString(r.story);
  // A "violation" bundle of a copy that broke nothing proves nothing.
  ProofMaterial fine = Material(Record(), {0, 1, 2});
  fine.kind = "violation";
  r = VerifyProofBundle(Export(fine, 2));
  EXPECT_EQ(r.verdict, ProofResult::Verdict::kInvalid);
  EXPECT_TRUE(Names(r, "chains[0]")) << Failures(r);
}

TEST_F(ProofTest, OnlyTheAuthorWithdrawsARecord) {
  const Signed record = Record();
  ProofMaterial m = Material(record, {0, 1});
  RecordBody retraction;
  retraction.set_author(Key(3));
  retraction.set_created_at(testing::kTestNowMs);
  retraction.set_tlp(v1::TLP_GREEN);
  retraction.mutable_retraction()->set_target(Id(record));
  Signed mark;
  ASSERT_TRUE(mark.ParseFromString(SealRecord(retraction, nodes_[3])));
  m.marks.push_back(mark);
  ProofResult r = VerifyProofBundle(Export(m, 1));
  EXPECT_EQ(r.verdict, ProofResult::Verdict::kInvalid);
  ASSERT_TRUE(Names(r, "marks[0]")) << Failures(r);
  EXPECT_EQ(r.failures.back().key, Key(3));
}

// An audit trail file whose entry sequence is not a whole number a JSON double holds exactly
// (found by fuzzing: 7.4e19 overflowed the cast to an integer) is unusable, naming the entry.
TEST_F(ProofTest, AnAuditFileWithAnImpossibleSequenceIsUnusable) {
  std::ifstream in(std::string(THREATMESH_SOURCE_DIR) +
                   "/tests/fuzz/corpus/offline_file/audit.json");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string good = buffer.str();
  ASSERT_EQ(VerifyOfflineFile(good).verdict, ProofResult::Verdict::kValid);
  for (const char* seq : {"74687265633666300000", "1.5", "0", "-3", "18014398509481984"}) {
    std::string bad = good;
    const std::size_t at = bad.find("\"seq\": 1,");
    ASSERT_NE(at, std::string::npos);
    bad.replace(at, 9, StrCat("\"seq\": ", seq, ","));
    ProofResult r = VerifyOfflineFile(bad);
    EXPECT_EQ(r.verdict, ProofResult::Verdict::kUnusable) << seq;
    EXPECT_TRUE(Names(r, "entries[0].seq")) << seq << ":\n" << Failures(r);
  }
}

TEST_F(ProofTest, AFileThatIsNotABundleIsUnusable) {
  const std::string good = Export(Material(Record(), {0, 1}), 1);
  struct Case {
    std::string text;
    std::string element;
  };
  std::string no_holder = good;
  no_holder.replace(no_holder.find("\"holder\""), 8, "\"holdr\"");
  std::string short_sig = good;
  short_sig.erase(short_sig.find("\"signature\": \"") + 14, 2);
  std::string other_format = good;
  other_format.replace(other_format.find("threatmesh-proof/3"), 18, "threatmesh-proof/9");
  // The holder's key in upper case: the same bytes, but not the format's spelling.
  std::string upper = good;
  {
    const std::size_t at = upper.find("\"holder\": \"") + 11;
    for (std::size_t i = at; i < at + 64; ++i) {
      upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
    }
    ASSERT_NE(upper, good);
  }
  const Case cases[] = {
      {"not json", "file"},     {no_holder, "holder"}, {short_sig, "signature"},
      {other_format, "format"}, {upper, "holder"},
  };
  for (const Case& c : cases) {
    ProofResult r = VerifyProofBundle(c.text);
    EXPECT_EQ(r.verdict, ProofResult::Verdict::kUnusable) << c.element;
    EXPECT_TRUE(Names(r, c.element)) << c.element << ":\n" << Failures(r);
  }
}

// Runs `verifier` (a command line taking bundle files) over a suite of bundles and holds it
// to this verifier: valid ones of 1, 2 and 4 hops, the author's own copy, a withdrawn record,
// a violation; and tampered ones (a byte changed across every signed element, hops skipped or
// swapped, a stranger's retraction, a file that is not a bundle). For each it must give the
// same verdict and name the same element at fault. The verifier prints one line per bundle:
// "<verdict> <file> <elements, comma separated>".
void ProofTest::ExpectAgreementOnTheSuite(const std::string& verifier, const std::string& who) {
  testing::TempDir dir;
  NamedBundles bundles;  // name, text
  std::string four;
  ASSERT_NO_FATAL_FAILURE(SuiteBundles(&bundles, &four));
  for (auto& b : ChangedBytes(four)) bundles.push_back(std::move(b));
  // Every byte string of a bundle of batch hops changed too: payloads, statements, their
  // signatures and every hash of the inclusion paths.
  for (auto& b : ChangedBytes(Export(Material(Record(), {0, 1, 2, 3}, true), 3))) {
    bundles.emplace_back("batch-" + b.first, std::move(b.second));
  }
  for (auto& b : RotationBundles()) bundles.push_back(std::move(b));
  bundles.emplace_back("not-json", "{ not json");
  bundles.emplace_back("other-format", "{\"format\": \"threatmesh-proof/9\"}");

  std::string cmd = verifier;
  for (const auto& [name, text] : bundles) {
    std::ofstream(dir.Sub(name)) << text;
    cmd += " " + dir.Sub(name);
  }
  cmd += " > " + dir.Sub("other.out");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream out(dir.Sub("other.out"));
  std::size_t lines = 0, valid = 0;
  for (std::string line; std::getline(out, line); ++lines) {
    ASSERT_LT(lines, bundles.size());
    std::istringstream fields(line);
    std::string verdict, path, elements;
    fields >> verdict >> path >> elements;
    EXPECT_EQ(path, dir.Sub(bundles[lines].first));
    const ProofResult r = VerifyProofBundle(bundles[lines].second);
    const char* ours = r.verdict == ProofResult::Verdict::kValid     ? "valid"
                       : r.verdict == ProofResult::Verdict::kInvalid ? "invalid"
                                                                     : "unusable";
    EXPECT_EQ(verdict, ours) << bundles[lines].first << ": " << who << " says " << line << "\n"
                             << Failures(r);
    valid += verdict == "valid";
    // Every element the other verifier names, this one names too.
    std::istringstream named(elements);
    for (std::string e; std::getline(named, e, ',');) {
      if (r.verdict == ProofResult::Verdict::kUnusable) break;  // field names differ in detail
      EXPECT_TRUE(Names(r, e)) << bundles[lines].first << ": " << who << " names " << e << "\n"
                               << Failures(r);
    }
  }
  EXPECT_EQ(lines, bundles.size());
  // hops1, hops2, hops4, own, retracted-by-0, violation, batch-hops3, batch-and-single,
  // version2, and of the rotation bundles: rotated-sent-by-new-key, revoked-after-the-record,
  // own-copy-after-rotation.
  EXPECT_EQ(valid, 12u);
}

// The independent verifier tests/node/proof/verify_proof.py, written from
// docs/PROOF-FORMAT.md with python3-nacl.
TEST_F(ProofTest, AnIndependentPythonVerifierAgreesOnEveryBundle) {
  ExpectAgreementOnTheSuite(
      StrCat("/usr/bin/python3 ", THREATMESH_SOURCE_DIR, "/tests/node/proof/verify_proof.py"),
      "python");
}

// The web console's verifier (node/console/web/src/proof.js, run in the browser on the
// offline page), under Node.js with the npm packages the console bundles.
TEST_F(ProofTest, TheConsoleVerifierAgreesOnEveryBundle) {
  ExpectAgreementOnTheSuite(
      StrCat("node ", THREATMESH_SOURCE_DIR, "/node/console/web/tools/verify-cli.mjs"),
      "the console");
}

// Key rotation and revocation as a verifier sees them: what the old key signed before the
// rotation stays valid, hop 0 may come from the new key, and what the old key signs after
// it, or a revoked key from its compromise on, fails naming the element and the key.
TEST_F(ProofTest, KeyStatementsInTheBundleDecideWhatTheKeysMaySign) {
  std::map<std::string, ProofResult> r;
  for (const auto& [name, text] : RotationBundles()) r[name] = VerifyProofBundle(text);
  auto valid = [&](const std::string& name) {
    EXPECT_EQ(r[name].verdict, ProofResult::Verdict::kValid) << name << "\n" << Failures(r[name]);
  };
  auto invalid_at = [&](const std::string& name, const std::string& element, const std::string& key,
                        const std::string& words) {
    EXPECT_EQ(r[name].verdict, ProofResult::Verdict::kInvalid) << name;
    bool found = false;
    for (const ProofFailure& f : r[name].failures) {
      found = found ||
              (f.element == element && f.key == key && f.message.find(words) != std::string::npos);
    }
    EXPECT_TRUE(found) << name << " should name " << element << " (" << words << ")\n"
                       << Failures(r[name]);
  };
  valid("rotated-sent-by-new-key");
  valid("revoked-after-the-record");
  valid("own-copy-after-rotation");
  const std::string next(next_.public_key().bytes());
  invalid_at("rotated-without-statement", "chains[0][0]", next, "not sent by the record's author");
  invalid_at("revoked-before-the-record", "record", Key(0), "revoked since");
  invalid_at("rotation-without-consent", "key_statements[0]", Key(0), "new_key_signature");
  invalid_at("signed-by-old-key-after-rotation", "record", Key(0), "was rotated to");
  invalid_at("hop-by-old-key-after-rotation", "chains[0][0]", Key(0), "was rotated to");
  // The story tells the rotation and the revocation.
  const std::vector<std::string>& story = r["revoked-after-the-record"].story;
  auto told = [&](const std::string& words) {
    return std::any_of(story.begin(), story.end(),
                       [&](const std::string& s) { return s.find(words) != std::string::npos; });
  };
  EXPECT_TRUE(told(StrCat("rotated to ", next_.public_key().Fingerprint()))) << story.front();
  EXPECT_TRUE(told("\"disk image leaked\""));
}

}  // namespace
}  // namespace threatmesh
