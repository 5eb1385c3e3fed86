#include "storage/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "crypto/encoding.h"
#include "rocksdb/db.h"
#include "storage/column_families.h"
#include "storage/index_keys.h"
#include "testing/test_util.h"

namespace threatmesh::storage {
namespace {

using testing::IndicatorBody;
using testing::kTestNowMs;
using testing::ToStore;
using threatmesh::v1::IndicatorType;
using threatmesh::v1::RecordBody;

std::unique_ptr<Store> OpenOrDie(const std::string& dir, bool create = true) {
  StoreOptions options;
  options.create_if_missing = create;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir, options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

using Handles = std::vector<rocksdb::ColumnFamilyHandle*>;

// Opens the closed store in `dir` with RocksDB alone, for `edit` to make it look like a
// store of an older build.
void EditRaw(const std::string& dir, const std::function<void(rocksdb::DB&, Handles&)>& edit) {
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (std::string_view name : kColumnFamilyNames)
    families.emplace_back(std::string(name), rocksdb::ColumnFamilyOptions());
  Handles handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir, families, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  edit(*db, handles);
  for (rocksdb::ColumnFamilyHandle* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
}

// Every id a paged query yields, following continuation tokens with pages of `limit`.
using Query = std::function<absl::StatusOr<Page>(const PageRequest&)>;
std::vector<std::string> CollectAll(const Query& query, std::size_t limit) {
  std::vector<std::string> all;
  PageRequest request{limit, ""};
  for (int pages = 0; pages < 1000; ++pages) {
    absl::StatusOr<Page> page = query(request);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    EXPECT_LE(page->ids.size(), limit);
    all.insert(all.end(), page->ids.begin(), page->ids.end());
    if (page->next_token.empty()) break;
    request.token = page->next_token;
  }
  return all;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = OpenOrDie(dir_.Sub("store")); }

  // Stores an indicator and returns its id, named for the tests.
  std::string Add(const std::string& name, IndicatorType type, const std::string& value,
                  const crypto::KeyPair& key, int64_t created_at,
                  std::vector<std::string> labels = {}) {
    RecordBody body = IndicatorBody(key, type, value, created_at);
    for (const std::string& l : labels) body.add_labels(l);
    RecordToStore record = ToStore(body, key);
    std::string id = record.id;
    absl::StatusOr<uint64_t> seq = store_->Put(std::move(record));
    EXPECT_TRUE(seq.ok()) << seq.status();
    names_[id] = name;
    return id;
  }

  std::string AddSighting(const std::string& name, IndicatorType type, const std::string& value,
                          const crypto::KeyPair& key) {
    RecordBody body = IndicatorBody(key, type, value);
    auto* s = body.mutable_sighting();
    s->set_type(type);
    s->set_value(value);
    s->set_count(2);
    RecordToStore record = ToStore(body, key);
    std::string id = record.id;
    EXPECT_TRUE(store_->Put(std::move(record)).ok());
    names_[id] = name;
    return id;
  }

  // The names of the ids, to compare with expectations readably.
  std::vector<std::string> Names(const std::vector<std::string>& ids) {
    std::vector<std::string> out;
    for (const std::string& id : ids) out.push_back(names_.count(id) ? names_[id] : "?");
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::map<std::string, std::string> names_;
};

TEST_F(StoreTest, PutGetAndDuplicateRewritesNothing) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  RecordToStore record =
      ToStore(IndicatorBody(key, threatmesh::v1::INDICATOR_TYPE_DOMAIN, "evil.example.com"), key);
  const std::string id = record.id;
  const std::string bytes = record.signed_bytes;
  EXPECT_FALSE(*store_->Contains(id));
  EXPECT_EQ(store_->Get(id).status().code(), absl::StatusCode::kNotFound);

  absl::StatusOr<uint64_t> seq = store_->Put(record);
  ASSERT_TRUE(seq.ok()) << seq.status();
  EXPECT_EQ(*seq, 1u);
  EXPECT_TRUE(*store_->Contains(id));
  EXPECT_EQ(*store_->Get(id), bytes);
  absl::StatusOr<threatmesh::v1::CustodyChains> custody = store_->GetCustody(id);
  ASSERT_TRUE(custody.ok());
  ASSERT_EQ(custody->chains_size(), 1);
  EXPECT_EQ(custody->chains(0).hops_size(), 0);

  // The same id again, even with a different chain, is refused and changes nothing.
  RecordToStore again = record;
  again.chain.add_hops()->set_payload("a hop");
  absl::StatusOr<uint64_t> dup = store_->Put(again);
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(dup.status().message().find(crypto::HexEncode(id)), std::string::npos);
  EXPECT_EQ(store_->GetCustody(id)->chains(0).hops_size(), 0);
  EXPECT_EQ(store_->NextSeq(), 2u);
  absl::StatusOr<LogPage> log = store_->ReadLog(1, 0);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->entries.size(), 1u);
  EXPECT_EQ(log->entries[0].id, id);
  EXPECT_EQ(log->next_seq, 2u);
}

TEST_F(StoreTest, CustodyChainIsStoredWithTheRecord) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  RecordToStore record =
      ToStore(IndicatorBody(key, threatmesh::v1::INDICATOR_TYPE_IPV4, "192.0.2.1"), key);
  record.chain.add_hops()->set_payload("hop0");
  record.chain.add_hops()->set_payload("hop1");
  const std::string id = record.id;
  ASSERT_TRUE(store_->Put(std::move(record)).ok());
  absl::StatusOr<threatmesh::v1::CustodyChains> custody = store_->GetCustody(id);
  ASSERT_TRUE(custody.ok());
  ASSERT_EQ(custody->chains(0).hops_size(), 2);
  EXPECT_EQ(custody->chains(0).hops(1).payload(), "hop1");
}

// A query of the store, what it must find, and whether in that order.
struct QueryCase {
  std::string name;
  Query query;
  std::vector<std::string> want;  // in order when ordered, else sorted
  bool ordered;
};

// Exact values and domain suffixes.
std::vector<QueryCase> ValueCases(Store* s) {
  using IT = IndicatorType;
  return {
      {"exact domain",
       [s](const PageRequest& p) {
         return s->FindIndicator(IT::INDICATOR_TYPE_DOMAIN, "example.com", p);
       },
       {"B"},
       false},
      {"exact ipv4 with sighting",
       [s](const PageRequest& p) {
         return s->FindIndicator(IT::INDICATOR_TYPE_IPV4, "10.1.2.3", p);
       },
       {"G", "L"},
       false},
      {"exact, none",
       [s](const PageRequest& p) { return s->FindIndicator(IT::INDICATOR_TYPE_MD5, "00", p); },
       {},
       false},
      {"suffix example.com",
       [s](const PageRequest& p) { return s->FindDomainSuffix("example.com", p); },
       {"A", "B", "D", "E"},
       false},
      {"suffix b.example.com",
       [s](const PageRequest& p) { return s->FindDomainSuffix("b.example.com", p); },
       {"A"},
       false},
      {"suffix com",
       [s](const PageRequest& p) { return s->FindDomainSuffix("com", p); },
       {"A", "B", "C", "D", "E"},
       false},
  };
}

// Addresses and networks: the ranges that contain them, narrowest last.
std::vector<QueryCase> IpCases(Store* s) {
  return {
      {"ip in 10.1.2.3",
       [s](const PageRequest& p) { return s->FindContainingIp("10.1.2.3", p); },
       {"F", "H", "G"},
       true},
      {"ip in 10.2.0.1",
       [s](const PageRequest& p) { return s->FindContainingIp("10.2.0.1", p); },
       {"F"},
       true},
      {"ip in 172.16.0.1",
       [s](const PageRequest& p) { return s->FindContainingIp("172.16.0.1", p); },
       {},
       true},
      {"network 10.1.0.0/16",
       [s](const PageRequest& p) { return s->FindContainingIp("10.1.0.0/16", p); },
       {"F", "H"},
       true},
      {"ipv6",
       [s](const PageRequest& p) { return s->FindContainingIp("2001:db8::1", p); },
       {"K", "J"},
       true},
  };
}

// Authors (with a time window), tags and kinds.
std::vector<QueryCase> AuthorTagKindCases(Store* s, const std::string& a, int64_t t0) {
  return {
      {"author alice, all time",
       [s, a](const PageRequest& p) { return s->FindByAuthor(a, 0, INT64_MAX, p); },
       {"A", "B", "E", "F", "H", "I", "K", "M", "L"},
       true},
      {"author alice, window",
       [s, a, t0](const PageRequest& p) { return s->FindByAuthor(a, t0 + 2, t0 + 9, p); },
       {"B", "E", "F", "H"},
       true},
      {"tag apt1",
       [s](const PageRequest& p) { return s->FindByTag("apt1", p); },
       {"A", "B", "D"},
       false},
      {"tag x", [s](const PageRequest& p) { return s->FindByTag("x", p); }, {"A", "G"}, false},
      {"tag none", [s](const PageRequest& p) { return s->FindByTag("apt", p); }, {}, false},
      {"kind indicator",
       [s](const PageRequest& p) { return s->FindByKind(RecordKind::kIndicator, p); },
       {"A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "M"},
       true},
      {"kind sighting",
       [s](const PageRequest& p) { return s->FindByKind(RecordKind::kSighting, p); },
       {"L"},
       true},
  };
}

TEST_F(StoreTest, EveryQueryReturnsExactlyTheExpectedIdsAcrossTokens) {
  crypto::KeyPair alice = crypto::KeyPair::Generate();
  crypto::KeyPair bob = crypto::KeyPair::Generate();
  const int64_t t0 = kTestNowMs - 100000;
  using IT = IndicatorType;
  Add("A", IT::INDICATOR_TYPE_DOMAIN, "a.b.example.com", alice, t0 + 1, {"apt1", "x"});
  Add("B", IT::INDICATOR_TYPE_DOMAIN, "example.com", alice, t0 + 2, {"apt1"});
  Add("C", IT::INDICATOR_TYPE_DOMAIN, "notexample.com", bob, t0 + 3);
  Add("D", IT::INDICATOR_TYPE_URL, "http://www.example.com/x", bob, t0 + 4, {"apt1"});
  Add("E", IT::INDICATOR_TYPE_EMAIL, "bob@mail.example.com", alice, t0 + 5);
  Add("F", IT::INDICATOR_TYPE_CIDR, "10.0.0.0/8", alice, t0 + 6);
  Add("G", IT::INDICATOR_TYPE_IPV4, "10.1.2.3", bob, t0 + 7, {"x"});
  Add("H", IT::INDICATOR_TYPE_CIDR, "10.1.0.0/16", alice, t0 + 8);
  Add("I", IT::INDICATOR_TYPE_CIDR, "192.168.0.0/16", alice, t0 + 9);
  Add("J", IT::INDICATOR_TYPE_IPV6, "2001:db8::1", bob, t0 + 10);
  Add("K", IT::INDICATOR_TYPE_CIDR, "2001:db8::/32", alice, t0 + 11);
  Add("M", IT::INDICATOR_TYPE_IPV4, "10.1.2.4", alice, t0 + 12);
  AddSighting("L", IT::INDICATOR_TYPE_IPV4, "10.1.2.3", alice);

  std::vector<QueryCase> cases = ValueCases(store_.get());
  for (QueryCase& c : IpCases(store_.get())) cases.push_back(std::move(c));
  for (QueryCase& c :
       AuthorTagKindCases(store_.get(), std::string(alice.public_key().bytes()), t0)) {
    cases.push_back(std::move(c));
  }
  for (const QueryCase& c : cases) {
    for (std::size_t limit : {1, 2, 3, 100}) {
      std::vector<std::string> got = Names(CollectAll(c.query, limit));
      std::vector<std::string> want = c.want;
      if (!c.ordered) {
        std::sort(got.begin(), got.end());
        std::sort(want.begin(), want.end());
      }
      EXPECT_EQ(got, want) << c.name << " with pages of " << limit;
    }
  }
}

TEST_F(StoreTest, LastPageHasNoTokenAndFullPageHasOne) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  for (int i = 0; i < 4; ++i) {
    Add("r", IndicatorType::INDICATOR_TYPE_IPV4, "192.0.2." + std::to_string(i), key,
        kTestNowMs - 10 + i, {"t"});
  }
  absl::StatusOr<Page> first = store_->FindByTag("t", {2, ""});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->ids.size(), 2u);
  EXPECT_FALSE(first->next_token.empty());
  absl::StatusOr<Page> second = store_->FindByTag("t", {2, first->next_token});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->ids.size(), 2u);
  EXPECT_TRUE(second->next_token.empty());
  absl::StatusOr<Page> exact = store_->FindByTag("t", {4, ""});
  EXPECT_TRUE(exact->next_token.empty());
}

