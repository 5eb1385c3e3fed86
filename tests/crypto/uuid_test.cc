#include "crypto/uuid.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace threatmesh::crypto {
namespace {

// RFC 4122's DNS namespace, and the version 5 UUID of "www.example.com" in it as Python's
// uuid.uuid5(uuid.NAMESPACE_DNS, "www.example.com") computes it.
TEST(UuidTest, Version5MatchesTheKnownValue) {
  const std::optional<std::string> dns = ParseUuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8");
  ASSERT_TRUE(dns.has_value());
  EXPECT_EQ(Uuid5(*dns, "www.example.com"), "2ed6657d-e927-568b-95e1-2665a8aea6a2");
}

TEST(UuidTest, ParseRefusesWhatIsNotAUuid) {
  for (const char* bad :
       {"", "6ba7b810-9dad-11d1-80b4-00c04fd430c", "6ba7b8109dad11d180b400c04fd430c8",
        "6ba7b810-9dad-11d1-80b4-00c04fd430cg", "6ba7b810+9dad-11d1-80b4-00c04fd430c8"}) {
    EXPECT_FALSE(ParseUuid(bad).has_value()) << bad;
  }
  EXPECT_EQ(ParseUuid("6BA7B810-9DAD-11D1-80B4-00C04FD430C8")->size(), 16u);
}

TEST(UuidTest, RandomVersion4HasItsBitsAndDiffers) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string u = RandomUuid4();
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u[14], '4') << u;
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos) << u;
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 100u);
}

}  // namespace
}  // namespace threatmesh::crypto
