#include "node/excerpt/log_formats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <sstream>

namespace threatmesh {
namespace {

using threatmesh::v1::LogEvent;

// A Zeek dns.log as Zeek writes it (TSV, tab separators, its header and footer), with an
// IPv6 query, an escaped byte, unset and empty fields, and a broken line. 1795168800 is
// 2026-11-20T10:00:00Z.
constexpr char kDnsTsv[] =
    "#separator \\x09\n"
    "#set_separator\t,\n"
    "#empty_field\t(empty)\n"
    "#unset_field\t-\n"
    "#path\tdns\n"
    "#open\t2026-11-20-10-00-00\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\t"
    "qclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\t"
    "rejected\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\t"
    "count\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\t"
    "vector[interval]\tbool\n"
    "1795168800.123456\tCHhAvVGS1DHFjwGM9\t10.0.0.5\t53124\t10.0.0.53\t53\tudp\t4711\t0.001234\t"
    "c2.evil-example.com\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t"
    "203.0.113.7,203.0.113.8\t60.000000,60.000000\tF\n"
    "1795168801.5\tCx\tfd00::5\t40000\tfd00::53\t53\tudp\t12\t-\tweird\\x09name.example\t1\t"
    "C_INTERNET\t28\tAAAA\t3\tNXDOMAIN\tF\tF\tT\tT\t0\t-\t-\tF\n"
    "1795168802\tCy\t10.0.0.6\t1\t10.0.0.53\t53\tudp\t13\t-\t(empty)\t-\t-\t-\t-\t-\t-\tF\tF\tT\t"
    "F\t0\t-\t-\tF\n"
    "this line is broken\n"
    "yesterday\tCz\t10.0.0.6\t1\t10.0.0.53\t53\tudp\t13\t-\tx.example\t-\t-\t-\t-\t-\t-\tF\tF\tT\t"
    "F\t0\t-\t-\tF\n"
    "#close\t2026-11-20-11-00-00\n";

struct Parsed {
  std::vector<LogEvent> events;
  std::vector<std::pair<int, std::string>> errors;  // line number, reason
};

Parsed ParseAll(LogParser& parser, const std::string& text) {
  Parsed out;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    ParsedLine p = parser.Parse(line);
    if (p.kind == ParsedLine::Kind::kEvent) out.events.push_back(p.event);
    if (p.kind == ParsedLine::Kind::kError) out.errors.emplace_back(number, p.error);
  }
  return out;
}

std::string Field(const LogEvent& e, const char* name) {
  const std::string* v = EventFieldValue(e, name);
  return v ? *v : "<absent>";
}

TEST(LogFormatsTest, ZeekDnsTsvFieldByField) {
  std::unique_ptr<LogParser> parser = *MakeLogParser("zeek-dns");
  Parsed p = ParseAll(*parser, kDnsTsv);
  ASSERT_EQ(p.events.size(), 3u);
  const LogEvent& a = p.events[0];
  EXPECT_EQ(a.class_name(), "dns_activity");
  EXPECT_EQ(a.time(), 1795168800123);
  EXPECT_EQ(Field(a, "metadata.uid"), "CHhAvVGS1DHFjwGM9");
  EXPECT_EQ(Field(a, "src_endpoint.ip"), "10.0.0.5");
  EXPECT_EQ(Field(a, "src_endpoint.port"), "53124");
  EXPECT_EQ(Field(a, "dst_endpoint.ip"), "10.0.0.53");
  EXPECT_EQ(Field(a, "dst_endpoint.port"), "53");
  EXPECT_EQ(Field(a, "connection_info.protocol_name"), "udp");
  EXPECT_EQ(Field(a, "query.hostname"), "c2.evil-example.com");
  EXPECT_EQ(Field(a, "query.type"), "A");
  EXPECT_EQ(Field(a, "query.class"), "C_INTERNET");
  EXPECT_EQ(Field(a, "rcode"), "NOERROR");
  EXPECT_EQ(Field(a, "answers"), "203.0.113.7,203.0.113.8");
  EXPECT_EQ(Field(a, "duration"), "0.001234");
  EXPECT_EQ(Field(a, "AA"), "<absent>");  // not mapped: kept in the lines only

  const LogEvent& b = p.events[1];  // IPv6, an escaped tab, unset fields
  EXPECT_EQ(b.time(), 1795168801500);
  EXPECT_EQ(Field(b, "src_endpoint.ip"), "fd00::5");
  EXPECT_EQ(Field(b, "query.hostname"), "weird\tname.example");
  EXPECT_EQ(Field(b, "query.type"), "AAAA");
  EXPECT_EQ(Field(b, "rcode"), "NXDOMAIN");
  EXPECT_EQ(Field(b, "duration"), "<absent>");
  EXPECT_EQ(Field(b, "answers"), "<absent>");

  const LogEvent& c = p.events[2];  // an empty query, whole-second time
  EXPECT_EQ(c.time(), 1795168802000);
  EXPECT_EQ(Field(c, "query.hostname"), "");
  EXPECT_EQ(Field(c, "rcode"), "<absent>");

  ASSERT_EQ(p.errors.size(), 2u);
  EXPECT_EQ(p.errors[0].first, 12);
  EXPECT_EQ(p.errors[0].second, "has 1 fields where the #fields header names 24");
  EXPECT_EQ(p.errors[1].first, 13);
  EXPECT_NE(p.errors[1].second.find("the time \"yesterday\""), std::string::npos);
}

// Zeek's epoch times ("1795168800.001237") are read without a detour through a double
// where the millisecond is clear; they must round exactly as the double does, checked on
// fixed edge cases and random times.
TEST(LogFormatsTest, ZeekEpochTimesRoundAsTheDoubleDoes) {
  std::vector<std::string> times = {"1795168800.001237",
                                    "1795168800.0005",
                                    "1795168800.000500",
                                    "1795168800.0004999",
                                    "1795168800.0015",
                                    "1795168800.12345",
                                    "0.000",
                                    "0.0005",
                                    "99999999999.999999",
                                    "99999999999.9995",
                                    "1.5",
                                    "1795168800",
                                    "1795168800.999999",
                                    "1795168800.9995",
                                    "12.345678912",
                                    "7.0004500001"};
  std::mt19937_64 random(5);
  for (int i = 0; i < 20000; ++i) {
    const uint64_t r = random();
    std::string t = std::to_string(r % 100000000000ull) + ".";
    const int digits = 3 + static_cast<int>((r >> 40) % 7);
    for (int d = 0; d < digits; ++d) t.push_back(static_cast<char>('0' + random() % 10));
    if (i % 4 == 0) t[t.find('.') + 4] = '5';  // near a half millisecond
    times.push_back(t);
  }
  std::string log =
      "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
      "#path\tdns\n#fields\tts\tuid\n#types\ttime\tstring\n";
  for (const std::string& t : times) log += t + "\tCx\n";
  std::unique_ptr<LogParser> parser = *MakeLogParser("zeek-dns");
  Parsed p = ParseAll(*parser, log);
  ASSERT_EQ(p.events.size(), times.size());
  for (std::size_t i = 0; i < times.size(); ++i) {
    const int64_t want = std::llround(std::strtod(times[i].c_str(), nullptr) * 1000);
    ASSERT_EQ(p.events[i].time(), want) << times[i];
  }
}

TEST(LogFormatsTest, ZeekJsonLines) {
  std::unique_ptr<LogParser> parser = *MakeLogParser("zeek-dns");
  Parsed p = ParseAll(
      *parser,
      "{\"ts\":1795168803.25,\"uid\":\"Cj\",\"id.orig_h\":\"192.168.1.9\",\"id.orig_p\":5353,"
      "\"id.resp_h\":\"192.168.1.1\",\"id.resp_p\":53,\"proto\":\"udp\",\"query\":\"json.example\","
      "\"qtype_name\":\"A\",\"rcode_name\":\"NOERROR\",\"answers\":[\"198.51.100.1\","
      "\"198.51.100.2\"],\"rtt\":null,\"AA\":false}\n"
      "{\"ts\":\"2026-11-20T10:00:04.500000Z\",\"query\":\"iso.example\"}\n"
      "{\"ts\":1795168805, \"query\": \n"
      "{\"query\":\"no-time.example\"}\n");
  ASSERT_EQ(p.events.size(), 2u);
  const LogEvent& a = p.events[0];
  EXPECT_EQ(a.time(), 1795168803250);
  EXPECT_EQ(Field(a, "src_endpoint.ip"), "192.168.1.9");
  EXPECT_EQ(Field(a, "src_endpoint.port"), "5353");
  EXPECT_EQ(Field(a, "dst_endpoint.port"), "53");
  EXPECT_EQ(Field(a, "query.hostname"), "json.example");
  EXPECT_EQ(Field(a, "answers"), "198.51.100.1,198.51.100.2");
  EXPECT_EQ(Field(a, "duration"), "<absent>");  // null
  EXPECT_EQ(p.events[1].time(), 1795168804500);
  ASSERT_EQ(p.errors.size(), 2u);
  EXPECT_EQ(p.errors[0], (std::pair<int, std::string>{3, "not a JSON object"}));
  EXPECT_EQ(p.errors[1], (std::pair<int, std::string>{4, "no ts (time) field"}));
}

TEST(LogFormatsTest, ZeekHttpAndConnMapTheirFields) {
  std::unique_ptr<LogParser> http = *MakeLogParser("zeek-http");
  Parsed h = ParseAll(*http,
                      "#path\thttp\n"
                      "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\thost\t"
                      "uri\tuser_agent\tstatus_code\tusername\tpassword\n"
                      "1795168800.0\tCh\t10.0.0.7\t50000\t198.51.100.20\t80\tGET\tevil.example\t"
                      "/dl?id=7&token=s3cret\tcurl/8.4.0\t200\tbob\thunter2\n");
  ASSERT_EQ(h.events.size(), 1u) << (h.errors.empty() ? "" : h.errors[0].second);
  EXPECT_EQ(h.events[0].class_name(), "http_activity");
  EXPECT_EQ(Field(h.events[0], "http_request.http_method"), "GET");
  EXPECT_EQ(Field(h.events[0], "url.hostname"), "evil.example");
  EXPECT_EQ(Field(h.events[0], "url.path"), "/dl");
  EXPECT_EQ(Field(h.events[0], "url.query_string"), "id=7&token=s3cret");
  EXPECT_EQ(Field(h.events[0], "http_request.user_agent"), "curl/8.4.0");
  EXPECT_EQ(Field(h.events[0], "http_response.code"), "200");
  EXPECT_EQ(Field(h.events[0], "user.name"), "bob");
  EXPECT_EQ(Field(h.events[0], "user.password"), "hunter2");  // for the sanitizer to remove

  std::unique_ptr<LogParser> conn = *MakeLogParser("zeek-conn");
  Parsed c = ParseAll(*conn,
                      "#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\t"
                      "duration\torig_bytes\tresp_bytes\tconn_state\n"
                      "1795168800.0\t10.0.0.8\t44321\t203.0.113.9\t443\ttcp\tssl\t12.5\t1400\t"
                      "88000\tSF\n");
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].class_name(), "network_activity");
  EXPECT_EQ(Field(c.events[0], "app_name"), "ssl");
  EXPECT_EQ(Field(c.events[0], "traffic.bytes_out"), "1400");
  EXPECT_EQ(Field(c.events[0], "traffic.bytes_in"), "88000");
  EXPECT_EQ(Field(c.events[0], "status_detail"), "SF");
}

