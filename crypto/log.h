// The node's log: one line per event that no caller waits for (a peer refused, a config
// reloaded, the store reopened after an error). Every part writes through Log* here instead
// of printing to stderr itself, so that a test can read what was logged and a program that
// embeds the node can send the lines elsewhere.
//
// By default a line goes to stderr as "threatmesh: [warning: |error: ]TEXT"; under systemd the
// journal stamps it with the time. `threatmesh serve` with log-format = json writes each event
// as one JSON object instead (node/serve/log_json.h), with the peer and the record it is
// about as fields of their own. (Header and source sit in crypto/, the library every part
// links.)
#ifndef THREATMESH_CRYPTO_LOG_H_
#define THREATMESH_CRYPTO_LOG_H_

#include <functional>
#include <string_view>

namespace threatmesh {

enum class LogLevel { kInfo, kWarning, kError };

// What an event is about, when it is about a peer or a record (empty: it is not).
struct LogContext {
  std::string_view peer = {};    // the peer's name
  std::string_view record = {};  // a record id, 64 hex digits
};

// One event: its level, its text (without prefix or newline) and what it is about.
struct LogEvent {
  LogLevel level = LogLevel::kInfo;
  std::string_view text;
  LogContext context;
};

// Receives each event. Called from any thread, one event at a time.
using LogSink = std::function<void(const LogEvent&)>;

// Sends the lines to `sink` from now on, and returns the sink that was set; an empty sink
// sends them to stderr again.
LogSink SetLogSink(LogSink sink);

void Log(LogLevel level, std::string_view text, LogContext context = {});
inline void LogInfo(std::string_view text, LogContext context = {}) {
  Log(LogLevel::kInfo, text, context);
}
inline void LogWarning(std::string_view text, LogContext context = {}) {
  Log(LogLevel::kWarning, text, context);
}
inline void LogError(std::string_view text, LogContext context = {}) {
  Log(LogLevel::kError, text, context);
}

// Sets a sink for the life of this object and puts the previous one back after.
class ScopedLogSink {
 public:
  explicit ScopedLogSink(LogSink sink) : previous_(SetLogSink(std::move(sink))) {}
  ~ScopedLogSink() { SetLogSink(std::move(previous_)); }
  ScopedLogSink(const ScopedLogSink&) = delete;
  ScopedLogSink& operator=(const ScopedLogSink&) = delete;

 private:
  LogSink previous_;
};

}  // namespace threatmesh

#endif  // THREATMESH_CRYPTO_LOG_H_
