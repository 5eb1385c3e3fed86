#include "node/http/http_server.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <optional>
#include <thread>

#include "absl/status/status.h"
#include "crypto/log.h"
#include "crypto/str_cat.h"

namespace threatmesh::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// What the connections share with the server.
struct Shared {
  ServerOptions options;
  Server::Handler handler;
  std::atomic<std::size_t> open{0};
};

Response DefaultErrorPage(int status, const std::string& why) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  r.body = why + "\n";
  return r;
}

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One client connection: reads a request, answers it, and again while the client keeps the
// connection alive. Over a plain TCP stream or TLS (TlsStream).
template <typename Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  template <typename... TlsContext>
  Connection(tcp::socket socket, std::shared_ptr<Shared> shared, TlsContext&... tls)
      : stream_(std::move(socket), tls...), shared_(std::move(shared)) {
    ++shared_->open;
    beast::error_code ec;
    const tcp::endpoint remote = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) peer_ = StrCat(remote.address().to_string(), ":", remote.port());
  }
  ~Connection() { --shared_->open; }

  // The TLS handshake first, within the request timeout; then the first request.
  void Start() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      beast::get_lowest_layer(stream_).expires_after(shared_->options.request_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Close();
                                self->Read(/*first=*/true);
                              });
    } else {
      Read(/*first=*/true);
    }
  }

  void Read(bool first) {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.max_header_bytes));
    parser_->body_limit(shared_->options.max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(first ? shared_->options.request_timeout
                                                         : shared_->options.idle_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      Close();
      return;
    }
    if (ec == bhttp::error::body_limit) {
      Answer(Error(413, StrCat("the request body is over the ", shared_->options.max_body_bytes,
                               " bytes this server takes")),
             /*keep_alive=*/false);
      return;
    }
    if (ec == bhttp::error::header_limit) {
      Answer(Error(431, StrCat("the request header is over the ", shared_->options.max_header_bytes,
                               " bytes this server takes")),
             false);
      return;
    }
    if (ec) {
      Answer(Error(400, StrCat("not an HTTP/1.1 request: ", ec.message())), false);
      return;
    }
    const bhttp::request<bhttp::string_body>& in = parser_->get();
    Request request;
    request.method = std::string(in.method_string());
    request.target = std::string(in.target());
    for (const auto& field : in) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string& value = request.headers[name];
      if (!value.empty()) value += ", ";
      value.append(field.value().data(), field.value().size());
    }
    request.body = in.body();
    request.peer = peer_;
    Response response;
    try {
      response = shared_->handler(request);
    } catch (const std::exception& e) {
      LogError(
          StrCat("HTTP handler failed on ", request.method, " ", request.target, ": ", e.what()));
      response = Error(500, "the server failed to answer; the node's log says why");
    }
    Answer(std::move(response), in.keep_alive(), in.method() == bhttp::verb::head);
  }

  Response Error(int status, const std::string& why) const {
    return shared_->options.error_page ? shared_->options.error_page(status, why)
                                       : DefaultErrorPage(status, why);
  }

  // A HEAD request's answer has the headers of the GET's, and no body.
  void Answer(Response r, bool keep_alive, bool head = false) {
    auto out = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(r.status), 11);
    out->set(bhttp::field::server, "threatmesh");
    for (const auto& [name, value] : r.headers) out->set(name, value);
    out->body() = std::move(r.body);
    out->keep_alive(keep_alive);
    if (head) {
      const std::size_t length = out->body().size();
      out->body().clear();
      out->content_length(length);
    } else {
      out->prepare_payload();
    }
    beast::get_lowest_layer(stream_).expires_after(shared_->options.request_timeout);
    bhttp::async_write(
        stream_, *out,
        [self = this->shared_from_this(), out, keep_alive](beast::error_code ec, std::size_t) {
          if (ec || !keep_alive) {
            self->Close();
          } else {
            self->Read(/*first=*/false);
          }
        });
  }

  void Close() {
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ec);
    beast::get_lowest_layer(stream_).close();
  }

  Stream stream_;
  std::shared_ptr<Shared> shared_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string peer_;
};

class BeastServer final : public Server {
 public:
  BeastServer(ServerOptions options, Handler handler)
      : shared_(std::make_shared<Shared>()), acceptor_(io_) {
    shared_->options = std::move(options);
    shared_->handler = std::move(handler);
  }

