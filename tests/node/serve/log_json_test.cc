// The serve log as JSON lines: each event one object with time, level, msg, and peer and
// record only when the event is about one; text that would break a line or the JSON is
// escaped; bytes that are not UTF-8 are replaced, so that every line parses.
#include "node/serve/log_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace threatmesh {
namespace {

// 2026-12-05T10:30:01.123Z
const std::chrono::system_clock::time_point kAt =
    std::chrono::system_clock::time_point(std::chrono::milliseconds(1796466601123));

TEST(LogJsonTest, AnEventIsOneObjectWithItsFieldsInOrder) {
  const std::string line =
      JsonLogLine(LogEvent{LogLevel::kWarning, "peer b: \"quoted\"\nsecond line", {"b", "ab12"}},
                  kAt, {{"listen", "127.0.0.1:7420"}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(
      line,
      R"({"time":"2026-12-05T10:30:01.123Z","level":"warning","msg":"peer b: \"quoted\"\nsecond line",)"
      R"("peer":"b","record":"ab12","listen":"127.0.0.1:7420"})");
  const nlohmann::json parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["msg"], "peer b: \"quoted\"\nsecond line");
}

TEST(LogJsonTest, PeerAndRecordAppearOnlyWhenTheEventIsAboutOne) {
  const nlohmann::json e =
      nlohmann::json::parse(JsonLogLine({LogLevel::kError, "disk full", {}}, kAt));
  EXPECT_EQ(e["level"], "error");
  EXPECT_FALSE(e.contains("peer"));
  EXPECT_FALSE(e.contains("record"));
  EXPECT_EQ(nlohmann::json::parse(JsonLogLine({LogLevel::kInfo, "x", {}}, kAt))["level"], "info");
}

TEST(LogJsonTest, BytesThatAreNotUtf8AreReplacedSoTheLineParses) {
  const std::string line =
      JsonLogLine({LogLevel::kWarning, "bad \xff\xfe name", {"p\xc3", ""}}, kAt);
  const nlohmann::json e = nlohmann::json::parse(line);
  EXPECT_EQ(e["msg"], "bad \xEF\xBF\xBD\xEF\xBF\xBD name");  // U+FFFD for each bad byte
  EXPECT_EQ(e["peer"], "p\xEF\xBF\xBD");
}

// In JSON, the node's own events go to err as JSON lines, and serve's lines to out; in text,
// serve's lines keep their "threatmesh: " form and events are left to the default sink.
TEST(LogJsonTest, ServeLogRoutesBothKindsOfLine) {
  std::ostringstream out, err;
  {
    ServeLog log(LogFormat::kJson, out, err);
    log.Out(LogLevel::kInfo, "serving on 127.0.0.1:1", {{"listen", "127.0.0.1:1"}});
    LogWarning("peer b disconnected", {.peer = "b"});
  }
  const nlohmann::json said = nlohmann::json::parse(out.str());
  EXPECT_EQ(said["listen"], "127.0.0.1:1");
  const nlohmann::json event = nlohmann::json::parse(err.str());
  EXPECT_EQ(event["peer"], "b");
  EXPECT_EQ(event["level"], "warning");
  EXPECT_EQ(err.str().back(), '\n');

  std::ostringstream text_out, text_err;
  ServeLog text(LogFormat::kText, text_out, text_err);
  text.Err(LogLevel::kError, "cannot open the store");
  EXPECT_EQ(text_err.str(), "threatmesh: error: cannot open the store\n");
}

}  // namespace
}  // namespace threatmesh
