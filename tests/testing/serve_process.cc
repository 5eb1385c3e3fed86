#include "testing/serve_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "crypto/str_cat.h"
#include "testing/test_util.h"

namespace threatmesh::testing {

absl::StatusOr<std::unique_ptr<ServeProcess>> ServeProcess::Start(const std::string& data_dir,
                                                                  std::vector<std::string> extra,
                                                                  int max_open_files) {
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
    if (max_open_files > 0) {
      const rlimit limit = {static_cast<rlim_t>(max_open_files),
                            static_cast<rlim_t>(max_open_files)};
      if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(126);
    }
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
  // With a peer port, the line that names it comes right after the API's.
  const bool peers = std::find(args.begin(), args.end(), "--peer-listen") != args.end();
  const bool taxii = std::find(args.begin(), args.end(), "--taxii-listen") != args.end();
  // The value after `marker`, up to the end of its line (or, on a JSON line of
  // log-format = json, the end of the string it is in).
  auto line_after = [&](const std::string& marker, std::string& value) {
    std::size_t at = p->buffered_.find(marker);
    std::size_t eol = at == std::string::npos ? at : p->buffered_.find('\n', at);
    if (eol == std::string::npos) return false;
    value = p->buffered_.substr(at + marker.size(), eol - at - marker.size());
    value = value.substr(0, value.find('"'));
    return true;
  };
  while (std::chrono::steady_clock::now() < deadline) {
    if (line_after("serving on ", p->address_) &&
        (!peers || line_after("peers connect to ", p->peer_address_)) &&
        (!taxii || line_after("TAXII 2.1 at ", p->taxii_address_))) {
      // "http://HOST:PORT/taxii2/" -> "http://HOST:PORT"
      if (taxii)
        p->taxii_address_ = p->taxii_address_.substr(0, p->taxii_address_.rfind("/taxii2/"));
      p->startup_output_ = std::move(p->buffered_);
      p->buffered_.clear();
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

void ServeProcess::Signal(int signal) {
  if (pid_ >= 0) ::kill(pid_, signal);
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
