#include "node/excerpt/ingest.h"

#include <filesystem>
#include <memory>
#include <utility>

#include "crypto/str_cat.h"
#include "node/core/printable.h"
#include "node/excerpt/sanitize.h"

namespace threatmesh {
namespace {

// At most this many bad lines are reported one by one.
constexpr uint64_t kLineErrorsShown = 20;

// Reads the log at `path` once through a parser of its own, and has `sanitizer` learn the
// user names its lines give. A log that is not a regular file (a pipe) cannot be read twice:
// it is not, and its names are learned as they come.
absl::Status LearnUsers(const IngestOptions& options, const std::string& format,
                        Sanitizer& sanitizer) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(options.path, ec)) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<LogParser>> parser = MakeLogParser(format, options.parser);
  if (!parser.ok()) return parser.status();
  LineReader in;
  if (absl::Status s = in.Open(options.path, options.max_line_bytes); !s.ok()) return s;
  std::string_view line;
  ParsedLine p;
  for (LineReader::Result r; (r = in.Next(line)) != LineReader::Result::kEnd;) {
    if (r != LineReader::Result::kLine) continue;
    (*parser)->ParseInto(line, p);
    if (p.kind == ParsedLine::Kind::kEvent) sanitizer.LearnUsers(p.event, line);
  }
  return in.error();
}

// The format of the log at `path`, from its first 50 lines.
absl::StatusOr<std::string> DetectLogFormatOf(const std::string& path, std::size_t max_line_bytes) {
  LineReader head;
  if (absl::Status s = head.Open(path, max_line_bytes); !s.ok()) return s;
  std::vector<std::string> first;
  std::string_view line;
  for (LineReader::Result r;
       first.size() < 50 && (r = head.Next(line)) != LineReader::Result::kEnd;) {
    if (r == LineReader::Result::kLine) first.emplace_back(line);
  }
  return DetectLogFormat(first);
}

// Where the builder's finished parts go: the first is held until it is known to be the only
// one; from the second on, every part is written to its file beside `out`.
class PartSink {
 public:
  PartSink(const IngestOptions& options, IngestReport& report)
      : options_(options), report_(report) {}

  absl::Status Take(v1::RecordBody& part) {
    NoteFailures(part);
    if (!report_.single && report_.part_files.empty()) {
      report_.single = std::move(part);
      return absl::OkStatus();
    }
    if (options_.out.empty()) {
      return absl::FailedPreconditionError(StrCat(
          "the excerpt is larger than one record of ", options_.excerpt.max_record_bytes,
          " bytes; give --out FILE, and it is written in parts that are published together"));
    }
    if (report_.single) {
      if (absl::Status s = Write(*report_.single); !s.ok()) return s;
      report_.single.reset();
    }
    return Write(part);
  }

 private:
  void NoteFailures(const v1::RecordBody& part) {
    for (const v1::ChecklistItem& item : part.log_excerpt().checklist()) {
      if (!item.passed()) {
        report_.failed.push_back(StrCat("part ", part.log_excerpt().part() + 1, ": ",
                                        Printable(item.item()), ": ", Printable(item.reason())));
      }
    }
  }

  absl::Status Write(v1::RecordBody& part) {
    report_.part_files.push_back(
        ExcerptPartPath(options_.out, static_cast<int>(report_.part_files.size())));
    json_.clear();  // reused for every part
    AppendExcerptPartJson(part, json_);
    json_.push_back('\n');
    return WriteFileReplacing(report_.part_files.back(), json_);
  }

  const IngestOptions& options_;
  IngestReport& report_;
  std::string json_;
};

