// A small synchronous HTTP/1.1 client for calls Cairn makes to other
// servers (MLflow's deployments gateway today; webhooks and remote model
// servers later). Plain http:// only: TLS belongs to a local proxy in front.
//
// Thread-safety: Fetch may be called from any thread; each call has its own
// connection. ClientPool::Fetch too (a connection serves one call at a time).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"

namespace cairn::http {

// An http://host[:port][/path] address.
struct HttpAddress {
  std::string host;
  std::string port = "80";
  std::string base_path;  // Without a trailing '/'; "" for the root.

  // Errors: InvalidArgument naming the address and what was expected.
  static StatusOr<HttpAddress> Parse(const std::string& uri);
};

struct ClientRequest {
  std::string method = "GET";  // GET, POST, PUT, DELETE
  std::string target;          // Path and query, starting with '/'.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{60'000};  // For the whole exchange.
  uint64_t max_response_bytes = 16u << 20;
};

struct ClientResponse {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

// Sends `request` to `address`. Errors: InvalidArgument for a target with
// spaces or control characters (they would change the request the server
// sees) or an unknown method; Unavailable naming the address when it cannot
// be reached, times out, or answers too much or not HTTP.
StatusOr<ClientResponse> Fetch(const HttpAddress& address, const ClientRequest& request);

// Calls to one server over keep-alive connections, kept for the next call
// (up to `max_idle` idle at once): what a hot path that calls the same
// server on every request uses (external model endpoints), instead of a
// connection per call. A call whose reused connection fails (the server
// closed it while idle) is sent once more on a new one, so use it for
// requests that may be repeated (inference, reads). Errors: as Fetch.
class ClientPool {
 public:
  explicit ClientPool(HttpAddress address, size_t max_idle = 32);
  ~ClientPool();
  ClientPool(const ClientPool&) = delete;
  ClientPool& operator=(const ClientPool&) = delete;

  StatusOr<ClientResponse> Fetch(const ClientRequest& request);

  struct Connection;  // Boost.Beast's, in client.cc

 private:
  const HttpAddress address_;
  const size_t max_idle_;
  Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ GUARDED_BY(mu_);
};

}  // namespace cairn::http
