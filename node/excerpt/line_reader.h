// Lines of a log file, read in large blocks with bounded memory: a line longer than the limit
// is skipped to its end (never held whole) and reported as such, so that a file without a
// newline, or with a hostile multi-gigabyte line, costs no more than one block and the limit.
//
// Not thread-safe: one reader per file.
#ifndef THREATMESH_NODE_EXCERPT_LINE_READER_H_
#define THREATMESH_NODE_EXCERPT_LINE_READER_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace threatmesh {

// The default of ingest-log's --max-line-bytes.
inline constexpr std::size_t kDefaultMaxLineBytes = 1 << 20;

class LineReader {
 public:
  enum class Result {
    kLine,     // `line` holds the next line, without its '\n'
    kTooLong,  // a line longer than the limit was skipped; too_long_bytes() says how long
    kEnd,      // no more lines
  };

  // Opens `path` (NotFound naming the path and the reason when it cannot).
  [[nodiscard]] absl::Status Open(const std::string& path, std::size_t max_line_bytes);
  ~LineReader();

  // The next line (valid until the next call). A read error ends the lines; error() says it.
  Result Next(std::string_view& line);
  // The length of the line that kTooLong skipped.
  std::size_t too_long_bytes() const { return too_long_; }
  // A read error, or OK.
  const absl::Status& error() const { return error_; }

 private:
  // Reads more after the bytes [begin_, end_), moving them to the front; false at the end.
  bool Fill();

  int fd_ = -1;
  std::size_t max_ = kDefaultMaxLineBytes;
  std::vector<char> buffer_;
  std::size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  std::size_t too_long_ = 0;
  absl::Status error_;
};

}  // namespace threatmesh

#endif  // THREATMESH_NODE_EXCERPT_LINE_READER_H_
