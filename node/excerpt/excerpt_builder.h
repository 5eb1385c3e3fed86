// From parsed log events to excerpt records, streaming: events are sanitized and gathered
// into one excerpt body until the next would take it over the record limit; that part is
// then checked and handed to a sink, and the next part starts. Memory holds one part (at
// most the record limit) and the indicator proposals (at most a configured number of
// distinct values), whatever the size of the log.
//
// Parts are numbered from 0 in LogExcerpt.part. part_count, and the link from each later
// part to the first part's id (first_part), are set when the parts are published, since
// the count is known only at the end of the log and an id only once a part is signed.
//
// Indicator proposals are drawn from the events before sanitization and never from an
// internal address or name: external addresses contacting the sensor (src_endpoint.ip) or
// named as the host of a URL or URI (url.hostname, and inside a referrer, path or raw
// request: "http://203.0.113.66/x"),
// queried domains (query.hostname), URLs (url.hostname and url.path) and user agents, each
// normalized as an indicator of its type, with a count and the first and last time seen.
// They are for the analyst to review; nothing here publishes them.
//
// Not thread-safe: one builder per log.
#ifndef THREATMESH_NODE_EXCERPT_EXCERPT_BUILDER_H_
#define THREATMESH_NODE_EXCERPT_EXCERPT_BUILDER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/excerpt/excerpt_check.h"
#include "node/excerpt/log_formats.h"
#include "node/excerpt/sanitize.h"
#include "threatmesh/v1/record.pb.h"

namespace threatmesh {

// Room kept in each part, below the record limit, for the envelope, the manifest and the
// checklist.
inline constexpr std::size_t kExcerptPartHeadroom = 16 * 1024;
// The smallest record limit a part can be made for.
inline constexpr std::size_t kMinExcerptRecordBytes = 64 * 1024;

struct ExcerptBuilderOptions {
  // Events outside [window_start, window_end) are counted and left out; window_end 0: no
  // window, each part's window is then the span of its own events. Events dated before
  // 2000-01-01 or after 9999-12-31 are always left out and counted with them.
  int64_t window_start = 0;
  int64_t window_end = 0;
  threatmesh::v1::Tlp tlp = threatmesh::v1::TLP_UNSPECIFIED;
  std::string contact;
  std::string collection_method;
  // The record limit of the nodes the parts go to (at least kMinExcerptRecordBytes).
  std::size_t max_record_bytes = 1 << 20;
  // Checks run on every part (its max_record_bytes is set from the above).
  ExcerptCheckOptions check;
  // Whether to gather indicator proposals, and how many distinct values at most.
  bool propose_indicators = false;
  std::size_t max_proposals = 100000;
};

// One proposed indicator.
struct IndicatorProposal {
  threatmesh::v1::IndicatorType type = threatmesh::v1::INDICATOR_TYPE_UNSPECIFIED;
  std::string value;   // normalized
  std::string field;   // the event field it came from, e.g. "query.hostname"
  uint64_t count = 0;  // events that carried it
  int64_t first_seen = 0;
  int64_t last_seen = 0;
};

class ExcerptBuilder {
 public:
  // Receives each finished part: a body holding only the log excerpt and the TLP, with the
  // checklist as run on it. The sink may read it or take it (move it away); what is left is
  // cleared afterwards and its storage reused for the next part. An error stops the build.
  using PartSink = std::function<absl::Status(threatmesh::v1::RecordBody& part)>;

  // `sanitizer` and `parser` must outlive the builder; the parser gives the source format
  // and UTC offset.
  ExcerptBuilder(ExcerptBuilderOptions options, Sanitizer& sanitizer, const LogParser& parser,
                 PartSink sink);

  // One parsed event and its raw line. InvalidArgument when the one event is larger than a
  // part can hold; the sink's error when a finished part could not be taken. The event is
  // taken by swapping it into the part: `event` is left empty, holding storage of an earlier
  // part's event for the parser to reuse.
  absl::Status Add(threatmesh::v1::LogEvent& event, std::string_view line);
  absl::Status Add(threatmesh::v1::LogEvent&& event, std::string_view line) {
    return Add(event, line);
  }
  // Hands over the last part. FailedPrecondition when no event was added at all.
  absl::Status Finish();

  uint64_t events() const { return events_; }
  uint64_t outside_window() const { return outside_; }
  int parts() const { return parts_; }
  // Events whose line or fields had bytes that are not UTF-8 (each replaced by U+FFFD).
  uint64_t utf8_repaired() const { return utf8_repaired_; }
  // Every part passed its checklist.
  bool all_passed() const { return all_passed_; }
  // The proposals, most frequent first (ties by type, then value).
  std::vector<IndicatorProposal> Proposals() const;
  // Values seen after max_proposals distinct ones were kept, and not counted (each time).
  uint64_t proposals_dropped() const { return proposals_dropped_; }

 private:
  absl::Status FlushPart();
  void Propose(const threatmesh::v1::LogEvent& event);
  void Note(threatmesh::v1::IndicatorType type, const std::string& raw, const char* field,
            int64_t time);
  // `text` as an address proposal, when it is an external IPv4 or IPv6 address (a URL's
  // [v6] brackets allowed).
  void NoteAddress(std::string_view text, const std::string& field, int64_t time);
  // The addresses that are the host of a URI in `text` ("http://203.0.113.66/x").
  void NoteUriAddresses(std::string_view text, const std::string& field, int64_t time);

  const ExcerptBuilderOptions options_;
  Sanitizer& sanitizer_;
  const LogParser& parser_;
  PartSink sink_;
  threatmesh::v1::RecordBody part_;
  std::size_t part_bytes_ = 0;
  int64_t part_first_ = 0;
  int64_t part_last_ = 0;
  uint64_t events_ = 0;
  uint64_t outside_ = 0;
  uint64_t utf8_repaired_ = 0;
  int parts_ = 0;
  bool all_passed_ = true;
  absl::flat_hash_map<std::string, IndicatorProposal> proposals_;  // type byte || raw value
  std::string proposal_key_;                                       // reused for lookups
  uint64_t proposals_dropped_ = 0;
};

// Whether `parts`, in any order, are one complete excerpt: each of 0..n-1 once, every
// part_count n or not yet set (0), one source format. InvalidArgument naming the
// missing, repeated or disagreeing part otherwise. Sorts `parts` by part.
[[nodiscard]] absl::Status CheckExcerptParts(std::vector<threatmesh::v1::RecordBody>& parts);

// The excerpt file form of a part, as protobuf's JSON mapping prints it (one line, field
// names in lowerCamelCase) and as ReadExcerpt-style parsers read it back; written mostly by
// hand, since printing a megabyte of lines and events through the generic printer is the
// slowest step of an ingest. `part` is left as it was (its lines and events are set aside
// while the rest is printed).
std::string ExcerptPartJson(threatmesh::v1::RecordBody& part);
// The same, appended to `out` (whose storage a caller writing many parts reuses).
void AppendExcerptPartJson(threatmesh::v1::RecordBody& part, std::string& out);

// `text` made valid UTF-8 (as protobuf string fields must be): every byte that does not
// start or continue a well-formed sequence becomes U+FFFD. Returns whether it changed.
bool MakeValidUtf8(std::string& text);

// A proposal as one line of JSON, and back (InvalidArgument naming the problem).
std::string ProposalToJson(const IndicatorProposal& proposal);
[[nodiscard]] absl::StatusOr<IndicatorProposal> ProposalFromJson(std::string_view line);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_EXCERPT_EXCERPT_BUILDER_H_
