// Validation: the one entry point that turns untrusted bytes into a verified record.
//
// Everything that reaches the store — from the local CLI, the API or a peer — goes through
// ValidateRecord. It checks, in this order: size, envelope and payload parse, required
// fields, the author's signature, then the rules of each field and kind. The first failure
// is returned as InvalidArgument whose message names the record (when its id is known), the
// field and the rule. Stateless and thread-safe.
#ifndef THREATMESH_NODE_CORE_VALIDATE_H_
#define THREATMESH_NODE_CORE_VALIDATE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/keys.h"
#include "threatmesh/v1/record.pb.h"

namespace threatmesh {

// The most labels a record may carry.
inline constexpr std::size_t kMaxRecordLabels = 64;

class KeyTable;

struct ValidationOptions {
  // Largest Signed envelope accepted, in bytes.
  std::size_t max_record_bytes = 1 << 20;
  // How far created_at may lie in the future of the local clock.
  int64_t max_clock_skew_ms = 5 * 60 * 1000;
  // The key rotations and revocations known (node/core/key_table.h), or none: when given, a
  // record its author's key may no longer sign at its created_at is refused, and a
  // revocation may come from a key the revoked one rotated to. Not owned.
  const KeyTable* keys = nullptr;
};

// A record whose signature and fields have been checked.
struct VerifiedRecord {
  // SHA-256 of the payload (32 bytes).
  std::string id;
  // The Signed envelope bytes exactly as given.
  std::string signed_bytes;
  // The payload parsed; read-only: it is never serialized again.
  threatmesh::v1::RecordBody body;
  // Its position in the local change feed once stored (LocalNode fills it); 0 before.
  uint64_t seq = 0;
};

// Checks `bytes` (a serialized Signed envelope holding a RecordBody) against `options` at
// local time `now_ms` (unix milliseconds; injected so tests control the clock).
[[nodiscard]] absl::StatusOr<VerifiedRecord> ValidateRecord(std::string_view bytes,
                                                            const ValidationOptions& options,
                                                            int64_t now_ms);

// The first 8 hex digits of an id, for messages.
std::string ShortId(std::string_view id);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_CORE_VALIDATE_H_
