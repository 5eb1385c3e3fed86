#include "node/core/indicator.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace threatmesh {
namespace {

using threatmesh::v1::IndicatorType;

struct Accepted {
  std::string type;
  std::string input;
  std::string normalized;
};

struct Refused {
  std::string type;
  std::string input;
  std::string message_part;  // the rule the message must name
};

// Test names show the case, not the parameter's bytes.
void PrintTo(const Accepted& c, std::ostream* os) { *os << c.type << " " << c.input; }
void PrintTo(const Refused& c, std::ostream* os) { *os << c.type << " " << c.message_part; }

class NormalizeAcceptedTest : public ::testing::TestWithParam<Accepted> {};

TEST_P(NormalizeAcceptedTest, Normalizes) {
  const Accepted& c = GetParam();
  absl::StatusOr<IndicatorType> type = ParseIndicatorType(c.type);
  ASSERT_TRUE(type.ok()) << type.status();
  absl::StatusOr<std::string> got = NormalizeIndicator(*type, c.input);
  ASSERT_TRUE(got.ok()) << c.type << " " << c.input << ": " << got.status();
  EXPECT_EQ(*got, c.normalized);
  // Normalization is idempotent: the normalized form is accepted unchanged.
  absl::StatusOr<std::string> again = NormalizeIndicator(*type, *got);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *got);
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, NormalizeAcceptedTest,
    ::testing::Values(
        Accepted{"domain", "Evil.Example.COM.", "evil.example.com"},
        Accepted{"domain", "xn--bcher-kva.example", "xn--bcher-kva.example"},
        Accepted{"domain", "_dmarc.example.org", "_dmarc.example.org"},
        Accepted{"domain", "a-b.c", "a-b.c"}, Accepted{"ipv4", "192.0.2.1", "192.0.2.1"},
        Accepted{"ipv4", "0.0.0.0", "0.0.0.0"},
        Accepted{"ipv6", "2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
        Accepted{"ipv6", "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
        Accepted{"ipv6", "::ffff:192.0.2.1", "::ffff:192.0.2.1"}, Accepted{"ipv6", "::", "::"},
        Accepted{"cidr", "10.1.2.3/8", "10.0.0.0/8"},
        Accepted{"cidr", "192.0.2.0/24", "192.0.2.0/24"},
        Accepted{"cidr", "0.0.0.0/0", "0.0.0.0/0"},
        Accepted{"cidr", "192.0.2.7/32", "192.0.2.7/32"},
        Accepted{"cidr", "2001:DB8::1/32", "2001:db8::/32"},
        Accepted{"url", "HTTP://Evil.Example.COM/Path?Q=A#F", "http://evil.example.com/Path?Q=A#F"},
        Accepted{"url", "https://user@EXAMPLE.org:8443/x", "https://user@example.org:8443/x"},
        Accepted{"url", "http://[2001:DB8::1]:80/", "http://[2001:db8::1]:80/"},
        Accepted{"url", "http://192.0.2.1/a", "http://192.0.2.1/a"},
        Accepted{"url", "http://intranet/x", "http://intranet/x"},
        Accepted{"email", "Alice.Smith@Example.COM", "Alice.Smith@example.com"},
        Accepted{"asn", "AS64500", "AS64500"}, Accepted{"asn", "as064500", "AS64500"},
        Accepted{"asn", "4294967295", "AS4294967295"},
        Accepted{"md5", "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"},
        Accepted{"sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                 "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        Accepted{"sha256", std::string(64, 'A'), std::string(64, 'a')},
        Accepted{"ja3", "E7D705A3286E19EA42F587B344EE6865", "e7d705a3286e19ea42f587b344ee6865"},
        Accepted{"user-agent", "  Mozilla/5.0 (evil)  ", "Mozilla/5.0 (evil)"},
        Accepted{"USER_AGENT", "curl/8.0", "curl/8.0"}));

// Four 63-character labels and "com": every label valid, 259 characters in all.
std::string LongDomain() {
  std::string d;
  for (int i = 0; i < 4; ++i) d += std::string(63, 'a') + ".";
  return d + "com";
}

class NormalizeRefusedTest : public ::testing::TestWithParam<Refused> {};

TEST_P(NormalizeRefusedTest, RefusesNamingTheRule) {
  const Refused& c = GetParam();
  absl::StatusOr<IndicatorType> type = ParseIndicatorType(c.type);
  ASSERT_TRUE(type.ok()) << type.status();
  absl::StatusOr<std::string> got = NormalizeIndicator(*type, c.input);
  ASSERT_FALSE(got.ok()) << c.type << " \"" << c.input << "\" gave " << *got;
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(got.status().message().find(c.message_part), std::string::npos)
      << "message: " << got.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, NormalizeRefusedTest,
    ::testing::Values(
        Refused{"domain", "", "is empty"}, Refused{"domain", "example..com", "empty label"},
        Refused{"domain", std::string(64, 'a') + ".com", "over 63"},
        Refused{"domain", LongDomain(), "longer than 253"},
        Refused{"domain", "exa mple.com", "allowed are"},
        Refused{"domain", "-bad.example.com", "starts or ends with '-'"},
        Refused{"domain", "localhost", "single label"},
        Refused{"domain", "192.0.2.1", "numeric label"},
        Refused{"domain",
                "b\xc3\xbc"
                "cher.example",
                "punycode"},
        Refused{"ipv4", "1.2.3", "dotted-quad"}, Refused{"ipv4", "01.2.3.4", "dotted-quad"},
        Refused{"ipv4", "256.1.1.1", "dotted-quad"}, Refused{"ipv4", "2001:db8::1", "dotted-quad"},
        Refused{"ipv6", "fe80::1%eth0", "zone id"},
        Refused{"ipv6", "2001:db8:::1", "not an IPv6 address"},
        Refused{"ipv6", "192.0.2.1", "not an IPv6 address"},
        Refused{"cidr", "10.0.0.0", "no /prefix"},
        Refused{"cidr", "10.0.0.0/33", "more than the 32 bits"},
        Refused{"cidr", "2001:db8::/129", "more than the 128 bits"},
        Refused{"cidr", "10.0.0.0/x", "not a decimal"},
        Refused{"cidr", "10.0.0.0/08", "not a decimal"}, Refused{"cidr", "nope/8", "IPv4 or IPv6"},
        Refused{"url", "evil.example.com/path", "absolute URL"},
        Refused{"url", "http://evil example.com/", "white space"},
        Refused{"url", "http:///path", "no host"},
        Refused{"url", "http://exa..mple.com/", "bad host"},
        Refused{"url", "http://example.com:http/", "port"},
        Refused{"url", "1http://example.com/", "scheme"},
        Refused{"email", "no-at-sign.example.com", "local@domain"},
        Refused{"email", "@example.com", "local@domain"},
        Refused{"email", "a b@example.com", "white space"},
        Refused{"email", "alice@localhost", "bad domain"}, Refused{"asn", "AS", "not an AS number"},
        Refused{"asn", "ASX1", "not an AS number"},
        Refused{"asn", "4294967296", "above 4294967295"},
        Refused{"md5", "d41d8cd98f00b204e9800998ecf8427", "expected 32 hex"},
        Refused{"md5", "g41d8cd98f00b204e9800998ecf8427e", "not a hex digit"},
        Refused{"sha1", std::string(39, 'a'), "expected 40 hex"},
        Refused{"sha256", std::string(65, 'a'), "expected 64 hex"},
        Refused{"ja3", "xyz", "expected 32 hex"}, Refused{"user-agent", "   ", "is empty"},
        Refused{"user-agent", "curl\n/8.0", "control character"},
        Refused{"user-agent", std::string(1025, 'a'), "longer than 1024"}));

TEST(IndicatorTypeTest, NamesRoundTripAndUnknownIsExplained) {
  for (const char* name : {"ipv4", "ipv6", "cidr", "domain", "url", "email", "md5", "sha1",
                           "sha256", "asn", "ja3", "user-agent"}) {
    absl::StatusOr<IndicatorType> t = ParseIndicatorType(name);
    ASSERT_TRUE(t.ok()) << name;
    EXPECT_EQ(IndicatorTypeName(*t), name);
  }
  absl::StatusOr<IndicatorType> bad = ParseIndicatorType("hostname");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("use one of ipv4, ipv6"), std::string::npos);
  EXPECT_FALSE(NormalizeIndicator(threatmesh::v1::INDICATOR_TYPE_UNSPECIFIED, "x").ok());
}

}  // namespace
}  // namespace threatmesh
