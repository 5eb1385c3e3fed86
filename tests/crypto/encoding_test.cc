#include "crypto/encoding.h"

#include <gtest/gtest.h>

#include "crypto/hash.h"

namespace threatmesh::crypto {
namespace {

TEST(HexTest, RoundTripAndErrors) {
  EXPECT_EQ(HexEncode(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(*HexDecode("00FF10"), std::string("\x00\xff\x10", 3));
  EXPECT_EQ(*HexDecode(""), "");
  EXPECT_FALSE(HexDecode("abc").has_value());  // odd length
  EXPECT_FALSE(HexDecode("zz").has_value());   // not hex
  EXPECT_FALSE(HexDecode("0 ").has_value());
}

struct Base32Case {
  std::string raw;
  std::string encoded;
};

TEST(Base32Test, Rfc4648Vectors) {
  // RFC 4648 section 10, lower case and without padding.
  const std::vector<Base32Case> cases = {
      {"", ""},
      {"f", "my"},
      {"fo", "mzxq"},
      {"foo", "mzxw6"},
      {"foob", "mzxw6yq"},
      {"fooba", "mzxw6ytb"},
      {"foobar", "mzxw6ytboi"},
  };
  for (const Base32Case& c : cases) {
    EXPECT_EQ(Base32Encode(c.raw), c.encoded) << c.raw;
    ASSERT_TRUE(Base32Decode(c.encoded).has_value()) << c.encoded;
    EXPECT_EQ(*Base32Decode(c.encoded), c.raw);
  }
}

TEST(Base32Test, RefusesBadCharactersAndNonZeroPadding) {
  EXPECT_FALSE(Base32Decode("mzx1").has_value());
  EXPECT_FALSE(Base32Decode("mz=").has_value());
  EXPECT_FALSE(Base32Decode("mz").has_value());  // "my" is canonical; "mz" has a stray bit
  EXPECT_EQ(*Base32Decode("MZXW6"), "foo");
}

// RFC 1321's test suite.
TEST(Md5Test, KnownAnswers) {
  EXPECT_EQ(HexEncode(Md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(HexEncode(Md5("abc")), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(HexEncode(Md5("message digest")), "f96b697d7cb7938d525a2f31aaf161d0");
}

TEST(Sha256Test, KnownAnswer) {
  // FIPS 180-2 example "abc".
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(RecordId("abc"), Sha256("abc"));
}

// RFC 4648 section 10's test vectors, and what is not base64.
TEST(Base64Test, Rfc4648VectorsAndErrors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    std::optional<std::string> decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
  const std::string binary("\x00\xff\x10\x80", 4);
  EXPECT_EQ(Base64Decode(Base64Encode(binary)), binary);
  for (const char* bad : {"Zg", "Zm9v!", "Zm9v YmFy", "Zh==", "====", "Zm9vYg=x"}) {
    EXPECT_FALSE(Base64Decode(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace threatmesh::crypto