TEST(LogFormatsTest, WrongFileAndUnknownFormatAreExplained) {
  std::unique_ptr<LogParser> http = *MakeLogParser("zeek-http");
  Parsed p = ParseAll(*http, std::string(kDnsTsv));
  EXPECT_TRUE(p.events.empty());
  ASSERT_FALSE(p.errors.empty());
  EXPECT_EQ(p.errors[0].second, "the file is a Zeek dns log, not http (use --format zeek-dns)");
  std::unique_ptr<LogParser> dns = *MakeLogParser("zeek-dns");
  Parsed headless = ParseAll(*dns, "1795168800.0\tx\n");
  ASSERT_EQ(headless.errors.size(), 1u);
  EXPECT_NE(headless.errors[0].second.find("before the #fields header"), std::string::npos);
  // Headers that would cut nothing (found by fuzzing: an empty separator looped forever).
  for (const char* header : {"#separator \n", "#separator\n",
                             "#separator \\x09\\x09\\x09\\x09\\x09\\x09\\x09\\x09\\x09\n",
                             "#separator \\x09\n#set_separator\t\n"}) {
    std::unique_ptr<LogParser> zeek = *MakeLogParser("zeek-dns");
    Parsed bad = ParseAll(*zeek, std::string(header) + "#fields\tts\tquery\n1795168800.0\tx\n");
    EXPECT_TRUE(bad.events.empty()) << header;
    ASSERT_FALSE(bad.errors.empty()) << header;
    EXPECT_NE(bad.errors.back().second.find("separator header gives"), std::string::npos)
        << bad.errors.back().second;
  }
  absl::StatusOr<std::unique_ptr<LogParser>> none = MakeLogParser("bind9");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(
      none.status().message().find("bind-query, nginx-combined, apache-combined, syslog-5424"),
      std::string::npos)
      << none.status();
}

