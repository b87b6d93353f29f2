// HttpServer: HTTP/1.1 on Boost.Beast with keep-alive.
//
// IO runs on a few event-loop threads (one per core by default); handlers run
// on a separate worker pool so that a handler blocked on a database commit
// never stalls other connections, and so that many concurrent writes can
// share one commit (see store/group_commit.h).
//
// Limits: request line + headers (max_header_bytes, 431 beyond), one header
// field (65,000 bytes) and the number of fields (256), 431 beyond; buffered
// bodies (max_body_bytes, 413 beyond), spooled uploads (max_upload_bytes);
// open connections in all and per peer address. A request with broken
// framing (not HTTP, a bad chunk, a Transfer-Encoding other than chunked)
// gets a 400 and the connection is closed.
// Timeouts: idle keep-alive, body read, response write.
//
// No input may end the process: library exceptions on IO threads and in
// handlers are caught, logged, and answered (500) or the connection closed.
//
// Shutdown() drains gracefully: stops accepting, lets in-flight requests
// finish (up to drain_timeout), closes idle connections.
//
// Listeners: one server may listen on several addresses (ListenerOptions),
// each with its own routes, authenticator, request guard and default error
// shape, e.g. the MLflow and Feast APIs on one port and an inference
// protocol on another.
//
// Thread-safety: Start/Shutdown/Wait from one controlling thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/env.h"
#include "core/status.h"
#include "http/authenticator.h"
#include "http/error_format.h"
#include "http/request_guard.h"
#include "http/router.h"
#include "metrics/metrics.h"

namespace cairn::http {

// One address the server listens on and what it serves there. A listener
// serves one router; its protocol families (error shapes) come from the
// routes, with `errors` for requests no route claims.
struct ListenerOptions {
  std::string name = "main";  // In logs and in the server's listing of listeners.
  std::string host = "127.0.0.1";
  uint16_t port = 5000;  // 0 picks a free port; see HttpServer::port().
  // The routes served here. Must outlive the server. REQUIRES: non-null.
  const Router* router = nullptr;
  // The error shape for answers no route claims (an unknown path outside
  // every Router::ClaimPrefix, broken framing). Null: PlainErrorFormat.
  const ErrorFormat* errors = nullptr;
  // When set (it must outlive the server), every non-public route needs
  // credentials it accepts; others get 401.
  Authenticator* authenticator = nullptr;
  // Host, Origin and content-type checks against cross-site use (see
  // request_guard.h). Off unless enabled: `cairn server` turns them on.
  RequestGuardOptions guard;
};

// Settings shared by every listener: threads, limits, timeouts.
struct ServerOptions {
  // At least one. They share the event loops, the worker pool and the limits.
  std::vector<ListenerOptions> listeners;
  int io_threads = 0;                   // 0 = number of cores.
  int worker_threads = 0;               // 0 = 16 per core: workers mostly wait on IO.
  uint64_t max_header_bytes = 1 << 20;  // Room for 1000 run_ids in a GET query.
  uint64_t max_body_bytes = 32ull << 20;
  uint64_t max_upload_bytes = 64ull << 30;
  int idle_timeout_seconds = 120;
  int io_timeout_seconds = 300;
  int drain_timeout_seconds = 30;
  // The clock for timeouts and latencies and the randomness for spool
  // names; must outlive the server. Null: Env::Default(). Tests pass a
  // FakeEnv and SweepForTest() instead of sleeping past a timeout.
  Env* env = nullptr;
  // Folder for spooled upload bodies; must be on the same filesystem as the
  // artifact store so a finished upload can be renamed into place.
  std::string spool_dir = "/tmp";
  // Open connections at once, over all listeners; beyond, new ones are
  // accepted and closed at once. 0: as many as the descriptor limit allows,
  // less a reserve for files.
  size_t max_connections = 0;
  // Open connections from one peer address (0: no limit), so one client
  // cannot take every descriptor.
  size_t max_connections_per_address = 512;
  // Text replaced in every error answer (status 400 and above) before it is
  // sent: (absolute server path, the name to show instead, e.g.
  // "<data-dir>"). A last line of defence: messages should not carry the
  // server's paths, and a library's message (a database's, a file's) may.
  std::vector<std::pair<std::string, std::string>> redactions;
};

class HttpServer {
 public:
  // `registry` must outlive the server.
  HttpServer(ServerOptions options, metrics::Registry* registry);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds every listener and starts serving. Errors: Unavailable naming the
  // listener whose address is taken, InvalidArgument for a bad host; then
  // nothing is left listening.
  Status Start();
  // The bound port of the listener at `listener` in ServerOptions::listeners
  // (useful with port 0). REQUIRES: Start() succeeded.
  uint16_t port(size_t listener = 0) const;
  // Graceful drain, then stop. Blocks until done. Idempotent.
  void Shutdown();

  // Closes the connections whose deadline has passed by the Env's clock now,
  // instead of at the next once-a-second sweep. Closing is asynchronous.
  void SweepForTest();

  // Defined in server.cc only; public so that file's helpers can name it.
  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::http
