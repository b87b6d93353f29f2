// HttpServer: HTTP/1.1 on Boost.Beast with keep-alive.
//
// IO runs on a few event-loop threads (one per core by default); handlers run
// on a separate worker pool so that a handler blocked on a database commit
// never stalls other connections, and so that many concurrent writes can
// share one commit (see store/group_commit.h).
//
// Limits: request line + headers (max_header_bytes, 431 beyond), buffered
// bodies (max_body_bytes, 413 beyond), spooled uploads (max_upload_bytes).
// Timeouts: idle keep-alive, body read, response write.
//
// Shutdown() drains gracefully: stops accepting, lets in-flight requests
// finish (up to drain_timeout), closes idle connections.
//
// Thread-safety: Start/Shutdown/Wait from one controlling thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "http/authenticator.h"
#include "http/router.h"
#include "metrics/metrics.h"

namespace cairn::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 5000;                 // 0 picks a free port; see HttpServer::port().
  int io_threads = 0;                   // 0 = number of cores.
  int worker_threads = 0;               // 0 = 16 per core: workers mostly wait on IO.
  uint64_t max_header_bytes = 1 << 20;  // Room for 1000 run_ids in a GET query.
  uint64_t max_body_bytes = 32ull << 20;
  uint64_t max_upload_bytes = 64ull << 30;
  int idle_timeout_seconds = 120;
  int io_timeout_seconds = 300;
  int drain_timeout_seconds = 30;
  // Folder for spooled upload bodies; must be on the same filesystem as the
  // artifact store so a finished upload can be renamed into place.
  std::string spool_dir = "/tmp";
  // When set (it must outlive the server), every non-public route needs
  // credentials it accepts; others get 401.
  Authenticator* authenticator = nullptr;
};

class HttpServer {
 public:
  // `router` and `registry` must outlive the server.
  HttpServer(ServerOptions options, const Router* router, metrics::Registry* registry);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving. Returns Unavailable if the address is taken.
  Status Start();
  // The bound port (useful with port 0). REQUIRES: Start() succeeded.
  uint16_t port() const;
  // Graceful drain, then stop. Blocks until done. Idempotent.
  void Shutdown();

  // Defined in server.cc only; public so that file's helpers can name it.
  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::http
