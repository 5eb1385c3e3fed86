// A listening TCP socket whose connections the node accepts itself and hands to a gRPC server
// (through the server's external connection acceptor), so that it can refuse what gRPC's own
// listener would take without limit:
//   - at most `max_connections` open connections on the port, and at most
//     `max_per_address` from one source address (0: no per-address limit); a connection past
//     either is closed at once, before any byte is read;
//   - when the process is out of descriptors (EMFILE, ENFILE) or memory, accepting pauses
//     and retries instead of stopping: gRPC's own listener stops for good on such an error.
// Connections that open no stream, or stay idle, are closed by the server's handshake and
// idle timeouts (see ServerLimits); the count here notices their end by itself.
//
// Not thread-safe: Register, Start and Stop from one owner; the accept loop has its own thread.
#ifndef THREATMESH_NODE_SERVE_LISTENER_H_
#define THREATMESH_NODE_SERVE_LISTENER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "crypto/unique_fd.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace threatmesh {

struct ListenerOptions {
  // What the port is, for messages: "API", "peer".
  std::string name;
  std::size_t max_connections = 1024;
  std::size_t max_per_address = 0;
};

// The descriptors a node keeps for its store, audit trail, key files and gRPC's own needs,
// which connections may never take.
inline constexpr std::size_t kReservedDescriptors = 320;

// Raises the soft RLIMIT_NOFILE to the hard limit and returns how many descriptors
// connections may use: the limit less kReservedDescriptors. FailedPrecondition, saying what
// to raise, when that leaves fewer than `needed_per_port` * `ports`.
[[nodiscard]] absl::StatusOr<std::size_t> ConnectionDescriptorBudget(std::size_t ports,
                                                                     std::size_t needed_per_port);

class Listener {
 public:
  // Binds and listens on `address` (host:port, [v6]:port; port 0 picks a free one).
  // Unavailable naming the address when it cannot.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Listener>> Bind(const std::string& address,
                                                                      ListenerOptions options);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // The port it listens on.
  int port() const { return port_; }
  // Registers with `builder` (before BuildAndStart) the acceptor that connections go to,
  // with `credentials` for them.
  void Register(grpc::ServerBuilder& builder, std::shared_ptr<grpc::ServerCredentials> credentials);
  // Starts accepting (after the server started). Stop ends it; the destructor stops too.
  void Start();
  void Stop();
  // After Stop: shuts down (without closing: gRPC owns the descriptors) every connection it
  // handed over that has not received a single byte, such as a port scanner's or an idle
  // dialer's. gRPC's Shutdown waits for such a connection's handshake until the handshake
  // timeout; a connection that has sent anything, and so may carry a call in its grace
  // period, is left to gRPC. Returns how many it cut.
  std::size_t CutSilentConnections();

 private:
  Listener(crypto::UniqueFd fd, crypto::UniqueFd wake_read, crypto::UniqueFd wake_write, int port,
           ListenerOptions options);
  void Loop();
  // Whether another connection from `source` fits the limits; forgets connections that
  // have ended first when one is at its limit.
  bool Admit(const std::string& source);
  void Forget();

  const crypto::UniqueFd fd_;
  // A pipe: a byte written to it stops the loop.
  const crypto::UniqueFd wake_read_;
  const crypto::UniqueFd wake_write_;
  const int port_;
  const ListenerOptions options_;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  // The loop's own: each handed-over connection's descriptor, with the socket's inode (a
  // descriptor that no longer names that socket was closed), and its source address.
  struct Open {
    ino_t inode;
    std::string source;
  };
  absl::flat_hash_map<int, Open> connections_;
  absl::flat_hash_map<std::string, std::size_t> per_source_;
  std::thread thread_;  // last: the loop uses everything above until Stop joins it
};

}  // namespace threatmesh

#endif  // THREATMESH_NODE_SERVE_LISTENER_H_
