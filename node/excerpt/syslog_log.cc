// Syslog, RFC 5424 and RFC 3164.

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "crypto/str_cat.h"
#include "node/excerpt/log_parser_base.h"

namespace threatmesh::log_parsing {
namespace {

// Syslog, RFC 5424:
//   <34>1 2026-11-20T10:00:00.003Z host.example su 1234 ID47 [sd id="1"] message
// and the older BSD form of RFC 3164 (also as files write it, without the <PRI>):
//   <13>Nov 20 11:00:04 host.example named[99]: message
// RFC 5424 times carry their offset; RFC 3164 times are local, without a year or a zone: they
// are read in `zone`, in the year that puts them no more than a day ahead of `now`.
class SyslogParser final : public OffsetNotingParser {
 public:
  SyslogParser(bool rfc5424, absl::TimeZone zone, absl::Time now)
      : rfc5424_(rfc5424), zone_(zone), now_(now) {}
  std::string_view format() const override { return rfc5424_ ? "syslog-5424" : "syslog-3164"; }

  ParsedLine Parse(std::string_view line) override {
    ParsedLine out;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return out;
    int pri = -1;
    if (line.front() == '<') {
      const std::size_t close = line.find('>');
      if (close == std::string_view::npos || close > 4 ||
          !absl::SimpleAtoi(std::string(line.substr(1, close - 1)), &pri) || pri > 191) {
        return LineError("the <priority> is not 0 to 191");
      }
      line.remove_prefix(close + 1);
    } else if (rfc5424_) {
      return LineError("an RFC 5424 line starts with <priority>");
    }
    out.kind = ParsedLine::Kind::kEvent;
    LogEvent& e = out.event;
    e.set_class_name("syslog");
    if (pri >= 0) {
      AddField(e, "facility", StrCat(pri / 8));
      AddField(e, "severity_id", StrCat(pri % 8));
    }
    std::string why = rfc5424_ ? Rfc5424(line, e) : Rfc3164(line, e);
    if (!why.empty()) return LineError(why);
    return out;
  }

 private:
  std::string Rfc5424(std::string_view line, LogEvent& e) {
    std::vector<std::string_view> w = Split(line, " ");
    if (w.size() < 7 || w[0] != "1") {
      return "expected VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA";
    }
    absl::Time t;
    std::string err;
    if (w[1] == "-" || !absl::ParseTime(absl::RFC3339_full, std::string(w[1]), &t, &err)) {
      return StrCat("the time \"", w[1], "\" is not RFC 3339 with a zone");
    }
    e.set_time(absl::ToUnixMillis(t));
    if (!offset_noted()) {
      const std::string ts(w[1]);
      const std::size_t sign = ts.find_last_of("+-");
      int h = 0, m = 0;
      if (ts.back() != 'Z' && sign != std::string::npos && sign > 10 &&
          std::sscanf(ts.c_str() + sign + 1, "%d:%d", &h, &m) == 2) {
        NoteOffset((ts[sign] == '-' ? -1 : 1) * (h * 60 + m));
      } else {
        NoteOffset(0);
      }
    }
    const char* names[] = {"device.hostname", "process.name", "process.pid", "message_id"};
    for (int i = 0; i < 4; ++i) {
      if (w[2 + i] != "-") AddField(e, names[i], std::string(w[2 + i]));
    }
    // STRUCTURED-DATA: "-" or [..][..], where "]" inside a quoted value is escaped.
    std::size_t at = static_cast<std::size_t>(w[6].data() - line.data());
    if (line[at] == '-') {
      ++at;
    } else {
      const std::size_t sd_start = at;
      bool quoted = false, closed = false;
      for (; at < line.size() && !closed; ++at) {
        if (line[at] == '\\') {
          ++at;
        } else if (line[at] == '"') {
          quoted = !quoted;
        } else if (line[at] == ']' && !quoted && (at + 1 == line.size() || line[at + 1] != '[')) {
          closed = true;
        }
      }
      if (line[sd_start] != '[' || !closed) return "the structured data is cut short";
      AddField(e, "structured_data", std::string(line.substr(sd_start, at - sd_start)));
    }
    if (at < line.size() && line[at] == ' ') ++at;
    std::string_view msg = line.substr(std::min(at, line.size()));
    if (msg.starts_with("\xEF\xBB\xBF")) msg.remove_prefix(3);  // the BOM RFC 5424 allows
    if (!msg.empty()) AddField(e, "message", std::string(msg));
    return "";
  }

  std::string Rfc3164(std::string_view line, LogEvent& e) {
    // "Mmm dd hh:mm:ss" (the day padded with a space when under 10), then host and tag.
    if (line.size() < 16 || line[15] != ' ') return "expected Mmm dd hh:mm:ss first";
    const std::string stamp(line.substr(0, 15));
    const int year = absl::ToCivilYear(now_, zone_).year();
    absl::Time t;
    std::string err;
    bool parsed = false;
    for (int y : {year, year - 1}) {
      if (!absl::ParseTime("%Y %b %e %H:%M:%S", StrCat(y, " ", stamp), zone_, &t, &err)) break;
      parsed = true;
      if (t <= now_ + absl::Hours(24)) break;  // else it was last year's
    }
    if (!parsed) return StrCat("the time \"", stamp, "\" is not Mmm dd hh:mm:ss");
    e.set_time(absl::ToUnixMillis(t));
    NoteOffset(zone_, t);
    std::string_view rest = line.substr(16);
    const std::size_t space = rest.find(' ');
    if (space == std::string_view::npos) return "no host after the time";
    AddField(e, "device.hostname", std::string(rest.substr(0, space)));
    rest.remove_prefix(space + 1);
    // TAG[PID]: message (the tag ends at the first character that is not a name character)
    std::size_t end = 0;
    while (end < rest.size() &&
           (std::isalnum(static_cast<unsigned char>(rest[end])) || rest[end] == '-' ||
            rest[end] == '_' || rest[end] == '.' || rest[end] == '/')) {
      ++end;
    }
    if (end > 0 && end < rest.size() && (rest[end] == '[' || rest[end] == ':')) {
      AddField(e, "process.name", std::string(rest.substr(0, end)));
      if (rest[end] == '[') {
        const std::size_t close = rest.find(']', end);
        if (close != std::string_view::npos) {
          AddField(e, "process.pid", std::string(rest.substr(end + 1, close - end - 1)));
          end = close + 1;
        }
      }
      if (end < rest.size() && rest[end] == ':') ++end;
      while (end < rest.size() && rest[end] == ' ') ++end;
      rest.remove_prefix(end);
    }
    if (!rest.empty()) AddField(e, "message", std::string(rest));
    return "";
  }

  const bool rfc5424_;
  const absl::TimeZone zone_;
  const absl::Time now_;
};

}  // namespace

std::unique_ptr<LogParser> MakeSyslogParser(bool rfc5424, absl::TimeZone zone, absl::Time now) {
  return std::make_unique<SyslogParser>(rfc5424, zone, now);
}

}  // namespace threatmesh::log_parsing
