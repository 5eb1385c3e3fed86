#include "testing/serve_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "crypto/str_cat.h"
#include "testing/test_util.h"

namespace threatmesh::testing {

absl::StatusOr<std::unique_ptr<ServeProcess>> ServeProcess::Start(const std::string& data_dir,
                                                                  std::vector<std::string> extra) {
  std::vector<std::string> args = {ThreatmeshBinary(), "serve",    "--data-dir",
                                   data_dir,           "--listen", "127.0.0.1:0"};
  args.insert(args.end(), extra.begin(), extra.end());
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  const std::string err_path = data_dir + "/../serve.err";
  pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    ::dup2(out[1], 1);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (err >= 0) ::dup2(err, 2);
    ::unsetenv("THREATMESH_PASSPHRASE");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  auto p = std::unique_ptr<ServeProcess>(new ServeProcess());
  p->pid_ = pid;
  p->stdout_fd_ = out[0];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  const std::string marker = "serving on ";
  while (std::chrono::steady_clock::now() < deadline) {
    std::size_t at = p->buffered_.find(marker);
    std::size_t eol = at == std::string::npos ? at : p->buffered_.find('\n', at);
    if (eol != std::string::npos) {
      p->address_ = p->buffered_.substr(at + marker.size(), eol - at - marker.size());
      p->buffered_.erase(0, eol + 1);
      return p;
    }
    pollfd fd{p->stdout_fd_, POLLIN, 0};
    if (::poll(&fd, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(p->stdout_fd_, buf, sizeof buf);
    if (n <= 0) break;  // the node exited before listening
    p->buffered_.append(buf, static_cast<std::size_t>(n));
  }
  p->Kill();
  return absl::UnavailableError(StrCat("threatmesh serve did not start; its stderr is in ",
                                       err_path, "; stdout: ", p->buffered_));
}

ServeProcess::~ServeProcess() {
  Kill();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

int ServeProcess::Wait() {
  int status = 0;
  if (::waitpid(pid_, &status, 0) != pid_) return -1;
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

int ServeProcess::Stop() {
  if (pid_ < 0) return -1;
  ::kill(pid_, SIGTERM);
  return Wait();
}

void ServeProcess::Kill() {
  if (pid_ < 0) return;
  ::kill(pid_, SIGKILL);
  Wait();
}

std::string ServeProcess::RestOfStdout() {
  char buf[4096];
  for (;;) {
    pollfd fd{stdout_fd_, POLLIN, 0};
    if (::poll(&fd, 1, 0) <= 0) break;
    ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n <= 0) break;
    buffered_.append(buf, static_cast<std::size_t>(n));
  }
  return buffered_;
}

}  // namespace threatmesh::testing
