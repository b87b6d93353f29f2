// A small synchronous HTTP/1.1 client for calls Cairn makes to other
// servers (MLflow's deployments gateway today; webhooks and remote model
// servers later). Plain http:// only: TLS belongs to a local proxy in front.
//
// Thread-safety: Fetch may be called from any thread; each call has its own
// connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

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

}  // namespace cairn::http
