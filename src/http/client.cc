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

StatusOr<ClientResponse> Fetch(const HttpAddress& address, const ClientRequest& request) {
  ASSIGN_OR_RETURN(beast::http::verb verb, Verb(request.method));
  if (!SafeTarget(request.target)) {
    return InvalidArgument("HTTP target '" + request.target +
                           "' must start with '/' and hold no spaces, control characters or '#'");
  }
  std::string where = "http://" + address.host + ":" + address.port;
  try {
    boost::asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(request.timeout);
    stream.connect(resolver.resolve(address.host, address.port));
    beast::http::request<beast::http::string_body> out(verb, request.target, 11);
    out.set(beast::http::field::host, address.host + ":" + address.port);
    out.set(beast::http::field::user_agent, "cairn");
    for (const auto& [name, value] : request.headers) out.set(name, value);
    out.body() = request.body;
    out.prepare_payload();
    beast::http::write(stream, out);
    beast::flat_buffer buffer;
    beast::http::response_parser<beast::http::string_body> parser;
    parser.body_limit(request.max_response_bytes);
    beast::http::read(stream, buffer, parser);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    ClientResponse response;
    response.status = parser.get().result_int();
    response.content_type = std::string(parser.get()[beast::http::field::content_type]);
    response.body = std::move(parser.get().body());
    return response;
  } catch (const std::exception& e) {
    return Unavailable("request to " + where + request.target + " failed: " + e.what());
  }
}

}  // namespace cairn::http
