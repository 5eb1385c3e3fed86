#include "crypto/log.h"

#include <cstdio>
#include <string>
#include <utility>

#include "crypto/mutex.h"

namespace threatmesh {
namespace {

// The sink and its lock; a function-local static, so that logging works during static
// initialisation and teardown too.
struct LogState {
  Mutex mu;
  LogSink sink ABSL_GUARDED_BY(mu);
};

LogState& State() {
  static LogState* state = new LogState;  // never destroyed: threads may log at exit
  return *state;
}

void WriteToStderr(LogLevel level, std::string_view text) {
  std::string line = "threatmesh: ";
  if (level == LogLevel::kWarning) line += "warning: ";
  if (level == LogLevel::kError) line += "error: ";
  line.append(text);
  line.push_back('\n');
  // One write per line: lines from several threads do not interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

LogSink SetLogSink(LogSink sink) {
  LogState& state = State();
  MutexLock lock(&state.mu);
  return std::exchange(state.sink, std::move(sink));
}

void Log(LogLevel level, std::string_view text, LogContext context) {
  LogState& state = State();
  MutexLock lock(&state.mu);
  if (state.sink) {
    state.sink(LogEvent{level, text, context});
  } else {
    WriteToStderr(level, text);
  }
}

}  // namespace threatmesh
