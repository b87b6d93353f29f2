#include "api/deployment_routes.h"

#include "auth/http_authenticator.h"
#include "core/json.h"
#include "mlflow/mlflow_json.h"
#include "mlflow/request_args.h"
#include "registry/model_uri.h"
#include "store/write_context.h"
#include "surface/deployment_access.h"

namespace cairn::api {

using http::HttpRequest;
using http::HttpResponse;

namespace {

void WriteDeployment(json::Writer& w, const serving::Deployment& d) {
  w.StartObject();
  json::WriteKey(w, "name");
  json::WriteString(w, d.spec.name);
  json::WriteKey(w, "model_uri");
  json::WriteString(w, d.spec.model_uri);
  json::WriteKey(w, "ready");
  w.Bool(d.ready());
  if (!d.reason.empty()) {
    json::WriteKey(w, "reason");
    json::WriteString(w, d.reason);
  }
  if (d.ready()) {
    json::WriteKey(w, "flavor");
    json::WriteString(w, d.flavor);
    json::WriteKey(w, "platform");
    json::WriteString(w, d.model->metadata().platform);
    if (!d.source.registered_model.empty()) {
      json::WriteKey(w, "registered_model");
      json::WriteString(w, d.source.registered_model);
      json::WriteKey(w, "version");
      json::WriteString(w, d.source.version);
    }
    json::WriteKey(w, "memory_bytes");
    w.Uint64(d.model->MemoryBytes());
    json::WriteKey(w, "loaded_time");
    w.Int64(d.loaded_micros / 1000);
  }
  if (!d.failed_reason.empty()) {
    json::WriteKey(w, "last_load_error");
    json::WriteString(w, d.failed_reason);
  }
  json::WriteKey(w, "created_by");
  json::WriteString(w, d.created_by);
  json::WriteKey(w, "created_time");
  w.Int64(d.created_micros / 1000);
  json::WriteKey(w, "endpoints");
  w.StartObject();
  json::WriteKey(w, "v2_infer");
  json::WriteString(w, "/v2/models/" + d.spec.name + "/infer");
  w.EndObject();
  w.EndObject();
}

HttpResponse One(const serving::Deployment& d) {
  json::Buffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  json::WriteKey(w, "deployment");
  WriteDeployment(w, d);
  w.EndObject();
  return HttpResponse::Json(200, std::string(buffer.GetString(), buffer.GetSize()));
}

bool MayRead(auth::AccessPolicy* access, const HttpRequest& request, const serving::Deployment& d) {
  return surface::RequireDeploymentRead(access, request, d).ok();
}

Status RequireEditor(auth::AccessPolicy* access, const HttpRequest& request) {
  if (access == nullptr) return Status::Ok();
  return access->RequireRole(auth::IdentityOf(request), auth::Role::kEditor);
}

}  // namespace

void RegisterDeploymentRoutes(const surface::Surface& surface, serving::Deployments* deployments) {
  auth::AccessPolicy* access = surface.access();
  http::RouteOptions change;
  change.access = "role editor, registered model read";
  surface.Add(
      "POST", "/api/cairn/v1/deployments",
      [deployments, access](HttpRequest& request) -> HttpResponse {
        if (Status allowed = RequireEditor(access, request); !allowed.ok())
          return mlflow::ErrorResponse(allowed);
        auto args = mlflow::RequestArgs::FromRequest(request);
        if (!args.ok()) return mlflow::ErrorResponse(args.status());
        auto name = args->RequiredString("name");
        if (!name.ok()) return mlflow::ErrorResponse(name.status());
        auto model_uri = args->RequiredString("model_uri");
        if (!model_uri.ok()) return mlflow::ErrorResponse(model_uri.status());
        if (!registry::IsModelUri(*model_uri)) {
          return mlflow::ErrorResponse(InvalidArgument(
              "model_uri '" + *model_uri +
              "' is not a model reference: use models:/NAME/VERSION, "
              "models:/NAME@ALIAS, models:/NAME/STAGE, models:/MODEL_ID or runs:/RUN_ID/PATH"));
        }
        if (std::string model = surface::RegisteredModelOf(*model_uri);
            access != nullptr && !model.empty()) {
          Status readable =
              access->Require(auth::IdentityOf(request), auth::ResourceKind::kRegisteredModel,
                              model, auth::Level::kRead);
          if (!readable.ok()) return mlflow::ErrorResponse(readable);
        }
        // The deployment's row commits with its audit entry (store/write_context.h).
        store::ScopedWriteContext audited(
            surface::RequestAuditContext(request, "deployment " + *name, request.body));
        auto deployed = deployments->Deploy({*name, *model_uri}, request.user);
        if (!deployed.ok()) return mlflow::ErrorResponse(deployed.status());
        return One(**deployed);
      },
      change);
  http::RouteOptions list;
  list.json_body = false;
  list.access = "any user (results filtered)";
  surface.Add(
      "GET", "/api/cairn/v1/deployments",
      [deployments, access](HttpRequest& request) -> HttpResponse {
        json::Buffer buffer;
        json::Writer w(buffer);
        w.StartObject();
        json::WriteKey(w, "deployments");
        w.StartArray();
        for (const auto& d : deployments->List()) {
          if (MayRead(access, request, *d)) WriteDeployment(w, *d);
        }
        w.EndArray();
        w.EndObject();
        return HttpResponse::Json(200, std::string(buffer.GetString(), buffer.GetSize()));
      },
      list);
  http::RouteOptions read;
  read.json_body = false;
  read.access = "registered model read";
  surface.Add(
      "GET", "/api/cairn/v1/deployments/{name}",
      [deployments, access](HttpRequest& request) -> HttpResponse {
        auto d = deployments->Find(std::string(request.PathParam("name")));
        if (d == nullptr) {
          return mlflow::ErrorResponse(
              NotFound("no deployment named '" + std::string(request.PathParam("name")) + "'"));
        }
        if (Status readable = surface::RequireDeploymentRead(access, request, *d); !readable.ok()) {
          return mlflow::ErrorResponse(readable);
        }
        return One(*d);
      },
      read);
  http::RouteOptions remove = read;
  remove.access = "role editor, registered model read";
  surface.Add(
      "DELETE", "/api/cairn/v1/deployments/{name}",
      [deployments, access](HttpRequest& request) -> HttpResponse {
        if (Status allowed = RequireEditor(access, request); !allowed.ok())
          return mlflow::ErrorResponse(allowed);
        const std::string name(request.PathParam("name"));
        if (auto d = deployments->Find(name)) {
          if (Status readable = surface::RequireDeploymentRead(access, request, *d);
              !readable.ok()) {
            return mlflow::ErrorResponse(readable);
          }
        }
        store::ScopedWriteContext audited(
            surface::RequestAuditContext(request, "deployment " + name, ""));
        Status removed = deployments->Remove(name);
        if (!removed.ok()) return mlflow::ErrorResponse(removed);
        return HttpResponse::Json(200, "{}");
      },
      remove);
}

}  // namespace cairn::api
