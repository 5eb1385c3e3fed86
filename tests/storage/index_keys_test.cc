#include "storage/index_keys.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "crypto/encoding.h"

namespace threatmesh::storage {
namespace {

TEST(IndexKeysTest, SeqAndTimeEncodingsSortNumerically) {
  EXPECT_EQ(DecodeSeq(EncodeSeq(0x0102030405060708ull)), 0x0102030405060708ull);
  EXPECT_LT(EncodeSeq(255), EncodeSeq(256));
  const std::vector<int64_t> times = {INT64_MIN, -1000, -1, 0, 1, 1000, INT64_MAX};
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    EXPECT_LT(EncodeTime(times[i]), EncodeTime(times[i + 1])) << times[i];
  }
}

TEST(IndexKeysTest, DomainPrefixReversesLabels) {
  EXPECT_EQ(DomainPrefix("a.b.example.com"), "com.example.b.a.");
  EXPECT_EQ(DomainPrefix("example.com"), "com.example.");
  // A suffix query must not match a sibling that merely shares characters.
  const std::string query = DomainPrefix("example.com");
  EXPECT_EQ(DomainPrefix("x.example.com").rfind(query, 0), 0u);
  EXPECT_NE(DomainPrefix("notexample.com").rfind(query, 0), 0u);
  EXPECT_NE(DomainPrefix("example.com.evil.net").rfind(query, 0), 0u);
}

TEST(IndexKeysTest, CidrPrefixClearsHostBits) {
  std::optional<IpAddress> ip = ParseIp("10.1.2.3");
  ASSERT_TRUE(ip.has_value());
  EXPECT_EQ(ip->family, 4);
  EXPECT_EQ(crypto::HexEncode(CidrPrefix(*ip, 8)), "04080a000000");
  EXPECT_EQ(crypto::HexEncode(CidrPrefix(*ip, 32)), "04200a010203");
  EXPECT_EQ(crypto::HexEncode(CidrPrefix(*ip, 0)), "040000000000");
  EXPECT_EQ(crypto::HexEncode(CidrPrefix(*ParseIp("10.1.2.3"), 15)),
            crypto::HexEncode(CidrPrefix(*ParseIp("10.0.255.255"), 15)));
  std::optional<IpAddress> v6 = ParseIp("2001:db8::1");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->family, 6);
  EXPECT_EQ(CidrPrefix(*v6, 32).size(), 18u);
  EXPECT_FALSE(ParseIp("not-an-ip").has_value());
}

TEST(IndexKeysTest, IndexEntriesOfAnIndicator) {
  threatmesh::v1::RecordBody body;
  body.set_author(std::string(32, 'A'));
  body.set_created_at(5);
  body.add_labels("t1");
  body.add_labels("t1");  // a repeated label yields one entry
  body.add_labels("t2");
  body.mutable_indicator()->set_type(threatmesh::v1::INDICATOR_TYPE_URL);
  body.mutable_indicator()->set_value("http://user@www.example.com:8080/x");
  std::vector<IndexEntry> entries = IndexEntriesFor(body, 7);
  auto count = [&](ColumnFamily f) {
    return std::count_if(entries.begin(), entries.end(),
                         [f](const IndexEntry& e) { return e.family == f; });
  };
  EXPECT_EQ(count(kIndexIndicator), 1);
  EXPECT_EQ(count(kIndexDomain), 1);
  EXPECT_EQ(count(kIndexCidr), 0);
  EXPECT_EQ(count(kIndexAuthorTime), 1);
  EXPECT_EQ(count(kIndexTag), 2);
  EXPECT_EQ(count(kIndexKind), 1);
  // Every entry is prefix || sequence.
  for (const IndexEntry& e : entries) {
    EXPECT_EQ(DecodeSeq(std::string_view(e.key).substr(e.key.size() - 8)), 7u);
    if (e.family == kIndexDomain) {
      EXPECT_EQ(e.key, DomainPrefix("www.example.com") + '\0' + EncodeSeq(7));
    }
    if (e.family == kIndexKind) {
      EXPECT_EQ(e.key, KindPrefix(RecordKind::kIndicator) + EncodeSeq(7));
    }
    if (e.family == kIndexAuthorTime) {
      EXPECT_EQ(e.key, AuthorTimePrefix(std::string(32, 'A'), 5) + EncodeSeq(7));
    }
  }
}

TEST(IndexKeysTest, PrefixesAreEntriesWithoutTheSequence) {
  threatmesh::v1::RecordBody body;
  body.set_author(std::string(32, 'A'));
  body.add_labels("t1");
  body.mutable_indicator()->set_type(threatmesh::v1::INDICATOR_TYPE_DOMAIN);
  body.mutable_indicator()->set_value("a.example.com");
  std::vector<IndexEntry> prefixes = IndexPrefixesFor(body);
  std::vector<IndexEntry> entries = IndexEntriesFor(body, 42);
  ASSERT_EQ(prefixes.size(), entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(prefixes[i].family, entries[i].family);
    EXPECT_EQ(prefixes[i].key + EncodeSeq(42), entries[i].key);
  }
}

// Only names go to the domain index: a URL or e-mail whose host is an address does not,
// while a name made only of hexadecimal letters and digits does.
TEST(IndexKeysTest, DomainIndexTakesNamesNotAddresses) {
  struct Case {
    threatmesh::v1::IndicatorType type;
    std::string value;
    int domain_entries;
  };
  const Case cases[] = {
      {threatmesh::v1::INDICATOR_TYPE_URL, "http://10.1.2.3/x", 0},
      {threatmesh::v1::INDICATOR_TYPE_URL, "http://[2001:db8::1]:8080/x", 0},
      {threatmesh::v1::INDICATOR_TYPE_EMAIL, "a@192.0.2.1", 0},
      {threatmesh::v1::INDICATOR_TYPE_DOMAIN, "dead.beef", 1},
      {threatmesh::v1::INDICATOR_TYPE_DOMAIN, "cafe.0a", 1},
      {threatmesh::v1::INDICATOR_TYPE_URL, "https://dead.be:443/", 1},
      {threatmesh::v1::INDICATOR_TYPE_EMAIL, "a@mail.example.org", 1},
  };
  for (const Case& c : cases) {
    threatmesh::v1::RecordBody body;
    body.mutable_indicator()->set_type(c.type);
    body.mutable_indicator()->set_value(c.value);
    std::vector<IndexEntry> entries = IndexPrefixesFor(body);
    EXPECT_EQ(std::count_if(entries.begin(), entries.end(),
                            [](const IndexEntry& e) { return e.family == kIndexDomain; }),
              c.domain_entries)
        << c.value;
  }
}

}  // namespace
}  // namespace threatmesh::storage