TEST_F(StoreTest, BadTokensAndLimitsAreInvalidArgument) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  Add("a", IndicatorType::INDICATOR_TYPE_DOMAIN, "a.example.com", key, kTestNowMs - 5, {"t"});
  Add("b", IndicatorType::INDICATOR_TYPE_DOMAIN, "b.example.com", key, kTestNowMs - 4, {"t"});
  absl::StatusOr<Page> page = store_->FindByTag("t", {1, ""});
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->next_token.empty());
  struct Case {
    std::string name;
    absl::StatusOr<Page> result;
  };
  const std::vector<Case> cases = {
      {"garbage token", store_->FindByTag("t", {1, "zz-not-hex"})},
      {"token of another query", store_->FindByTag("u", {1, page->next_token})},
      {"token of another index", store_->FindDomainSuffix("example.com", {1, page->next_token})},
      {"ip token of another family",
       store_->FindContainingIp("2001:db8::1", {1, page->next_token})},
      {"limit above maximum", store_->FindByTag("t", {kMaxLimit + 1, ""})},
      {"bad ip", store_->FindContainingIp("10.0.0.300", {})},
      {"bad prefix", store_->FindContainingIp("10.0.0.0/33", {})},
      {"empty tag", store_->FindByTag("", {})},
      {"short author", store_->FindByAuthor("abc", 0, 1, {})},
      {"reversed range", store_->FindByAuthor(std::string(32, 'a'), 2, 1, {})},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.result.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_FALSE(c.result.status().message().empty()) << c.name;
  }
}

