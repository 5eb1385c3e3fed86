#include "node/serve/listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "crypto/log.h"
#include "crypto/str_cat.h"
#include "node/serve/tcp_received.h"

namespace threatmesh {
namespace {

// The address of a connected socket's other end, without its port.
std::string SourceOf(const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, text, sizeof text);
  } else if (addr.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr, text, sizeof text);
  }
  return text;
}

ino_t InodeOf(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? st.st_ino : 0;
}

}  // namespace

absl::StatusOr<std::size_t> ConnectionDescriptorBudget(std::size_t ports,
                                                       std::size_t needed_per_port) {
  rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return absl::InternalError(StrCat("getrlimit(RLIMIT_NOFILE): ", std::strerror(errno)));
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  const std::size_t have = static_cast<std::size_t>(limit.rlim_cur);
  const std::size_t need = kReservedDescriptors + ports * needed_per_port;
  if (have < need) {
    return absl::FailedPreconditionError(
        StrCat("the process may open ", have,
               " files (RLIMIT_NOFILE), and threatmesh needs at "
               "least ",
               need, " (", kReservedDescriptors, " for its store and ", needed_per_port,
               " connections per port): raise it, with LimitNOFILE= in the "
               "systemd unit or 'ulimit -n' in the shell that starts the node"));
  }
  return have - kReservedDescriptors;
}

absl::StatusOr<std::unique_ptr<Listener>> Listener::Bind(const std::string& address,
                                                         ListenerOptions options) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(
        StrCat("\"", address, "\" is not host:port, e.g. 127.0.0.1:7700 or [::1]:7700"));
  }
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int gai = ::getaddrinfo(host.empty() || host == "*" ? nullptr : host.c_str(), port.c_str(),
                                &hints, &found);
  if (gai != 0) {
    return absl::InvalidArgumentError(
        StrCat("cannot listen on ", address, " (", options.name, " port): ", ::gai_strerror(gai)));
  }
  std::string why = "no address";
  crypto::UniqueFd fd;
  for (addrinfo* a = found; a != nullptr && !fd.valid(); a = a->ai_next) {
    fd.reset(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol));
    if (!fd.valid()) {
      why = std::strerror(errno);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd.get(), 1024) != 0) {
      why = std::strerror(errno);
      fd.reset();
    }
  }
  ::freeaddrinfo(found);
  if (!fd.valid()) {
    return absl::UnavailableError(
        StrCat("cannot listen on ", address, " (", options.name, " port): ", why));
  }
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::UnavailableError(StrCat("cannot listen on ", address, " (", options.name,
                                         " port): pipe: ", std::strerror(errno)));
  }
  sockaddr_storage bound = {};
  socklen_t size = sizeof bound;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &size);
  const int bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(bound).sin6_port
                                        : reinterpret_cast<sockaddr_in&>(bound).sin_port);
  return std::unique_ptr<Listener>(new Listener(std::move(fd), crypto::UniqueFd(wake[0]),
                                                crypto::UniqueFd(wake[1]), bound_port,
                                                std::move(options)));
}

Listener::Listener(crypto::UniqueFd fd, crypto::UniqueFd wake_read, crypto::UniqueFd wake_write,
                   int port, ListenerOptions options)
    : fd_(std::move(fd)),
      wake_read_(std::move(wake_read)),
      wake_write_(std::move(wake_write)),
      port_(port),
      options_(std::move(options)) {}

Listener::~Listener() { Stop(); }

void Listener::Register(grpc::ServerBuilder& builder,
                        std::shared_ptr<grpc::ServerCredentials> credentials) {
  acceptor_ = builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
      std::move(credentials));
}

void Listener::Start() {
  if (!thread_.joinable() && acceptor_) thread_ = std::thread([this] { Loop(); });
}

void Listener::Stop() {
  if (!thread_.joinable()) return;
  const char byte = 0;
  (void)!::write(wake_write_.get(), &byte, 1);
  thread_.join();
}

std::size_t Listener::CutSilentConnections() {
  if (thread_.joinable()) return 0;  // the loop owns the table until Stop
  std::size_t cut = 0;
  for (const auto& [fd, open] : connections_) {
    // A descriptor that no longer names the socket handed over was closed: not ours to touch.
    if (InodeOf(fd) != open.inode) continue;
    std::optional<uint64_t> received = TcpBytesReceived(fd);
    if (!received.has_value() || *received != 0) continue;
    if (::shutdown(fd, SHUT_RDWR) == 0) ++cut;
  }
  return cut;
}

void Listener::Loop() {
  bool out_of_descriptors_said = false;
  for (;;) {
    pollfd fds[2] = {{fd_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      LogError(StrCat(options_.name, " port: poll: ", std::strerror(errno)));
      return;
    }
    if (fds[1].revents != 0) return;
    for (;;) {
      sockaddr_storage from = {};
      socklen_t size = sizeof from;
      const int conn = ::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&from), &size,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (conn < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors or memory: wait for some to be freed, then go on accepting.
          if (!out_of_descriptors_said) {
            LogWarning(StrCat(options_.name, " port: cannot accept a connection (",
                              std::strerror(errno),
                              "); waiting for descriptors to be freed. Raise LimitNOFILE or "
                              "lower max-connections"));
            out_of_descriptors_said = true;
          }
          pollfd wake = {wake_read_.get(), POLLIN, 0};
          if (::poll(&wake, 1, 100) > 0) return;
          continue;
        }
        LogError(StrCat(options_.name, " port: accept: ", std::strerror(errno)));
        break;
      }
      out_of_descriptors_said = false;
      if (auto old = connections_.find(conn); old != connections_.end()) {
        // The descriptor was closed and is reused: that connection has ended.
        auto source = per_source_.find(old->second.source);
        if (source != per_source_.end() && --source->second == 0) per_source_.erase(source);
        connections_.erase(old);
      }
      const std::string source = SourceOf(from);
      if (!Admit(source)) {
        ::close(conn);
        continue;
      }
      const int one = 1;
      ::setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      connections_[conn] = Open{InodeOf(conn), source};
      ++per_source_[source];
      grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters p;
      p.listener_fd = fd_.get();
      p.fd = conn;
      acceptor_->HandleNewConnection(&p);
    }
  }
}

bool Listener::Admit(const std::string& source) {
  auto fits = [&] {
    if (connections_.size() >= options_.max_connections) return false;
    if (options_.max_per_address == 0) return true;
    auto it = per_source_.find(source);
    return it == per_source_.end() || it->second < options_.max_per_address;
  };
  if (fits()) return true;
  Forget();
  return fits();
}

void Listener::Forget() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (InodeOf(it->first) == it->second.inode) {
      ++it;
      continue;
    }
    auto source = per_source_.find(it->second.source);
    if (source != per_source_.end() && --source->second == 0) per_source_.erase(source);
    connections_.erase(it++);
  }
}

}  // namespace threatmesh
