// Parsers that turn log lines into normalized events (proto LogEvent) with OCSF-aligned field
// names: DNS activity (query.hostname, query.type, rcode, src_endpoint.ip/port,
// dst_endpoint.ip/port, answers), HTTP activity (http_request.http_method, url.hostname,
// url.path, http_request.user_agent, http_response.code) and network activity (connection
// 5-tuple, traffic bytes). One parser per source format; a parser keeps the state a format
// needs across lines (Zeek's header). Times are UTC milliseconds.
//
// Formats so far: zeek-dns, zeek-http, zeek-conn (the TSV logs with their #fields header, and
// JSON lines; either per line); nginx-combined and apache-combined (the combined access log,
// whose times carry their offset); bind-query (BIND 9 query log, local times: needs a time
// zone); syslog-5424 (RFC 5424, times with their offset) and syslog-3164 (the BSD form, with
// or without <PRI>, local times without a year: needs a time zone); windows-dns (the Windows
// DNS server debug log, local times: needs a time zone).
//
// Not thread-safe: one parser per file.
#ifndef THREATMESH_NODE_EXCERPT_LOG_FORMATS_H_
#define THREATMESH_NODE_EXCERPT_LOG_FORMATS_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "threatmesh/v1/record.pb.h"

namespace threatmesh {

// What one line gave.
struct ParsedLine {
  enum class Kind {
    kEvent,    // `event` holds it
    kSkipped,  // a header, comment or blank line: nothing to report
    kError,    // `error` says why; the line is reported with its number, never dropped silently
  };
  Kind kind = Kind::kSkipped;
  threatmesh::v1::LogEvent event;
  std::string error;
  // Back to kSkipped with an empty event, keeping the storage the event had.
  void Reset() {
    kind = Kind::kSkipped;
    event.Clear();
    error.clear();
  }
};

class LogParser {
 public:
  virtual ~LogParser() = default;
  // The format's name, as in LogExcerpt.source_format.
  virtual std::string_view format() const = 0;
  // The offset from UTC of the times in the source, in minutes (0 for formats written in UTC).
  virtual int utc_offset_minutes() const { return 0; }
  // One line, without its line ending.
  virtual ParsedLine Parse(std::string_view line) = 0;
  // The same into `out`, whose storage a parser may reuse from line to line (a large log
  // then costs no allocation per line). The default calls Parse.
  virtual void ParseInto(std::string_view line, ParsedLine& out) { out = Parse(line); }
};

// The names MakeLogParser takes.
std::vector<std::string> LogFormatNames();

// Whether logs of `format` may name users, in a field of their own or in free text (zeek-http,
// the combined logs, syslog); DNS query logs and connection logs do not.
bool FormatMayNameUsers(std::string_view format);

struct LogParserOptions {
  // The zone of a source that writes local times without one: an IANA name
  // ("Europe/Berlin", "UTC"). Ignored by formats whose times carry a zone.
  std::string timezone;
  // Now (Unix ms; 0: the clock), for formats that give no year (syslog-3164): a time is put
  // in the year that makes it at most a day ahead of now.
  int64_t now_ms = 0;
};

// InvalidArgument naming the known formats when `format` is not one, or when `timezone` is
// not a known zone; FailedPrecondition when the format needs a time zone and none is given.
[[nodiscard]] absl::StatusOr<std::unique_ptr<LogParser>> MakeLogParser(
    std::string_view format, const LogParserOptions& options = {});

// The format of a log from its first lines: each known parser reads them, and the one that
// turns the most of them into events (then the most named fields) wins; it must read more
// than half of the lines that are not headers. nginx-combined stands for both combined
// formats. InvalidArgument, naming the formats, when none fits.
[[nodiscard]] absl::StatusOr<std::string> DetectLogFormat(const std::vector<std::string>& lines);

// The value of field `name` of `event`, or nullptr.
const std::string* EventFieldValue(const threatmesh::v1::LogEvent& event, std::string_view name);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_EXCERPT_LOG_FORMATS_H_
