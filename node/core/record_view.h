// How records and times are shown: one-line summaries, full human-readable text and JSON
// for scripts. Pure functions; thread-safe.
#ifndef THREATMESH_NODE_CORE_RECORD_VIEW_H_
#define THREATMESH_NODE_CORE_RECORD_VIEW_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "node/core/json_string.h"
#include "node/core/validate.h"
#include "threatmesh/v1/api.pb.h"

namespace threatmesh {

// A record as the API returns it (StoredRecord), as the views take it.
VerifiedRecord ToVerified(const threatmesh::v1::StoredRecord& r);

// "2026-11-28T04:05:07.123Z".
std::string FormatTime(int64_t unix_ms);
// Accepts unix milliseconds ("1764302707123"), "2026-11-28", "2026-11-28T04:05:07Z" and
// the same with fractional seconds; always UTC.
[[nodiscard]] absl::StatusOr<int64_t> ParseTime(std::string_view text);

// "indicator domain evil.example.com", "sighting ipv4 192.0.2.1 x3", ...
std::string KindSummary(const threatmesh::v1::RecordBody& body);
// "<id hex>  <created>  <TLP>  <kind summary>".
std::string RecordLine(const VerifiedRecord& record);
// Every field, one per line.
std::string RecordText(const VerifiedRecord& record);
// {"id": hex, "author": printable key, "fingerprint": ..., "created_at": ISO, "tlp": ...,
//  "kind": ..., "body": the payload in protobuf's JSON mapping, "signed_hex": the envelope}.
std::string RecordJson(const VerifiedRecord& record);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_CORE_RECORD_VIEW_H_
