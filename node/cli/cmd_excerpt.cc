// ingest-log and check: offline excerpt work, no node needed. The pipeline itself is
// node/excerpt/ingest.h; this file reads flags and prints.
#include <google/protobuf/util/json_util.h>

#include <optional>

#include "crypto/str_cat.h"
#include "node/cli/commands.h"
#include "node/cli/excerpt_options.h"
#include "node/core/printable.h"
#include "node/core/record_builder.h"
#include "node/core/record_view.h"
#include "node/excerpt/excerpt_check.h"
#include "node/excerpt/excerpt_files.h"
#include "node/excerpt/ingest.h"

namespace threatmesh::cli {

absl::StatusOr<SanitizeOptions> InternalOptions(const po::variables_map& vm) {
  SanitizeOptions options;
  if (vm.count("internal-range")) {
    options.internal_ranges.clear();
    for (const std::string& r : vm["internal-range"].as<std::vector<std::string>>()) {
      absl::StatusOr<AddressRange> range = ParseAddressRange(r);
      if (!range.ok()) return range.status();
      options.internal_ranges.push_back(*range);
    }
  }
  if (vm.count("internal-suffix")) {
    options.internal_suffixes = vm["internal-suffix"].as<std::vector<std::string>>();
  }
  return options;
}

void InternalOptionsDesc(po::options_description& d) {
  d.add_options()("internal-suffix", po::value<std::vector<std::string>>()->composing(),
                  "internal DNS suffix, e.g. corp.example (repeatable)")(
      "internal-range", po::value<std::vector<std::string>>()->composing(),
      "internal address range (repeatable; default RFC 1918, shared, loopback, link-local, "
      "ULA)");
}

// Prints the checklist; true when every item passed.
bool PrintChecklist(const std::vector<v1::ChecklistItem>& items, std::ostream& out) {
  for (const v1::ChecklistItem& item : items) {
    out << (item.passed() ? "pass  " : "FAIL  ") << Printable(item.item()) << ": "
        << Printable(item.reason()) << "\n";
  }
  return AllPassed(items);
}

namespace {

// --window START..END, in Unix milliseconds.
absl::Status ParseWindow(const std::string& w, ExcerptBuilderOptions& options) {
  const std::size_t dots = w.find("..");
  absl::StatusOr<int64_t> from = ParseTime(w.substr(0, dots));
  absl::StatusOr<int64_t> to = dots == std::string::npos
                                   ? absl::StatusOr<int64_t>(absl::InvalidArgumentError("no .."))
                                   : ParseTime(w.substr(dots + 2));
  if (!from.ok() || !to.ok() || *to <= *from) {
    return absl::InvalidArgumentError(
        "--window: expected START..END in UTC, e.g. "
        "2026-11-20T10:00:00Z..2026-11-20T11:00:00Z, END after START");
  }
  options.window_start = *from;
  options.window_end = *to;
  return absl::OkStatus();
}

// The pipeline's options from the flags.
absl::StatusOr<IngestOptions> IngestOptionsFrom(const po::variables_map& vm) {
  IngestOptions o;
  if (vm.count("timezone")) o.parser.timezone = vm["timezone"].as<std::string>();
  o.format = vm["format"].as<std::string>();
  o.path = vm["file"].as<std::string>();
  o.out = OutPath(vm);
  o.max_line_bytes = vm["max-line-bytes"].as<std::size_t>();
  if (o.max_line_bytes < 1024 || o.max_line_bytes > (std::size_t{1} << 30)) {
    return absl::InvalidArgumentError("--max-line-bytes must be from 1024 to 1073741824");
  }
  absl::StatusOr<SanitizeOptions> internal = InternalOptions(vm);
  if (!internal.ok()) return internal.status();
  ExcerptBuilderOptions& x = o.excerpt;
  if (vm.count("window")) {
    if (absl::Status s = ParseWindow(vm["window"].as<std::string>(), x); !s.ok()) return s;
  }
  if (vm.count("tlp")) {
    absl::StatusOr<v1::Tlp> tlp = ParseTlp(vm["tlp"].as<std::string>());
    if (!tlp.ok()) return tlp.status();
    x.tlp = *tlp;
  }
  if (vm.count("contact")) x.contact = vm["contact"].as<std::string>();
  if (vm.count("collection-method"))
    x.collection_method = vm["collection-method"].as<std::string>();
  x.max_record_bytes = vm["max-record-bytes"].as<std::size_t>();
  if (x.max_record_bytes < kMinExcerptRecordBytes) {
    return absl::InvalidArgumentError(
        StrCat("--max-record-bytes must be at least ", kMinExcerptRecordBytes));
  }
  x.check.internal = *internal;
  x.propose_indicators = vm.count("emit-indicators") > 0;
  return o;
}

absl::StatusOr<SanitizeKeys> SanitizeKeysFrom(const po::variables_map& vm) {
  if (!vm.count("sanitize-key")) {
    return absl::InvalidArgumentError(
        "--sanitize-key FILE is needed: 32 secret bytes, readable by its owner only, e.g. made "
        "with '(umask 077; head -c 32 /dev/urandom > sanitize.key)'; keep it, so that "
        "pseudonyms stay the same across excerpts");
  }
  return LoadSanitizeKeys(vm["sanitize-key"].as<std::string>());
}

// Writes the proposals for review, one JSON object per line, and says what to do next.
absl::Status WriteProposals(const po::variables_map& vm, const IngestReport& report,
                            std::size_t max_proposals, Io& io) {
  const std::string file = vm["emit-indicators"].as<std::string>();
  std::string lines;
  for (const IndicatorProposal& p : report.proposals) StrAppend(&lines, ProposalToJson(p), "\n");
  if (absl::Status written = WriteOutput(file, lines, io); !written.ok()) return written;
  io.err << "ingest-log: " << report.proposals.size() << " indicator proposals in " << file
         << " (one per line, most seen first";
  if (report.proposals_dropped > 0) {
    io.err << "; the first " << max_proposals << " distinct values are kept, and "
           << report.proposals_dropped << " later sightings of other values were not counted";
  }
  io.err << "). Review them: delete the lines not to publish, then publish them with the "
            "excerpt: threatmesh publish --excerpt FILE --indicators "
         << file << "\n";
  return absl::OkStatus();
}

// The summary on standard error: counts, then the checklist and whether it is ready.
void PrintIngestSummary(const IngestReport& report, const std::string& out, Io& io) {
  io.err << "ingest-log: " << report.events << " events from " << report.lines << " lines ("
         << report.errors << " did not parse, " << report.outside_window << " outside the window)";
  if (report.parts > 1) io.err << " in " << report.parts << " parts listed in " << out;
  io.err << "\n";
  if (report.utf8_repaired > 0) {
    io.err << "ingest-log: " << report.utf8_repaired
           << " events had bytes that are not UTF-8; each was replaced by U+FFFD\n";
  }
}

void PrintIngestVerdict(const IngestReport& report, Io& io) {
  if (report.single) {
    const auto& checklist = report.single->log_excerpt().checklist();
    PrintChecklist(std::vector<v1::ChecklistItem>(checklist.begin(), checklist.end()), io.err);
  } else {
    for (const std::string& f : report.failed) io.err << "FAIL  " << f << "\n";
    if (report.failed.empty()) io.err << "every part passed its release checklist\n";
  }
  io.err << (report.all_passed ? "ready to publish: threatmesh publish --excerpt FILE\n"
                               : "not ready: fix the failed items, then check again\n");
}

int RunIngestLog(const po::variables_map& vm, Io& io) {
  absl::StatusOr<IngestOptions> options = IngestOptionsFrom(vm);
  if (!options.ok()) return Fail(io, options.status());
  absl::StatusOr<SanitizeKeys> keys = SanitizeKeysFrom(vm);
  if (!keys.ok()) return Fail(io, keys.status());
  absl::StatusOr<IngestReport> report =
      IngestLog(*options, *keys, [&io](const std::string& note) { io.err << note << "\n"; });
  if (!report.ok()) return Fail(io, report.status());
  std::string text;
  if (report->single) {
    // One part: the excerpt itself, readable.
    google::protobuf::util::JsonPrintOptions print;
    print.add_whitespace = true;
    (void)google::protobuf::util::MessageToJsonString(*report->single, &text, print);
  } else {
    // Several parts: `out` lists them, and stands for the whole excerpt.
    text = ExcerptPartsList(report->part_files);
  }
  if (absl::Status written = WriteOutput(options->out, text, io); !written.ok()) {
    return Fail(io, written);
  }
  PrintIngestSummary(*report, options->out, io);
  if (options->excerpt.propose_indicators) {
    absl::Status written = WriteProposals(vm, *report, options->excerpt.max_proposals, io);
    if (!written.ok()) return Fail(io, written);
  }
  PrintIngestVerdict(*report, io);
  return kExitOk;
}

int RunCheck(const po::variables_map& vm, Io& io) {
  absl::StatusOr<std::vector<v1::RecordBody>> parts =
      ReadExcerptParts(vm["file"].as<std::string>());
  if (!parts.ok()) return Fail(io, parts.status());
  absl::StatusOr<SanitizeOptions> internal = InternalOptions(vm);
  if (!internal.ok()) return Fail(io, internal.status());
  ExcerptCheckOptions check;
  check.internal = *internal;
  bool passed = true;
  for (const v1::RecordBody& part : *parts) {
    if (parts->size() > 1) {
      io.out << "part " << part.log_excerpt().part() + 1 << " of " << parts->size() << "\n";
    }
    passed = PrintChecklist(CheckExcerpt(part, check), io.out) && passed;
  }
  return passed ? kExitOk : kExitError;
}

}  // namespace

Command IngestLogCommand() {
  return {"ingest-log",
          "parse and sanitize a log file into an excerpt for review (offline; no node needed)",
          "threatmesh ingest-log --format bind-query --timezone Europe/Berlin --sanitize-key "
          "sanitize.key --window 2026-11-20T10:00:00Z..2026-11-20T11:00:00Z --tlp amber "
          "--contact soc@example.org --internal-suffix corp.example query.log --out excerpt.json",
          [](po::options_description& d) {
            d.add_options()("file", po::value<std::string>()->required(), "the log file")(
                "format", po::value<std::string>()->required(),
                "bind-query, nginx-combined, apache-combined, syslog-5424, syslog-3164, "
                "windows-dns, zeek-dns, zeek-http, zeek-conn, or auto (told from the first 50 "
                "lines)")("timezone", po::value<std::string>(),
                          "IANA zone of a log written in local time without a zone (bind-query, "
                          "syslog-3164, windows-dns)")("sanitize-key", po::value<std::string>(),
                                                       "file of 32 secret bytes (or 64 hex)")(
                "window", po::value<std::string>(),
                "START..END in UTC; events outside are left out")(
                "tlp", po::value<std::string>(),
                "TLP 2.0 label: clear, green, amber, amber+strict, red")(
                "contact", po::value<std::string>(), "whom to ask about the excerpt")(
                "collection-method", po::value<std::string>(), "how the log was collected")(
                "out", po::value<std::string>(),
                "write the excerpt here (default: standard output); one larger than a record is "
                "written in parts beside it, and this file lists them")(
                "max-record-bytes", po::value<std::size_t>()->default_value(1 << 20),
                "record limit of the receiving nodes: each part of the excerpt fits in it")(
                "max-line-bytes", po::value<std::size_t>()->default_value(kDefaultMaxLineBytes),
                "a longer log line is reported and skipped, never held (1024 to 1073741824)")(
                "emit-indicators", po::value<std::string>(),
                "write indicator proposals drawn from the log to this file, for review");
            InternalOptionsDesc(d);
          },
          RunIngestLog,
          {"file"},
          /*node_options=*/false};
}

Command CheckCommand() {
  return {"check",
          "run the release checklist on an excerpt file (offline)",
          "threatmesh check excerpt.json --internal-suffix corp.example",
          [](po::options_description& d) {
            d.add_options()("file", po::value<std::string>()->required(), "the excerpt file");
            InternalOptionsDesc(d);
          },
          RunCheck,
          {"file"},
          /*node_options=*/false};
}

}  // namespace threatmesh::cli
