#include "crypto/keys.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace threatmesh::crypto {
namespace {

TEST(KeysTest, SignVerifyRoundTrip) {
  KeyPair key = KeyPair::Generate();
  std::string sig = key.Sign(kRecordDomain, "payload");
  EXPECT_EQ(sig.size(), kSignatureSize);
  EXPECT_TRUE(Verify(key.public_key(), kRecordDomain, "payload", sig));
}

TEST(KeysTest, SignatureIsBoundToItsDomain) {
  KeyPair key = KeyPair::Generate();
  const std::vector<std::string_view> domains = {kRecordDomain, kHopDomain, kAuditDomain,
                                                 kKeyRotationDomain};
  for (std::string_view signed_under : domains) {
    std::string sig = key.Sign(signed_under, "same bytes");
    for (std::string_view checked_under : domains) {
      EXPECT_EQ(Verify(key.public_key(), checked_under, "same bytes", sig),
                signed_under == checked_under)
          << "signed under " << signed_under << ", checked under " << checked_under;
    }
  }
}

TEST(KeysTest, DomainSeparatorPreventsShiftingBytes) {
  // "ab" || 0 || "c" must differ from "a" || 0 || "bc": the separator is in the signed bytes.
  KeyPair key = KeyPair::Generate();
  std::string sig = key.Sign("ab", "c");
  EXPECT_FALSE(Verify(key.public_key(), "a", "bc", sig));
}

TEST(KeysTest, EveryFlippedBitIsRefused) {
  KeyPair key = KeyPair::Generate();
  const std::string payload = "a record payload of some length, 48 bytes long!";
  const std::string sig = key.Sign(kRecordDomain, payload);
  for (std::size_t bit = 0; bit < payload.size() * 8; ++bit) {
    std::string p = payload;
    p[bit / 8] = static_cast<char>(p[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_FALSE(Verify(key.public_key(), kRecordDomain, p, sig)) << "payload bit " << bit;
  }
  for (std::size_t bit = 0; bit < sig.size() * 8; ++bit) {
    std::string s = sig;
    s[bit / 8] = static_cast<char>(s[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_FALSE(Verify(key.public_key(), kRecordDomain, payload, s)) << "signature bit " << bit;
  }
}

TEST(KeysTest, WrongKeyAndWrongLengthsAreRefused) {
  KeyPair a = KeyPair::Generate();
  KeyPair b = KeyPair::Generate();
  std::string sig = a.Sign(kRecordDomain, "x");
  EXPECT_FALSE(Verify(b.public_key(), kRecordDomain, "x", sig));
  EXPECT_FALSE(Verify(a.public_key(), kRecordDomain, "x", sig.substr(0, 63)));
  EXPECT_FALSE(Verify(a.public_key(), kRecordDomain, "x", sig + "0"));
  EXPECT_FALSE(Verify(a.public_key(), kRecordDomain, "x", ""));
}

TEST(KeysTest, FromSeedIsDeterministicAndChecksLength) {
  std::string seed(32, '\x07');
  absl::StatusOr<KeyPair> a = KeyPair::FromSeed(seed);
  absl::StatusOr<KeyPair> b = KeyPair::FromSeed(seed);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->public_key() == b->public_key());
  EXPECT_EQ(a->Seed(), seed);
  absl::StatusOr<KeyPair> short_seed = KeyPair::FromSeed(seed.substr(1));
  EXPECT_EQ(short_seed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(short_seed.status().message().find("31 bytes, expected 32"), std::string::npos);
}

TEST(KeysTest, MovedFromKeyPairIsWiped) {
  KeyPair a = KeyPair::Generate();
  const std::string seed = a.Seed();
  KeyPair b = std::move(a);
  EXPECT_EQ(b.Seed(), seed);
  EXPECT_EQ(a.Seed(), std::string(32, '\0'));  // NOLINT(bugprone-use-after-move)
}

TEST(PublicKeyTextTest, RoundTripsAndToleratesCaseAndSpace) {
  KeyPair key = KeyPair::Generate();
  std::string text = key.public_key().ToText();
  EXPECT_EQ(text.size(), 62u);
  EXPECT_EQ(text.substr(0, 4), "tmpk");
  EXPECT_EQ(text.find_first_not_of("abcdefghijklmnopqrstuvwxyz234567"), std::string::npos);
  std::string upper = text;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& variant : {text, upper, "  " + text + "\n"}) {
    absl::StatusOr<PublicKey> parsed = PublicKey::FromText(variant);
    ASSERT_TRUE(parsed.ok()) << variant << ": " << parsed.status();
    EXPECT_TRUE(*parsed == key.public_key());
  }
}

TEST(PublicKeyTextTest, EverySingleCharacterTypoIsDetected) {
  KeyPair key = KeyPair::Generate();
  const std::string text = key.public_key().ToText();
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  int refused = 0, tried = 0;
  for (std::size_t i = 4; i < text.size(); ++i) {
    for (char c : alphabet) {
      if (c == text[i]) continue;
      std::string typo = text;
      typo[i] = c;
      ++tried;
      absl::StatusOr<PublicKey> parsed = PublicKey::FromText(typo);
      if (!parsed.ok()) {
        ++refused;
        EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
      }
    }
  }
  EXPECT_EQ(refused, tried);
}

TEST(PublicKeyTextTest, SwapsTruncationAndWrongPrefixAreRefused) {
  KeyPair key = KeyPair::Generate();
  const std::string text = key.public_key().ToText();
  for (std::size_t i = 4; i + 1 < text.size(); ++i) {
    if (text[i] == text[i + 1]) continue;
    std::string swapped = text;
    std::swap(swapped[i], swapped[i + 1]);
    EXPECT_FALSE(PublicKey::FromText(swapped).ok()) << "swap at " << i;
  }
  absl::StatusOr<PublicKey> truncated = PublicKey::FromText(text.substr(0, 61));
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("copy it again"), std::string::npos);
  absl::StatusOr<PublicKey> prefix = PublicKey::FromText("xxxx" + text.substr(4));
  ASSERT_FALSE(prefix.ok());
  EXPECT_NE(prefix.status().message().find("does not start with"), std::string::npos);
  EXPECT_FALSE(PublicKey::FromText(text.substr(0, 61) + "1").ok());  // '1' is not base32
}

TEST(PublicKeyTest, FromBytesChecksLengthAndFingerprintFormat) {
  EXPECT_FALSE(PublicKey::FromBytes(std::string(31, 'a')).ok());
  EXPECT_FALSE(PublicKey::FromBytes(std::string(33, 'a')).ok());
  absl::StatusOr<PublicKey> key = PublicKey::FromBytes(std::string(32, 'a'));
  ASSERT_TRUE(key.ok());
  const std::string fp = key->Fingerprint();
  EXPECT_EQ(fp.size(), 19u);
  EXPECT_EQ(fp, HexEncode(Sha256(std::string(32, 'a')).substr(0, 2)) + ":" +
                    HexEncode(Sha256(std::string(32, 'a')).substr(2, 2)) + ":" +
                    HexEncode(Sha256(std::string(32, 'a')).substr(4, 2)) + ":" +
                    HexEncode(Sha256(std::string(32, 'a')).substr(6, 2)));
}

TEST(PublicKeyTest, FingerprintOfShowsAKeyOrTheBytesThatAreNotOne) {
  const KeyPair key = KeyPair::Generate();
  EXPECT_EQ(FingerprintOf(key.public_key().bytes()), key.public_key().Fingerprint());
  EXPECT_EQ(FingerprintOf(""), "(not a key: )");
  EXPECT_EQ(FingerprintOf("\x01\xab"), "(not a key: 01ab)");
  EXPECT_EQ(FingerprintOf(std::string(40, 'a')),
            "(not a key: " + HexEncode(std::string(32, 'a')) + "...)");
}

}  // namespace
}  // namespace threatmesh::crypto
