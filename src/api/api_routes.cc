#include "api/api_routes.h"

#include "auth/http_authenticator.h"
#include "core/json.h"
#include "mlflow/mlflow_json.h"

namespace cairn::api {

using http::HttpRequest;
using http::HttpResponse;

void RegisterApiRoutes(mlflow::Surface& surface) {
  http::Router* router = &surface.router;
  auth::AccessPolicy* access = surface.access;
  http::RouteOptions options;
  options.access = "role admin";
  router->Add(
      "GET", "/api/cairn/v1/routes",
      [router, access](HttpRequest& request) -> HttpResponse {
        if (access != nullptr) {
          Status allowed = access->RequireRole(auth::IdentityOf(request), auth::Role::kAdmin);
          if (!allowed.ok()) return mlflow::ErrorResponse(allowed);
        }
        return mlflow::WriteJson([&](json::Writer& w) {
          w.Key("routes");
          w.StartArray();
          for (const http::Route* route : router->routes()) {
            w.StartObject();
            w.Key("method");
            json::WriteString(w, route->method);
            w.Key("path");
            json::WriteString(w, route->pattern);
            w.Key("public");
            w.Bool(route->options.is_public);
            w.Key("access");
            json::WriteString(w, route->options.access);
            w.EndObject();
          }
          w.EndArray();
        });
      },
      options);
}

}  // namespace cairn::api