TEST_F(StoreTest, ChangeFeedIsGapFreeAndPaged) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    ids.push_back(Add("r", IndicatorType::INDICATOR_TYPE_IPV4, "198.51.100." + std::to_string(i),
                      key, kTestNowMs - 100 + i));
  }
  std::vector<std::string> read;
  uint64_t from = 1;
  for (int round = 0; round < 10 && read.size() < ids.size(); ++round) {
    absl::StatusOr<LogPage> page = store_->ReadLog(from, 3);
    ASSERT_TRUE(page.ok());
    for (const LogEntry& e : page->entries) {
      EXPECT_EQ(e.seq, read.size() + 1);
      read.push_back(e.id);
    }
    from = page->next_seq;
  }
  EXPECT_EQ(read, ids);
  absl::StatusOr<LogPage> tail = store_->ReadLog(from, 3);
  ASSERT_TRUE(tail.ok());
  EXPECT_TRUE(tail->entries.empty());
  EXPECT_EQ(tail->next_seq, 11u);
}

// Each log entry keeps when it was committed, by the wall clock in microseconds, later than
// every entry before it (records committed together too); a reopened store goes on from the
// last entry's time.
TEST_F(StoreTest, TheChangeFeedKeepsWhenEachRecordWasAdded) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  auto now_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t before = now_us();
  for (int i = 0; i < 5; ++i) {
    Add("d" + std::to_string(i), threatmesh::v1::INDICATOR_TYPE_DOMAIN,
        "d" + std::to_string(i) + ".example", key, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
  store_.reset();
  store_ = OpenOrDie(dir_.Sub("store"));
  Add("d5", threatmesh::v1::INDICATOR_TYPE_DOMAIN, "d5.example", key, 0);
  // Ten at once: one group, one commit.
  std::vector<Store::QueuedPut> puts;
  std::atomic<int> done{0};
  for (int i = 0; i < 10; ++i) {
    puts.push_back({ToStore(IndicatorBody(key, threatmesh::v1::INDICATOR_TYPE_DOMAIN,
                                          "g" + std::to_string(i) + ".example"),
                            key),
                    [&](absl::StatusOr<uint64_t> seq) {
                      EXPECT_TRUE(seq.ok()) << seq.status();
                      ++done;
                    }});
  }
  store_->PutAllAsync(std::move(puts));
  for (int i = 0; i < 500 && done.load() < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(done.load(), 10);
  const int64_t after = now_us();
  absl::StatusOr<LogPage> log = store_->ReadLog(1, 0);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->entries.size(), 16u);
  EXPECT_GE(log->entries[0].added_us, before);
  EXPECT_LE(log->entries[15].added_us, after);
  for (std::size_t i = 1; i < 16; ++i) {
    EXPECT_GT(log->entries[i].added_us, log->entries[i - 1].added_us) << i;
    EXPECT_EQ(log->entries[i].id.size(), 32u);
  }
}

// The UUID index finds each record by the UUID of its STIX ids, and is filled from the log
// when a store written before it had one is opened.
TEST_F(StoreTest, TheUuidIndexFindsRecordsAndIsFilledForOlderStores) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(Add("u" + std::to_string(i), IndicatorType::INDICATOR_TYPE_DOMAIN,
                      "u" + std::to_string(i) + ".example", key, kTestNowMs - 5));
  }
  auto check = [&] {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      absl::StatusOr<LogEntry> found = store_->FindByUuid(RecordUuid(ids[i]));
      ASSERT_TRUE(found.ok()) << found.status();
      EXPECT_EQ(found->id, ids[i]);
      EXPECT_EQ(found->seq, i + 1);
      EXPECT_GT(found->added_us, 0);
    }
    EXPECT_EQ(store_->FindByUuid(std::string(16, 'x')).status().code(),
              absl::StatusCode::kNotFound);
    EXPECT_EQ(store_->FindByUuid("short").status().code(), absl::StatusCode::kInvalidArgument);
  };
  ASSERT_NO_FATAL_FAILURE(check());
  // As a store of an older build: no UUID index, no mark that it is complete.
  store_.reset();
  ASSERT_NO_FATAL_FAILURE(EditRaw(dir_.Sub("store"), [&](rocksdb::DB& db, Handles& handles) {
    EXPECT_TRUE(db.DeleteRange(rocksdb::WriteOptions(), handles[kIndexUuid], std::string(16, '\0'),
                               std::string(17, '\xff'))
                    .ok());
    EXPECT_TRUE(db.Delete(rocksdb::WriteOptions(), handles[kMeta], "uuid_index").ok());
    std::string any;
    EXPECT_TRUE(
        db.Get(rocksdb::ReadOptions(), handles[kIndexUuid], RecordUuid(ids[0]) + EncodeSeq(1), &any)
            .IsNotFound());
  }));
  store_ = OpenOrDie(dir_.Sub("store"), /*create=*/false);
  ASSERT_NE(store_, nullptr);
  ASSERT_NO_FATAL_FAILURE(check());
}

