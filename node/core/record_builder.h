// Building and signing records authored by this node.
//
// The builder fills a RecordBody from what an analyst gave (normalizing indicator values),
// and SealRecord signs it into the Signed envelope bytes that are then validated and stored
// like any other record. Pure functions; thread-safe.
#ifndef THREATMESH_NODE_CORE_RECORD_BUILDER_H_
#define THREATMESH_NODE_CORE_RECORD_BUILDER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/keys.h"
#include "threatmesh/v1/record.pb.h"

namespace threatmesh {

// "clear", "green", "amber", "amber+strict", "red" (any case, "TLP:" prefix allowed).
[[nodiscard]] absl::StatusOr<threatmesh::v1::Tlp> ParseTlp(std::string_view name);
// "CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED".
std::string TlpName(threatmesh::v1::Tlp tlp);

// What an analyst says about an indicator to publish.
struct IndicatorSpec {
  std::string type;   // a name accepted by ParseIndicatorType
  std::string value;  // as typed; normalized by BuildIndicator
  std::string tlp = "amber";
  std::vector<std::string> labels;
  std::optional<uint32_t> confidence;
  std::string description;
  int64_t valid_from = 0;
  int64_t valid_until = 0;
  uint32_t max_hops = 0;
  bool may_relay = false;
  std::vector<std::string> recipients;  // printable public keys, for RED
  std::vector<std::string> communities;
};

// The body of an indicator record by `author`, created at `now_ms`. InvalidArgument names
// the field at fault.
[[nodiscard]] absl::StatusOr<threatmesh::v1::RecordBody> BuildIndicator(
    const IndicatorSpec& spec, const crypto::PublicKey& author, int64_t now_ms);

// Serializes `body` and signs it under the record domain: the Signed envelope bytes.
std::string SealRecord(const threatmesh::v1::RecordBody& body, const crypto::KeyPair& key);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_CORE_RECORD_BUILDER_H_