// nginx and Apache combined logs: times with their offset, IPv6 clients, escaped quotes
// (Apache's \" and nginx's \x22), empty fields, a common-format line, scanner junk and a
// broken line.
TEST(LogFormatsTest, CombinedAccessLogFieldByField) {
  std::unique_ptr<LogParser> parser = *MakeLogParser("nginx-combined");
  Parsed p = ParseAll(
      *parser,
      "10.0.0.7 - bob [20/Nov/2026:11:00:00 +0100] \"GET /dl?id=7&token=s3cret HTTP/1.1\" 200 "
      "5120 \"http://ref.example/\" \"Mozilla/5.0 (X11; Linux x86_64)\"\n"
      "2001:db8::7 - - [20/Nov/2026:05:00:01 -0500] \"POST /login HTTP/2.0\" 302 - \"-\" "
      "\"say \\\"hi\\\" \\x22there\\x22\"\n"
      "192.0.2.9 - - [20/Nov/2026:10:00:02 +0000] \"\\x16\\x03\\x01\" 400 157 \"-\" \"-\"\n"
      "192.0.2.10 - - [20/Nov/2026:10:00:03 +0000] \"GET / HTTP/1.0\" 200 10\n"
      "192.0.2.11 - - [yesterday] \"GET / HTTP/1.0\" 200 10\n"
      "192.0.2.12 - - [20/Nov/2026:10:00:04 +0000] \"GET / HTTP/1.0\" OK 10\n");
  ASSERT_EQ(p.events.size(), 4u);
  EXPECT_EQ(parser->utc_offset_minutes(), 60);
  const LogEvent& a = p.events[0];
  EXPECT_EQ(a.class_name(), "http_activity");
  EXPECT_EQ(a.time(), 1795168800000);  // 11:00 +01:00 = 10:00 UTC
  EXPECT_EQ(Field(a, "src_endpoint.ip"), "10.0.0.7");
  EXPECT_EQ(Field(a, "user.name"), "bob");
  EXPECT_EQ(Field(a, "http_request.http_method"), "GET");
  EXPECT_EQ(Field(a, "url.path"), "/dl");
  EXPECT_EQ(Field(a, "url.query_string"), "id=7&token=s3cret");
  EXPECT_EQ(Field(a, "http_request.version"), "HTTP/1.1");
  EXPECT_EQ(Field(a, "http_response.code"), "200");
  EXPECT_EQ(Field(a, "http_response.length"), "5120");
  EXPECT_EQ(Field(a, "http_request.referrer"), "http://ref.example/");
  EXPECT_EQ(Field(a, "http_request.user_agent"), "Mozilla/5.0 (X11; Linux x86_64)");
  const LogEvent& b = p.events[1];
  EXPECT_EQ(b.time(), 1795168801000);  // 05:00:01 -05:00
  EXPECT_EQ(Field(b, "src_endpoint.ip"), "2001:db8::7");
  EXPECT_EQ(Field(b, "user.name"), "<absent>");
  EXPECT_EQ(Field(b, "http_response.length"), "<absent>");
  EXPECT_EQ(Field(b, "http_request.referrer"), "<absent>");
  EXPECT_EQ(Field(b, "http_request.user_agent"), "say \"hi\" \"there\"");
  EXPECT_EQ(Field(p.events[2], "http_request.raw"), "\x16\x03\x01");
  EXPECT_EQ(Field(p.events[2], "http_request.http_method"), "<absent>");
  EXPECT_EQ(Field(p.events[3], "http_request.user_agent"), "<absent>");  // common format
  ASSERT_EQ(p.errors.size(), 2u);
  EXPECT_EQ(p.errors[0].first, 5);
  EXPECT_EQ(p.errors[0].second, "the time [yesterday] is not dd/Mon/yyyy:HH:MM:SS +zzzz");
  EXPECT_EQ(p.errors[1].first, 6);
  EXPECT_EQ(p.errors[1].second, "the status \"OK\" is not an HTTP status code");
}

