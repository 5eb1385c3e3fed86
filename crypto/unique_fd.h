// A file descriptor that closes itself: every path out of a function that opened a file
// closes it exactly once. Move-only.
#ifndef THREATMESH_CRYPTO_UNIQUE_FD_H_
#define THREATMESH_CRYPTO_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace threatmesh::crypto {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes the descriptor held (if any) and holds `fd`.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  // Closes now, reporting close's own result (0, or -1 with errno): for writes, whose errors
  // may only show at close.
  int Close() { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_ = -1;
};

}  // namespace threatmesh::crypto

#endif  // THREATMESH_CRYPTO_UNIQUE_FD_H_
