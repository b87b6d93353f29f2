// End-to-end tests of HttpServer on 127.0.0.1 with an ephemeral port, driven
// by a small blocking HTTP/1.1 client written against POSIX sockets (so the
// test does not depend on Beast).
#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/env.h"
#include "core/fault_injection_env.h"
#include "http/authenticator.h"
#include "http/http_types.h"
#include "http/request_guard.h"
#include "http/router.h"
#include "http/system_routes.h"
#include "metrics/metrics.h"
#include "status_testing.h"

namespace cairn::http {
namespace {

namespace fs = std::filesystem;

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;

// How long any single wait may take before the test gives up. Generous: it
// only bounds failures, passing tests never wait for it.
constexpr auto kTimeout = std::chrono::seconds(10);

// Polls `condition` until it holds or kTimeout passes.
template <typename Condition>
bool Eventually(Condition condition) {
  auto deadline = Clock::now() + kTimeout;
  while (!condition()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// A one-shot latch that handlers and tests use to hand over control.
class Gate {
 public:
  void Open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  bool WaitOpen(std::chrono::seconds timeout = kTimeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

struct Response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // Names lower-cased.
  std::string body;

  std::string Header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers) {
      if (name == lower_name) return value;
    }
    return "";
  }
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A blocking HTTP/1.1 client on one TCP connection. Every read has a deadline.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return fd_ >= 0; }

  // Sends all of `data`; false if the peer is gone.
  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response (a 100 Continue counts as one). nullopt if the
  // connection ends or the deadline passes first.
  std::optional<Response> Read() {
    auto deadline = Clock::now() + kTimeout;
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(deadline)) return std::nullopt;
    }
    std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);

    Response response;
    std::istringstream lines(head);
    std::string line;
    std::getline(lines, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("HTTP/1.", 0) != 0 || line.size() < 12) return std::nullopt;
    response.status = std::stoi(line.substr(9, 3));
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      response.headers.emplace_back(Lower(line.substr(0, colon)), value);
    }

    if (response.status / 100 == 1 || response.status == 204 || response.status == 304) {
      return response;
    }
    std::string length = response.Header("content-length");
    if (!length.empty()) {
      size_t n = std::stoul(length);
      while (buffer_.size() < n) {
        if (!Fill(deadline)) return std::nullopt;
      }
      response.body = buffer_.substr(0, n);
      buffer_.erase(0, n);
      return response;
    }
    // No length: the body runs to the end of the connection.
    while (Fill(deadline)) {
    }
    if (!eof_) return std::nullopt;
    response.body = std::move(buffer_);
    buffer_.clear();
    return response;
  }

  // True once the server has closed the connection (EOF or reset).
  bool WaitForClose() { return ClosedWithin(kTimeout); }
  // True once the server has closed the connection, waiting at most `wait`.
  bool ClosedWithin(Clock::duration wait) {
    auto deadline = Clock::now() + wait;
    while (Fill(deadline)) {
    }
    return eof_;
  }

 private:
  // Appends what arrives to buffer_. False on EOF, error (both set eof_) or
  // timeout.
  bool Fill(Clock::time_point deadline) {
    if (eof_) return false;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return false;
      char chunk[16384];
      ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof_ = true;
        return false;
      }
      buffer_.append(chunk, static_cast<size_t>(n));
      return true;
    }
  }

  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