// BIND 9 query logs: local times made UTC with the zone given (here across the format's
// variants: category prefix, client object, view, IPv6), and no zone refused up front.
TEST(LogFormatsTest, BindQueryLogNeedsItsZone) {
  absl::StatusOr<std::unique_ptr<LogParser>> no_zone = MakeLogParser("bind-query");
  EXPECT_EQ(no_zone.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(no_zone.status().message().find("--timezone"), std::string::npos);
  LogParserOptions bad;
  bad.timezone = "Mars/Olympus";
  EXPECT_EQ(MakeLogParser("bind-query", bad).status().code(), absl::StatusCode::kInvalidArgument);

  LogParserOptions berlin;
  berlin.timezone = "Europe/Berlin";  // UTC+1 in November
  std::unique_ptr<LogParser> parser = *MakeLogParser("bind-query", berlin);
  Parsed p =
      ParseAll(*parser,
               "20-Nov-2026 11:00:00.123 queries: info: client @0x7f3a2c0a1b40 10.0.0.5#53124 "
               "(c2.evil-example.com): query: c2.evil-example.com IN A +E(0)K (10.0.0.53)\n"
               "20-Nov-2026 11:00:01.000 client fd00::5#40000 (x.example): view internal: query: "
               "x.example IN AAAA + (fd00::53)\n"
               "20-Nov-2026 11:00:02.000 general: info: zone example/IN: loaded serial 7\n"
               "20-Nov-2026 11:00:03.000 client 10.0.0.6 (y.example): query: y.example IN A + "
               "(10.0.0.53)\n"
               "Nov 20 11:00:04 resolver named[99]: client 10.0.0.6#1 (z): query: z IN A +\n");
  ASSERT_EQ(p.events.size(), 2u);
  EXPECT_EQ(parser->utc_offset_minutes(), 60);
  const LogEvent& a = p.events[0];
  EXPECT_EQ(a.class_name(), "dns_activity");
  EXPECT_EQ(a.time(), 1795168800123);
  EXPECT_EQ(Field(a, "src_endpoint.ip"), "10.0.0.5");
  EXPECT_EQ(Field(a, "src_endpoint.port"), "53124");
  EXPECT_EQ(Field(a, "query.hostname"), "c2.evil-example.com");
  EXPECT_EQ(Field(a, "query.class"), "IN");
  EXPECT_EQ(Field(a, "query.type"), "A");
  EXPECT_EQ(Field(a, "query.flags"), "+E(0)K");
  EXPECT_EQ(Field(a, "dst_endpoint.ip"), "10.0.0.53");
  const LogEvent& b = p.events[1];
  EXPECT_EQ(b.time(), 1795168801000);
  EXPECT_EQ(Field(b, "src_endpoint.ip"), "fd00::5");
  EXPECT_EQ(Field(b, "query.type"), "AAAA");
  EXPECT_EQ(Field(b, "dst_endpoint.ip"), "fd00::53");
  ASSERT_EQ(p.errors.size(), 3u);
  EXPECT_EQ(p.errors[0], (std::pair<int, std::string>{3, "not a query log line (no client)"}));
  EXPECT_EQ(p.errors[1], (std::pair<int, std::string>{4, "the client is not address#port"}));
  EXPECT_EQ(p.errors[2].first, 5);
  EXPECT_NE(p.errors[2].second.find("is not dd-Mon-yyyy"), std::string::npos);
}

// RFC 5424 syslog: priority split into facility and severity, times with their offset,
// nil values, structured data with an escaped bracket, the BOM before the message; broken
// lines reported.
TEST(LogFormatsTest, Syslog5424FieldByField) {
  std::unique_ptr<LogParser> parser = *MakeLogParser("syslog-5424");
  Parsed p = ParseAll(
      *parser,
      "<34>1 2026-11-20T10:00:00.003Z host.corp.example su 1234 ID47 - 'su root' failed for "
      "lonvick on /dev/pts/8\n"
      "<165>1 2026-11-20T11:00:00.000+01:00 mymachine.example.com evntslog - ID47 "
      "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\"][examplePriority@32473 "
      "class=\"high\"] \xEF\xBB\xBF"
      "An application event log entry\n"
      "<13>1 2026-11-20T10:00:01Z h a - - [x@1 k=\"a\\]b\"] msg\n"
      "<13>1 - host app - - - no time\n"
      "no priority at all\n"
      "<999>1 2026-11-20T10:00:01Z h a - - - x\n"
      "<13>1 2026-11-20T10:00:01Z h a - - [x@1 k=\"open\n");
  ASSERT_EQ(p.events.size(), 3u);
  const LogEvent& a = p.events[0];
  EXPECT_EQ(a.class_name(), "syslog");
  EXPECT_EQ(a.time(), 1795168800003);
  EXPECT_EQ(Field(a, "facility"), "4");
  EXPECT_EQ(Field(a, "severity_id"), "2");
  EXPECT_EQ(Field(a, "device.hostname"), "host.corp.example");
  EXPECT_EQ(Field(a, "process.name"), "su");
  EXPECT_EQ(Field(a, "process.pid"), "1234");
  EXPECT_EQ(Field(a, "message_id"), "ID47");
  EXPECT_EQ(Field(a, "structured_data"), "<absent>");
  EXPECT_EQ(Field(a, "message"), "'su root' failed for lonvick on /dev/pts/8");
  const LogEvent& b = p.events[1];
  EXPECT_EQ(b.time(), 1795168800000);  // 11:00 +01:00
  EXPECT_EQ(Field(b, "facility"), "20");
  EXPECT_EQ(Field(b, "severity_id"), "5");
  EXPECT_EQ(Field(b, "process.pid"), "<absent>");
  EXPECT_EQ(Field(b, "structured_data"),
            "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\"][examplePriority@32473 "
            "class=\"high\"]");
  EXPECT_EQ(Field(b, "message"), "An application event log entry");
  EXPECT_EQ(Field(p.events[2], "structured_data"), "[x@1 k=\"a\\]b\"]");
  EXPECT_EQ(Field(p.events[2], "message"), "msg");
  EXPECT_EQ(parser->utc_offset_minutes(), 0);
  ASSERT_EQ(p.errors.size(), 4u);
  EXPECT_EQ(p.errors[0],
            (std::pair<int, std::string>{4, "the time \"-\" is not RFC 3339 with a zone"}));
  EXPECT_EQ(p.errors[1],
            (std::pair<int, std::string>{5, "an RFC 5424 line starts with <priority>"}));
  EXPECT_EQ(p.errors[2], (std::pair<int, std::string>{6, "the <priority> is not 0 to 191"}));
  EXPECT_EQ(p.errors[3], (std::pair<int, std::string>{7, "the structured data is cut short"}));
}

// BSD syslog (RFC 3164) as files hold it: local times without a year or zone, read in the
// zone given and the year that is not in the future; the tag and pid split off.
TEST(LogFormatsTest, Syslog3164NeedsItsZoneAndFindsTheYear) {
  EXPECT_EQ(MakeLogParser("syslog-3164").status().code(), absl::StatusCode::kFailedPrecondition);
  LogParserOptions options;
  options.timezone = "Europe/Berlin";
  options.now_ms = 1795176000000;  // 2026-11-20T12:00:00Z
  std::unique_ptr<LogParser> parser = *MakeLogParser("syslog-3164", options);
  Parsed p = ParseAll(*parser,
                      "<13>Nov 20 11:00:04 resolver named[99]: client 10.0.0.6#1 (z): query: z "
                      "IN A +\n"
                      "Nov  3 09:15:00 fw kernel: DROP IN=eth0 SRC=10.0.0.9\n"
                      "Dec 31 23:59:59 h cron[1]: last year\n"
                      "Foo 20 11:00:04 h x: y\n"
                      "Nov 20 11:00:04\n");
  ASSERT_EQ(p.events.size(), 3u);
  const LogEvent& a = p.events[0];
  EXPECT_EQ(a.time(), 1795168804000);  // 11:00:04 CET
  EXPECT_EQ(Field(a, "facility"), "1");
  EXPECT_EQ(Field(a, "severity_id"), "5");
  EXPECT_EQ(Field(a, "device.hostname"), "resolver");
  EXPECT_EQ(Field(a, "process.name"), "named");
  EXPECT_EQ(Field(a, "process.pid"), "99");
  EXPECT_EQ(Field(a, "message"), "client 10.0.0.6#1 (z): query: z IN A +");
  const LogEvent& b = p.events[1];
  EXPECT_EQ(b.time(), 1793693700000);
  EXPECT_EQ(Field(b, "facility"), "<absent>");
  EXPECT_EQ(Field(b, "process.name"), "kernel");
  EXPECT_EQ(Field(b, "process.pid"), "<absent>");
  EXPECT_EQ(Field(b, "message"), "DROP IN=eth0 SRC=10.0.0.9");
  EXPECT_EQ(p.events[2].time(), 1767221999000);  // 2025-12-31 23:59:59 CET
  EXPECT_EQ(parser->utc_offset_minutes(), 60);
  ASSERT_EQ(p.errors.size(), 2u);
  EXPECT_EQ(p.errors[0].first, 4);
  EXPECT_NE(p.errors[0].second.find("is not Mmm dd hh:mm:ss"), std::string::npos);
  EXPECT_EQ(p.errors[1], (std::pair<int, std::string>{5, "expected Mmm dd hh:mm:ss first"}));
}

// --format auto: each format is told from a few of its lines, Zeek JSON logs by their
// fields; a file of no known format is refused.
TEST(LogFormatsTest, DetectsTheFormatFromTheFirstLines) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"20-Nov-2026 11:00:00.123 client 10.0.0.5#53124 (x.example): query: x.example IN A + "
        "(10.0.0.53)"},
       "bind-query"},
      {{"10.0.0.7 - - [20/Nov/2026:11:00:00 +0100] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl\""},
       "nginx-combined"},
      {{"<34>1 2026-11-20T10:00:00.003Z host su - - - hello"}, "syslog-5424"},
      {{"Nov 20 11:00:04 resolver named[99]: hello", "Nov 20 11:00:05 resolver named[99]: again"},
       "syslog-3164"},
      {{"#separator \\x09", "#path\tconn", "#fields\tts\tid.orig_h\tconn_state",
        "1795168800.0\t10.0.0.8\tSF"},
       "zeek-conn"},
      {{"{\"ts\":1795168800.0,\"query\":\"x.example\",\"qtype_name\":\"A\",\"rcode_name\":"
        "\"NOERROR\"}"},
       "zeek-dns"},
      {{"{\"ts\":1795168800.0,\"method\":\"GET\",\"host\":\"x.example\",\"uri\":\"/\","
        "\"user_agent\":\"curl\"}"},
       "zeek-http"},
  };
  for (const auto& [lines, want] : cases) {
    absl::StatusOr<std::string> got = DetectLogFormat(lines);
    ASSERT_TRUE(got.ok()) << want << ": " << got.status();
    EXPECT_EQ(*got, want);
  }
  absl::StatusOr<std::string> none = DetectLogFormat({"just some text", "and more text"});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(none.status().message().find("give --format"), std::string::npos);
}