// Records are counted by kind and TLP label as they are stored, in the same batch (so the
// counts survive a reopen), and a store of an older build, without the counts, gets them
// from its records at its first open.
TEST_F(StoreTest, CountsByKindAndTlpSurviveAReopenAndAreFilledForOlderStores) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  const std::pair<threatmesh::v1::Tlp, int> wanted[] = {
      {threatmesh::v1::TLP_GREEN, 3}, {threatmesh::v1::TLP_AMBER, 2}, {threatmesh::v1::TLP_RED, 1}};
  int n = 0;
  for (const auto& [tlp, count] : wanted) {
    for (int i = 0; i < count; ++i, ++n) {
      RecordBody body = IndicatorBody(key, IndicatorType::INDICATOR_TYPE_DOMAIN,
                                      "t" + std::to_string(n) + ".example", kTestNowMs - 5);
      body.set_tlp(tlp);
      if (tlp == threatmesh::v1::TLP_RED) {
        body.mutable_handling()->add_recipients(std::string(key.public_key().bytes()));
      }
      ASSERT_TRUE(store_->Put(ToStore(body, key)).ok());
    }
  }
  AddSighting("s", IndicatorType::INDICATOR_TYPE_DOMAIN, "t0.example", key);
  auto check = [&] {
    for (const auto& [tlp, count] : wanted) {
      EXPECT_EQ(store_->CountOf(RecordKind::kIndicator, tlp), static_cast<uint64_t>(count)) << tlp;
    }
    EXPECT_EQ(store_->CountOf(RecordKind::kIndicator, threatmesh::v1::TLP_CLEAR), 0u);
    EXPECT_EQ(store_->CountOf(RecordKind::kSighting, threatmesh::v1::TLP_GREEN), 1u);
    EXPECT_EQ(store_->CountOf(RecordKind::kSighting, threatmesh::v1::TLP_RED), 0u);
  };
  ASSERT_NO_FATAL_FAILURE(check());
  store_.reset();
  store_ = OpenOrDie(dir_.Sub("store"), /*create=*/false);
  ASSERT_NE(store_, nullptr);
  ASSERT_NO_FATAL_FAILURE(check());
  // As a store of an older build: no counts kept.
  store_.reset();
  ASSERT_NO_FATAL_FAILURE(EditRaw(dir_.Sub("store"), [](rocksdb::DB& db, Handles& handles) {
    EXPECT_TRUE(db.Delete(rocksdb::WriteOptions(), handles[kMeta], "kind_tlp_counts").ok());
  }));
  store_ = OpenOrDie(dir_.Sub("store"), /*create=*/false);
  ASSERT_NE(store_, nullptr);
  ASSERT_NO_FATAL_FAILURE(check());
  // And counting goes on from there.
  RecordBody more = IndicatorBody(key, IndicatorType::INDICATOR_TYPE_DOMAIN, "more.example");
  more.set_tlp(threatmesh::v1::TLP_RED);
  more.mutable_handling()->add_recipients(std::string(key.public_key().bytes()));
  ASSERT_TRUE(store_->Put(ToStore(more, key)).ok());
  EXPECT_EQ(store_->CountOf(RecordKind::kIndicator, threatmesh::v1::TLP_RED), 2u);
}

