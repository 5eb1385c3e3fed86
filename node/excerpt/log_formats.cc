#include "node/excerpt/log_formats.h"

#include "absl/time/time.h"
#include "crypto/str_cat.h"
#include "node/excerpt/log_parser_base.h"

namespace threatmesh {

using threatmesh::v1::LogEvent;

std::vector<std::string> LogFormatNames() {
  std::vector<std::string> out = {"bind-query",  "nginx-combined", "apache-combined",
                                  "syslog-5424", "syslog-3164",    "windows-dns"};
  for (std::string& z : log_parsing::ZeekFormatNames()) out.push_back(std::move(z));
  return out;
}

bool FormatMayNameUsers(std::string_view format) {
  return format != "zeek-dns" && format != "zeek-conn" && format != "bind-query" &&
         format != "windows-dns";
}

absl::StatusOr<std::unique_ptr<LogParser>> MakeLogParser(std::string_view format,
                                                         const LogParserOptions& options) {
  if (std::unique_ptr<LogParser> zeek = log_parsing::MakeZeekParser(format)) return zeek;
  if (format == "nginx-combined") return log_parsing::MakeCombinedParser("nginx-combined");
  if (format == "apache-combined") return log_parsing::MakeCombinedParser("apache-combined");
  const absl::Time now = options.now_ms != 0 ? absl::FromUnixMillis(options.now_ms) : absl::Now();
  if (format == "syslog-5424") return log_parsing::MakeSyslogParser(true, absl::UTCTimeZone(), now);
  if (format == "bind-query" || format == "syslog-3164" || format == "windows-dns") {
    if (options.timezone.empty()) {
      return absl::FailedPreconditionError(
          StrCat(format,
                 " logs give local times without a zone: say which with --timezone (an "
                 "IANA name such as Europe/Berlin, or UTC)"));
    }
    absl::TimeZone zone;
    if (!absl::LoadTimeZone(options.timezone, &zone)) {
      return absl::InvalidArgumentError(
          StrCat("unknown time zone \"", options.timezone,
                 "\"; give an IANA name such as Europe/Berlin, America/New_York or UTC"));
    }
    if (format == "syslog-3164") return log_parsing::MakeSyslogParser(false, zone, now);
    if (format == "windows-dns") return log_parsing::MakeWindowsDnsParser(zone);
    return log_parsing::MakeBindQueryParser(zone);
  }
  std::string known;
  for (const std::string& n : LogFormatNames()) known += (known.empty() ? "" : ", ") + n;
  return absl::InvalidArgumentError(
      StrCat("unknown log format \"", format, "\"; this build reads ", known));
}

absl::StatusOr<std::string> DetectLogFormat(const std::vector<std::string>& lines) {
  LogParserOptions options;
  options.timezone = "UTC";  // for reading only: the real zone is the caller's to give
  std::string best;
  std::size_t best_events = 0, best_fields = 0, best_data = 0;
  for (const std::string& format : LogFormatNames()) {
    if (format == "apache-combined") continue;  // read the same way as nginx-combined
    std::unique_ptr<LogParser> parser = *MakeLogParser(format, options);
    std::size_t events = 0, fields = 0, data = 0;
    for (const std::string& line : lines) {
      ParsedLine p = parser->Parse(line);
      if (p.kind == ParsedLine::Kind::kSkipped) continue;
      ++data;
      if (p.kind == ParsedLine::Kind::kEvent) {
        ++events;
        fields += static_cast<std::size_t>(p.event.fields_size());
      }
    }
    if (events > best_events || (events == best_events && events > 0 && fields > best_fields)) {
      best = format;
      best_events = events;
      best_fields = fields;
      best_data = data;
    }
  }
  if (best.empty() || best_events * 2 <= best_data) {
    std::string known;
    for (const std::string& n : LogFormatNames()) known += (known.empty() ? "" : ", ") + n;
    return absl::InvalidArgumentError(StrCat("cannot tell the log's format from its first ",
                                             lines.size(), " lines; give --format, one of ",
                                             known));
  }
  return best;
}

const std::string* EventFieldValue(const LogEvent& event, std::string_view name) {
  for (const threatmesh::v1::EventField& f : event.fields()) {
    if (f.name() == name) return &f.value();
  }
  return nullptr;
}

}  // namespace threatmesh
