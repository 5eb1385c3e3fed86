// A real `threatmesh serve` in a child process on an ephemeral loopback port, for
// integration tests.
#ifndef THREATMESH_TESTS_TESTING_SERVE_PROCESS_H_
#define THREATMESH_TESTS_TESTING_SERVE_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace threatmesh::testing {

class ServeProcess {
 public:
  // Runs `threatmesh serve --data-dir DIR --listen 127.0.0.1:0 EXTRA...` and waits (up to 60 s)
  // for the line announcing the address. The node's stderr goes to DIR/../serve.err.
  // `max_open_files` > 0: the child's RLIMIT_NOFILE, soft and hard.
  static absl::StatusOr<std::unique_ptr<ServeProcess>> Start(const std::string& data_dir,
                                                             std::vector<std::string> extra = {},
                                                             int max_open_files = 0);
  ~ServeProcess();

  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }
  // The peer port's address, when started with --peer-listen.
  const std::string& peer_address() const { return peer_address_; }
  // The TAXII server's URL ("http://HOST:PORT"), when started with --taxii-listen.
  const std::string& taxii_address() const { return taxii_address_; }
  // SIGTERM, then waits: the exit code (or 128 + signal).
  int Stop();
  // SIGKILL, then waits.
  void Kill();
  // Sends `signal` (e.g. SIGHUP) and returns at once.
  void Signal(int signal);
  // What the node wrote to stdout after the address line, once stopped.
  std::string RestOfStdout();
  // What the node printed before it was ready (where it listens).
  const std::string& startup_output() const { return startup_output_; }

 private:
  ServeProcess() = default;
  int Wait();

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string address_;
  std::string peer_address_;
  std::string taxii_address_;
  std::string buffered_;
  std::string startup_output_;
};

}  // namespace threatmesh::testing

#endif  // THREATMESH_TESTS_TESTING_SERVE_PROCESS_H_
