#include "http/system_routes.h"

namespace cairn::http {

void RegisterSystemRoutes(Router& router, metrics::Registry* registry) {
  RouteOptions inline_route;
  inline_route.execution = Execution::kInline;
  inline_route.is_public = true;
  RouteOptions public_route;
  public_route.is_public = true;
  router.Add(
      "GET", "/health", [](HttpRequest&) { return HttpResponse::Text(200, "OK"); }, inline_route);
  router.Add(
      "GET", "/version",
      [](HttpRequest&) { return HttpResponse::Text(200, kMlflowCompatibleVersion); }, inline_route);
  // Rendering takes the registry lock briefly; run it off the IO threads anyway.
  // Public: Prometheus scrapes it without credentials; it holds counters, not data.
  router.Add(
      "GET", "/metrics",
      [registry](HttpRequest&) {
        return HttpResponse::Text(200, registry->RenderPrometheus(),
                                  "text/plain; version=0.0.4; charset=utf-8");
      },
      public_route);
}

}  // namespace cairn::http
