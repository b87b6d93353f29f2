// Fuzzes the HTTP connection code itself: each input is sent as raw bytes
// over a real TCP connection to a real HttpServer (Beast's parser with
// Cairn's field, count and Transfer-Encoding checks, the request guard,
// authentication, buffered, spooled and asynchronous bodies, keep-alive and
// pipelining, 100-continue, the limits). The client then half-closes and
// reads until the server closes. Any input that ends the process (an
// exception escaping an IO thread, a sanitizer report) or leaves the
// connection open after the client is done is a finding.
//
// Small limits, so that inputs reach them: 96 KiB of headers (one field may
// have 65,000), 64 KiB bodies,
// 1 MiB uploads.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "core/env.h"
#include "http/authenticator.h"
#include "http/router.h"
#include "http/server.h"
#include "metrics/metrics.h"

namespace {

using cairn::http::HttpRequest;
using cairn::http::HttpResponse;

// Accepts "Authorization: Bearer good" at once, sends "Basic ..." to the
// blocking path (as password checks go), and refuses the rest.
class FuzzAuthenticator : public cairn::http::Authenticator {
 public:
  Result AuthenticateFast(HttpRequest& request, cairn::Status* error) override {
    std::string_view credentials = request.Header("authorization");
    if (credentials == "Bearer good") {
      request.user = "fuzzer";
      request.role = "admin";
      return Result::kAuthenticated;
    }
    if (credentials.starts_with("Basic ")) return Result::kNeedsBlocking;
    *error = cairn::Unauthenticated("no credentials");
    return Result::kRejected;
  }
  cairn::Status AuthenticateBlocking(HttpRequest& request) override {
    if (request.Header("authorization") != "Basic dXNlcjpwYXNz") {
      return cairn::Unauthenticated("bad password");
    }
    request.user = "user";
    return cairn::Status::Ok();
  }
};

struct Fixture {
  Fixture() : router(&registry) {
    spool = std::filesystem::temp_directory_path() /
            ("cairn-http-fuzz-" + cairn::Env::Default()->RandomHex(6));
    std::filesystem::create_directories(spool);
    cairn::http::RouteOptions open;
    open.is_public = true;
    router.Add(
        "GET", "/health", [](HttpRequest&) { return HttpResponse::Text(200, "OK"); }, open);
    router.Add("GET", "/items/{id}/files/*", [](HttpRequest& request) {
      return HttpResponse::Text(
          200, std::string(request.PathParam("id")) + "|" + std::string(request.PathParam("*")));
    });
    router.Add("POST", "/echo",
               [](HttpRequest& request) { return HttpResponse::Json(200, request.body); });
    router.AddAsync("POST", "/async", [](HttpRequest& request, cairn::http::Responder respond) {
      respond(HttpResponse::Json(200, "{\"size\":" + std::to_string(request.body.size()) + "}"));
    });
    cairn::http::RouteOptions spooled;
    spooled.body_mode = cairn::http::BodyMode::kSpoolToFile;
    router.Add(
        "PUT", "/upload/*",
        [](HttpRequest& request) {
          return HttpResponse::Text(200, std::to_string(request.body_size));
        },
        spooled);

    cairn::http::ServerOptions options;
    cairn::http::ListenerOptions& listener = options.listeners.emplace_back();
    listener.host = "127.0.0.1";
    listener.port = 0;
    listener.router = &router;
    listener.authenticator = &authenticator;
    listener.guard.enabled = true;
    options.io_threads = 2;
    options.worker_threads = 2;
    options.max_header_bytes = 96 << 10;  // Above the 65,000-byte field limit.
    options.max_body_bytes = 64 << 10;
    options.max_upload_bytes = 1 << 20;
    options.idle_timeout_seconds = 5;
    options.io_timeout_seconds = 5;
    options.spool_dir = spool.string();
    server = std::make_unique<cairn::http::HttpServer>(options, &registry);
    if (!server->Start().ok()) std::abort();
  }

  cairn::metrics::Registry registry;
  cairn::http::Router router;
  FuzzAuthenticator authenticator;
  std::filesystem::path spool;
  std::unique_ptr<cairn::http::HttpServer> server;
};

// Sends `input`, half-closes, and reads until the server closes. Aborts when
// the server keeps the connection open well past every timeout it has.
void Exchange(uint16_t port, std::string_view input) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    // The server must always accept: a refused connection means it died.
    std::fprintf(stderr, "http_connection_fuzz: the server stopped accepting\n");
    std::abort();
  }
  while (!input.empty()) {
    ssize_t n = ::send(fd, input.data(), input.size(), MSG_NOSIGNAL);
    if (n <= 0) break;  // The server closed early (a refused request): fine.
    input.remove_prefix(static_cast<size_t>(n));
  }
  ::shutdown(fd, SHUT_WR);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  char buffer[16384];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      std::fprintf(stderr, "http_connection_fuzz: the server kept a finished connection open\n");
      std::abort();
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
  }
  ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fixture = new Fixture();
  Exchange(fixture->server->port(), std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