// Reads of several records at once answer each id at its place, held or not.
TEST_F(StoreTest, GetManyAndContainsManyAnswerEachIdAtItsPlace) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  const std::string a =
      Add("a", IndicatorType::INDICATOR_TYPE_DOMAIN, "a.example", key, kTestNowMs - 2);
  const std::string b =
      Add("b", IndicatorType::INDICATOR_TYPE_DOMAIN, "b.example", key, kTestNowMs - 1);
  const std::string absent(32, 'z');
  const std::vector<std::string_view> ids = {b, absent, a, b};
  std::vector<absl::StatusOr<bool>> held = store_->ContainsMany(ids);
  ASSERT_EQ(held.size(), 4u);
  EXPECT_TRUE(*held[0]);
  EXPECT_FALSE(*held[1]);
  EXPECT_TRUE(*held[2]);
  EXPECT_TRUE(*held[3]);
  std::vector<absl::StatusOr<std::string>> got = store_->GetMany(ids);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(*got[0], *store_->Get(b));
  EXPECT_EQ(got[1].status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*got[2], *store_->Get(a));
  EXPECT_TRUE(store_->ContainsMany({}).empty());
}

TEST_F(StoreTest, ReopenKeepsRecordsAndContinuesTheSequence) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  std::string id =
      Add("a", IndicatorType::INDICATOR_TYPE_DOMAIN, "a.example.com", key, kTestNowMs - 5);
  store_.reset();
  store_ = OpenOrDie(dir_.Sub("store"), /*create=*/false);
  ASSERT_NE(store_, nullptr);
  EXPECT_TRUE(*store_->Contains(id));
  EXPECT_EQ(store_->NextSeq(), 2u);
  absl::StatusOr<uint64_t> seq = store_->Put(
      ToStore(IndicatorBody(key, IndicatorType::INDICATOR_TYPE_DOMAIN, "b.example.com"), key));
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 2u);
  EXPECT_GT(store_->DiskSize(), 0u);
}

