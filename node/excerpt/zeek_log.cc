// Zeek TSV logs (dns, http, conn), with their fields named as OCSF names them.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include "crypto/str_cat.h"
#include "node/excerpt/log_parser_base.h"

namespace threatmesh::log_parsing {
namespace {

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

}  // namespace

std::vector<std::string> ZeekFormatNames() {
  std::vector<std::string> out;
  for (const ZeekLog& z : kZeekLogs) out.push_back(z.format);
  return out;
}

std::unique_ptr<LogParser> MakeZeekParser(std::string_view format) {
  for (const ZeekLog& z : kZeekLogs) {
    if (format == z.format) return std::make_unique<ZeekParser>(z);
  }
  return nullptr;
}

}  // namespace threatmesh::log_parsing
