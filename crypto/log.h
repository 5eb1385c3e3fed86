// The node's log: one line per event that no caller waits for (a peer refused, a config
// reloaded, the store reopened after an error). Every part writes through Log* here instead
// of printing to stderr itself, so that a test can read what was logged and a program that
// embeds the node can send the lines elsewhere.
//
// By default a line goes to stderr as "threatmesh: [warning: |error: ]TEXT"; under systemd the
// journal stamps it with the time. (Header and source sit in crypto/, the library every part
// links.)
#ifndef THREATMESH_CRYPTO_LOG_H_
#define THREATMESH_CRYPTO_LOG_H_

#include <functional>
#include <string_view>

namespace threatmesh {

enum class LogLevel { kInfo, kWarning, kError };

// Receives each line: its level and its text, without prefix or newline. Called from any
// thread, one line at a time.
using LogSink = std::function<void(LogLevel, std::string_view)>;

// Sends the lines to `sink` from now on, and returns the sink that was set; an empty sink
// sends them to stderr again.
LogSink SetLogSink(LogSink sink);

void Log(LogLevel level, std::string_view text);
inline void LogInfo(std::string_view text) { Log(LogLevel::kInfo, text); }
inline void LogWarning(std::string_view text) { Log(LogLevel::kWarning, text); }
inline void LogError(std::string_view text) { Log(LogLevel::kError, text); }

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
