// The Windows DNS server debug log.

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

std::unique_ptr<LogParser> MakeWindowsDnsParser(absl::TimeZone zone) {
  return std::make_unique<WindowsDnsParser>(zone);
}

}  // namespace threatmesh::log_parsing
