// NodeApi without gRPC: tokens and roles, publish, get with a client's TLP limit, search,
// and what each call writes to the audit entry. The node's clock is injected.
#include "node/api/api.h"

#include <gtest/gtest.h>

#include "crypto/hash.h"
#include "testing/node_api_harness.h"
#include "testing/test_util.h"

namespace threatmesh {
namespace {

using namespace threatmesh::v1;  // NOLINT: the API's own types.

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(h_.Open(data_, [this] { return now_; }));
  }

  std::string Token(const std::string& name, Role role, Audience audience = AUDIENCE_MEMBER) {
    absl::StatusOr<NewToken> t = tokens_->Create(name, role, now_, audience);
    EXPECT_TRUE(t.ok()) << t.status();
    return "Bearer " + t->secret;
  }

  absl::StatusOr<PublishResponse> PublishDomain(const std::string& value, Tlp tlp) {
    return h_.PublishDomain(value, tlp);
  }

  int64_t now_ = testing::kTestNowMs;
  testing::TempDir dir_;
  std::string data_ = dir_.Sub("node");
  testing::NodeApiHarness h_;
  std::unique_ptr<LocalNode>& node_ = h_.node;
  std::unique_ptr<TokenStore>& tokens_ = h_.tokens;
  std::unique_ptr<AuditLog>& audit_ = h_.audit;
  std::unique_ptr<PeerRegistry>& peers_ = h_.peers;
  std::unique_ptr<NodeApi>& api_ = h_.api;
};

TEST_F(ApiTest, TokensNameTheCallerAndRolesGateTheCalls) {
  const std::string reader = Token("soc-reader", ROLE_READ);
  absl::StatusOr<Caller> caller = api_->Authenticate(reader);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->name, "soc-reader");
  EXPECT_EQ(caller->max_tlp(), TLP_RED);
  EXPECT_TRUE(NodeApi::Require(*caller, ROLE_READ, "Get").ok());
  absl::Status denied = NodeApi::Require(*caller, ROLE_PUBLISH, "/threatmesh.v1.Records/Publish");
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("Publish"), std::string::npos) << denied;
  EXPECT_EQ(api_->Authenticate("").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(api_->Authenticate("Bearer tmt_unknown").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(api_->Authenticate(reader.substr(7)).status().code(),  // no "Bearer "
            absl::StatusCode::kUnauthenticated);
  absl::StatusOr<Caller> client = api_->Authenticate(Token("partner", ROLE_READ, AUDIENCE_CLIENT));
  ASSERT_TRUE(client.ok());
  EXPECT_EQ(client->max_tlp(), TLP_AMBER);
}

TEST_F(ApiTest, PublishSignsAtTheInjectedTimeAndGetHonoursTheTlpLimit) {
  now_ += 60000;
  absl::StatusOr<PublishResponse> green = PublishDomain("Evil.Example.COM", TLP_GREEN);
  ASSERT_TRUE(green.ok()) << green.status();
  absl::StatusOr<PublishResponse> strict = PublishDomain("strict.example.com", TLP_AMBER_STRICT);
  ASSERT_TRUE(strict.ok()) << strict.status();
  EXPECT_EQ(strict->seq(), green->seq() + 1);
  GetRequest get;
  get.set_id(green->id());
  AuditEntry audit;
  absl::StatusOr<GetResponse> got = api_->Get(get, audit);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->record().body().indicator().value(), "evil.example.com");  // normalized
  EXPECT_EQ(got->record().body().created_at(), testing::kTestNowMs + 60000);
  EXPECT_EQ(got->record().body().author(), node_->key().public_key().bytes());
  EXPECT_NE(audit.params().find("id="), std::string::npos) << audit.params();
  // A client token's Get of an AMBER+STRICT record answers as for an absent one.
  get.set_id(strict->id());
  EXPECT_EQ(api_->Get(get, audit, TLP_AMBER).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(api_->Get(get, audit, TLP_RED).ok());
  // A malformed id is named.
  get.set_id("short");
  absl::Status bad = api_->Get(get, audit).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("32 bytes"), std::string::npos) << bad;
}

TEST_F(ApiTest, SearchFindsByDomainSuffixAndAuditsTheQuery) {
  ASSERT_TRUE(PublishDomain("a.example.com", TLP_GREEN).ok());
  ASSERT_TRUE(PublishDomain("b.example.com", TLP_AMBER).ok());
  ASSERT_TRUE(PublishDomain("other.test", TLP_GREEN).ok());
  SearchRequest request;
  request.set_domain_suffix("example.com");
  AuditEntry audit;
  absl::StatusOr<SearchResponse> found = api_->Search(request, audit);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->records_size(), 2);
  EXPECT_NE(audit.params().find("domain_suffix=example.com"), std::string::npos) << audit.params();
  EXPECT_EQ(audit.record_ids_size(), 2);
  // The filter's max_tlp leaves the AMBER one out.
  request.mutable_filter()->set_max_tlp(TLP_GREEN);
  found = api_->Search(request, audit);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->records_size(), 1);
  // No query, or a limit past the maximum, is refused with what to do.
  SearchRequest none;
  EXPECT_EQ(api_->Search(none, audit).status().code(), absl::StatusCode::kInvalidArgument);
  request.set_limit(kMaxSearchLimit + 1);
  EXPECT_EQ(api_->Search(request, audit).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ApiTest, StatusCountsRecordsByKind) {
  ASSERT_TRUE(PublishDomain("a.example.com", TLP_GREEN).ok());
  ASSERT_TRUE(PublishDomain("b.example.com", TLP_GREEN).ok());
  StatusResponse status = api_->Status();
  EXPECT_EQ(status.fingerprint(), node_->key().public_key().Fingerprint());
  EXPECT_EQ(status.version(), "test");
  ASSERT_EQ(status.counts_size(), 6);
  EXPECT_EQ(status.counts(0).kind(), RECORD_KIND_INDICATOR);
  EXPECT_EQ(status.counts(0).count(), 2u);
  EXPECT_EQ(status.counts(1).count(), 0u);
}

}  // namespace
}  // namespace threatmesh
