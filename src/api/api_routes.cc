#include "api/api_routes.h"

#include "auth/http_authenticator.h"
#include "core/json.h"
#include "mlflow/mlflow_json.h"
#include "mlflow/request_args.h"

namespace cairn::api {

using http::HttpRequest;
using http::HttpResponse;

namespace {

// An admin-only handler: `fn(args)` runs once the sender is known to be an admin.
template <typename Fn>
http::Handler AdminOnly(auth::AccessPolicy* access, Fn fn) {
  return [access, fn = std::move(fn)](HttpRequest& request) -> HttpResponse {
    if (access != nullptr) {
      Status allowed = access->RequireRole(auth::IdentityOf(request), auth::Role::kAdmin);
      if (!allowed.ok()) return mlflow::ErrorResponse(allowed);
    }
    auto args = mlflow::RequestArgs::FromRequest(request);
    if (!args.ok()) return mlflow::ErrorResponse(args.status());
    StatusOr<HttpResponse> response = fn(*args);
    return response.ok() ? std::move(response).value() : mlflow::ErrorResponse(response.status());
  };
}

void Field(json::Writer& w, const char* key, std::string_view value) {
  w.Key(key);
  json::WriteString(w, value);
}

}  // namespace

void RegisterApiRoutes(mlflow::Surface& surface, audit::AuditLog* audit) {
  http::Router* router = &surface.router;
  http::RouteOptions options;
  options.access = "role admin";
  router->Add("GET", "/api/cairn/v1/routes",
              AdminOnly(surface.access,
                        [router](const mlflow::RequestArgs&) -> StatusOr<HttpResponse> {
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
                        }),
              options);

  router->Add("GET", "/api/cairn/v1/audit",
              AdminOnly(surface.access,
                        [audit](const mlflow::RequestArgs& args) -> StatusOr<HttpResponse> {
                          ASSIGN_OR_RETURN(std::optional<int64_t> after, args.OptionalInt("after"));
                          ASSIGN_OR_RETURN(std::optional<int64_t> limit, args.OptionalInt("limit"));
                          ASSIGN_OR_RETURN(auto entries,
                                           audit->List(after.value_or(0), limit.value_or(1000)));
                          return mlflow::WriteJson([&](json::Writer& w) {
                            w.Key("entries");
                            w.StartArray();
                            for (const audit::Entry& e : entries) {
                              w.StartObject();
                              w.Key("seq");
                              w.Int64(e.seq);
                              w.Key("time_ms");
                              w.Int64(e.time_ms);
                              Field(w, "user", e.user);
                              Field(w, "action", e.action);
                              Field(w, "target", e.target);
                              Field(w, "request", e.request);
                              Field(w, "before", e.before);
                              Field(w, "after", e.after);
                              Field(w, "prev_hash", e.prev_hash);
                              Field(w, "hash", e.hash);
                              w.EndObject();
                            }
                            w.EndArray();
                          });
                        }),
              options);

  router->Add("GET", "/api/cairn/v1/audit/verify",
              AdminOnly(surface.access,
                        [audit](const mlflow::RequestArgs&) -> StatusOr<HttpResponse> {
                          ASSIGN_OR_RETURN(audit::VerifyReport report, audit->Verify());
                          return mlflow::WriteJson([&](json::Writer& w) {
                            w.Key("entries");
                            w.Int64(report.entries);
                            Field(w, "head_hash", report.head_hash);
                            w.Key("problems");
                            w.StartArray();
                            for (const std::string& p : report.problems) json::WriteString(w, p);
                            w.EndArray();
                          });
                        }),
              options);
}

}  // namespace cairn::api
