// Router: maps (method, path) to a handler. Each component registers its own
// routes at start-up (the MLflow surface, /metrics, /health, ...); the server
// knows no endpoint by name.
//
// Patterns are '/'-separated: literal segments, "{name}" capturing one
// segment, and a final "*" capturing the rest of the path (slashes included).
//
// Thread-safety: Add() only before the server starts; Find() is then
// read-only and safe from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http/error_format.h"
#include "http/http_types.h"
#include "metrics/metrics.h"

namespace cairn::http {

// A handler runs on a worker thread and may block (database, files).
using Handler = std::function<HttpResponse(HttpRequest&)>;

// Completes an asynchronous request. Call exactly once, from any thread.
using Responder = std::function<void(HttpResponse)>;
// An asynchronous handler runs on the IO thread and must not block for long:
// it starts work (e.g. MetadataStore::WriteAsync, which commits one small
// write inline when the store is idle) and answers through the Responder when
// that finishes, possibly before the handler returns. The request stays valid
// until the Responder is called; the handler must not touch it afterwards.
// This path skips the worker pool's thread hand-offs, which dominate the cost
// of small durable writes. (Execution kInlineWhenOpen starts it on a worker
// for a request with a user.)
using AsyncHandler = std::function<void(HttpRequest&, Responder)>;

enum class BodyMode {
  kBuffered,     // Body read into HttpRequest::body, bounded by max_body_bytes.
  kSpoolToFile,  // Body streamed to a temp file (HttpRequest::body_file); bounded by
                 // max_upload_bytes.
};

enum class Execution {
  kWorker,  // Default: run on the worker pool; may block.
  kInline,  // Run on the IO thread. REQUIRES: never blocks (e.g. /health).
  // On the IO thread for a request without a user (the server is open: no
  // access check reads the store), else on the worker pool. For handlers
  // that block only in access checks (inference on native models). An
  // asynchronous handler starts on the worker then, and answers from
  // wherever its work ends.
  kInlineWhenOpen,
};

struct RouteOptions {
  BodyMode body_mode = BodyMode::kBuffered;
  Execution execution = Execution::kWorker;
  // Served without credentials even when the server authenticates
  // (/health, /version, /metrics).
  bool is_public = false;
  // What the route needs, in words, for listings (e.g. "experiment edit");
  // set by the surface that registers it.
  std::string access;
  // The protocol defines the (buffered) body as JSON: a state-changing
  // request must then declare it so (see request_guard.h). False for routes
  // that take other formats.
  bool json_body = true;
  // The protocol family whose error shape the server uses when it answers
  // this route's requests itself (401, 413, 405, ...); set by the surface
  // that registers it. Null: the listener's default. Must outlive the router.
  const ErrorFormat* errors = nullptr;
};

struct Route {
  std::string method;
  std::string pattern;
  Handler handler;  // Exactly one of handler and async_handler is set.
  AsyncHandler async_handler;
  RouteOptions options;
  // Per-route metrics, created at registration so the hot path takes no lock.
  metrics::Histogram* latency = nullptr;
  metrics::Counter* responses_by_class[5] = {};  // 1xx..5xx

  void RecordResponse(int status, double seconds) const;
};

class Router {
 public:
  explicit Router(metrics::Registry* registry);

  // REQUIRES: no route with the same method and pattern exists.
  void Add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});
  void AddAsync(std::string method, std::string pattern, AsyncHandler handler,
                RouteOptions options = {});

  struct Match {
    const Route* route = nullptr;
    // True when the path exists under another method (answer 405, not 404),
    // with those methods in `allowed` (for the Allow header).
    bool method_not_allowed = false;
    std::vector<std::string> allowed;
    std::vector<std::pair<std::string, std::string>> params;
    // The error shape for answers about this request: the matched route's
    // (for a 405, that of the routes at the path), else that of the longest
    // ClaimPrefix the path starts with, else null (the listener's default).
    const ErrorFormat* errors = nullptr;
  };
  Match Find(std::string_view method, std::string_view path) const;

  // Paths under `prefix` that match no route are answered in `errors`' shape
  // (an unknown MLflow endpoint gets MLflow's ENDPOINT_NOT_FOUND). The
  // longest claim that the path starts with wins. `errors` must outlive
  // the router. REQUIRES: before the server starts.
  void ClaimPrefix(std::string prefix, const ErrorFormat* errors);

  // Every registered route, in registration order (used by tests that sweep all routes).
  std::vector<const Route*> routes() const;

  // Metrics for requests that matched no route.
  const Route& unmatched() const { return unmatched_; }

 private:
  Match FindRoute(std::string_view method, std::string_view path) const;
  static bool MatchPattern(std::string_view pattern, std::string_view path,
                           std::vector<std::pair<std::string, std::string>>* params);
  void InitMetrics(Route* route, const std::string& label);
  void Insert(std::unique_ptr<Route> route);

  metrics::Registry* registry_;
  std::vector<std::unique_ptr<Route>> routes_;
  std::unordered_map<std::string, std::vector<const Route*>> exact_;  // path -> routes
  std::vector<const Route*> patterned_;
  std::vector<std::pair<std::string, const ErrorFormat*>> claims_;  // Longest prefix first.
  Route unmatched_;
};

}  // namespace cairn::http
