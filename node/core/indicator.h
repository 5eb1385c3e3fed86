// Indicator types and value normalization.
//
// Every indicator value is stored in one normalized form per type, so that equal indicators
// from different authors meet in the index. NormalizeIndicator turns what an analyst typed
// into that form or says which rule it breaks; validation refuses a signed record whose value
// is not already normalized. Pure functions; thread-safe.
#ifndef THREATMESH_NODE_CORE_INDICATOR_H_
#define THREATMESH_NODE_CORE_INDICATOR_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "threatmesh/v1/record.pb.h"

namespace threatmesh {

// "ipv4", "domain", "user-agent", ... <-> the enum; InvalidArgument listing the names.
[[nodiscard]] absl::StatusOr<threatmesh::v1::IndicatorType> ParseIndicatorType(
    std::string_view name);
std::string IndicatorTypeName(threatmesh::v1::IndicatorType type);
// All accepted names, comma separated, for help texts.
std::string IndicatorTypeNames();

// The normalized form of `value` as an indicator of `type`, or InvalidArgument naming the
// rule that failed:
//   domain      lower case, no trailing dot, 2+ labels of 1-63 [a-z0-9_-] (no leading or
//               trailing '-'), at most 253 characters, top label not all digits; IDNs as
//               punycode (xn--)
//   ipv4        dotted quad, no leading zeros
//   ipv6        RFC 5952 text (lower case, longest zero run compressed); no zone
//   cidr        address/prefix, prefix within the family, host bits cleared
//   url         scheme://host..., scheme and host lower case, no white space or controls
//   email       local@domain, domain normalized as above
//   asn         AS<number> (accepts "AS64500", "as64500", "64500"), 0..4294967295
//   md5 / sha1 / sha256 / ja3   lower-case hex of 32 / 40 / 64 / 32 digits
//   user-agent  trimmed, printable, 1..1024 characters
[[nodiscard]] absl::StatusOr<std::string> NormalizeIndicator(threatmesh::v1::IndicatorType type,
                                                             std::string_view value);

// The normalized domain (rules as above); used for queries as well.
[[nodiscard]] absl::StatusOr<std::string> NormalizeDomain(std::string_view value);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_CORE_INDICATOR_H_
