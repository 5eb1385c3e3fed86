#include "crypto/cryptopan.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <random>

namespace threatmesh::crypto {
namespace {

// The sample key of the Crypto-PAn reference distribution.
const unsigned char kSampleKey[32] = {21,  34, 23,  141, 51, 164, 207, 128, 19,  10,  91,
                                      22,  73, 144, 125, 16, 216, 152, 143, 131, 121, 121,
                                      101, 39, 98,  87,  76, 45,  42,  132, 34,  2};

CryptoPan Sample() {
  return *CryptoPan::Create(std::string_view(reinterpret_cast<const char*>(kSampleKey), 32));
}

// Address pairs from the sample trace of the Crypto-PAn reference distribution
// (sample_trace_raw.dat and sample_trace_sanitized.dat), as other implementations test them.
TEST(CryptoPanTest, ReproducesTheReferenceSampleTrace) {
  const std::pair<const char*, const char*> vectors[] = {
      {"128.11.68.132", "135.242.180.132"},   {"129.118.74.4", "134.136.186.123"},
      {"130.132.252.244", "133.68.164.234"},  {"141.223.7.43", "141.167.8.160"},
      {"141.233.145.108", "141.129.237.235"}, {"152.163.225.39", "151.140.114.167"},
      {"156.29.3.236", "147.225.12.42"},      {"165.247.96.84", "162.9.99.234"},
      {"166.107.77.190", "160.132.178.185"},  {"192.102.249.13", "252.138.62.131"},
      {"192.215.32.125", "252.43.47.189"},    {"192.233.80.103", "252.25.108.8"},
      {"192.41.57.43", "252.222.221.184"},    {"193.150.244.223", "253.169.52.216"},
      {"195.205.63.100", "255.186.223.5"},
  };
  CryptoPan pan = Sample();
  for (const auto& [in, want] : vectors) {
    absl::StatusOr<std::string> got = pan.AnonymizeText(in);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, want) << in;
  }
}

int SharedPrefix(const std::string& a, const std::string& b) {
  for (std::size_t i = 0; i < a.size() * 8; ++i) {
    const int x = (static_cast<unsigned char>(a[i / 8]) >> (7 - i % 8)) & 1;
    const int y = (static_cast<unsigned char>(b[i / 8]) >> (7 - i % 8)) & 1;
    if (x != y) return static_cast<int>(i);
  }
  return static_cast<int>(a.size() * 8);
}

// Random pairs built to share a prefix of every length: the pseudonyms share exactly as
// many leading bits, for IPv4 and IPv6, and equal inputs give equal outputs.
TEST(CryptoPanTest, PreservesTheSharedPrefixLength) {
  std::mt19937_64 rng(7);
  std::string key(32, '\0');
  for (char& c : key) c = static_cast<char>(rng());
  CryptoPan pan = *CryptoPan::Create(key);
  for (std::size_t size : {4u, 16u}) {
    for (int round = 0; round < 400; ++round) {
      std::string a(size, '\0'), b(size, '\0');
      for (std::size_t i = 0; i < size; ++i) a[i] = static_cast<char>(rng());
      const int prefix = static_cast<int>(rng() % (size * 8 + 1));
      b = a;
      if (prefix < static_cast<int>(size * 8)) {
        // Keep `prefix` bits, flip the next one, randomize the rest.
        for (std::size_t i = static_cast<std::size_t>(prefix) + 1; i < size * 8; ++i) {
          if (rng() & 1) b[i / 8] = static_cast<char>(b[i / 8] ^ (0x80 >> (i % 8)));
        }
        b[prefix / 8] = static_cast<char>(b[prefix / 8] ^ (0x80 >> (prefix % 8)));
      }
      ASSERT_EQ(SharedPrefix(a, b), prefix);
      const std::string pa = pan.Anonymize(a), pb = pan.Anonymize(b);
      ASSERT_EQ(pa.size(), size);
      EXPECT_EQ(SharedPrefix(pa, pb), prefix) << "size " << size << " round " << round;
      EXPECT_EQ(pan.Anonymize(a), pa);
    }
  }
}

TEST(CryptoPanTest, KeysAndInputsOutsideTheDomainAreRefused) {
  EXPECT_EQ(CryptoPan::Create("short").status().code(), absl::StatusCode::kInvalidArgument);
  CryptoPan pan = Sample();
  EXPECT_EQ(pan.AnonymizeText("10.0.0.999").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pan.AnonymizeText("host.example").status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::string> v6 = pan.AnonymizeText("fd00::1");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_NE(*v6, "fd00::1");
  // The key id names the key, stably, without being the key.
  EXPECT_EQ(pan.key_id().size(), 16u);
  EXPECT_EQ(pan.key_id(), Sample().key_id());
  EXPECT_NE(pan.key_id(), CryptoPan::Create(std::string(32, 'k'))->key_id());
}

}  // namespace
}  // namespace threatmesh::crypto
