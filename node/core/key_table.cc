#include "node/core/key_table.h"

#include <mutex>
#include <set>

#include "crypto/str_cat.h"
#include "node/core/record_builder.h"
#include "node/core/record_view.h"

namespace threatmesh {
namespace {

using threatmesh::v1::RecordBody;

std::string Fp(std::string_view key) { return crypto::FingerprintOf(key); }

RecordBody StatementBody(const crypto::KeyPair& author, int64_t at_ms) {
  RecordBody body;
  body.set_author(std::string(author.public_key().bytes()));
  body.set_created_at(at_ms);
  body.set_tlp(threatmesh::v1::TLP_CLEAR);
  body.mutable_handling()->set_may_relay(true);
  return body;
}

}  // namespace

std::string RotationStatement(std::string_view old_key, std::string_view new_key,
                              int64_t created_at) {
  std::string out = StrCat(old_key, new_key);
  const uint64_t t = static_cast<uint64_t>(created_at);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(t >> shift));
  return out;
}

bool IsKeyStatement(const RecordBody& body) {
  return body.kind_case() == RecordBody::kKeyRotation ||
         body.kind_case() == RecordBody::kKeyRevocation;
}

std::string SealRotation(const crypto::KeyPair& old_key, const crypto::KeyPair& new_key,
                         int64_t at_ms) {
  RecordBody body = StatementBody(old_key, at_ms);
  const std::string new_bytes(new_key.public_key().bytes());
  body.mutable_key_rotation()->set_new_key(new_bytes);
  body.mutable_key_rotation()->set_new_key_signature(
      new_key.Sign(crypto::kKeyRotationDomain, RotationStatement(body.author(), new_bytes, at_ms)));
  return SealRecord(body, old_key);
}

std::string SealRevocation(const crypto::KeyPair& signer, std::string_view key, int64_t since_ms,
                           std::string_view reason, int64_t at_ms) {
  RecordBody body = StatementBody(signer, at_ms);
  body.mutable_key_revocation()->set_key(std::string(key));
  body.mutable_key_revocation()->set_compromised_since(since_ms);
  body.mutable_key_revocation()->set_reason(std::string(reason));
  return SealRecord(body, signer);
}

