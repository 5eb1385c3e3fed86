// libFuzzer harness: every log parser, format detection, and what ingest-log runs on each
// event (sanitization with user names, the checklist's scans, indicator proposals). The first
// byte picks the format (the last choice is "auto": the format detected from the lines); the
// rest is the log. No parser may crash, loop or grow without bound on any input.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crypto/cryptopan.h"
#include "crypto/pseudonym.h"
#include "node/excerpt/excerpt_builder.h"
#include "node/excerpt/excerpt_check.h"
#include "node/excerpt/log_formats.h"
#include "node/excerpt/sanitize.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::vector<std::string> formats = threatmesh::LogFormatNames();
  static const threatmesh::crypto::CryptoPan pan =
      *threatmesh::crypto::CryptoPan::Create(std::string(32, 'p'));
  static const threatmesh::crypto::Pseudonyms names =
      *threatmesh::crypto::Pseudonyms::Create(std::string(32, 'n'));
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string> lines;
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t end = text.find('\n', start);
    lines.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  std::string format;
  if (data[0] % (formats.size() + 1) == formats.size()) {
    absl::StatusOr<std::string> detected = threatmesh::DetectLogFormat(lines);
    if (!detected.ok()) return 0;
    format = *detected;
  } else {
    format = formats[data[0] % (formats.size() + 1)];
  }
  threatmesh::LogParserOptions options;
  options.timezone = "UTC";
  options.now_ms = 1780272000000;
  absl::StatusOr<std::unique_ptr<threatmesh::LogParser>> parser =
      threatmesh::MakeLogParser(format, options);
  if (!parser.ok()) return 0;
  threatmesh::SanitizeOptions sanitize;
  sanitize.internal_suffixes = {"corp.example"};
  sanitize.users_in_text = threatmesh::FormatMayNameUsers(format);
  threatmesh::Sanitizer sanitizer(sanitize, pan, names);
  threatmesh::ExcerptBuilderOptions builder_options;
  builder_options.propose_indicators = true;
  builder_options.max_record_bytes = threatmesh::kMinExcerptRecordBytes;
  builder_options.check.internal = sanitize;
  builder_options.check.known_users = &sanitizer.known_users();
  threatmesh::ExcerptBuilder builder(builder_options, sanitizer, **parser,
                                     [](threatmesh::v1::RecordBody& part) {
                                       (void)threatmesh::ExcerptPartJson(part);
                                       return absl::OkStatus();
                                     });
  threatmesh::ParsedLine p;
  for (const std::string& line : lines) {
    (*parser)->ParseInto(line, p);
    if (p.kind != threatmesh::ParsedLine::Kind::kEvent) continue;
    sanitizer.LearnUsers(p.event, line);
    (void)threatmesh::FindEmailOrCredential(line);
    (void)threatmesh::FindUserName(line, &sanitizer.known_users());
    (void)builder.Add(p.event, line);
  }
  (void)builder.Finish();
  for (const threatmesh::IndicatorProposal& proposal : builder.Proposals()) {
    (void)threatmesh::ProposalFromJson(threatmesh::ProposalToJson(proposal));
  }
  return 0;
}