// An HTTP/1.1 request; a Content-Length is added when there is a body or the
// method usually carries one.
std::string Request(std::string_view method, std::string_view target, std::string_view body = "",
                    std::string_view extra_headers = "") {
  std::string out(method);
  out += " ";
  out += target;
  out += " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  out += extra_headers;
  if (!body.empty() || method == "POST" || method == "PUT") {
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  out += "\r\n";
  out += body;
  return out;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh folder under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir()
      : path_(fs::temp_directory_path() / ("cairn-server-test-" + std::to_string(::getpid()) + "-" +
                                           Env::Default()->RandomHex(6))) {
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The value of the sample line that starts with `series` + " ", or -1.
double Sample(const std::string& exposition, const std::string& series) {
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

std::string RequestsTotal(std::string_view method, std::string_view route, std::string_view code) {
  std::string s = "cairn_http_requests_total{method=\"";
  s += method;
  s += "\",route=\"";
  s += route;
  s += "\",code=\"";
  s += code;
  s += "\"}";
  return s;
}

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() {
    router_.Add("GET", "/hello", [](HttpRequest& request) {
      std::string name = "world";
      for (const auto& [key, value] : ParseQuery(request.query)) {
        if (key == "name") name = value;
      }
      return HttpResponse::Text(200, "hello " + name);
    });
    router_.Add("POST", "/echo", [](HttpRequest& request) {
      HttpResponse response = HttpResponse::Json(201, request.body);
      response.headers.emplace_back("X-Body-Size", std::to_string(request.body_size));
      response.headers.emplace_back("X-Content-Type", std::string(request.Header("content-type")));
      return response;
    });
    router_.Add("GET", "/items/{id}/files/*", [](HttpRequest& request) {
      return HttpResponse::Text(
          200, std::string(request.PathParam("id")) + "|" + std::string(request.PathParam("*")));
    });
    router_.Add("GET", "/block", [this](HttpRequest&) {
      entered_.Open();
      bool released = release_.WaitOpen(std::chrono::seconds(30));
      return HttpResponse::Text(released ? 200 : 503, released ? "unblocked" : "never released");
    });
    router_.Add("GET", "/throw",
                [](HttpRequest&) -> HttpResponse { throw std::runtime_error("boom \"quoted\""); });
    RouteOptions inline_route;
    inline_route.execution = Execution::kInline;
    router_.Add(
        "GET", "/throw-inline",
        [](HttpRequest&) -> HttpResponse { throw std::logic_error("inline boom"); }, inline_route);
    router_.Add("GET", "/throw-int", [](HttpRequest&) -> HttpResponse { throw 42; });

    RouteOptions spooled;
    spooled.body_mode = BodyMode::kSpoolToFile;
    router_.Add(
        "PUT", "/upload/*",
        [this](HttpRequest& request) {
          std::lock_guard lock(upload_mu_);
          upload_.seen = true;
          upload_.body_file = request.body_file;
          upload_.body_size = request.body_size;
          upload_.buffered_body = request.body;
          upload_.contents = ReadFile(request.body_file);
          if (request.PathParam("*") == "keep") {
            std::error_code ec;
            fs::rename(request.body_file, kept_path(), ec);
            if (ec) return HttpResponse::Text(500, ec.message());
          }
          return HttpResponse::Text(200, "stored");
        },
        spooled);
    RegisterSystemRoutes(router_, &registry_);
  }

  void TearDown() override {
    release_.Open();  // Never leave a worker blocked behind a failed assertion.
    if (server_) server_->Shutdown();
  }

  ServerOptions DefaultOptions() {
    ServerOptions options;
    ListenerOptions& listener = options.listeners.emplace_back();
    listener.host = "127.0.0.1";
    listener.port = 0;
    listener.router = &router_;
    options.io_threads = 2;
    options.worker_threads = 4;
    options.drain_timeout_seconds = 60;
    options.spool_dir = spool_.path().string();
    return options;
  }

  void Start(ServerOptions options) {
    server_ = std::make_unique<HttpServer>(std::move(options), &registry_);
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
    ASSERT_NE(server_->port(), 0);
  }
  void Start() { Start(DefaultOptions()); }

  uint16_t port() const { return server_->port(); }

  // One request on a fresh connection.
  std::optional<Response> Fetch(const std::string& request) {
    Client client(port());
    if (!client.connected() || !client.Send(request)) return std::nullopt;
    return client.Read();
  }

  std::string Metrics() {
    std::optional<Response> r = Fetch(Request("GET", "/metrics"));
    EXPECT_TRUE(r.has_value());
    return r ? r->body : "";
  }

  metrics::Gauge* InFlight() {
    return registry_.GetGauge("cairn_http_in_flight_requests",
                              "Requests being read, handled or written.");
  }
  metrics::Gauge* OpenConnections() {
    return registry_.GetGauge("cairn_http_open_connections", "Open client connections.");
  }

  fs::path kept_path() const { return spool_.path() / "kept.bin"; }

  struct Upload {
    bool seen = false;
    std::string body_file;
    uint64_t body_size = 0;
    std::string buffered_body;
    std::string contents;
  };
  Upload upload() {
    std::lock_guard lock(upload_mu_);
    return upload_;
  }

  // Declared before server_ so that they outlive it.
  TempDir spool_;
  Gate entered_;
  Gate release_;
  std::mutex upload_mu_;
  Upload upload_;
  metrics::Registry registry_;
  Router router_{&registry_};
  // The simulated clock of the timeout tests. A member, not a test's local:
  // the server finishes a request (reading its clock) after the client has
  // read the answer, which can be after the test body returned (ASan saw a
  // read of the dead local in CI).
  FakeEnv fake_clock_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(ServerTest, GetRoundTrip) {
  Start();
  std::optional<Response> r = Fetch(Request("GET", "/hello?name=Ada+Lovelace"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello Ada Lovelace");
  EXPECT_EQ(r->Header("content-type"), "text/plain");
  EXPECT_EQ(r->Header("server"), "cairn");
}

TEST_F(ServerTest, PostRoundTrip) {
  Start();
  std::string body = "{\"experiment_id\":\"0\",\"tags\":[]}";
  std::optional<Response> r =
      Fetch(Request("POST", "/echo", body, "Content-Type: application/json\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, body);
  EXPECT_EQ(r->Header("content-type"), "application/json");
  EXPECT_EQ(r->Header("x-body-size"), std::to_string(body.size()));
  EXPECT_EQ(r->Header("x-content-type"), "application/json");  // Header names lower-cased.
}

TEST_F(ServerTest, StartFailsWhenPortIsTaken) {
  Start();
  ServerOptions options = DefaultOptions();
  options.listeners[0].port = port();
  HttpServer second(options, &registry_);
  Status s = second.Start();
  EXPECT_THAT(s, ::cairn::testing::StatusIs(StatusCode::kUnavailable)) << s.ToString();
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Start();
  Client client(port());
  ASSERT_TRUE(client.connected());
  for (int i = 0; i < 5; ++i) {
    std::string name = "n" + std::to_string(i);
    ASSERT_TRUE(client.Send(Request("GET", "/hello?name=" + name)));
    std::optional<Response> r = client.Read();
    ASSERT_TRUE(r.has_value()) << "request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello " + name);
    EXPECT_NE(Lower(r->Header("connection")), "close");
  }
  // Pipelined: two requests in one write, two responses in order.
  ASSERT_TRUE(client.Send(Request("POST", "/echo", "first") + Request("GET", "/hello?name=2nd")));
  std::optional<Response> first = client.Read();
  std::optional<Response> second = client.Read();
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(first->body, "first");
  EXPECT_EQ(second->body, "hello 2nd");
}

TEST_F(ServerTest, ConnectionCloseIsHonoured) {
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send(Request("GET", "/hello", "", "Connection: close\r\n")));
  std::optional<Response> r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Lower(r->Header("connection")), "close");
  EXPECT_TRUE(client.WaitForClose());
}

// Timeouts run on the server's Env: these tests move a FakeEnv's clock and
// sweep at once instead of sleeping past them.
TEST_F(ServerTest, IdleConnectionIsClosedAfterTheIdleTimeout) {
  FakeEnv& clock = fake_clock_;
  ServerOptions options = DefaultOptions();
  options.env = &clock;
  options.idle_timeout_seconds = 120;
  Start(options);
  Client client(port());
  ASSERT_TRUE(client.Send(Request("GET", "/hello?name=a")));
  ASSERT_TRUE(client.Read().has_value());
  // Just inside the timeout the connection stays open and usable.
  clock.AdvanceMicros(119'000'000);
  server_->SweepForTest();
  ASSERT_TRUE(client.Send(Request("GET", "/hello?name=b")));
  ASSERT_TRUE(client.Read().has_value());
  // Idle past the timeout after its last answer: closed. (The clock moves
  // again each round: the server may re-arm the idle deadline just after
  // the answer is read.)
  EXPECT_TRUE(Eventually([&] {
    clock.AdvanceMicros(121'000'000);
    server_->SweepForTest();
    return client.ClosedWithin(std::chrono::milliseconds(50));
  }));
  EXPECT_TRUE(Eventually([&] { return OpenConnections()->value() == 0; }));
}

TEST_F(ServerTest, StalledBodyIsCutOffAfterTheIoTimeout) {
  FakeEnv& clock = fake_clock_;
  ServerOptions options = DefaultOptions();
  options.env = &clock;
  options.io_timeout_seconds = 300;
  Start(options);
  Client client(port());
  // Promises 100 bytes and sends 5, then stalls.
  ASSERT_TRUE(client.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhello"));
  ASSERT_TRUE(Eventually([&] { return InFlight()->value() == 1; }));
  EXPECT_TRUE(Eventually([&] {
    clock.AdvanceMicros(301'000'000);
    server_->SweepForTest();
    return client.ClosedWithin(std::chrono::milliseconds(50));
  }));
  EXPECT_TRUE(Eventually([&] { return InFlight()->value() == 0; }));
  // The server goes on serving others.
  std::optional<Response> r = Fetch(Request("GET", "/hello?name=b"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, AHandlerSlowerThanTheTimeoutsStillAnswers) {
  FakeEnv& clock = fake_clock_;
  ServerOptions options = DefaultOptions();
  options.env = &clock;
  options.io_timeout_seconds = 1;
  options.idle_timeout_seconds = 1;
  Start(options);
  Client client(port());
  ASSERT_TRUE(client.Send(Request("GET", "/block")));
  ASSERT_TRUE(entered_.WaitOpen());
  // An hour past both timeouts: the connection waits for the answer.
  clock.AdvanceMicros(3'600'000'000);
  server_->SweepForTest();
  release_.Open();
  std::optional<Response> r = client.Read();
  ASSERT_TRUE(r.has_value()) << "the connection was closed while its handler worked";
  EXPECT_EQ(r->body, "unblocked");
}

TEST_F(ServerTest, PathParamsArePercentDecodedAndCaptured) {
  Start();
  std::optional<Response> r = Fetch(Request("GET", "/items/it%20em/files/dir/a%2Bb.txt?x=1"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "it em|dir/a+b.txt");
}

TEST_F(ServerTest, UnknownPathIs404Json) {
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send(Request("GET", "/api/2.0/nothing")));
  std::optional<Response> r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->Header("content-type"), "application/json");
  EXPECT_THAT(r->body, StartsWith("{\"error\":\"No endpoint at "));
  EXPECT_THAT(r->body, HasSubstr("/api/2.0/nothing"));
  // The connection stays usable.
  ASSERT_TRUE(client.Send(Request("GET", "/hello")));
  r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, WrongMethodIs405Json) {
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send(Request("POST", "/hello", "{}")));
  std::optional<Response> r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->Header("content-type"), "application/json");
  EXPECT_THAT(r->body, StartsWith("{\"error\":\"Method POST"));
  EXPECT_THAT(r->body, HasSubstr("POST"));
  EXPECT_THAT(r->body, HasSubstr("/hello"));
  EXPECT_EQ(r->Header("allow"), "GET");  // RFC 9110: a 405 lists what would work.
  // A pattern route with the wrong method is 405 too.
  ASSERT_TRUE(client.Send(Request("DELETE", "/items/1/files/x")));
  r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 405);
  EXPECT_FALSE(r->Header("allow").empty());
}

TEST_F(ServerTest, BodyAtLimitIsAccepted) {
  ServerOptions options = DefaultOptions();
  options.max_body_bytes = 64;
  Start(options);
  std::optional<Response> r = Fetch(Request("POST", "/echo", std::string(64, 'b')));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, std::string(64, 'b'));
}

TEST_F(ServerTest, BodyOverLimitIs413) {
  ServerOptions options = DefaultOptions();
  options.max_body_bytes = 64;
  Start(options);
  Client client(port());
  client.Send(Request("POST", "/echo", std::string(1000, 'x')));  // May fail once refused.
  std::optional<Response> r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->Header("content-type"), "application/json");
  EXPECT_THAT(r->body, StartsWith("{\"error\":\"Request body of 1000 bytes"));
  EXPECT_THAT(r->body, HasSubstr("64"));
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(ServerTest, ChunkedBodyOverLimitIs413) {
  ServerOptions options = DefaultOptions();
  options.max_body_bytes = 64;
  Start(options);
  Client client(port());
  std::string chunk(50, 'c');
  client.Send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "32\r\n" +
      chunk + "\r\n32\r\n" + chunk + "\r\n0\r\n\r\n");
  std::optional<Response> r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_THAT(r->body, StartsWith("{\"error\":\"Request body exceeds"));
}

TEST_F(ServerTest, HeadersOverLimitAre431) {
  ServerOptions options = DefaultOptions();
  options.max_header_bytes = 1024;
  Start(options);
  Client client(port());
  client.Send(Request("GET", "/hello", "", "X-Big: " + std::string(4000, 'h') + "\r\n"));
  std::optional<Response> r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(r->Header("content-type"), "application/json");
  EXPECT_THAT(r->body, StartsWith("{\"error\":\""));
  EXPECT_THAT(r->body, HasSubstr("1024"));
  EXPECT_TRUE(client.WaitForClose());

  // Headers under the limit are fine.
  r = Fetch(Request("GET", "/hello", "", "X-Small: " + std::string(100, 'h') + "\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, ChunkedRequestBodyIsAccepted) {
  Start();
  Client client(port());
  ASSERT_TRUE(
      client.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  std::optional<Response> r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "hello world");
  EXPECT_EQ(r->Header("x-body-size"), "11");
}

TEST_F(ServerTest, ExpectContinueGets100ThenTheResponse) {
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\nExpect: 100-continue\r\n\r\n"));
  std::optional<Response> interim = client.Read();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.Send("payload"));
  std::optional<Response> r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "payload");
}

TEST_F(ServerTest, ExpectContinueOverLimitGets413WithoutSendingTheBody) {
  ServerOptions options = DefaultOptions();
  options.max_body_bytes = 64;
  Start(options);
  Client client(port());
  ASSERT_TRUE(client.Send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n"));
  std::optional<Response> r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
}

TEST_F(ServerTest, SpooledBodyIsInATempFileRemovedAfterTheHandler) {
  ServerOptions options = DefaultOptions();
  options.max_body_bytes = 1024;  // Spooled routes are bounded by max_upload_bytes instead.
  Start(options);
  std::string body;
  for (int i = 0; i < 200000; ++i) body.push_back(static_cast<char>('a' + i % 26));
  body[17] = '\0';
  std::optional<Response> r = Fetch(Request("PUT", "/upload/tmp", body));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200) << r->body;

  Upload seen = upload();
  ASSERT_TRUE(seen.seen);
  EXPECT_EQ(fs::path(seen.body_file).parent_path(), spool_.path());
  EXPECT_EQ(seen.body_size, body.size());
  EXPECT_EQ(seen.contents, body);
  EXPECT_THAT(seen.buffered_body, IsEmpty());
  EXPECT_FALSE(fs::exists(seen.body_file)) << "spool file left behind";
  EXPECT_TRUE(fs::is_empty(spool_.path()));
}

TEST_F(ServerTest, SpooledBodyMovedByTheHandlerIsKept) {
  Start();
  std::optional<Response> r = Fetch(Request("PUT", "/upload/keep", "keep these bytes"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200) << r->body;
  Upload seen = upload();
  EXPECT_FALSE(fs::exists(seen.body_file));
  EXPECT_EQ(ReadFile(kept_path()), "keep these bytes");
}

TEST_F(ServerTest, ChunkedSpooledUploadWithExpectContinue) {
  Start();
  Client client(port());
  ASSERT_TRUE(
      client.Send("PUT /upload/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                  "Expect: 100-continue\r\n\r\n"));
  std::optional<Response> interim = client.Read();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.Send("3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"));
  std::optional<Response> r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(upload().contents, "abcdefg");
  EXPECT_EQ(upload().body_size, 7u);
}

TEST_F(ServerTest, AbandonedUploadLeavesNoSpoolFile) {
  Start();
  {
    Client client(port());
    ASSERT_TRUE(client.Send("PUT /upload/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                            std::string(5000, 'p')));
    // The server creates the spool file once it starts reading the body.
    ASSERT_TRUE(Eventually([&] { return !fs::is_empty(spool_.path()); }));
  }  // Disconnect mid-body.
  EXPECT_TRUE(Eventually([&] { return fs::is_empty(spool_.path()); }));
  EXPECT_TRUE(Eventually([&] { return InFlight()->value() == 0; }));
  EXPECT_FALSE(upload().seen);
}

TEST_F(ServerTest, BlockedHandlerDoesNotStopOtherConnections) {
  ServerOptions options = DefaultOptions();
  options.io_threads = 1;  // Even with one event loop.
  options.worker_threads = 2;
  Start(options);
  Client blocked(port());
  ASSERT_TRUE(blocked.Send(Request("GET", "/block")));
  ASSERT_TRUE(entered_.WaitOpen());

  for (int i = 0; i < 3; ++i) {
    std::optional<Response> r = Fetch(Request("GET", "/hello"));
    ASSERT_TRUE(r.has_value()) << "served nothing while a handler was blocked";
    EXPECT_EQ(r->status, 200);
  }

  release_.Open();
  std::optional<Response> r = blocked.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "unblocked");
}

TEST_F(ServerTest, GracefulShutdownFinishesInFlightAndClosesIdle) {
  Start();
  uint16_t bound = port();
  Client idle(bound);
  ASSERT_TRUE(idle.Send(Request("GET", "/hello")));
  ASSERT_TRUE(idle.Read().has_value());  // Now an idle keep-alive connection.

  Client busy(bound);
  ASSERT_TRUE(busy.Send(Request("GET", "/block")));
  ASSERT_TRUE(entered_.WaitOpen());

  std::promise<void> shutdown_done;
  std::future<void> done = shutdown_done.get_future();
  std::thread shutdown([&] {
    server_->Shutdown();
    shutdown_done.set_value();
  });
  // However the test ends, unblock the handler and wait for Shutdown.
  struct JoinOnExit {
    Gate& release;
    std::thread& thread;
    ~JoinOnExit() {
      release.Open();
      if (thread.joinable()) thread.join();
    }
  } join_on_exit{release_, shutdown};

  // The listener closes first ...
  EXPECT_TRUE(Eventually([&] { return !Client(bound).connected(); }));
  // ... then idle connections ...
  EXPECT_TRUE(idle.WaitForClose());
  // ... while the busy one is waited for.
  EXPECT_EQ(done.wait_for(std::chrono::seconds(0)), std::future_status::timeout);

  release_.Open();
  std::optional<Response> r = busy.Read();
  ASSERT_TRUE(r.has_value()) << "in-flight request dropped by Shutdown";
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "unblocked");
  EXPECT_EQ(Lower(r->Header("connection")), "close");
  EXPECT_TRUE(busy.WaitForClose());

  // Shutdown returns once drained, well before drain_timeout (60 s).
  EXPECT_EQ(done.wait_for(kTimeout), std::future_status::ready);
  shutdown.join();
  server_->Shutdown();  // Idempotent.
  EXPECT_FALSE(Client(bound).connected());
}

TEST_F(ServerTest, ShutdownWithNoConnectionsReturns) {
  Start();
  auto began = Clock::now();
  server_->Shutdown();
  EXPECT_LT(Clock::now() - began, kTimeout);
  EXPECT_FALSE(Client(port()).connected());
}

TEST_F(ServerTest, SystemRoutes) {
  Start();
  std::optional<Response> health = Fetch(Request("GET", "/health"));
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "OK");
  std::optional<Response> version = Fetch(Request("GET", "/version"));
  ASSERT_TRUE(version.has_value());
  EXPECT_EQ(version->status, 200);
  EXPECT_EQ(version->body, kMlflowCompatibleVersion);
  std::optional<Response> metrics = Fetch(Request("GET", "/metrics"));
  ASSERT_TRUE(metrics.has_value());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->Header("content-type"), StartsWith("text/plain; version=0.0.4"));
  EXPECT_THAT(metrics->body, HasSubstr("# TYPE cairn_http_requests_total counter\n"));
}

TEST_F(ServerTest, MetricsCountRequestsPerRouteAndInFlightReturnsToZero) {
  Start();
  {
    Client client(port());
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(client.Send(Request("GET", "/hello")));
      ASSERT_TRUE(client.Read().has_value());
    }
    ASSERT_TRUE(client.Send(Request("GET", "/items/1/files/a")));
    ASSERT_TRUE(client.Read().has_value());
    ASSERT_TRUE(client.Send(Request("GET", "/missing")));
    ASSERT_TRUE(client.Read().has_value());
    ASSERT_TRUE(client.Send(Request("GET", "/throw")));
    ASSERT_TRUE(client.Read().has_value());
  }
  // Responses are counted once written; wait for the last one.
  ASSERT_TRUE(Eventually([&] { return InFlight()->value() == 0; }));
  ASSERT_TRUE(Eventually([&] { return OpenConnections()->value() == 0; }));

  std::string text = Metrics();
  EXPECT_EQ(Sample(text, RequestsTotal("GET", "/hello", "2xx")), 3);
  EXPECT_EQ(Sample(text, RequestsTotal("GET", "/hello", "4xx")), 0);
  EXPECT_EQ(Sample(text, RequestsTotal("GET", "/items/{id}/files/*", "2xx")), 1);
  EXPECT_EQ(Sample(text, RequestsTotal("", "unmatched", "4xx")), 1);
  EXPECT_EQ(Sample(text, RequestsTotal("GET", "/throw", "5xx")), 1);
  EXPECT_EQ(
      Sample(text, "cairn_http_request_duration_seconds_count{method=\"GET\",route=\"/hello\"}"),
      3);
  // The in-flight gauge counts the /metrics request itself while rendering.
  EXPECT_EQ(Sample(text, "cairn_http_in_flight_requests"), 1);
  EXPECT_TRUE(Eventually([&] { return InFlight()->value() == 0; }));
}

TEST_F(ServerTest, InFlightReturnsToZeroAfterRejectedAndAbortedRequests) {
  ServerOptions options = DefaultOptions();
  options.max_body_bytes = 64;
  options.max_header_bytes = 1024;
  Start(options);
  {
    Client too_big(port());
    too_big.Send(Request("POST", "/echo", std::string(1000, 'x')));
    ASSERT_TRUE(too_big.Read().has_value());
    Client huge_headers(port());
    huge_headers.Send(Request("GET", "/hello", "", "X-Big: " + std::string(4000, 'h') + "\r\n"));
    ASSERT_TRUE(huge_headers.Read().has_value());
    ASSERT_TRUE(Eventually([&] { return InFlight()->value() == 0; }));
    Client aborted(port());
    ASSERT_TRUE(aborted.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nabc"));
    // Disconnect once the server is reading the body.
    ASSERT_TRUE(Eventually([&] { return InFlight()->value() == 1; }));
  }
  EXPECT_TRUE(Eventually([&] { return InFlight()->value() == 0; }));
  EXPECT_TRUE(Eventually([&] { return OpenConnections()->value() == 0; }));
}

TEST_F(ServerTest, OversizedHeadersAfterKeepAliveRequestCountAsUnmatched) {
  ServerOptions options = DefaultOptions();
  options.max_header_bytes = 1024;
  Start(options);
  {
    Client client(port());
    ASSERT_TRUE(client.Send(Request("GET", "/hello")));
    ASSERT_TRUE(client.Read().has_value());
    client.Send(Request("GET", "/hello", "", "X-Big: " + std::string(4000, 'h') + "\r\n"));
    std::optional<Response> r = client.Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 431);
  }
  ASSERT_TRUE(Eventually([&] { return InFlight()->value() == 0; }));
  std::string text = Metrics();
  EXPECT_EQ(Sample(text, RequestsTotal("GET", "/hello", "2xx")), 1);
  // The 431 request never named a route; it must not be booked to the
  // previous request's route on the same connection.
  EXPECT_EQ(Sample(text, RequestsTotal("GET", "/hello", "4xx")), 0);
  EXPECT_EQ(Sample(text, RequestsTotal("", "unmatched", "4xx")), 1);
}

TEST_F(ServerTest, ThrowingHandlerYields500Json) {
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send(Request("GET", "/throw")));
  std::optional<Response> r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->Header("content-type"), "application/json");
  EXPECT_THAT(r->body, StartsWith("{\"error\":\"Internal error"));
  EXPECT_THAT(r->body, HasSubstr("boom \\\"quoted\\\""));  // JSON-escaped.

  ASSERT_TRUE(client.Send(Request("GET", "/throw-inline")));
  r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  EXPECT_THAT(r->body, HasSubstr("inline boom"));

  // The server (and this connection) keep working.
  ASSERT_TRUE(client.Send(Request("GET", "/hello")));
  r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, HandlerThrowingNonStdExceptionYields500) {
  Start();
  std::optional<Response> r = Fetch(Request("GET", "/throw-int"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->Header("content-type"), "application/json");
  r = Fetch(Request("GET", "/hello"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

// Regression (issue 18): Beast throws std::length_error for a header field
// over 65,535 bytes, on an IO thread, which ended the process. Under the
// default 1 MiB header limit such a field is now a 431, and the server goes on.
TEST_F(ServerTest, OversizedHeaderFieldIs431AndTheServerKeepsServing) {
  Start();
  for (const std::string& field :
       {"X-Foo: " + std::string(65534, 'a') + "\r\n", std::string(70000, 'n') + ": v\r\n"}) {
    Client client(port());
    ASSERT_TRUE(client.Send(Request("GET", "/hello", "", field)));
    std::optional<Response> r = client.Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 431);
    EXPECT_THAT(r->body, HasSubstr("65000 bytes"));
    EXPECT_TRUE(client.WaitForClose());
  }
  std::optional<Response> r = Fetch(Request("GET", "/hello"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, TooManyHeaderFieldsAre431) {
  Start();
  std::string fields;
  for (int i = 0; i < 300; ++i) fields += "X-" + std::to_string(i) + ": v\r\n";
  Client client(port());
  ASSERT_TRUE(client.Send(Request("GET", "/hello", "", fields)));
  std::optional<Response> r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 431);
  EXPECT_THAT(r->body, HasSubstr("header fields"));
  EXPECT_TRUE(client.WaitForClose());
}

// Regression (issue 18): "chunked, identity" was accepted and, after the 400
// for the body, the next pipelined request on the connection was served.
TEST_F(ServerTest, TransferEncodingNotEndingInChunkedIs400AndCloses) {
  Start();
  Client client(port());
  ASSERT_TRUE(
      client.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
                  "2\r\n{}\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<Response> r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  EXPECT_THAT(r->body, HasSubstr("Transfer-Encoding"));
  EXPECT_EQ(r->Header("connection"), "close");
  // The pipelined GET is never answered.
  EXPECT_FALSE(client.Read().has_value());
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(ServerTest, UnsupportedTransferCodingIs501AndRepeatedEncodingIs400) {
  Start();
  std::optional<Response> r =
      Fetch("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 501);
  r = Fetch(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
      "chunked\r\n\r\n0\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
}

TEST_F(ServerTest, MalformedRequestsAre400AndClose) {
  Start();
  for (std::string bad : {std::string("NOT HTTP AT ALL\r\n\r\n"),
                          std::string("GET /hello HTTP/1.1\r\nBad Header\r\n\r\n"),
                          std::string("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                                      "chunked\r\n\r\nzz\r\nbody\r\n0\r\n\r\n")}) {
    Client client(port());
    ASSERT_TRUE(client.Send(bad));
    std::optional<Response> r = client.Read();
    ASSERT_TRUE(r.has_value()) << bad;
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_THAT(r->body, StartsWith("{\"error\":\"")) << bad;
    EXPECT_TRUE(client.WaitForClose());
  }
  ASSERT_TRUE(Eventually([&] { return InFlight()->value() == 0; }));
}

TEST_F(ServerTest, HostNameIsResolved) {
  ServerOptions options = DefaultOptions();
  options.listeners[0].host = "localhost";
  Start(options);
  std::optional<Response> r = Fetch(Request("GET", "/hello"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, UnknownHostNameIsAClearError) {
  ServerOptions options = DefaultOptions();
  options.listeners[0].host = "no-such-host.invalid";
  HttpServer server(options, &registry_);
  Status started = server.Start();
  EXPECT_THAT(started, ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(started.message(), HasSubstr("no-such-host.invalid"));
}

TEST_F(ServerTest, ConnectionsPerAddressAreCapped) {
  ServerOptions options = DefaultOptions();
  options.max_connections_per_address = 2;
  Start(options);
  auto first = std::make_unique<Client>(port());
  Client second(port());
  ASSERT_TRUE(first->Send(Request("GET", "/hello")));
  ASSERT_TRUE(first->Read().has_value());
  ASSERT_TRUE(second.Send(Request("GET", "/hello")));
  ASSERT_TRUE(second.Read().has_value());
  Client third(port());
  third.Send(Request("GET", "/hello"));
  EXPECT_FALSE(third.Read().has_value());
  EXPECT_TRUE(third.WaitForClose());
  // A place frees when a connection closes.
  first.reset();
  ASSERT_TRUE(Eventually([&] { return OpenConnections()->value() == 1; }));
  std::optional<Response> r = Fetch(Request("GET", "/hello"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, ErrorAnswersHaveTheServersPathsRedacted) {
  router_.Add("GET", "/leak", [](HttpRequest&) {
    return HttpResponse::Json(
        400, "{\"message\":\"cannot read /srv/cairn-data/x and /srv/cairn-data/y\"}");
  });
  router_.Add("GET", "/fine", [](HttpRequest&) {
    return HttpResponse::Json(200, "{\"path\":\"/srv/cairn-data/x\"}");
  });
  ServerOptions options = DefaultOptions();
  options.redactions = {{"/srv/cairn-data", "<data-dir>"}};
  Start(options);
  std::optional<Response> r = Fetch(Request("GET", "/leak"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "{\"message\":\"cannot read <data-dir>/x and <data-dir>/y\"}");
  // Successful answers are the handler's business, and untouched.
  r = Fetch(Request("GET", "/fine"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "{\"path\":\"/srv/cairn-data/x\"}");
}

// Accepts "Bearer ok" at once and "Basic ..." after the blocking path (as
// password checks go), refuses anything else.
class TokenAuthenticator : public Authenticator {
 public:
  Result AuthenticateFast(HttpRequest& request, Status* error) override {
    if (request.Header("authorization") == "Bearer ok") return Result::kAuthenticated;
    if (request.Header("authorization").starts_with("Basic ")) return Result::kNeedsBlocking;
    *error = Unauthenticated("no credentials");
    return Result::kRejected;
  }
  Status AuthenticateBlocking(HttpRequest& request) override {
    return request.Header("authorization") == "Basic b2s6b2s=" ? Status::Ok()
                                                               : Unauthenticated("bad password");
  }
};

// A protocol family with an error shape of its own, as the inference
// protocols bring one: {"family": ..., "reason": ..., "message": ...}.
class TaggedErrors : public ErrorFormat {
 public:
  explicit TaggedErrors(std::string family) : family_(std::move(family)) {}
  std::string_view protocol() const override { return family_; }
  HttpResponse FromStatus(const Status& error) const override {
    return Local(HttpStatusOf(error.code()), LocalReason::kInternal, error.message());
  }
  HttpResponse Local(int http_status, LocalReason reason, std::string_view message) const override {
    return HttpResponse::Json(http_status, "{\"family\":\"" + family_ + "\",\"reason\":" +
                                               std::to_string(static_cast<int>(reason)) +
                                               ",\"message\":\"" + std::string(message) + "\"}");
  }

 private:
  std::string family_;
};

std::string FamilyOf(const std::optional<Response>& r) {
  if (!r) return "<no answer>";
  if (r->body.starts_with("{\"error\":")) return "plain";
  size_t at = r->body.find("\"family\":\"");
  if (at == std::string::npos) return "<unknown shape> " + r->body;
  at += 10;
  return r->body.substr(at, r->body.find('"', at) - at);
}

TEST_F(ServerTest, EachListenerAnswersInItsProtocolFamilysErrorShape) {
  // A second listener, in a few lines: its own port, routes, default error
  // shape and authenticator, beside the first (plain shape, no credentials).
  TaggedErrors inference("inference");
  Router inference_router(&registry_);
  inference_router.Add("POST", "/v2/models/{name}/infer",
                       [](HttpRequest& request) { return HttpResponse::Json(200, request.body); },
                       {.errors = &inference});
  TokenAuthenticator authenticator;
  ServerOptions options = DefaultOptions();
  options.max_body_bytes = 64;
  options.listeners.push_back({.name = "inference",
                               .host = "127.0.0.1",
                               .port = 0,
                               .router = &inference_router,
                               .errors = &inference,
                               .authenticator = &authenticator});
  Start(options);
  uint16_t second = server_->port(1);
  ASSERT_NE(second, 0);
  ASSERT_NE(second, port());
  auto fetch = [](uint16_t at, const std::string& request) {
    Client client(at);
    std::optional<Response> r;
    if (client.connected() && client.Send(request)) r = client.Read();
    return r;
  };
  const std::string ok = "Authorization: Bearer ok\r\n";

  // Each listener serves its own routes only.
  std::optional<Response> r = fetch(second, Request("POST", "/v2/models/m/infer", "{}", ok));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  r = fetch(second, Request("GET", "/hello", "", ok));
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(FamilyOf(r), "inference");  // The listener's default shape.
  r = fetch(port(), Request("POST", "/v2/models/m/infer", "{}"));
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(FamilyOf(r), "plain");

  // The server's own refusals on the second listener, in its family's shape.
  r = fetch(second, Request("POST", "/v2/models/m/infer", "{}"));
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(FamilyOf(r), "inference");
  EXPECT_THAT(r->body, HasSubstr("\"reason\":" +
                                 std::to_string(static_cast<int>(LocalReason::kUnauthenticated))));
  EXPECT_FALSE(r->Header("www-authenticate").empty());
  r = fetch(second, Request("GET", "/v2/models/m/infer", "", ok));
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(FamilyOf(r), "inference");
  EXPECT_EQ(r->Header("allow"), "POST");
  r = fetch(second, Request("POST", "/v2/models/m/infer", std::string(100, 'x'), ok));
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(FamilyOf(r), "inference");
  // The first listener asks for no credentials and keeps the plain shape.
  r = fetch(port(), Request("POST", "/echo", std::string(100, 'x')));
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(FamilyOf(r), "plain");
  r = fetch(port(), Request("GET", "/hello"));
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, RoutesAndClaimedPrefixesPickTheShapeOnASharedListener) {
  // Two families on one listener (MLflow's and Feast's routes share a port):
  // a route's own shape wins, then the longest claimed prefix, then the
  // listener's default.
  TaggedErrors feast("feast");
  TaggedErrors mlflow("mlflow");
  router_.Add("POST", "/push", [](HttpRequest&) { return HttpResponse::Json(200, "{}"); },
              {.errors = &feast});
  router_.ClaimPrefix("/api/2.0/mlflow/", &mlflow);
  router_.ClaimPrefix("/api/2.0/mlflow/feast-ish/", &feast);
  ServerOptions options = DefaultOptions();
  options.max_body_bytes = 64;
  Start(options);
  EXPECT_EQ(FamilyOf(Fetch(Request("GET", "/push"))), "feast");                          // 405
  EXPECT_EQ(FamilyOf(Fetch(Request("POST", "/push", std::string(100, 'x')))), "feast");  // 413
  EXPECT_EQ(FamilyOf(Fetch(Request("GET", "/api/2.0/mlflow/runs/nope"))), "mlflow");
  EXPECT_EQ(FamilyOf(Fetch(Request("GET", "/api/2.0/mlflow/feast-ish/x"))), "feast");
  EXPECT_EQ(FamilyOf(Fetch(Request("GET", "/elsewhere"))), "plain");
  EXPECT_EQ(FamilyOf(Fetch(Request("POST", "/echo", std::string(100, 'x')))), "plain");
}

TEST_F(ServerTest, StartFailsWhenAnyListenersPortIsTakenAndLeavesNoneOpen) {
  Start();
  uint16_t taken = port();
  ServerOptions options = DefaultOptions();
  ListenerOptions& second = options.listeners.emplace_back(options.listeners[0]);
  second.name = "inference";
  second.port = taken;
  HttpServer both(options, &registry_);
  Status s = both.Start();
  EXPECT_THAT(s, ::cairn::testing::StatusIs(StatusCode::kUnavailable)) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("inference listener"));
}

// A machine out of threads: Start reports it (naming the limit to raise)
// and leaves the port free, instead of the process ending on an exception.
TEST_F(ServerTest, StartFailsCleanlyWhenTheSystemRefusesAThread) {
  for (const char* refused : {"http-worker-3", "http-io-1"}) {
    FaultInjectionEnv faulty(Env::Default());
    faulty.Fail(FaultInjectionEnv::Operation::kStartThread, refused, Unavailable("EAGAIN"));
    ServerOptions options = DefaultOptions();
    options.env = &faulty;
    options.io_threads = 2;
    options.worker_threads = 4;
    HttpServer server(options, &registry_);
    EXPECT_THAT(server.Start(),
                ::cairn::testing::StatusIs(StatusCode::kUnavailable, HasSubstr("EAGAIN")))
        << refused;
  }
  Start();  // the port and the process are fine
  Client client(port());
  ASSERT_TRUE(client.Send(Request("GET", "/hello?name=a")));
  EXPECT_TRUE(client.Read().has_value());
}

// Review finding: an upload was stored in full before its sender was
// authenticated, so anyone could fill the spool folder with 64 GiB bodies.
TEST_F(ServerTest, UploadsAreRefusedBeforeTheirBodyIsRead) {
  TokenAuthenticator authenticator;
  ServerOptions options = DefaultOptions();
  options.listeners[0].authenticator = &authenticator;
  Start(options);
  for (std::string credentials : {"", "Authorization: Basic bm86bm8=\r\n"}) {
    Client client(port());
    ASSERT_TRUE(client.Send("PUT /upload/x HTTP/1.1\r\nHost: x\r\n" + credentials +
                            "Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n"));
    std::optional<Response> r = client.Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 401) << credentials;  // Not 100: the body is never asked for.
    EXPECT_TRUE(client.WaitForClose());
  }
  EXPECT_FALSE(upload().seen);
  EXPECT_TRUE(fs::is_empty(spool_.path()));
  // The right credentials, fast or blocking, upload as before.
  for (std::string credentials :
       {"Authorization: Bearer ok\r\n", "Authorization: Basic b2s6b2s=\r\n"}) {
    std::optional<Response> r = Fetch("PUT /upload/x HTTP/1.1\r\nHost: x\r\n" + credentials +
                                      "Content-Length: 3\r\n\r\nabc");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200) << credentials;
  }
}

// Review finding: chunk-size lines and trailers were buffered without bound.
TEST_F(ServerTest, EndlessChunkFramingIs400NotUnboundedMemory) {
  ServerOptions options = DefaultOptions();
  options.max_header_bytes = 4096;
  Start(options);
  Client client(port());
  ASSERT_TRUE(
      client.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;ext="));
  std::string extension(64 * 1024, 'e');
  for (int i = 0; i < 8 && client.Send(extension); ++i) {
  }
  std::optional<Response> r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  EXPECT_THAT(r->body, HasSubstr("framing"));
  EXPECT_TRUE(client.WaitForClose());
}

class GuardedServerTest : public ServerTest {
 protected:
  void StartGuarded(std::vector<std::string> origins = {}) {
    ServerOptions options = DefaultOptions();
    options.listeners[0].guard.enabled = true;
    options.listeners[0].guard.cors_allowed_origins = std::move(origins);
    Start(options);
  }
  std::optional<Response> Post(std::string_view host, std::string_view headers,
                               std::string_view body = "{}") {
    std::string request = "POST /echo HTTP/1.1\r\nHost: " + std::string(host) + "\r\n" +
                          std::string(headers) + "Content-Length: " + std::to_string(body.size()) +
                          "\r\n\r\n" + std::string(body);
    return Fetch(request);
  }
};

constexpr std::string_view kJson = "Content-Type: application/json\r\n";

// Regression (issue 18): with no users, any web page could drive the API.
TEST_F(GuardedServerTest, ForeignHostIsRefusedAsDnsRebinding) {
  StartGuarded();
  std::optional<Response> r = Fetch("GET /hello HTTP/1.1\r\nHost: attacker.example:5000\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 403);
  EXPECT_THAT(r->body, HasSubstr("DNS rebinding"));
  EXPECT_THAT(r->body, HasSubstr("--allowed-hosts"));
  // Loopback and private names pass; health checks answer any Host.
  for (std::string host : {"127.0.0.1:5000", "localhost", "[::1]:80", "10.1.2.3:5000"}) {
    r = Fetch("GET /hello HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200) << host;
  }
  r = Fetch("GET /health HTTP/1.1\r\nHost: attacker.example\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  // Unknown paths too: a rebinding page learns nothing by probing.
  r = Fetch("GET /nope HTTP/1.1\r\nHost: attacker.example\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 403);
}

TEST_F(GuardedServerTest, ForeignOriginMayNotChangeState) {
  StartGuarded({"https://ui.example.com"});
  std::optional<Response> r =
      Post("127.0.0.1:5000", std::string("Origin: https://evil.example\r\n") + std::string(kJson));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 403);
  EXPECT_THAT(r->body, HasSubstr("Cross-origin request blocked"));
  EXPECT_THAT(r->body, HasSubstr("--cors-allowed-origins"));
  for (std::string origin :
       {"http://localhost:3000", "http://127.0.0.1:5000", "https://ui.example.com"}) {
    r = Post("127.0.0.1:5000", "Origin: " + origin + "\r\n" + std::string(kJson));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 201) << origin;
  }
  // The server's own origin (a UI it serves) under an allowed Host.
  r = Post("10.0.0.5:5000", std::string("Origin: http://10.0.0.5:5000\r\n") + std::string(kJson));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 201);
  r = Post("127.0.0.1", std::string("Origin: null\r\n") + std::string(kJson));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 403);
}

TEST_F(GuardedServerTest, StateChangingJsonRoutesNeedAJsonContentType) {
  StartGuarded();
  for (std::string type :
       {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"}) {
    std::optional<Response> r = Post("127.0.0.1", "Content-Type: " + type + "\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 400) << type;
    EXPECT_THAT(r->body, HasSubstr("Content-Type must be application/json"));
    EXPECT_THAT(r->body, HasSubstr("application/json"));
  }
  std::optional<Response> r = Post("127.0.0.1", "");  // A body without a type.
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  r = Post("127.0.0.1", "Content-Type: application/json; charset=utf-8\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->Header("x-frame-options"), "SAMEORIGIN");
  // Uploads (spooled bodies) take any type.
  r = Fetch(
      "PUT /upload/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
      "Content-Length: 3\r\n\r\nabc");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST(RequestGuard, WildcardsAndDefaults) {
  EXPECT_TRUE(WildcardMatch("172.16.*", "172.16.0.1:5000"));
  EXPECT_FALSE(WildcardMatch("172.16.*", "172.160.0.1"));
  EXPECT_TRUE(WildcardMatch("*", ""));
  EXPECT_TRUE(WildcardMatch("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(WildcardMatch("a*b*c", "aXXbYY"));
  EXPECT_TRUE(WildcardMatch("[::1]:*", "[::1]:5000"));
  // Addresses are parsed, never matched as text.
  EXPECT_TRUE(IsDefaultAllowedHost("10.1.2.3:5000", "127.0.0.1"));
  EXPECT_TRUE(IsDefaultAllowedHost("172.31.255.1", "127.0.0.1"));
  EXPECT_TRUE(IsDefaultAllowedHost("[fd12::1]:80", "127.0.0.1"));
  EXPECT_TRUE(IsDefaultAllowedHost("127.0.0.2", "127.0.0.1"));
  EXPECT_FALSE(IsDefaultAllowedHost("10.attacker.example:5000", "127.0.0.1"));
  EXPECT_FALSE(IsDefaultAllowedHost("192.168.attacker.example", "127.0.0.1"));
  EXPECT_FALSE(IsDefaultAllowedHost("172.32.0.1", "127.0.0.1"));
  EXPECT_FALSE(IsDefaultAllowedHost("8.8.8.8", "127.0.0.1"));
  EXPECT_FALSE(IsDefaultAllowedHost("[2001:db8::1]", "127.0.0.1"));
  EXPECT_TRUE(IsDefaultAllowedHost("[2001:db8::1]:5000", "2001:db8::1"));
  EXPECT_FALSE(IsDefaultAllowedHost("anything", "0.0.0.0"));
  RequestGuard guard({.enabled = true}, "cairn.internal");
  HttpRequest request;
  request.method = "GET";
  request.path = "/x";
  request.headers = {{"host", "CAIRN.internal:8080"}};
  EXPECT_FALSE(guard.Check(request, true).has_value());
  request.headers = {{"host", "cairn.internal.evil.example"}};
  EXPECT_TRUE(guard.Check(request, true).has_value());
  request.headers = {};
  EXPECT_TRUE(guard.Check(request, true).has_value());  // No Host at all.
  EXPECT_EQ(SplitCommaList(" a, ,b ,"), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace cairn::http
