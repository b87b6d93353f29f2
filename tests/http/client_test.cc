// The outbound HTTP client against Cairn's own server: one-shot calls,
// keep-alive reuse in ClientPool, a deadline on the whole exchange (a
// server that never answers does not hold the caller), and a pooled
// connection the server closed is replaced without failing the call.
#include "http/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "http/router.h"
#include "http/server.h"
#include "metrics/metrics.h"
#include "status_testing.h"

namespace cairn::http {
namespace {

using ::cairn::testing::StatusIs;
using ::testing::HasSubstr;

class ClientTest : public ::testing::Test {
 protected:
  ClientTest() {
    router_.Add("POST", "/echo",
                [](HttpRequest& request) { return HttpResponse::Json(200, request.body); });
    router_.Add("GET", "/slow", [this](HttpRequest&) {
      while (!released_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return HttpResponse::Text(200, "late");
    });
  }
  ~ClientTest() override {
    released_ = true;
    if (server_) server_->Shutdown();
  }

  void Start(uint16_t port = 0) {
    ServerOptions options;
    ListenerOptions& listener = options.listeners.emplace_back();
    listener.host = "127.0.0.1";
    listener.port = port;
    listener.router = &router_;
    options.io_threads = 1;
    options.worker_threads = 2;
    server_ = std::make_unique<HttpServer>(std::move(options), &registry_);
    ASSERT_OK(server_->Start());
  }
  HttpAddress Address() const {
    return *HttpAddress::Parse("http://127.0.0.1:" + std::to_string(server_->port()));
  }
  double OpenConnections() {
    return registry_.GetGauge("cairn_http_open_connections", "Open client connections.")->value();
  }

  std::atomic<bool> released_{false};
  metrics::Registry registry_;
  Router router_{&registry_};
  std::unique_ptr<HttpServer> server_;
};

ClientRequest Echo(std::string body) {
  ClientRequest request;
  request.method = "POST";
  request.target = "/echo";
  request.body = std::move(body);
  return request;
}

TEST_F(ClientTest, APoolCarriesItsCallsOnOneKeptConnection) {
  Start();
  ClientPool pool(Address());
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK_AND_ASSIGN(ClientResponse r, pool.Fetch(Echo("call " + std::to_string(i))));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "call " + std::to_string(i));
  }
  EXPECT_EQ(OpenConnections(), 1);
  // A one-shot call closes its own.
  ASSERT_OK_AND_ASSIGN(ClientResponse once, Fetch(Address(), Echo("once")));
  EXPECT_EQ(once.body, "once");
}

TEST_F(ClientTest, AServerThatDoesNotAnswerInTimeFailsTheCallNamingTheDeadline) {
  Start();
  ClientRequest slow;
  slow.target = "/slow";
  slow.timeout = std::chrono::milliseconds(200);
  const auto began = std::chrono::steady_clock::now();
  EXPECT_THAT(Fetch(Address(), slow),
              StatusIs(StatusCode::kUnavailable, HasSubstr("no answer within 200 ms")));
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(10));
  ClientPool pool(Address());
  EXPECT_THAT(pool.Fetch(slow), StatusIs(StatusCode::kUnavailable, HasSubstr("200 ms")));
  released_ = true;
  ASSERT_OK_AND_ASSIGN(ClientResponse after, pool.Fetch(Echo("still")));
  EXPECT_EQ(after.body, "still");
}

TEST_F(ClientTest, AKeptConnectionTheServerClosedIsReplacedWithoutFailingTheCall) {
  Start();
  const uint16_t port = server_->port();
  ClientPool pool(Address());
  ASSERT_OK(pool.Fetch(Echo("first")).status());
  server_->Shutdown();  // closes the kept connection
  server_.reset();
  Start(port);
  ASSERT_OK_AND_ASSIGN(ClientResponse r, pool.Fetch(Echo("second")));
  EXPECT_EQ(r.body, "second");
}

TEST_F(ClientTest, NothingListeningIsUnavailableNamingTheAddress) {
  Start();
  const HttpAddress address = Address();
  server_->Shutdown();
  ClientPool pool(address);
  EXPECT_THAT(pool.Fetch(Echo("x")),
              StatusIs(StatusCode::kUnavailable, HasSubstr("http://127.0.0.1:")));
}

}  // namespace
}  // namespace cairn::http
