// The combined access log of nginx and Apache.

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

// The combined access log of nginx and Apache:
//   host ident user [10/Oct/2026:13:55:36 -0700] "GET /a?b HTTP/1.1" status bytes "referer" "agent"
// (the common log format, without the last two, is read too). Quoted fields may hold \" and
// \\ (Apache) or \xHH (nginx).
class CombinedParser final : public OffsetNotingParser {
 public:
  explicit CombinedParser(const char* format) : format_(format) {}
  std::string_view format() const override { return format_; }

  ParsedLine Parse(std::string_view line) override {
    ParsedLine out;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return out;
    std::string_view rest = line;
    std::string host, ident, user, time, request, status, bytes, referer, agent;
    if (!Token(rest, &host) || !Token(rest, &ident) || !Token(rest, &user)) {
      return LineError("expected host, ident and user before the time");
    }
    if (!Bracketed(rest, &time)) return LineError("expected the time in [brackets]");
    if (!Quoted(rest, &request)) return LineError("expected the request in quotes");
    if (!Token(rest, &status) || !Token(rest, &bytes)) return LineError("expected status and size");
    const bool combined = Quoted(rest, &referer) && Quoted(rest, &agent);
    absl::Time t;
    std::string why;
    if (!absl::ParseTime("%d/%b/%Y:%H:%M:%S %z", time, &t, &why)) {
      return LineError(StrCat("the time [", time, "] is not dd/Mon/yyyy:HH:MM:SS +zzzz"));
    }
    if (!offset_noted()) {
      const std::size_t sign = time.find_last_of("+-");
      int hhmm = 0;
      if (sign != std::string::npos && absl::SimpleAtoi(time.substr(sign + 1), &hhmm)) {
        NoteOffset((time[sign] == '-' ? -1 : 1) * (hhmm / 100 * 60 + hhmm % 100));
      }
    }
    int code = 0;
    if (!absl::SimpleAtoi(status, &code) || code < 100 || code > 999) {
      return LineError(StrCat("the status \"", status, "\" is not an HTTP status code"));
    }
    out.kind = ParsedLine::Kind::kEvent;
    LogEvent& e = out.event;
    e.set_class_name("http_activity");
    e.set_time(absl::ToUnixMillis(t));
    AddField(e, "src_endpoint.ip", host);
    if (user != "-") AddField(e, "user.name", user);
    std::vector<std::string_view> parts = Split(request, " ");
    if (parts.size() == 3) {
      AddField(e, "http_request.http_method", std::string(parts[0]));
      AddTarget(e, parts[1]);
      AddField(e, "http_request.version", std::string(parts[2]));
    } else if (request != "-") {
      AddField(e, "http_request.raw", request);  // scanners' junk is evidence too
    }
    AddField(e, "http_response.code", status);
    if (bytes != "-") AddField(e, "http_response.length", bytes);
    if (combined) {
      if (referer != "-") AddField(e, "http_request.referrer", referer);
      if (agent != "-") AddField(e, "http_request.user_agent", agent);
    }
    return out;
  }

 private:
  static void SkipSpaces(std::string_view& rest) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  }
  static bool Token(std::string_view& rest, std::string* out) {
    SkipSpaces(rest);
    const std::size_t end = rest.find(' ');
    *out = std::string(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    return !out->empty();
  }
  static bool Bracketed(std::string_view& rest, std::string* out) {
    SkipSpaces(rest);
    if (rest.empty() || rest.front() != '[') return false;
    const std::size_t end = rest.find(']');
    if (end == std::string_view::npos) return false;
    *out = std::string(rest.substr(1, end - 1));
    rest.remove_prefix(end + 1);
    return true;
  }
  static bool Quoted(std::string_view& rest, std::string* out) {
    SkipSpaces(rest);
    if (rest.empty() || rest.front() != '"') return false;
    std::string raw;
    std::size_t i = 1;
    for (; i < rest.size() && rest[i] != '"'; ++i) {
      if (rest[i] == '\\' && i + 1 < rest.size() && (rest[i + 1] == '"' || rest[i + 1] == '\\')) {
        ++i;
      }
      raw.push_back(rest[i]);
    }
    if (i >= rest.size()) return false;
    *out = Unescape(raw);
    rest.remove_prefix(i + 1);
    return true;
  }

  const char* format_;
};

}  // namespace

std::unique_ptr<LogParser> MakeCombinedParser(const char* format) {
  return std::make_unique<CombinedParser>(format);
}

}  // namespace threatmesh::log_parsing
