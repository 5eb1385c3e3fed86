// A small HTTP/1.1 server for the node's web-facing endpoints (TAXII 2.1 now; metrics and the
// console later), on Boost.Beast. It owns the sockets and the limits that keep the node up
// (connections at once, a time limit on every read, request header and body sizes) and hands
// each whole request to one handler, which answers it synchronously on the server's thread.
//
// Thread-safe: Start, then Stop once (the destructor stops too); the handler runs on any of
// the server's threads at once.
#ifndef THREATMESH_NODE_HTTP_HTTP_SERVER_H_
#define THREATMESH_NODE_HTTP_HTTP_SERVER_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace threatmesh::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  // Header fields by lower-case name (a repeated field: its values joined by ", ").
  std::map<std::string, std::string> headers;
  std::string body;
  std::string peer;  // the client's address

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct ServerOptions {
  // Connections open at once; past it a new one is closed at once.
  std::size_t max_connections = 256;
  // A request's header and body must arrive within this long of the first byte the server
  // waits for (a slow client is cut off).
  std::chrono::seconds request_timeout{10};
  // A kept-alive connection with no request for this long is closed.
  std::chrono::seconds idle_timeout{60};
  std::size_t max_header_bytes = 16 << 10;
  // A larger body is answered 413 without being read.
  std::size_t max_body_bytes = 4 << 20;
  // Threads that run the connections (and the handler).
  int threads = 2;
  // PEM certificate chain and private key: with both, the server speaks TLS (1.2 and later).
  std::string tls_cert_pem;
  std::string tls_key_pem;
  // What answers a request the server itself refuses (too large, malformed): status and
  // reason to a response.
  std::function<Response(int status, const std::string& why)> error_page;
};

class Server {
 public:
  using Handler = std::function<Response(const Request&)>;

  // Listens on `host_port` ("127.0.0.1:0" picks a free port). Unavailable when the address
  // cannot be bound, InvalidArgument when it does not parse.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Server>> Start(const std::string& host_port,
                                                                     ServerOptions options,
                                                                     Handler handler);
  virtual ~Server() = default;
  // "host:port" with the port bound.
  virtual std::string address() const = 0;
  // Connections open now.
  virtual std::size_t connections() const = 0;
  // Closes the listening socket and every connection; requests being answered finish first.
  virtual void Stop() = 0;
};

// A URL's query part decoded ('+' is a space, %XX a byte).
std::string PercentDecode(std::string_view s);
// The query's name=value pairs, decoded, in order (a name without '=' has the value "").
std::vector<std::pair<std::string, std::string>> QueryPairs(std::string_view query);
// The absl status code the audit trail keeps for an HTTP status (0 for 200 and 202).
int AuditCodeOf(int status);

}  // namespace threatmesh::http

#endif  // THREATMESH_NODE_HTTP_HTTP_SERVER_H_
