// The export formats of `threatmesh export`: a STIX 2.1 bundle, and the feeds that the
// tools enforcing indicators read (docs/STIX.md; README "Working with other tools"):
//   plain       one value per line, for firewall external dynamic lists;
//   csv         one row per indicator with its metadata (RFC 4180);
//   zeek-intel  a Zeek Intel framework file;
//   rpz         a DNS Response Policy Zone for BIND, Unbound, Knot or PowerDNS;
//   misp-feed   a MISP feed directory (misp.h).
// A writer takes records one at a time and writes as it goes, so memory stays bounded
// whatever the export's size. Pure apart from the output stream; one writer per thread.
#ifndef THREATMESH_NODE_INTEROP_FEEDS_H_
#define THREATMESH_NODE_INTEROP_FEEDS_H_

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "node/interop/stix.h"
#include "threatmesh/v1/api.pb.h"

namespace threatmesh::interop {

// What an RPZ trigger does (RFC draft "DNS Response Policy Zones", section 4).
enum class RpzAction { kNxdomain, kNodata, kDrop, kPassthru };

struct FeedOptions {
  // rpz: the action of every trigger, and the zone's SOA serial.
  RpzAction rpz_action = RpzAction::kNxdomain;
  uint32_t rpz_serial = 1;
  // zeek-intel: meta.source of every line.
  std::string source = "threatmesh";
  // stix: finds records by id (see StixBundleWriter).
  StixBundleWriter::Lookup lookup;
};

class FeedWriter {
 public:
  virtual ~FeedWriter() = default;
  // Writes what `record` contributes. False, with the reason in `why`, when the format has
  // no place for it (a log excerpt in a DNS zone, an ASN in a Zeek intel file).
  virtual bool Add(const threatmesh::v1::StoredRecord& record, std::string* why) = 0;
  // Writes what closes the output.
  virtual void Finish() = 0;
};

// The formats by name: stix, plain, csv, zeek-intel, rpz; and misp-feed, which writes a
// directory (misp.h), not one stream.
inline constexpr std::string_view kFeedFormats = "stix, misp-feed, plain, csv, zeek-intel or rpz";

// A writer of `format` on `out`; InvalidArgument naming the formats for an unknown one.
[[nodiscard]] absl::StatusOr<std::unique_ptr<FeedWriter>> MakeFeedWriter(std::string_view format,
                                                                         std::ostream& out,
                                                                         FeedOptions options);

// "nxdomain", "nodata", "drop", "passthru".
[[nodiscard]] absl::StatusOr<RpzAction> ParseRpzAction(std::string_view name);

// The rpz-ip owner name of an address or network ("192.0.2.1" -> "32.1.2.0.192.rpz-ip",
// "2001:db8::/32" -> "32.zz.db8.2001.rpz-ip"); empty when `value` is neither.
std::string RpzIpName(std::string_view value);

// The SOA serial in an RPZ zone file this package wrote (0 when there is none): an export
// to the same file takes a larger one.
uint32_t RpzSerialOf(std::string_view zone_text);

}  // namespace threatmesh::interop

#endif  // THREATMESH_NODE_INTEROP_FEEDS_H_