  // TLS with the PEM certificate chain and key, when the options name them.
  absl::Status SetUpTls() {
    const ServerOptions& o = shared_->options;
    if (o.tls_cert_pem.empty()) return absl::OkStatus();
    tls_.emplace(asio::ssl::context::tls_server);
    beast::error_code ec;
    tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                          asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                          asio::ssl::context::no_tlsv1_1,
                      ec);
    if (!ec) tls_->use_certificate_chain(asio::buffer(o.tls_cert_pem), ec);
    if (!ec) tls_->use_private_key(asio::buffer(o.tls_key_pem), asio::ssl::context::pem, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          StrCat("the HTTP server's TLS certificate or key is not usable: ", ec.message()));
    }
    return absl::OkStatus();
  }
  ~BeastServer() override { Stop(); }

  absl::Status Listen(const std::string& host_port) {
    const std::size_t colon = host_port.rfind(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(StrCat("\"", host_port, "\" is not HOST:PORT"));
    }
    std::string host = host_port.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    beast::error_code ec;
    const asio::ip::address address = asio::ip::make_address(host, ec);
    int port = -1;
    try {
      port = std::stoi(host_port.substr(colon + 1));
    } catch (const std::exception&) {
    }
    if (ec || port < 0 || port > 65535) {
      return absl::InvalidArgumentError(
          StrCat("\"", host_port, "\" is not an IP address and port (e.g. 127.0.0.1:8443)"));
    }
    const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(StrCat("cannot listen on ", host_port, ": ", ec.message()));
    }
    const tcp::endpoint bound = acceptor_.local_endpoint();
    address_ =
        address.is_v6() ? StrCat("[", host, "]:", bound.port()) : StrCat(host, ":", bound.port());
    Accept();
    for (int i = 0; i < std::max(1, shared_->options.threads); ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
    return absl::OkStatus();
  }

  std::string address() const override { return address_; }
  std::size_t connections() const override { return shared_->open.load(); }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    asio::post(io_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    io_.stop();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void Accept() {
    acceptor_.async_accept(
        asio::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
          if (ec == asio::error::operation_aborted) return;
          if (!ec) {
            if (shared_->open.load() >= shared_->options.max_connections) {
              beast::error_code ignored;
              socket.close(ignored);  // past the limit: closed at once
            } else if (tls_) {
              std::make_shared<Connection<TlsStream>>(std::move(socket), shared_, *tls_)->Start();
            } else {
              std::make_shared<Connection<beast::tcp_stream>>(std::move(socket), shared_)->Start();
            }
          } else if (ec == asio::error::no_descriptors) {
            LogWarning("HTTP listener: out of file descriptors; new connections wait");
          }
          Accept();
        });
  }

  std::shared_ptr<Shared> shared_;
  std::optional<asio::ssl::context> tls_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::string address_;
  std::atomic<bool> stopped_{false};
  std::vector<std::thread> threads_;  // last: joined before the members they use go
};

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const std::string& host_port,
                                                      ServerOptions options, Handler handler) {
  auto server = std::make_unique<BeastServer>(std::move(options), std::move(handler));
  if (absl::Status s = server->SetUpTls(); !s.ok()) return s;
  if (absl::Status s = server->Listen(host_port); !s.ok()) return s;
  return server;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> QueryPairs(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    out.emplace_back(PercentDecode(pair.substr(0, eq)), eq == std::string_view::npos
                                                            ? std::string()
                                                            : PercentDecode(pair.substr(eq + 1)));
  }
  return out;
}

// The gRPC code the audit trail keeps for an HTTP status.
int AuditCodeOf(int status) {
  switch (status) {
    case 200:
    case 202:
      return 0;
    case 400:
    case 406:
    case 415:
      return static_cast<int>(absl::StatusCode::kInvalidArgument);
    case 401:
      return static_cast<int>(absl::StatusCode::kUnauthenticated);
    case 403:
      return static_cast<int>(absl::StatusCode::kPermissionDenied);
    case 404:
      return static_cast<int>(absl::StatusCode::kNotFound);
    case 405:
      return static_cast<int>(absl::StatusCode::kUnimplemented);
    case 413:
      return static_cast<int>(absl::StatusCode::kResourceExhausted);
    default:
      return static_cast<int>(absl::StatusCode::kInternal);
  }
}

}  // namespace threatmesh::http
