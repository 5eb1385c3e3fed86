#include "node/tokens.h"

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/sodium.h"
#include "crypto/str_cat.h"
#include "node/core/names.h"

namespace threatmesh {
namespace {

constexpr std::string_view kTokenPrefix = "tmt_";
constexpr std::size_t kTokenRandomBytes = 32;
constexpr std::size_t kMaxTokens = 10000;

}  // namespace

absl::StatusOr<Role> ParseRole(std::string_view text) {
  if (text == "read" || text == "ROLE_READ") return v1::ROLE_READ;
  if (text == "publish" || text == "ROLE_PUBLISH") return v1::ROLE_PUBLISH;
  if (text == "admin" || text == "ROLE_ADMIN") return v1::ROLE_ADMIN;
  return absl::InvalidArgumentError(
      StrCat("role \"", text, "\" is not one of read, publish, admin"));
}

std::string_view RoleName(Role role) {
  switch (role) {
    case v1::ROLE_READ:
      return "read";
    case v1::ROLE_PUBLISH:
      return "publish";
    case v1::ROLE_ADMIN:
      return "admin";
    default:
      return "none";
  }
}

absl::StatusOr<std::unique_ptr<TokenStore>> TokenStore::Load(storage::Store& store) {
  auto out = std::unique_ptr<TokenStore>(new TokenStore(store));
  MutexLock lock(&out->mu_);  // not shared yet; taken for the analysis
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> all =
      store.ScanAux(storage::kTokens, "", "", kMaxTokens);
  if (!all.ok()) return all.status();
  for (auto& [hash, value] : *all) {
    TokenInfo info;
    if (!info.ParseFromString(value)) {
      return absl::DataLossError(StrCat("token entry ", crypto::HexEncode(hash).substr(0, 16),
                                        " is corrupted; revoke tokens by recreating the store's "
                                        "tokens, or restore the store from a backup"));
    }
    out->by_hash_[hash] = std::move(info);
  }
  return out;
}

absl::StatusOr<v1::Audience> ParseAudience(std::string_view text) {
  if (text == "member") return v1::AUDIENCE_MEMBER;
  if (text == "client") return v1::AUDIENCE_CLIENT;
  return absl::InvalidArgumentError(StrCat("audience \"", text,
                                           "\": expected member (the organization) or client (its "
                                           "clients too; never sees AMBER+STRICT or RED)"));
}

std::string_view AudienceName(v1::Audience audience) {
  return audience == v1::AUDIENCE_CLIENT ? "client" : "member";
}

absl::StatusOr<NewToken> TokenStore::Create(std::string_view name, Role role, int64_t now_ms,
                                            v1::Audience audience) {
  if (!IsLocalName(name)) {
    return absl::InvalidArgumentError(
        StrCat("token name \"", name, "\" must be 1-64 characters of a-z, 0-9, '.', '_', '-'"));
  }
  if (role != v1::ROLE_READ && role != v1::ROLE_PUBLISH && role != v1::ROLE_ADMIN) {
    return absl::InvalidArgumentError("token role must be read, publish or admin");
  }
  MutexLock lock(&mu_);
  for (const auto& [hash, info] : by_hash_) {
    if (info.name() == name) {
      return absl::AlreadyExistsError(
          StrCat("a token named \"", name, "\" exists; revoke it first or pick another name"));
    }
  }
  if (by_hash_.size() >= kMaxTokens) {
    return absl::ResourceExhaustedError(
        StrCat("the node holds ", kMaxTokens, " tokens already; revoke unused ones"));
  }
  NewToken out;
  out.secret = StrCat(kTokenPrefix, crypto::Base32Encode(crypto::RandomBytes(kTokenRandomBytes)));
  out.info.set_name(std::string(name));
  out.info.set_role(role);
  out.info.set_created_at(now_ms);
  out.info.set_audience(audience == v1::AUDIENCE_CLIENT ? v1::AUDIENCE_CLIENT
                                                        : v1::AUDIENCE_MEMBER);
  const std::string hash = crypto::Sha256(out.secret);
  absl::Status put =
      store_.PutAux(storage::kTokens, hash, out.info.SerializeAsString(), /*sync=*/true);
  if (!put.ok()) return put;
  by_hash_[hash] = out.info;
  return out;
}

std::optional<TokenInfo> TokenStore::Authenticate(std::string_view secret) const {
  if (secret.substr(0, kTokenPrefix.size()) != kTokenPrefix) return std::nullopt;
  const std::string hash = crypto::Sha256(secret);
  MutexLock lock(&mu_);
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return std::nullopt;
  return it->second;
}

std::vector<TokenInfo> TokenStore::List() const {
  MutexLock lock(&mu_);
  std::map<std::string, TokenInfo> by_name;
  for (const auto& [hash, info] : by_hash_) by_name[info.name()] = info;
  std::vector<TokenInfo> out;
  for (auto& [name, info] : by_name) out.push_back(std::move(info));
  return out;
}

absl::Status TokenStore::Revoke(std::string_view name) {
  MutexLock lock(&mu_);
  for (auto it = by_hash_.begin(); it != by_hash_.end(); ++it) {
    if (it->second.name() != name) continue;
    absl::Status del = store_.DeleteAux(storage::kTokens, it->first, /*sync=*/true);
    if (!del.ok()) return del;
    by_hash_.erase(it);
    return absl::OkStatus();
  }
  return absl::NotFoundError(
      StrCat("no token named \"", name, "\"; 'threatmesh token list' shows the names"));
}

}  // namespace threatmesh
