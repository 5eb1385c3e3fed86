// BIND 9 query logs.

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

#include "absl/time/time.h"
#include "crypto/str_cat.h"
#include "node/excerpt/log_parser_base.h"

namespace threatmesh::log_parsing {
namespace {

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

}  // namespace

std::unique_ptr<LogParser> MakeBindQueryParser(absl::TimeZone zone) {
  return std::make_unique<BindQueryParser>(zone);
}

}  // namespace threatmesh::log_parsing
