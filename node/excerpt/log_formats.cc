#include "node/excerpt/log_formats.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "crypto/str_cat.h"

namespace threatmesh {
namespace {

using threatmesh::v1::LogEvent;

struct FieldName {
  const char* zeek;
  const char* ocsf;
};

// Zeek's names (its field documentation) -> OCSF-aligned names. Fields not listed stay in
// the excerpt's lines but not in its events.
constexpr FieldName kConnection[] = {
    {"uid", "metadata.uid"},
    {"id.orig_h", "src_endpoint.ip"},
    {"id.orig_p", "src_endpoint.port"},
    {"id.resp_h", "dst_endpoint.ip"},
    {"id.resp_p", "dst_endpoint.port"},
    {"proto", "connection_info.protocol_name"},
};
constexpr FieldName kDns[] = {
    {"trans_id", "query.packet_uid"}, {"rtt", "duration"},          {"query", "query.hostname"},
    {"qclass_name", "query.class"},   {"qtype_name", "query.type"}, {"rcode_name", "rcode"},
    {"answers", "answers"},           {"TTLs", "answers.ttl"},
};
constexpr FieldName kHttp[] = {
    {"method", "http_request.http_method"},
    {"host", "url.hostname"},
    {"uri", "url.path"},
    {"referrer", "http_request.referrer"},
    {"user_agent", "http_request.user_agent"},
    {"request_body_len", "http_request.length"},
    {"response_body_len", "http_response.length"},
    {"status_code", "http_response.code"},
    {"username", "user.name"},
    {"password", "user.password"},
};
constexpr FieldName kConn[] = {
    {"service", "app_name"},
    {"duration", "duration"},
    {"orig_bytes", "traffic.bytes_out"},
    {"resp_bytes", "traffic.bytes_in"},
    {"conn_state", "status_detail"},
    {"orig_pkts", "traffic.packets_out"},
    {"resp_pkts", "traffic.packets_in"},
};

struct ZeekLog {
  const char* format;  // our name
  const char* path;    // Zeek's #path
  const char* class_name;
  const FieldName* names;
  std::size_t name_count;
};
constexpr ZeekLog kZeekLogs[] = {
    {"zeek-dns", "dns", "dns_activity", kDns, std::size(kDns)},
    {"zeek-http", "http", "http_activity", kHttp, std::size(kHttp)},
    {"zeek-conn", "conn", "network_activity", kConn, std::size(kConn)},
};

// Zeek escapes bytes it cannot print, and the separator inside values, as \xHH. Into `out`
// (replacing what it held; its storage is reused).
void UnescapeInto(std::string_view s, std::string& out) {
  if (s.find('\\') == std::string_view::npos) {
    out.assign(s);
    return;
  }
  out.clear();
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    int hi = 0, lo = 0;
    auto hex = [](char c) {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x' && (hi = hex(s[i + 2])) >= 0 &&
        (lo = hex(s[i + 3])) >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
}

std::string Unescape(std::string_view s) {
  std::string out;
  UnescapeInto(s, out);
  return out;
}

// `s` cut at every `sep`, into `out` (replacing what it held).
void Split(std::string_view s, std::string_view sep, std::vector<std::string_view>& out) {
  out.clear();
  if (sep.size() == 1 && !s.empty()) {  // a tab, as Zeek's logs have: found with memchr
    const char* at = s.data();
    const char* const end = s.data() + s.size();
    for (;;) {
      const auto* hit = static_cast<const char*>(std::memchr(at, sep[0], end - at));
      if (hit == nullptr) {
        out.emplace_back(at, end - at);
        return;
      }
      out.emplace_back(at, hit - at);
      at = hit + 1;
    }
  }
  if (sep.empty()) {  // nothing to cut at (a header must not make this loop forever)
    out.push_back(s);
    return;
  }
  for (std::size_t start = 0;;) {
    std::size_t at = s.find(sep, start);
    out.push_back(
        s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return;
    start = at + sep.size();
  }
}

std::vector<std::string_view> Split(std::string_view s, std::string_view sep) {
  std::vector<std::string_view> out;
  Split(s, sep, out);
  return out;
}

// Epoch seconds with a fraction ("1591367999.305988") -> ms.
bool EpochSecondsToMs(std::string_view text, int64_t* ms) {
  // Whole seconds of up to 11 digits and a fraction of up to 9 read as integers, without a
  // copy; rounded to the millisecond as the double below rounds, which the fraction's digits
  // past the third decide, save within 0.05 ms of a half, where the double's own error
  // (under 0.03 ms below 1e11 s) could tip it: those go the double's way.
  if (const std::size_t dot = text.find('.'); dot != std::string_view::npos && dot >= 1 &&
                                              dot <= 11 && text.size() - dot - 1 >= 3 &&
                                              text.size() - dot - 1 <= 9) {
    int64_t whole = 0;
    bool digits = true;
    for (char c : text.substr(0, dot)) {
      digits = digits && c >= '0' && c <= '9';
      whole = whole * 10 + (c - '0');
    }
    int64_t milli = 0, rest = 0, rest_scale = 1;
    for (std::size_t i = dot + 1; i < text.size(); ++i) {
      const char c = text[i];
      digits = digits && c >= '0' && c <= '9';
      if (i <= dot + 3) {
        milli = milli * 10 + (c - '0');
      } else {
        rest = rest * 10 + (c - '0');
        rest_scale *= 10;
      }
    }
    // rest / rest_scale is the fraction of a millisecond: clear of 0.45..0.55.
    if (digits && whole < 100000000000 &&
        (rest * 20 < rest_scale * 9 || rest * 20 >= rest_scale * 11)) {
      *ms = whole * 1000 + milli + (rest * 2 >= rest_scale ? 1 : 0);
      return true;
    }
  }
  double seconds = 0;
  if (!absl::SimpleAtod(std::string(text), &seconds) || !std::isfinite(seconds) || seconds < 0 ||
      seconds > 1e11) {
    return false;
  }
  *ms = static_cast<int64_t>(std::llround(seconds * 1000));
  return true;
}

// "2020-06-05T14:39:59.305988Z" (Zeek's JSON with ISO 8601 times) -> ms.
bool IsoToMs(std::string_view text, int64_t* ms) {
  int y, mo, d, h, mi;
  double s;
  char z = 0;
  const std::string t(text);
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%lf%c", &y, &mo, &d, &h, &mi, &s, &z) != 7 ||
      z != 'Z' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s < 0 || s >= 61) {
    return false;
  }
  // Days from the civil date (proleptic Gregorian), after H. Hinnant's days_from_civil.
  const int yy = y - (mo <= 2);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(yy - era * 400);
  const unsigned doy =
      (153 * static_cast<unsigned>(mo + (mo > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
  *ms = (days * 86400 + h * 3600 + mi * 60) * 1000 + static_cast<int64_t>(std::llround(s * 1000));
  return true;
}

// A line that does not parse, and why.
ParsedLine LineError(std::string why) {
  ParsedLine out;
  out.kind = ParsedLine::Kind::kError;
  out.error = std::move(why);
  return out;
}

void AddField(LogEvent& event, std::string_view name, std::string value) {
  threatmesh::v1::EventField* f = event.add_fields();
  f->set_name(std::string(name));
  f->set_value(std::move(value));
}

// Splits a request target "/path?query" into url.path and url.query_string.
void AddTarget(LogEvent& event, std::string_view target) {
  const std::size_t q = target.find('?');
  AddField(event, "url.path", std::string(target.substr(0, q)));
  if (q != std::string_view::npos)
    AddField(event, "url.query_string", std::string(target.substr(q + 1)));
}

class ZeekParser final : public LogParser {
 public:
  explicit ZeekParser(const ZeekLog& log) : log_(log) {
    for (const FieldName& n : kConnection) names_[n.zeek] = n.ocsf;
    for (std::size_t i = 0; i < log.name_count; ++i) names_[log.names[i].zeek] = log.names[i].ocsf;
  }
  std::string_view format() const override { return log_.format; }

  ParsedLine Parse(std::string_view line) override {
    ParsedLine out;
    ParseInto(line, out);
    return out;
  }

  void ParseInto(std::string_view line, ParsedLine& out) override {
    out.Reset();
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return;
    if (line.front() == '#') {
      Header(line);
      return;
    }
    if (!file_error_.empty()) {
      out = LineError(file_error_);
    } else if (line.front() == '{') {
      out = Json(line);
    } else {
      Tsv(line, out);
    }
  }

 private:
  void Header(std::string_view line) {
    if (line.starts_with("#separator")) {
      separator_ = Unescape(line.substr(std::min<std::size_t>(line.size(), 11)));
      if (separator_.empty() || separator_.size() > 8) {
        file_error_ = StrCat("the #separator header gives ", separator_.size(),
                             " bytes; a Zeek log's separator is 1 to 8 bytes (a tab: \\x09)");
      }
      return;
    }
    std::vector<std::string_view> parts = Split(line, separator_);
    if (parts.size() < 2) return;
    const std::string_view key = parts[0];
    if (key == "#set_separator") {
      set_separator_ = Unescape(parts[1]);
      if (set_separator_.empty() || set_separator_.size() > 8) {
        file_error_ = StrCat("the #set_separator header gives ", set_separator_.size(),
                             " bytes; expected 1 to 8");
      }
    }
    if (key == "#empty_field") empty_ = Unescape(parts[1]);
    if (key == "#unset_field") unset_ = Unescape(parts[1]);
    if (key == "#path" && parts[1] != log_.path) {
      file_error_ = StrCat("the file is a Zeek ", parts[1], " log, not ", log_.path,
                           " (use --format zeek-", parts[1], ")");
    }
    if (key == "#fields") {
      columns_.assign(parts.begin() + 1, parts.end());
      plan_.clear();
      for (const std::string& c : columns_) {
        auto it = names_.find(c);
        plan_.push_back(c == "ts"                  ? Column{Column::kTime, nullptr}
                        : it == names_.end()       ? Column{Column::kSkip, nullptr}
                        : it->second == "url.path" ? Column{Column::kTarget, &it->second}
                                                   : Column{Column::kField, &it->second});
      }
    }
  }

  // What a TSV column becomes, decided once per #fields header.
  struct Column {
    enum Kind { kTime, kSkip, kTarget, kField } kind;
    const std::string* name;  // the OCSF name, for kTarget and kField
  };

  // Adds the value of Zeek field `zeek` (already unescaped) to `event`: the time, or a named
  // field. False with `why` when the time is bad.
  bool Take(LogEvent& event, const std::string& zeek, std::string value, bool* has_time,
            std::string* why) {
    if (zeek == "ts") {
      int64_t ms = 0;
      if (!EpochSecondsToMs(value, &ms) && !IsoToMs(value, &ms)) {
        *why = StrCat("the time \"", value, "\" is neither epoch seconds nor ISO 8601 UTC");
        return false;
      }
      event.set_time(ms);
      *has_time = true;
      return true;
    }
    auto it = names_.find(zeek);
    if (it == names_.end()) return true;
    if (it->second == "url.path") {
      AddTarget(event, value);
    } else {
      AddField(event, it->second, std::move(value));
    }
    return true;
  }

  void Tsv(std::string_view line, ParsedLine& out) {
    if (columns_.empty()) {
      out = LineError("a data line before the #fields header; is this a Zeek TSV log?");
      return;
    }
    Split(line, separator_, values_);
    if (values_.size() != columns_.size()) {
      out = LineError(StrCat("has ", values_.size(), " fields where the #fields header names ",
                             columns_.size()));
      return;
    }
    out.kind = ParsedLine::Kind::kEvent;
    out.event.set_class_name(log_.class_name);
    bool has_time = false;
    std::string why;
    for (std::size_t i = 0; i < values_.size(); ++i) {
      if (values_[i] == unset_ || plan_[i].kind == Column::kSkip) continue;
      if (plan_[i].kind == Column::kField && set_separator_ == ",") {
        // The common case, into the event's reused storage.
        threatmesh::v1::EventField* f = out.event.add_fields();
        f->mutable_name()->assign(*plan_[i].name);
        if (values_[i] == empty_) {
          f->mutable_value()->clear();
        } else {
          UnescapeInto(values_[i], *f->mutable_value());
        }
        continue;
      }
      std::string value = values_[i] == empty_ ? "" : Unescape(values_[i]);
      if (set_separator_ != ",") {
        std::string joined;
        for (std::string_view part : Split(value, set_separator_)) {
          joined += (joined.empty() ? "" : ",") + std::string(part);
        }
        value = joined;
      }
      if (!Take(out.event, columns_[i], std::move(value), &has_time, &why)) {
        out = LineError(why);
        return;
      }
    }
    if (!has_time) out = LineError("no ts (time) field");
  }

  static std::string JsonText(const google::protobuf::Value& v) {
    switch (v.kind_case()) {
      case google::protobuf::Value::kStringValue:
        return v.string_value();
      case google::protobuf::Value::kNumberValue: {
        const double d = v.number_value();
        if (std::floor(d) == d && std::fabs(d) < 1e15)
          return std::to_string(static_cast<int64_t>(d));
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%.6f", d);
        return buf;
      }
      case google::protobuf::Value::kBoolValue:
        return v.bool_value() ? "true" : "false";
      case google::protobuf::Value::kListValue: {
        std::string joined;
        for (const google::protobuf::Value& e : v.list_value().values()) {
          joined += (joined.empty() ? "" : ",") + JsonText(e);
        }
        return joined;
      }
      default:
        return "";
    }
  }

  ParsedLine Json(std::string_view line) {
    google::protobuf::Struct object;
    if (!google::protobuf::util::JsonStringToMessage(std::string(line), &object).ok()) {
      return LineError("not a JSON object");
    }
    ParsedLine out;
    out.kind = ParsedLine::Kind::kEvent;
    out.event.set_class_name(log_.class_name);
    bool has_time = false;
    std::string why;
    // In key order, so that events come out the same whatever order the writer used.
    std::map<std::string, const google::protobuf::Value*> sorted;
    for (const auto& [key, value] : object.fields()) sorted[key] = &value;
    for (const auto& [key, value] : sorted) {
      if (value->kind_case() == google::protobuf::Value::kNullValue) continue;
      if (key == "ts" && value->kind_case() == google::protobuf::Value::kNumberValue) {
        out.event.set_time(static_cast<int64_t>(std::llround(value->number_value() * 1000)));
        has_time = true;
        continue;
      }
      if (!Take(out.event, key, JsonText(*value), &has_time, &why)) return LineError(why);
    }
    if (!has_time) return LineError("no ts (time) field");
    return out;
  }

  const ZeekLog& log_;
  std::map<std::string, std::string> names_;
  std::string separator_ = "\t";
  std::string set_separator_ = ",";
  std::string empty_ = "(empty)";
  std::string unset_ = "-";
  std::vector<std::string> columns_;
  std::vector<Column> plan_;              // one per column
  std::vector<std::string_view> values_;  // reused for each line
  std::string file_error_;
};

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

// BIND 9 query log lines (the "queries" category), with or without the category prefix, the
// client object address and a view:
//   20-Nov-2026 11:00:00.123 queries: info: client @0x7f3a2c0a1b40 10.0.0.5#53124
//   (c2.example.com): view internal: query: c2.example.com IN A +E(0)K (10.0.0.53)
// Times are local, in `zone`.
class BindQueryParser final : public OffsetNotingParser {
 public:
  explicit BindQueryParser(absl::TimeZone zone) : zone_(zone) {}
  std::string_view format() const override { return "bind-query"; }

  ParsedLine Parse(std::string_view line) override {
    ParsedLine out;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return out;
    std::vector<std::string_view> words = Split(line, " ");
    if (words.size() < 2) return LineError("expected a date and a time first");
    absl::Time t;
    std::string why;
    if (!absl::ParseTime("%d-%b-%Y %H:%M:%E*S", StrCat(words[0], " ", words[1]), zone_, &t, &why)) {
      return LineError(
          StrCat("the time \"", words[0], " ", words[1], "\" is not dd-Mon-yyyy HH:MM:SS.mmm"));
    }
    std::size_t i = 2;
    auto skip = [&](std::string_view w) {
      if (i < words.size() && words[i] == w) ++i;
    };
    skip("queries:");
    skip("info:");
    if (i >= words.size() || words[i] != "client")
      return LineError("not a query log line (no client)");
    ++i;
    if (i < words.size() && words[i].starts_with("@0x")) ++i;
    if (i >= words.size()) return LineError("no client address");
    const std::string_view client = words[i++];
    const std::size_t hash = client.rfind('#');
    if (hash == std::string_view::npos) return LineError("the client is not address#port");
    // Then "(name):", an optional "view NAME:", "query:", name, class, type, flags, "(server)".
    if (i < words.size() && words[i].starts_with("(")) ++i;
    if (i + 1 < words.size() && words[i] == "view") i += 2;
    if (i >= words.size() || words[i] != "query:")
      return LineError("no \"query:\" after the client");
    ++i;
    if (i + 2 >= words.size()) return LineError("the query is cut short");
    out.kind = ParsedLine::Kind::kEvent;
    LogEvent& e = out.event;
    e.set_class_name("dns_activity");
    e.set_time(absl::ToUnixMillis(t));
    NoteOffset(zone_, t);
    AddField(e, "src_endpoint.ip", std::string(client.substr(0, hash)));
    AddField(e, "src_endpoint.port", std::string(client.substr(hash + 1)));
    AddField(e, "query.hostname", std::string(words[i]));
    AddField(e, "query.class", std::string(words[i + 1]));
    AddField(e, "query.type", std::string(words[i + 2]));
    if (i + 3 < words.size() && !words[i + 3].starts_with("(")) {
      AddField(e, "query.flags", std::string(words[i + 3]));
    }
    const std::string_view last = words.back();
    if (last.size() > 2 && last.front() == '(' && last.back() == ')') {
      AddField(e, "dst_endpoint.ip", std::string(last.substr(1, last.size() - 2)));
    }
    return out;
  }

 private:
  absl::TimeZone zone_;
};

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

// The Windows DNS server debug log ("DNS debug logging" to a file), packet lines such as
//   11/20/2026 11:00:00 AM 0A3C PACKET  000000D0ED6A4E70 UDP Rcv 10.0.0.5        c0f2   Q
//   [0001   D   NOERROR] A      (3)www(7)example(3)com(0)
// (one line). Times are local, in the server's regional format: M/D/YYYY with a 12-hour
// clock (the en-US default) or a 24-hour one. Other lines (the header, non-packet events)
// are skipped.
class WindowsDnsParser final : public OffsetNotingParser {
 public:
  explicit WindowsDnsParser(absl::TimeZone zone) : zone_(zone) {}
  std::string_view format() const override { return "windows-dns"; }

  ParsedLine Parse(std::string_view line) override {
    ParsedLine out;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::vector<std::string_view> w;
    for (std::string_view part : Split(line, " ")) {
      if (!part.empty()) w.push_back(part);
    }
    // Only packet lines are events; the header and other messages are not.
    auto packet = std::find(w.begin(), w.end(), "PACKET");
    if (packet == w.end()) return out;
    const std::size_t p = static_cast<std::size_t>(packet - w.begin());
    const bool twelve_hour = p == 4 && (w[2] == "AM" || w[2] == "PM");
    if (!(twelve_hour || p == 3)) return LineError("expected date, time and thread before PACKET");
    absl::Time t;
    std::string err;
    const std::string stamp =
        twelve_hour ? StrCat(w[0], " ", w[1], " ", w[2]) : StrCat(w[0], " ", w[1]);
    if (!absl::ParseTime(twelve_hour ? "%m/%d/%Y %I:%M:%S %p" : "%m/%d/%Y %H:%M:%S", stamp, zone_,
                         &t, &err)) {
      return LineError(StrCat("the time \"", stamp, "\" is not M/D/YYYY h:mm:ss [AM|PM]"));
    }
    // After PACKET: context, protocol, Snd|Rcv, remote address, xid, then " " or "R", opcode,
    // "[flags", flag letters..., "RCODE]", type, name.
    std::size_t i = p + 2;
    if (i + 3 >= w.size()) return LineError("the packet line is cut short");
    const std::string_view protocol = w[i], direction = w[i + 1], remote = w[i + 2];
    const std::string_view xid = w[i + 3];
    i += 4;
    bool response = false;
    if (i < w.size() && w[i] == "R") {
      response = true;
      ++i;
    }
    if (i < w.size()) ++i;  // opcode
    while (i < w.size() && !w[i].ends_with("]")) ++i;
    if (i + 2 >= w.size()) return LineError("no rcode, type and name after the flags");
    std::string_view rcode = w[i];
    rcode.remove_suffix(1);
    if (rcode.starts_with("[")) rcode.remove_prefix(1);
    const std::string_view type = w[i + 1], wire_name = w[i + 2];
    std::string name;
    // (3)www(7)example(3)com(0) -> www.example.com
    for (std::size_t k = 0; k < wire_name.size();) {
      if (wire_name[k] != '(')
        return LineError(StrCat("the name \"", wire_name, "\" is not (n)label form"));
      const std::size_t close = wire_name.find(')', k);
      if (close == std::string_view::npos) return LineError("the name is cut short");
      int length = 0;
      if (!absl::SimpleAtoi(std::string(wire_name.substr(k + 1, close - k - 1)), &length) ||
          length < 0 || close + 1 + static_cast<std::size_t>(length) > wire_name.size()) {
        return LineError(StrCat("the name \"", wire_name, "\" is not (n)label form"));
      }
      if (length > 0)
        name += (name.empty() ? "" : ".") + std::string(wire_name.substr(close + 1, length));
      k = close + 1 + static_cast<std::size_t>(length);
    }
    out.kind = ParsedLine::Kind::kEvent;
    LogEvent& e = out.event;
    e.set_class_name("dns_activity");
    e.set_time(absl::ToUnixMillis(t));
    NoteOffset(zone_, t);
    std::string proto(protocol);
    for (char& c : proto) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    AddField(e, "connection_info.protocol_name", proto);
    // The remote end is the client: the source of what the server receives, the destination
    // of what it sends.
    AddField(e, direction == "Rcv" ? "src_endpoint.ip" : "dst_endpoint.ip", std::string(remote));
    AddField(e, "connection_info.direction", direction == "Rcv" ? "inbound" : "outbound");
    AddField(e, "query.packet_uid", std::string(xid));
    AddField(e, "activity", response ? "response" : "query");
    AddField(e, "rcode", std::string(rcode));
    AddField(e, "query.type", std::string(type));
    AddField(e, "query.hostname", name);
    return out;
  }

 private:
  absl::TimeZone zone_;
};

}  // namespace

std::vector<std::string> LogFormatNames() {
  std::vector<std::string> out = {"bind-query",  "nginx-combined", "apache-combined",
                                  "syslog-5424", "syslog-3164",    "windows-dns"};
  for (const ZeekLog& z : kZeekLogs) out.push_back(z.format);
  return out;
}

bool FormatMayNameUsers(std::string_view format) {
  return format != "zeek-dns" && format != "zeek-conn" && format != "bind-query" &&
         format != "windows-dns";
}

absl::StatusOr<std::unique_ptr<LogParser>> MakeLogParser(std::string_view format,
                                                         const LogParserOptions& options) {
  for (const ZeekLog& z : kZeekLogs) {
    if (format == z.format) return std::make_unique<ZeekParser>(z);
  }
  if (format == "nginx-combined") return std::make_unique<CombinedParser>("nginx-combined");
  if (format == "apache-combined") return std::make_unique<CombinedParser>("apache-combined");
  const absl::Time now = options.now_ms != 0 ? absl::FromUnixMillis(options.now_ms) : absl::Now();
  if (format == "syslog-5424")
    return std::make_unique<SyslogParser>(true, absl::UTCTimeZone(), now);
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
    if (format == "syslog-3164") return std::make_unique<SyslogParser>(false, zone, now);
    if (format == "windows-dns") return std::make_unique<WindowsDnsParser>(zone);
    return std::make_unique<BindQueryParser>(zone);
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
