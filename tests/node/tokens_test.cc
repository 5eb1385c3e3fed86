#include "node/tokens.h"

#include <gtest/gtest.h>

#include "crypto/hash.h"
#include "testing/test_util.h"

namespace threatmesh {
namespace {

class TokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions options;
    options.create_if_missing = true;
    store_ = std::move(*storage::Store::Open(dir_.Sub("store"), options));
    tokens_ = std::move(*TokenStore::Load(*store_));
  }
  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<TokenStore> tokens_;
};

TEST_F(TokensTest, CreateAuthenticateRevokeAndOnlyTheHashIsStored) {
  absl::StatusOr<NewToken> t = tokens_->Create("soc-reader", v1::ROLE_READ, 1000);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->secret.starts_with("tmt_"));
  EXPECT_EQ(t->secret.size(), 4u + 52u);
  std::optional<TokenInfo> who = tokens_->Authenticate(t->secret);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->name(), "soc-reader");
  EXPECT_EQ(who->role(), v1::ROLE_READ);
  EXPECT_FALSE(tokens_->Authenticate(t->secret + "x").has_value());
  EXPECT_FALSE(tokens_->Authenticate("").has_value());

  // The store holds the hash as key and no trace of the secret.
  auto all = store_->ScanAux(storage::kTokens, "", "", 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].first, crypto::Sha256(t->secret));
  EXPECT_EQ((*all)[0].second.find(t->secret.substr(4)), std::string::npos);

  // Reloaded from the store, the token still works; revoked, it does not.
  tokens_ = std::move(*TokenStore::Load(*store_));
  EXPECT_TRUE(tokens_->Authenticate(t->secret).has_value());
  ASSERT_TRUE(tokens_->Revoke("soc-reader").ok());
  EXPECT_FALSE(tokens_->Authenticate(t->secret).has_value());
  tokens_ = std::move(*TokenStore::Load(*store_));
  EXPECT_FALSE(tokens_->Authenticate(t->secret).has_value());
  EXPECT_TRUE(absl::IsNotFound(tokens_->Revoke("soc-reader")));
}

TEST_F(TokensTest, NamesAndRolesAreChecked) {
  ASSERT_TRUE(tokens_->Create("a", v1::ROLE_ADMIN, 1).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(tokens_->Create("a", v1::ROLE_READ, 2).status()));
  for (const char* bad : {"", "Upper", "with space", "x/y"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(tokens_->Create(bad, v1::ROLE_READ, 1).status())) << bad;
  }
  EXPECT_TRUE(
      absl::IsInvalidArgument(tokens_->Create(std::string(65, 'a'), v1::ROLE_READ, 1).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(tokens_->Create("b", v1::ROLE_UNSPECIFIED, 1).status()));
  ASSERT_TRUE(tokens_->Create("b", v1::ROLE_PUBLISH, 1).ok());
  std::vector<TokenInfo> list = tokens_->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name(), "a");
  EXPECT_EQ(list[1].name(), "b");
}

TEST(RoleTest, ParseAndName) {
  EXPECT_EQ(*ParseRole("read"), v1::ROLE_READ);
  EXPECT_EQ(*ParseRole("publish"), v1::ROLE_PUBLISH);
  EXPECT_EQ(*ParseRole("admin"), v1::ROLE_ADMIN);
  EXPECT_TRUE(absl::IsInvalidArgument(ParseRole("root").status()));
  EXPECT_EQ(RoleName(v1::ROLE_PUBLISH), "publish");
}

}  // namespace
}  // namespace threatmesh
