// Tokens: the bearer secrets local API clients present, each bound to a name and a role.
//
// A token is "tmt_" followed by 52 base32 characters (32 random bytes). The node keeps only
// SHA-256 of the token string, in the store's tokens family, with the token's name, role and
// creation time; the secret is shown once, when created. Roles nest: admin may do what
// publish may, publish what read may.
//
// Thread-safe: a mutex guards the in-memory copy; writes go to the store before it changes.
#ifndef THREATMESH_NODE_TOKENS_H_
#define THREATMESH_NODE_TOKENS_H_

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/mutex.h"
#include "storage/store.h"
#include "threatmesh/v1/api.pb.h"

namespace threatmesh {

using threatmesh::v1::Role;
using threatmesh::v1::TokenInfo;

// "read", "publish", "admin" (and the enum names) -> Role; InvalidArgument otherwise.
absl::StatusOr<Role> ParseRole(std::string_view text);
std::string_view RoleName(Role role);
// "member", "client" -> Audience; InvalidArgument otherwise.
absl::StatusOr<threatmesh::v1::Audience> ParseAudience(std::string_view text);
std::string_view AudienceName(threatmesh::v1::Audience audience);

struct NewToken {
  std::string secret;
  TokenInfo info;
};

class TokenStore {
 public:
  // Loads every token of `store` (which must outlive this object).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TokenStore>> Load(storage::Store& store);

  // Creates a token. InvalidArgument for a bad name or role; AlreadyExists for a used name.
  [[nodiscard]] absl::StatusOr<NewToken> Create(
      std::string_view name, Role role, int64_t now_ms,
      threatmesh::v1::Audience audience = threatmesh::v1::AUDIENCE_MEMBER);

  // The token's name and role; nullopt for an unknown or revoked token.
  std::optional<TokenInfo> Authenticate(std::string_view secret) const;

  // Every token, by name.
  std::vector<TokenInfo> List() const;

  // Removes the token called `name`; NotFound when there is none.
  [[nodiscard]] absl::Status Revoke(std::string_view name);

 private:
  explicit TokenStore(storage::Store& store) : store_(store) {}

  storage::Store& store_;
  mutable Mutex mu_;
  std::map<std::string, TokenInfo> by_hash_ ABSL_GUARDED_BY(mu_);
};

}  // namespace threatmesh

#endif  // THREATMESH_NODE_TOKENS_H_
