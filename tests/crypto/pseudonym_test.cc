#include "crypto/pseudonym.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <set>

#include "crypto/encoding.h"

namespace threatmesh::crypto {
namespace {

TEST(PseudonymsTest, StableForAKeyAndSeparatedByKindAndKey) {
  Pseudonyms a = *Pseudonyms::Create(std::string(32, 'a'));
  Pseudonyms b = *Pseudonyms::Create(std::string(32, 'b'));
  const std::string alice = a.Of("user", "alice");
  EXPECT_EQ(alice.size(), std::string("user-").size() + 16);
  EXPECT_EQ(alice.rfind("user-", 0), 0u);
  EXPECT_EQ(a.Of("user", "alice"), alice);
  EXPECT_EQ(a.Of("user", "ALICE"), alice);  // case-folded
  EXPECT_NE(a.Of("host", "alice"), "host-" + alice.substr(5));
  EXPECT_NE(b.Of("user", "alice"), alice);
  EXPECT_NE(a.Of("user", "alicf"), alice);
  EXPECT_NE(a.key_id(), b.key_id());
  EXPECT_EQ(a.key_id().size(), 16u);
  EXPECT_EQ(Pseudonyms::Create("short").status().code(), absl::StatusCode::kInvalidArgument);
}

// The pseudonym is the keyed HMAC-SHA256 of kind, a zero byte and the folded value,
// truncated to 80 bits: computed here independently with libsodium's one-shot call.
TEST(PseudonymsTest, IsTheDocumentedHmac) {
  const std::string key(32, '\x07');
  Pseudonyms p = *Pseudonyms::Create(key);
  // "host", a NUL, then the name (built by appending: gcc 12 warns falsely on the
  // temporaries of operator+ here).
  std::string message = "host";
  message.push_back('\0');
  message.append("db01.corp.example");
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), 32);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                                message.size());
  crypto_auth_hmacsha256_final(&state, mac);
  EXPECT_EQ(p.Of("host", "DB01.corp.example"),
            "host-" + Base32Encode(std::string(reinterpret_cast<char*>(mac), 10)));
  // Distinct names keep distinct pseudonyms (80 bits: no collision in a small set).
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(p.Of("user", "u" + std::to_string(i)));
  EXPECT_EQ(seen.size(), 10000u);
}

}  // namespace
}  // namespace threatmesh::crypto