absl::Status CheckKeyStatement(const RecordBody& body, const KeyTable* table) {
  if (body.kind_case() == RecordBody::kKeyRotation) {
    const threatmesh::v1::KeyRotation& r = body.key_rotation();
    absl::StatusOr<crypto::PublicKey> next = crypto::PublicKey::FromBytes(r.new_key());
    if (!next.ok()) {
      return absl::InvalidArgumentError(
          StrCat("key rotation new_key is not a 32-byte Ed25519 key: ", next.status().message()));
    }
    if (r.new_key() == body.author()) {
      return absl::InvalidArgumentError("key rotation names the author's own key as the new key");
    }
    if (!crypto::Verify(*next, crypto::kKeyRotationDomain,
                        RotationStatement(body.author(), r.new_key(), body.created_at()),
                        r.new_key_signature())) {
      return absl::InvalidArgumentError(
          StrCat("key rotation to ", next->Fingerprint(),
                 " lacks the new key's valid signature of its consent (new_key_signature)"));
    }
    if (table != nullptr && table->Succeeds(r.new_key(), body.author())) {
      return absl::FailedPreconditionError(
          StrCat("key rotation to ", next->Fingerprint(), " would rotate back to an earlier key"));
    }
    if (std::optional<std::string> known = table ? table->RotatedTo(body.author()) : std::nullopt;
        known && *known != r.new_key()) {
      return absl::FailedPreconditionError(
          StrCat("key ", Fp(body.author()), " already rotated to ", Fp(*known),
                 "; a key rotates once, so this rotation to ", next->Fingerprint(),
                 " is refused (if the key was stolen, revoke it)"));
    }
    return absl::OkStatus();
  }
  if (body.kind_case() == RecordBody::kKeyRevocation) {
    const threatmesh::v1::KeyRevocation& r = body.key_revocation();
    if (r.key().size() != crypto::kPublicKeySize) {
      return absl::InvalidArgumentError(
          StrCat("key revocation names a ", r.key().size(), "-byte key, expected 32"));
    }
    if (r.compromised_since() <= 0) {
      return absl::InvalidArgumentError("key revocation has no compromised_since");
    }
    if (r.compromised_since() > body.created_at()) {
      return absl::InvalidArgumentError(
          "key revocation's compromised_since is after the revocation itself; a revocation "
          "states from when a key was already compromised");
    }
    if (r.key() != body.author() &&
        (table == nullptr || !table->Succeeds(r.key(), body.author()))) {
      return absl::PermissionDeniedError(
          StrCat("key revocation of ", Fp(r.key()), " is signed by ", Fp(body.author()),
                 ", which is neither that key nor a key it rotated to (as far as is known here)"));
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("not a key rotation or revocation");
}

absl::Status KeyTable::Add(std::string_view id, const RecordBody& body) {
  std::unique_lock lock(mu_);
  if (body.kind_case() == RecordBody::kKeyRotation) {
    const std::string& to = body.key_rotation().new_key();
    auto it = rotated_.find(body.author());
    if (it != rotated_.end()) {
      if (it->second.id == id) return absl::OkStatus();
      return absl::FailedPreconditionError(
          StrCat("key ", Fp(body.author()), " already rotated to ", Fp(it->second.to), " at ",
                 FormatTime(it->second.at), "; a key rotates once, so the rotation to ", Fp(to),
                 " is refused"));
    }
    rotated_[body.author()] = Rotation{std::string(id), to, body.created_at()};
    previous_[to] = body.author();
    return absl::OkStatus();
  }
  if (body.kind_case() == RecordBody::kKeyRevocation) {
    const threatmesh::v1::KeyRevocation& r = body.key_revocation();
    std::vector<std::string>& ids = revocations_[r.key()];
    for (const std::string& known : ids) {
      if (known == id) return absl::OkStatus();
    }
    ids.emplace_back(id);
    auto it = revoked_.find(r.key());
    // Of several revocations of one key, the earliest compromise time holds.
    if (it == revoked_.end() || r.compromised_since() < it->second.since) {
      revoked_[r.key()] = Revocation{std::string(id), r.compromised_since(), r.reason()};
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("not a key rotation or revocation");
}

absl::Status KeyTable::CheckKeyAt(std::string_view key, int64_t at_ms) const {
  std::shared_lock lock(mu_);
  if (auto it = revoked_.find(key); it != revoked_.end() && at_ms >= it->second.since) {
    return absl::PermissionDeniedError(
        StrCat("key ", Fp(key), " is revoked since ", FormatTime(it->second.since), " (\"",
               it->second.reason, "\"), and this is dated ", FormatTime(at_ms),
               ": nothing it signs from then on is trusted"));
  }
  if (auto it = rotated_.find(key); it != rotated_.end() && at_ms > it->second.at) {
    return absl::PermissionDeniedError(StrCat("key ", Fp(key), " was rotated to ",
                                              Fp(it->second.to), " at ", FormatTime(it->second.at),
                                              ", and this is dated ", FormatTime(at_ms),
                                              ", after that: the node signs with its new key now"));
  }
  return absl::OkStatus();
}

bool KeyTable::Succeeds(std::string_view earlier, std::string_view later) const {
  std::shared_lock lock(mu_);
  std::string_view key = earlier;
  // Each key rotates once, and a rotation back to an earlier key is refused, so the walk
  // ends; the bound guards against a table built from conflicting input all the same.
  for (std::size_t steps = 0; steps <= rotated_.size(); ++steps) {
    auto it = rotated_.find(key);
    if (it == rotated_.end()) return false;
    if (it->second.to == later) return true;
    key = it->second.to;
  }
  return false;
}

std::vector<std::string> KeyTable::RotationsTo(std::string_view key) const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  std::string current(key);
  for (std::size_t steps = 0; steps <= previous_.size(); ++steps) {
    auto it = previous_.find(current);
    if (it == previous_.end()) break;
    out.insert(out.begin(), rotated_.at(it->second).id);
    current = it->second;
  }
  return out;
}

std::vector<std::string> KeyTable::StatementsAbout(std::string_view key) const {
  std::shared_lock lock(mu_);
  // Every key linked to `key` by rotations, back to the first and on to the last.
  std::string first(key);
  for (std::size_t steps = 0; steps <= previous_.size(); ++steps) {
    auto it = previous_.find(first);
    if (it == previous_.end()) break;
    first = it->second;
  }
  std::set<std::string> ids;
  std::string current = first;
  for (std::size_t steps = 0; steps <= rotated_.size() + 1; ++steps) {
    if (auto r = revocations_.find(current); r != revocations_.end()) {
      ids.insert(r->second.begin(), r->second.end());
    }
    auto it = rotated_.find(current);
    if (it == rotated_.end()) break;
    ids.insert(it->second.id);
    current = it->second.to;
  }
  return {ids.begin(), ids.end()};
}

std::optional<std::string> KeyTable::ForbiddenBy(std::string_view key, int64_t at_ms) const {
  std::shared_lock lock(mu_);
  if (auto it = revoked_.find(key); it != revoked_.end() && at_ms >= it->second.since) {
    return it->second.id;
  }
  if (auto it = rotated_.find(key); it != rotated_.end() && at_ms > it->second.at) {
    return it->second.id;
  }
  return std::nullopt;
}

std::optional<std::string> KeyTable::RotatedTo(std::string_view key) const {
  std::shared_lock lock(mu_);
  auto it = rotated_.find(key);
  if (it == rotated_.end()) return std::nullopt;
  return it->second.to;
}

std::optional<std::string> KeyTable::RotatedFrom(std::string_view key) const {
  std::shared_lock lock(mu_);
  auto it = previous_.find(key);
  if (it == previous_.end()) return std::nullopt;
  return it->second;
}

std::size_t KeyTable::size() const {
  std::shared_lock lock(mu_);
  std::size_t n = rotated_.size();
  for (const auto& [key, ids] : revocations_) n += ids.size();
  return n;
}

}  // namespace threatmesh