TEST_F(StoreTest, KindCountsFollowPutsAndSurviveReopen) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  Add("a", IndicatorType::INDICATOR_TYPE_DOMAIN, "a.example.com", key, kTestNowMs - 5);
  Add("b", IndicatorType::INDICATOR_TYPE_DOMAIN, "b.example.com", key, kTestNowMs - 4);
  AddSighting("s", IndicatorType::INDICATOR_TYPE_DOMAIN, "a.example.com", key);
  EXPECT_EQ(store_->CountOf(RecordKind::kIndicator), 2u);
  EXPECT_EQ(store_->CountOf(RecordKind::kSighting), 1u);
  EXPECT_EQ(store_->CountOf(RecordKind::kRetraction), 0u);
  store_.reset();
  store_ = OpenOrDie(dir_.Sub("store"), /*create=*/false);
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->CountOf(RecordKind::kIndicator), 2u);
  EXPECT_EQ(store_->CountOf(RecordKind::kSighting), 1u);
}

TEST_F(StoreTest, WaitForSeqWakesOnCommitAndTimesOut) {
  EXPECT_FALSE(store_->WaitForSeq(1, std::chrono::milliseconds(20)));
  crypto::KeyPair key = crypto::KeyPair::Generate();
  std::thread writer(
      [&] { Add("a", IndicatorType::INDICATOR_TYPE_DOMAIN, "a.example.com", key, kTestNowMs); });
  EXPECT_TRUE(store_->WaitForSeq(1, std::chrono::seconds(30)));
  writer.join();
  EXPECT_TRUE(store_->WaitForSeq(1, std::chrono::milliseconds(0)));
  EXPECT_FALSE(store_->WaitForSeq(2, std::chrono::milliseconds(0)));
}