// The Windows DNS server debug log: packet lines in the 12-hour and the 24-hour form, local
// times read in the zone given, the name decoded from its (n)label form; the file's header
// skipped, a broken name reported.
TEST(LogFormatsTest, WindowsDnsDebugLogFieldByField) {
  EXPECT_EQ(MakeLogParser("windows-dns").status().code(), absl::StatusCode::kFailedPrecondition);
  LogParserOptions options;
  options.timezone = "Europe/Berlin";
  std::unique_ptr<LogParser> parser = *MakeLogParser("windows-dns", options);
  Parsed p = ParseAll(
      *parser,
      "DNS Server log file creation at 11/20/2026 10:59:00 AM\n"
      "Log file wrap at 11/20/2026 10:59:00 AM\n"
      "\n"
      "Message logging key (for packets - other items use a subset of these fields):\n"
      "11/20/2026 11:00:00 AM 0A3C PACKET  000000D0ED6A4E70 UDP Rcv 10.0.0.5        c0f2   Q "
      "[0001   D   NOERROR] A      (3)www(7)example(3)com(0)\n"
      "11/20/2026 11:00:00 AM 0A3C PACKET  000000D0ED6A4E70 UDP Snd 10.0.0.5        c0f2 R Q "
      "[8081   DR  NOERROR] A      (3)www(7)example(3)com(0)\n"
      "11/20/2026 1:05:07 PM 0A3C PACKET  000000D0ED6A4E71 TCP Rcv fd00::5          0007   Q "
      "[0001   D   NXDOMAIN] AAAA   (2)c2(12)evil-example(3)com(0)\n"
      "11/20/2026 13:05:07 0A3C PACKET  000000D0ED6A4E72 UDP Rcv 10.0.0.6  0008   Q [0001   D   "
      "NOERROR] A (1)x(0)\n"
      "11/20/2026 13:05:08 0A3C PACKET  000000D0ED6A4E73 UDP Rcv 10.0.0.6  0009   Q [0001   D   "
      "NOERROR] A (9)x(0)\n");
  ASSERT_EQ(p.events.size(), 4u);
  EXPECT_EQ(parser->utc_offset_minutes(), 60);
  const LogEvent& a = p.events[0];
  EXPECT_EQ(a.class_name(), "dns_activity");
  EXPECT_EQ(a.time(), 1795168800000);  // 11:00 CET
  EXPECT_EQ(Field(a, "src_endpoint.ip"), "10.0.0.5");
  EXPECT_EQ(Field(a, "connection_info.protocol_name"), "udp");
  EXPECT_EQ(Field(a, "connection_info.direction"), "inbound");
  EXPECT_EQ(Field(a, "query.packet_uid"), "c0f2");
  EXPECT_EQ(Field(a, "activity"), "query");
  EXPECT_EQ(Field(a, "rcode"), "NOERROR");
  EXPECT_EQ(Field(a, "query.type"), "A");
  EXPECT_EQ(Field(a, "query.hostname"), "www.example.com");
  const LogEvent& b = p.events[1];
  EXPECT_EQ(Field(b, "dst_endpoint.ip"), "10.0.0.5");
  EXPECT_EQ(Field(b, "src_endpoint.ip"), "<absent>");
  EXPECT_EQ(Field(b, "activity"), "response");
  const LogEvent& c = p.events[2];
  EXPECT_EQ(c.time(), 1795176307000);  // 1:05:07 PM CET
  EXPECT_EQ(Field(c, "src_endpoint.ip"), "fd00::5");
  EXPECT_EQ(Field(c, "connection_info.protocol_name"), "tcp");
  EXPECT_EQ(Field(c, "rcode"), "NXDOMAIN");
  EXPECT_EQ(Field(c, "query.hostname"), "c2.evil-example.com");
  EXPECT_EQ(p.events[3].time(), 1795176307000);  // the 24-hour form
  EXPECT_EQ(Field(p.events[3], "query.hostname"), "x");
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0].first, 9);
  EXPECT_EQ(p.errors[0].second, "the name \"(9)x(0)\" is not (n)label form");
  absl::StatusOr<std::string> detected = DetectLogFormat(
      {"11/20/2026 11:00:00 AM 0A3C PACKET  000000D0ED6A4E70 UDP Rcv 10.0.0.5 c0f2   Q [0001   D"
       "   NOERROR] A (3)www(7)example(3)com(0)"});
  ASSERT_TRUE(detected.ok()) << detected.status();
  EXPECT_EQ(*detected, "windows-dns");
}

}  // namespace
}  // namespace threatmesh