// Feeds every line of `in` through `parser` into `builder`, counting lines and errors.
absl::Status ReadLines(const IngestOptions& options, LineReader& in, LogParser& parser,
                       ExcerptBuilder& builder, IngestReport& report,
                       const std::function<void(const std::string&)>& note) {
  std::string_view line;
  ParsedLine p;  // reused: its event's storage cycles between the parser and the builder
  for (LineReader::Result r; (r = in.Next(line)) != LineReader::Result::kEnd;) {
    const uint64_t number = ++report.lines;
    if (number % 1000000 == 0) {
      note(StrCat("ingest-log: ", number, " lines read, ", builder.events(), " events, ",
                  builder.parts(), " parts finished"));
    }
    if (r == LineReader::Result::kTooLong) {
      if (++report.errors <= kLineErrorsShown) {
        note(StrCat(options.path, ":", number, ": the line is ", in.too_long_bytes(),
                    " bytes, longer than --max-line-bytes ", options.max_line_bytes,
                    "; not parsed"));
      }
      continue;
    }
    parser.ParseInto(line, p);
    if (p.kind == ParsedLine::Kind::kError) {
      // A parse error may quote the line: its bytes are shown escaped.
      if (++report.errors <= kLineErrorsShown) {
        note(StrCat(options.path, ":", number, ": ", Printable(p.error)));
      }
      continue;
    }
    if (p.kind != ParsedLine::Kind::kEvent) continue;
    if (absl::Status s = builder.Add(p.event, line); !s.ok()) {
      return absl::Status(s.code(), StrCat(options.path, ":", number, ": ", s.message()));
    }
  }
  if (!in.error().ok()) {
    return absl::DataLossError(StrCat(options.path, ": ", in.error().message()));
  }
  if (report.errors > kLineErrorsShown) {
    note(StrCat("... and ", report.errors - kLineErrorsShown, " more lines that do not parse"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<IngestReport> IngestLog(const IngestOptions& options, const SanitizeKeys& keys,
                                       const std::function<void(const std::string&)>& note) {
  IngestReport report;
  report.format = options.format;
  if (report.format == "auto") {
    absl::StatusOr<std::string> detected = DetectLogFormatOf(options.path, options.max_line_bytes);
    if (!detected.ok()) return detected.status();
    report.format = *detected;
    note(StrCat("ingest-log: the format is ", report.format));
  }
  absl::StatusOr<std::unique_ptr<LogParser>> parser = MakeLogParser(report.format, options.parser);
  if (!parser.ok()) return parser.status();
  // Read in 1 MiB blocks; a line over the limit is skipped to its end, never held.
  LineReader in;
  if (absl::Status s = in.Open(options.path, options.max_line_bytes); !s.ok()) return s;

  SanitizeOptions sanitize = options.excerpt.check.internal;
  sanitize.users_in_text = FormatMayNameUsers(report.format);
  Sanitizer sanitizer(sanitize, *keys.addresses, *keys.names);
  if (sanitize.users_in_text) {
    // A first pass learns every user name the log gives, so that each is replaced on every
    // line, also on the lines above the one that named it.
    if (absl::Status s = LearnUsers(options, report.format, sanitizer); !s.ok()) return s;
  }
  ExcerptBuilderOptions excerpt = options.excerpt;
  excerpt.check.known_users = &sanitizer.known_users();
  PartSink sink(options, report);
  ExcerptBuilder builder(excerpt, sanitizer, **parser,
                         [&sink](v1::RecordBody& part) { return sink.Take(part); });
  if (absl::Status s = ReadLines(options, in, **parser, builder, report, note); !s.ok()) return s;
  if (absl::Status s = builder.Finish(); !s.ok()) {
    return absl::Status(s.code(),
                        StrCat(options.path, " as ", (*parser)->format(), ": ", s.message(), "; ",
                               report.lines, " lines read, ", report.errors, " did not parse"));
  }
  report.events = builder.events();
  report.outside_window = builder.outside_window();
  report.parts = static_cast<uint64_t>(builder.parts());
  report.utf8_repaired = builder.utf8_repaired();
  report.all_passed = builder.all_passed();
  if (excerpt.propose_indicators) {
    report.proposals = builder.Proposals();
    report.proposals_dropped = builder.proposals_dropped();
  }
  return report;
}

}  // namespace threatmesh