// A follower that also waits for something else (the relay queue) is woken by Wake() once
// its counter moved, well before its timeout, and told the record is not there yet.
TEST_F(StoreTest, WaitForSeqOrWakesOnTheOtherCounter) {
  std::atomic<uint64_t> offered{0};
  EXPECT_FALSE(store_->WaitForSeqOr(1, std::chrono::milliseconds(20), offered, 0));
  std::thread offer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    offered = 1;
    store_->Wake();
  });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(store_->WaitForSeqOr(1, std::chrono::seconds(30), offered, 0));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  offer.join();
  // Already moved: returns at once.
  EXPECT_FALSE(store_->WaitForSeqOr(1, std::chrono::seconds(30), offered, 0));
  crypto::KeyPair key = crypto::KeyPair::Generate();
  Add("a", IndicatorType::INDICATOR_TYPE_DOMAIN, "a.example.com", key, kTestNowMs);
  EXPECT_TRUE(store_->WaitForSeqOr(1, std::chrono::seconds(30), offered, 1));
}

TEST_F(StoreTest, SideTablesPutGetScanDelete) {
  ASSERT_TRUE(store_->PutAux(kAudit, "e1", "one", /*sync=*/false).ok());
  ASSERT_TRUE(store_->PutAux(kAudit, "e2", "two", /*sync=*/true).ok());
  ASSERT_TRUE(store_->PutAux(kAudit, "f1", "other prefix", /*sync=*/false).ok());
  EXPECT_EQ(*store_->GetAux(kAudit, "e2"), "two");
  EXPECT_TRUE(absl::IsNotFound(store_->GetAux(kAudit, "e3").status()));

  auto all = store_->ScanAux(kAudit, "e", "", 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].first, "e1");
  EXPECT_EQ((*all)[1].second, "two");
  auto from = store_->ScanAux(kAudit, "e", "e2", 10);
  ASSERT_TRUE(from.ok());
  ASSERT_EQ(from->size(), 1u);
  EXPECT_EQ((*from)[0].first, "e2");
  EXPECT_EQ(store_->ScanAux(kAudit, "e", "", 1)->size(), 1u);

  auto last = store_->LastAux(kAudit, "e");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->first, "e2");
  EXPECT_TRUE(absl::IsNotFound(store_->LastAux(kAudit, "g").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->LastAux(kTokens, "").status()));

  ASSERT_TRUE(store_->DeleteAux(kAudit, "e2", /*sync=*/true).ok());
  EXPECT_EQ(store_->LastAux(kAudit, "e")->first, "e1");

  // Record families are written only with records.
  for (ColumnFamily f : {kRecords, kLog, kIndexTag}) {
    EXPECT_TRUE(absl::IsInvalidArgument(store_->PutAux(f, "k", "v", false)));
    EXPECT_TRUE(absl::IsInvalidArgument(store_->GetAux(f, "k").status()));
  }
}

