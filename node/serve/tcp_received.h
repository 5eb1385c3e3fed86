// How many bytes a TCP connection has received from its peer, from the kernel's TCP_INFO
// (tcpi_bytes_received, Linux 4.1 and later). Apart from listener.cc because glibc's
// <netinet/tcp.h> has an older struct tcp_info that lacks the field and cannot be included
// beside <linux/tcp.h>. Thread-safe.
#ifndef THREATMESH_NODE_SERVE_TCP_RECEIVED_H_
#define THREATMESH_NODE_SERVE_TCP_RECEIVED_H_

#include <cstdint>
#include <optional>

namespace threatmesh {

// nullopt when `fd` is not a TCP socket or the kernel does not count received bytes.
std::optional<uint64_t> TcpBytesReceived(int fd);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_SERVE_TCP_RECEIVED_H_
