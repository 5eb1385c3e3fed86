#include "crypto/log.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace threatmesh {
namespace {

using Line = std::pair<LogLevel, std::string>;

TEST(LogTest, ASinkReceivesEachLineWithItsLevelAndTheOldSinkComesBack) {
  std::vector<Line> outer;
  ScopedLogSink outer_sink([&](const LogEvent& e) { outer.emplace_back(e.level, e.text); });
  {
    std::vector<Line> inner;
    ScopedLogSink inner_sink([&](const LogEvent& e) { inner.emplace_back(e.level, e.text); });
    LogInfo("config reloaded");
    LogWarning("peer refused");
    LogError("audit checkpoint failed");
    EXPECT_EQ(inner, (std::vector<Line>{{LogLevel::kInfo, "config reloaded"},
                                        {LogLevel::kWarning, "peer refused"},
                                        {LogLevel::kError, "audit checkpoint failed"}}));
  }
  LogInfo("after");
  EXPECT_EQ(outer, (std::vector<Line>{{LogLevel::kInfo, "after"}}));
}

TEST(LogTest, AnEventCarriesThePeerAndTheRecordItIsAbout) {
  std::vector<std::pair<std::string, std::string>> about;
  ScopedLogSink sink([&](const LogEvent& e) {
    about.emplace_back(std::string(e.context.peer), std::string(e.context.record));
  });
  LogWarning("peer b sent a violation", {.peer = "b", .record = "ab12"});
  LogInfo("config reloaded");
  EXPECT_EQ(about, (std::vector<std::pair<std::string, std::string>>{{"b", "ab12"}, {"", ""}}));
}

TEST(LogTest, WithoutASinkALineGoesToStderrWithTheProgramsNameAndItsLevel) {
  LogSink previous = SetLogSink(nullptr);
  ::testing::internal::CaptureStderr();
  LogInfo("made a peer certificate, peer.crt");
  LogWarning("peer refused");
  LogError("store failed");
  const std::string err = ::testing::internal::GetCapturedStderr();
  SetLogSink(std::move(previous));
  EXPECT_EQ(err,
            "threatmesh: made a peer certificate, peer.crt\n"
            "threatmesh: warning: peer refused\n"
            "threatmesh: error: store failed\n");
}

}  // namespace
}  // namespace threatmesh
