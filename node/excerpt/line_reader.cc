#include "node/excerpt/line_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "crypto/str_cat.h"

namespace threatmesh {

absl::Status LineReader::Open(const std::string& path, std::size_t max_line_bytes) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    return absl::NotFoundError(StrCat("cannot read log file ", path, ": ", std::strerror(errno)));
  }
  max_ = max_line_bytes;
  // Room for a whole line of the limit and a read after it.
  buffer_.resize(max_ + (1 << 20));
  return absl::OkStatus();
}

LineReader::~LineReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool LineReader::Fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  for (;;) {
    const ssize_t n = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
    if (n > 0) {
      end_ += static_cast<std::size_t>(n);
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      error_ = absl::DataLossError(StrCat("reading the log failed: ", std::strerror(errno)));
    eof_ = true;
    return false;
  }
}

LineReader::Result LineReader::Next(std::string_view& line) {
  std::size_t searched = begin_;  // bytes before this hold no '\n'
  for (;;) {
    const void* nl = std::memchr(buffer_.data() + searched, '\n', end_ - searched);
    if (nl != nullptr) {
      const std::size_t at = static_cast<const char*>(nl) - buffer_.data();
      if (at - begin_ > max_) {  // a long line that ended in this block
        too_long_ = at - begin_;
        begin_ = at + 1;
        return Result::kTooLong;
      }
      line = std::string_view(buffer_.data() + begin_, at - begin_);
      begin_ = at + 1;
      return Result::kLine;
    }
    if (end_ - begin_ > max_) {
      // Too long: skip to its end, a block at a time, keeping nothing of it.
      too_long_ = end_ - begin_;
      begin_ = end_ = 0;
      for (;;) {
        if (!Fill()) return Result::kTooLong;
        const void* end = std::memchr(buffer_.data(), '\n', end_);
        if (end != nullptr) {
          const std::size_t at = static_cast<const char*>(end) - buffer_.data();
          too_long_ += at;
          begin_ = at + 1;
          return Result::kTooLong;
        }
        too_long_ += end_;
        end_ = 0;
      }
    }
    searched = end_ - begin_;
    if (!Fill()) {
      if (begin_ == end_) return Result::kEnd;
      line = std::string_view(buffer_.data() + begin_, end_ - begin_);  // no final newline
      begin_ = end_;
      return Result::kLine;
    }
    searched += begin_;  // begin_ is 0 after Fill moved the bytes
  }
}

}  // namespace threatmesh
