// The ingest pipeline behind 'threatmesh ingest-log': a log file in, a sanitized excerpt
// out, offline. Reads the log once to learn the user names it gives (for formats whose
// messages can name users), then line by line through the format's parser, the sanitizer
// and the excerpt builder. An excerpt larger than one record is written in parts beside
// `out` as they fill; lines that are too long or do not parse are reported and skipped.
#ifndef THREATMESH_NODE_EXCERPT_INGEST_H_
#define THREATMESH_NODE_EXCERPT_INGEST_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "node/excerpt/excerpt_builder.h"
#include "node/excerpt/excerpt_files.h"
#include "node/excerpt/line_reader.h"
#include "node/excerpt/log_formats.h"
#include "threatmesh/v1/record.pb.h"

namespace threatmesh {

struct IngestOptions {
  std::string path;             // the log file (or a pipe)
  std::string format = "auto";  // a name of LogFormatNames(), or "auto": from the first 50 lines
  LogParserOptions parser;
  std::size_t max_line_bytes = kDefaultMaxLineBytes;  // 1024 to 1 GiB
  // Window, handling, record limit and checklist of the excerpt; check.internal is also the
  // sanitizer's. check.known_users is set by the pipeline.
  ExcerptBuilderOptions excerpt;
  // Where the excerpt's parts go when it needs more than one record ("" = it must fit one).
  std::string out;
};

struct IngestReport {
  std::string format;           // the format read (told, when "auto")
  uint64_t lines = 0;           // lines read
  uint64_t errors = 0;          // lines too long or that did not parse
  uint64_t events = 0;          // events in the excerpt
  uint64_t outside_window = 0;  // events left out by the window
  uint64_t parts = 0;           // parts of the excerpt
  uint64_t utf8_repaired = 0;   // events with bytes replaced by U+FFFD
  // One part: the excerpt itself, for the caller to write. Several: the part files written.
  std::optional<threatmesh::v1::RecordBody> single;
  std::vector<std::string> part_files;
  std::vector<std::string> failed;  // several parts: "part N: item: reason" per failed item
  bool all_passed = false;          // every part passed its release checklist
  // With excerpt.propose_indicators: the proposals, most seen first, and how many sightings
  // of values past the cap were not counted.
  std::vector<IndicatorProposal> proposals;
  uint64_t proposals_dropped = 0;
};

// Runs the pipeline. `note` receives progress and the first 20 bad lines, one message each,
// as they happen. Fails on a log that cannot be read, an excerpt with no event, or an
// excerpt larger than one record when `out` is empty.
[[nodiscard]] absl::StatusOr<IngestReport> IngestLog(
    const IngestOptions& options, const SanitizeKeys& keys,
    const std::function<void(const std::string&)>& note);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_EXCERPT_INGEST_H_
