// Key rotation and revocation: the statements (KeyRotation and KeyRevocation records of
// record.proto) and the table a node builds from those it holds, which validation consults
// for every record and every custody hop (docs/FORMAT.md, Key rotation and revocation).
//
// The rules, with "dated" meaning a record's created_at or a hop's at:
//   - a key that rotated at time T (the rotation record's created_at) may still sign what
//     is dated at or before T; what it signs dated after T is refused;
//   - a revoked key may still sign what is dated before compromised_since; what it signs
//     dated at or after it is refused;
//   - hop 0 of a record may be sent by any key the author's key rotated to, since the node
//     that authored it now signs with that key;
//   - a key rotates once: a second rotation of the same key is refused as a conflict.
// KeyTable is thread-safe.
#ifndef THREATMESH_NODE_CORE_KEY_TABLE_H_
#define THREATMESH_NODE_CORE_KEY_TABLE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "crypto/keys.h"
#include "threatmesh/v1/record.pb.h"

namespace threatmesh {

// What the new key signs to consent to a rotation: old key (32) || new key (32) ||
// created_at as 8 bytes big-endian. Signed under crypto::kKeyRotationDomain.
std::string RotationStatement(std::string_view old_key, std::string_view new_key,
                              int64_t created_at);

// Whether `body` is a key rotation or revocation record.
bool IsKeyStatement(const threatmesh::v1::RecordBody& body);

// A signed KeyRotation record from `old_key` to `new_key` at `at_ms` (TLP:CLEAR, relayable).
std::string SealRotation(const crypto::KeyPair& old_key, const crypto::KeyPair& new_key,
                         int64_t at_ms);
// A signed KeyRevocation of `key` from `since_ms`, made by `signer` at `at_ms`.
std::string SealRevocation(const crypto::KeyPair& signer, std::string_view key, int64_t since_ms,
                           std::string_view reason, int64_t at_ms);

class KeyTable;

// The checks of a key statement's own content that need no table: key sizes, the new key's
// consent, a compromise time not after the statement. With a table, also: a revocation is
// signed by the key or a key it rotated to, and a rotation does not conflict with a known
// one. InvalidArgument or FailedPrecondition naming the fault.
[[nodiscard]] absl::Status CheckKeyStatement(const threatmesh::v1::RecordBody& body,
                                             const KeyTable* table);

class KeyTable {
 public:
  // Takes a statement (a validated record `id` whose body IsKeyStatement). A second
  // rotation of a key already rotated elsewhere is FailedPrecondition and changes nothing;
  // the same statement twice is fine.
  [[nodiscard]] absl::Status Add(std::string_view id, const threatmesh::v1::RecordBody& body);

  // OK when `key` may sign something dated `at_ms`; PermissionDenied naming the rotation
  // or revocation that forbids it.
  [[nodiscard]] absl::Status CheckKeyAt(std::string_view key, int64_t at_ms) const;

  // Whether `later` is a key that `earlier` rotated to, directly or through further
  // rotations.
  bool Succeeds(std::string_view earlier, std::string_view later) const;

  // The ids of the rotation records leading to `key`, oldest first (empty when `key` was
  // never rotated to).
  std::vector<std::string> RotationsTo(std::string_view key) const;
  // The ids of every statement about `key` or the keys linked to it by rotations, either
  // way (rotations and revocations), in no particular order, each once.
  std::vector<std::string> StatementsAbout(std::string_view key) const;

  // The id of the rotation or revocation that forbids `key` to sign something dated
  // `at_ms`, if one does (the cases CheckKeyAt refuses).
  std::optional<std::string> ForbiddenBy(std::string_view key, int64_t at_ms) const;
  // The key `key` rotated to, if it did; the key that rotated to `key`, if one did.
  std::optional<std::string> RotatedTo(std::string_view key) const;
  std::optional<std::string> RotatedFrom(std::string_view key) const;

  std::size_t size() const;

 private:
  struct Rotation {
    std::string id;
    std::string to;
    int64_t at = 0;
  };
  // The revocation in force for a key: the earliest compromise stated for it.
  struct Revocation {
    std::string id;
    int64_t since = 0;
    std::string reason;
  };
  mutable std::shared_mutex mu_;
  std::map<std::string, Rotation, std::less<>> rotated_;      // old key -> rotation
  std::map<std::string, std::string, std::less<>> previous_;  // new key -> old key
  std::map<std::string, Revocation, std::less<>> revoked_;    // key -> earliest revocation
  std::map<std::string, std::vector<std::string>, std::less<>> revocations_;  // key -> all ids
};

}  // namespace threatmesh

#endif  // THREATMESH_NODE_CORE_KEY_TABLE_H_
