#include "http/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace cairn::http {
namespace {

namespace beast = boost::beast;
using tcp = boost::asio::ip::tcp;

StatusOr<beast::http::verb> Verb(const std::string& method) {
  if (method == "GET") return beast::http::verb::get;
  if (method == "POST") return beast::http::verb::post;
  if (method == "PUT") return beast::http::verb::put;
  if (method == "DELETE") return beast::http::verb::delete_;
  return InvalidArgument("HTTP method '" + method + "' is not supported (GET, POST, PUT, DELETE)");
}

bool SafeTarget(const std::string& target) {
  if (target.empty() || target.front() != '/') return false;
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '#') return false;
  }
  return true;
}

}  // namespace

StatusOr<HttpAddress> HttpAddress::Parse(const std::string& uri) {
  constexpr std::string_view kScheme = "http://";
  if (uri.rfind(kScheme, 0) != 0) {
    return InvalidArgument("'" + uri +
                           "' is not an http:// address (for https, put a TLS-terminating "
                           "proxy on this machine in front of the server)");
  }
  HttpAddress address;
  std::string rest = uri.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  address.base_path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!address.base_path.empty() && address.base_path.back() == '/') {
    address.base_path.pop_back();
  }
  size_t colon = authority.rfind(':');
  address.host = authority.substr(0, colon);
  if (colon != std::string::npos) address.port = authority.substr(colon + 1);
  bool numeric_port = !address.port.empty() && address.port.size() <= 5 &&
                      address.port.find_first_not_of("0123456789") == std::string::npos;
  if (address.host.empty() || !numeric_port || authority.find('@') != std::string::npos) {
    return InvalidArgument("'" + uri + "' is not an address of the form http://host:port/path");
  }
  return address;
}

// One connection with its own event loop: the calls on it run their
// asynchronous steps to completion on the calling thread, so the stream's
// deadline (which only asynchronous operations observe) bounds the whole
// exchange.
struct ClientPool::Connection {
  boost::asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool open = false;
};

namespace {

// One request and its response on `c`, connecting first when it is not
// open; *keep_alive says whether the connection may carry another.
StatusOr<ClientResponse> Exchange(ClientPool::Connection& c, const HttpAddress& address,
                                  const ClientRequest& request, bool* keep_alive) {
  ASSIGN_OR_RETURN(beast::http::verb verb, Verb(request.method));
  if (!SafeTarget(request.target)) {
    return InvalidArgument("HTTP target '" + request.target +
                           "' must start with '/' and hold no spaces, control characters or '#'");
  }
  const std::string where = "http://" + address.host + ":" + address.port;
  beast::http::request<beast::http::string_body> out(verb, request.target, 11);
  out.set(beast::http::field::host, address.host + ":" + address.port);
  out.set(beast::http::field::user_agent, "cairn");
  for (const auto& [name, value] : request.headers) out.set(name, value);
  out.body() = request.body;
  out.prepare_payload();
  beast::http::response_parser<beast::http::string_body> parser;
  parser.body_limit(request.max_response_bytes);
  beast::error_code failed;
  try {
    auto read = [&] {
      beast::http::async_read(c.stream, c.buffer, parser,
                              [&](beast::error_code ec, size_t) { failed = ec; });
    };
    auto write = [&] {
      beast::http::async_write(c.stream, out, [&](beast::error_code ec, size_t) {
        if (ec) {
          failed = ec;
          return;
        }
        read();
      });
    };
    c.stream.expires_after(request.timeout);
    if (!c.open) {
      tcp::resolver resolver(c.ioc);
      c.stream.async_connect(resolver.resolve(address.host, address.port),
                             [&](beast::error_code ec, const tcp::endpoint&) {
                               if (ec) {
                                 failed = ec;
                                 return;
                               }
                               write();
                             });
    } else {
      write();
    }
    c.ioc.restart();
    c.ioc.run();
  } catch (const std::exception& e) {
    c.open = false;
    return Unavailable("request to " + where + request.target + " failed: " + e.what());
  }
  if (failed) {
    c.open = false;
    const bool late = failed == beast::error::timeout;
    return Unavailable("request to " + where + request.target + " failed: " +
                       (late ? "no answer within " + std::to_string(request.timeout.count()) + " ms"
                             : failed.message()));
  }
  c.open = true;
  *keep_alive = parser.get().keep_alive();
  ClientResponse response;
  response.status = parser.get().result_int();
  response.content_type = std::string(parser.get()[beast::http::field::content_type]);
  response.body = std::move(parser.get().body());
  return response;
}

void Close(ClientPool::Connection& c) {
  beast::error_code ignored;
  c.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  c.stream.socket().close(ignored);
  c.open = false;
}

}  // namespace

StatusOr<ClientResponse> Fetch(const HttpAddress& address, const ClientRequest& request) {
  ClientPool::Connection c;
  bool keep_alive = false;
  StatusOr<ClientResponse> response = Exchange(c, address, request, &keep_alive);
  Close(c);
  return response;
}

ClientPool::ClientPool(HttpAddress address, size_t max_idle)
    : address_(std::move(address)), max_idle_(max_idle) {}

ClientPool::~ClientPool() {
  MutexLock lock(&mu_);
  for (auto& c : idle_) Close(*c);
}

StatusOr<ClientResponse> ClientPool::Fetch(const ClientRequest& request) {
  std::unique_ptr<Connection> c;
  {
    MutexLock lock(&mu_);
    if (!idle_.empty()) {
      c = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  const bool reused = c != nullptr;
  if (!reused) c = std::make_unique<Connection>();
  bool keep_alive = false;
  StatusOr<ClientResponse> response = Exchange(*c, address_, request, &keep_alive);
  if (!response.ok() && reused && response.status().code() == StatusCode::kUnavailable) {
    // The server may have closed the idle connection: once more on a new one.
    Close(*c);
    c = std::make_unique<Connection>();
    response = Exchange(*c, address_, request, &keep_alive);
  }
  if (!response.ok() || !keep_alive) {
    Close(*c);
    return response;
  }
  MutexLock lock(&mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(c));
  return response;
}

}  // namespace cairn::http
