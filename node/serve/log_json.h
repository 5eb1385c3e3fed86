// The serve log as JSON lines (log-format = json): every event the node logs, and the
// lines `threatmesh serve` itself prints (where it listens, why it stops), become one JSON
// object per line:
//   {"time":"2026-12-05T10:30:01.123Z","level":"warning","msg":"...","peer":"b","record":"..."}
// `time` is UTC with milliseconds (RFC 3339); `level` is info, warning or error; `peer` (a
// peer's name) and `record` (a record id, 64 hex digits) appear only when the event is about
// one; a line serve prints may add fields of its own (such as `listen`). Text that is not
// valid UTF-8 is written with U+FFFD in place of the bad bytes, so that every line parses.
#ifndef THREATMESH_NODE_SERVE_LOG_JSON_H_
#define THREATMESH_NODE_SERVE_LOG_JSON_H_

#include <chrono>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "crypto/log.h"
#include "crypto/mutex.h"
#include "node/config.h"

namespace threatmesh {

using LogFields = std::vector<std::pair<std::string, std::string>>;

// One event as a JSON object (no newline), stamped `at`, with `fields` after the others.
std::string JsonLogLine(const LogEvent& event, std::chrono::system_clock::time_point at,
                        const LogFields& fields = {});

// Where serve writes: its own lines to `out` (where it listens, why it stops) and `err`
// (why it could not start), and, in JSON, the node's log events to `err` for its lifetime.
// In text, the events keep going to stderr as before.
class ServeLog {
 public:
  ServeLog(LogFormat format, std::ostream& out, std::ostream& err);
  ~ServeLog();
  ServeLog(const ServeLog&) = delete;
  ServeLog& operator=(const ServeLog&) = delete;

  // A line of serve's own: "threatmesh: TEXT" (with "error: " for an error), or its JSON.
  void Out(LogLevel level, std::string_view text, const LogFields& fields = {});
  void Err(LogLevel level, std::string_view text, const LogFields& fields = {});

 private:
  void Write(std::ostream& to, LogLevel level, std::string_view text, const LogFields& fields);

  const LogFormat format_;
  std::ostream& out_;
  std::ostream& err_;
  Mutex mu_;  // one line at a time
  std::unique_ptr<ScopedLogSink> sink_;
};

}  // namespace threatmesh

#endif  // THREATMESH_NODE_SERVE_LOG_JSON_H_
