#include "http/system_routes.h"

namespace cairn::http {

void RegisterSystemRoutes(Router& router, metrics::Registry* registry) {
  RouteOptions inline_route;
  inline_route.execution = Execution::kInline;
  router.Add(
      "GET", "/health", [](HttpRequest&) { return HttpResponse::Text(200, "OK"); }, inline_route);
  router.Add(
      "GET", "/version",
      [](HttpRequest&) { return HttpResponse::Text(200, kMlflowCompatibleVersion); }, inline_route);
  // Rendering takes the registry lock briefly; run it off the IO threads anyway.
  router.Add("GET", "/metrics", [registry](HttpRequest&) {
    return HttpResponse::Text(200, registry->RenderPrometheus(),
                              "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace cairn::http
