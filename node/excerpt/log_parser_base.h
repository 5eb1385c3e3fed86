// What the log parsers share (node/excerpt/log_formats.h is the interface): unescaping,
// splitting, time reading, building events, and the base of the parsers that note the
// source's UTC offset. One parser per format lives in its own file: zeek_log.cc,
// combined_log.cc, bind_query_log.cc, syslog_log.cc, windows_dns_log.cc.
#ifndef THREATMESH_NODE_EXCERPT_LOG_PARSER_BASE_H_
#define THREATMESH_NODE_EXCERPT_LOG_PARSER_BASE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "node/excerpt/log_formats.h"

namespace threatmesh::log_parsing {

using threatmesh::v1::LogEvent;

// Zeek escapes bytes it cannot print, and the separator inside values, as \xHH. Into `out`
// (replacing what it held; its storage is reused).
void UnescapeInto(std::string_view s, std::string& out);
std::string Unescape(std::string_view s);
// Splits `s` at every `sep` into `out` (replacing what it held).
void Split(std::string_view s, std::string_view sep, std::vector<std::string_view>& out);
std::vector<std::string_view> Split(std::string_view s, std::string_view sep);
// Unix seconds with an optional fraction ("1763632800.123456"), as milliseconds.
bool EpochSecondsToMs(std::string_view text, int64_t* ms);
// ISO 8601 / RFC 3339 with a zone ("2026-11-20T10:00:00.003Z", "+01:00"), as milliseconds.
bool IsoToMs(std::string_view text, int64_t* ms);
// A line that does not parse, and why.
ParsedLine LineError(std::string why);
void AddField(LogEvent& event, std::string_view name, std::string value);
// Splits a request target "/path?query" into url.path and url.query_string.
void AddTarget(LogEvent& event, std::string_view target);

// A parser that reports the UTC offset of the first event it read (the source's offset, kept
// in the excerpt so local times can be shown).
class OffsetNotingParser : public LogParser {
 public:
  int utc_offset_minutes() const override { return offset_minutes_; }

 protected:
  bool offset_noted() const { return offset_noted_; }
  void NoteOffset(int minutes) {
    if (offset_noted_) return;
    offset_noted_ = true;
    offset_minutes_ = minutes;
  }
  // The offset of `zone` at `t`.
  void NoteOffset(const absl::TimeZone& zone, absl::Time t) {
    if (!offset_noted_) NoteOffset(zone.At(t).offset / 60);
  }

 private:
  bool offset_noted_ = false;
  int offset_minutes_ = 0;
};

// The parsers, one per file.
std::vector<std::string> ZeekFormatNames();
std::unique_ptr<LogParser> MakeZeekParser(std::string_view format);  // nullptr: not Zeek's
std::unique_ptr<LogParser> MakeCombinedParser(const char* format);
std::unique_ptr<LogParser> MakeBindQueryParser(absl::TimeZone zone);
std::unique_ptr<LogParser> MakeSyslogParser(bool rfc5424, absl::TimeZone zone, absl::Time now);
std::unique_ptr<LogParser> MakeWindowsDnsParser(absl::TimeZone zone);

}  // namespace threatmesh::log_parsing

#endif  // THREATMESH_NODE_EXCERPT_LOG_PARSER_BASE_H_
