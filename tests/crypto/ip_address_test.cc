#include "crypto/ip_address.h"

#include <gtest/gtest.h>

#include <string>

namespace threatmesh::crypto {
namespace {

TEST(IpAddressTest, ParsesBothFamiliesByInetPtonRules) {
  std::optional<IpAddress> v4 = ParseIp("192.0.2.1");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family, 4);
  EXPECT_EQ(v4->bytes, std::string("\xc0\x00\x02\x01", 4));
  EXPECT_EQ(v4->bits(), 32);
  std::optional<IpAddress> v6 = ParseIp("2001:DB8:0:0::1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family, 6);
  EXPECT_EQ(v6->bytes.size(), 16u);
  EXPECT_EQ(FormatIp(*v6), "2001:db8::1");  // RFC 5952
  EXPECT_EQ(FormatIp(*ParseIp("::ffff:192.0.2.1")), "::ffff:192.0.2.1");
}

TEST(IpAddressTest, RefusesWhatIsNotExactlyAnAddress) {
  for (std::string bad : {"", "1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1", "1.2.3.4 ",
                          "fe80::1%eth0", "2001:db8::1::2", "host.example", "1.2.3.4/8"}) {
    EXPECT_FALSE(ParseIp(bad)) << bad;
  }
  // A NUL would end the C string inet_pton reads: "1.2.3.4\0junk" is not an address.
  EXPECT_FALSE(ParseIp(std::string("1.2.3.4\0junk", 12)));
  EXPECT_FALSE(ParseIp(std::string(100, '1')));
}

}  // namespace
}  // namespace threatmesh::crypto
