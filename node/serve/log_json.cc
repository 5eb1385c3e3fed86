#include "node/serve/log_json.h"

#include <nlohmann/json.hpp>

#include "absl/time/time.h"

namespace threatmesh {
namespace {

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
    default:
      return "info";
  }
}

}  // namespace

std::string JsonLogLine(const LogEvent& event, std::chrono::system_clock::time_point at,
                        const LogFields& fields) {
  // Insertion order, so that every line reads time, level, msg first.
  nlohmann::ordered_json line;
  line["time"] =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromChrono(at), absl::UTCTimeZone());
  line["level"] = LevelName(event.level);
  line["msg"] = std::string(event.text);
  if (!event.context.peer.empty()) line["peer"] = std::string(event.context.peer);
  if (!event.context.record.empty()) line["record"] = std::string(event.context.record);
  for (const auto& [name, value] : fields) line[name] = value;
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

ServeLog::ServeLog(LogFormat format, std::ostream& out, std::ostream& err)
    : format_(format), out_(out), err_(err) {
  if (format_ == LogFormat::kJson) {
    sink_ = std::make_unique<ScopedLogSink>([this](const LogEvent& e) {
      const std::string line = JsonLogLine(e, std::chrono::system_clock::now()) + "\n";
      MutexLock lock(&mu_);
      err_ << line << std::flush;
    });
  }
}

ServeLog::~ServeLog() = default;

void ServeLog::Out(LogLevel level, std::string_view text, const LogFields& fields) {
  Write(out_, level, text, fields);
}

void ServeLog::Err(LogLevel level, std::string_view text, const LogFields& fields) {
  Write(err_, level, text, fields);
}

void ServeLog::Write(std::ostream& to, LogLevel level, std::string_view text,
                     const LogFields& fields) {
  std::string line;
  if (format_ == LogFormat::kJson) {
    line = JsonLogLine(LogEvent{level, text, {}}, std::chrono::system_clock::now(), fields);
  } else {
    line = "threatmesh: ";
    if (level == LogLevel::kWarning) line += "warning: ";
    if (level == LogLevel::kError) line += "error: ";
    line.append(text);
  }
  line.push_back('\n');
  MutexLock lock(&mu_);
  to << line << std::flush;
}

}  // namespace threatmesh