TEST(StoreOpenTest, MissingStoreSaysToInit) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir.Sub("none"), {});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(store.status().message().find("threatmesh init"), std::string::npos);
}

TEST(StoreOpenTest, NewerSchemaIsRefused) {
  testing::TempDir dir;
  {
    std::unique_ptr<Store> store = OpenOrDie(dir.Sub("s"));
    ASSERT_TRUE(store->PutMeta("schema_version", std::to_string(kSchemaVersion + 1)).ok());
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir.Sub("s"), {});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("newer threatmesh"), std::string::npos) << store.status();
  EXPECT_NE(store.status().message().find("Upgrade threatmesh"), std::string::npos);
}

TEST(StoreOpenTest, SecondOpenOfALockedStoreIsRefused) {
  testing::TempDir dir;
  std::unique_ptr<Store> first = OpenOrDie(dir.Sub("s"));
  absl::StatusOr<std::unique_ptr<Store>> second = Store::Open(dir.Sub("s"), {});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("in use by another threatmesh process"),
            std::string::npos)
      << second.status();
}

TEST(StoreOpenTest, CorruptedStoreIsDataLoss) {
  testing::TempDir dir;
  { OpenOrDie(dir.Sub("s")); }
  std::ofstream(dir.Sub("s") + "/CURRENT", std::ios::trunc) << "garbage";
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir.Sub("s"), {});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
  EXPECT_NE(store.status().message().find("restore it from a backup"), std::string::npos)
      << store.status();
}

}  // namespace
}  // namespace threatmesh::storage
