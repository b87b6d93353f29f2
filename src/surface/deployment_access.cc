#include "surface/deployment_access.h"

#include "auth/http_authenticator.h"
#include "registry/model_uri.h"

namespace cairn::surface {

Status RequireModelUriRead(auth::AccessPolicy* access, const http::HttpRequest& request,
                           const std::string& model_uri) {
  if (access == nullptr) return Status::Ok();
  StatusOr<registry::ModelUri> uri = registry::ParseModelUri(model_uri);
  if (!uri.ok()) return Status::Ok();
  using Kind = registry::ModelUri::Kind;
  const auth::Identity who = auth::IdentityOf(request);
  switch (uri->kind) {
    case Kind::kRun:
      return access->Require(who, auth::ResourceKind::kRun, uri->run_id, auth::Level::kRead);
    case Kind::kLoggedModel:
      return access->Require(who, auth::ResourceKind::kLoggedModel, uri->model_id,
                             auth::Level::kRead);
    default:
      return access->Require(who, auth::ResourceKind::kRegisteredModel, uri->name,
                             auth::Level::kRead);
  }
}

Status RequireDeploymentRead(auth::AccessPolicy* access, const http::HttpRequest& request,
                             const serving::Deployment& deployment) {
  if (access == nullptr) return Status::Ok();
  for (const serving::Variant& v : deployment.variants) {
    RETURN_IF_ERROR(RequireModelUriRead(access, request, v.spec.model_uri));
  }
  if (!deployment.spec.follow.empty()) {
    RETURN_IF_ERROR(RequireModelUriRead(access, request, deployment.spec.follow));
  }
  return Status::Ok();
}

Status RequireDeploymentChange(auth::AccessPolicy* access, const http::HttpRequest& request,
                               const serving::Deployment* deployment) {
  if (access == nullptr) return Status::Ok();
  RETURN_IF_ERROR(access->RequireRole(auth::IdentityOf(request), auth::Role::kEditor));
  if (deployment == nullptr) return Status::Ok();
  return RequireDeploymentRead(access, request, *deployment);
}

namespace {
Status NoDeployment(const std::string& name) {
  return NotFound("no deployment named '" + name + "'; GET /api/cairn/v1/deployments lists them");
}
}  // namespace

StatusOr<bool> DeploymentReady(serving::Deployments* deployments, auth::AccessPolicy* access,
                               const http::HttpRequest& request, const std::string& name,
                               std::string_view version) {
  std::shared_ptr<const serving::Deployment> d = deployments->Find(name);
  if (d == nullptr) return NoDeployment(name);
  RETURN_IF_ERROR(RequireDeploymentRead(access, request, *d));
  auto routed = deployments->Route(*d, {.version = version});
  if (!routed.ok() && routed.status().code() == StatusCode::kNotFound) return routed.status();
  return routed.ok();
}

StatusOr<InferenceTarget> OpenDeployment(serving::Deployments* deployments,
                                         auth::AccessPolicy* access,
                                         const http::HttpRequest& request, const std::string& name,
                                         std::string_view version) {
  InferenceTarget target;
  std::shared_ptr<const serving::Deployment> found = deployments->Find(name);
  if (found == nullptr) return NoDeployment(name);
  // Access first: a caller who may not read it must not make it load.
  RETURN_IF_ERROR(RequireDeploymentRead(access, request, *found));
  ASSIGN_OR_RETURN(target.deployment, deployments->Use(std::move(found)));
  if (target.deployment == nullptr) return NoDeployment(name);
  serving::RouteHints hints;
  hints.version = version;
  hints.variant = request.Header(kVariantHeader);
  if (const std::string& sticky = target.deployment->spec.sticky_header; !sticky.empty()) {
    hints.sticky_key = request.Header(sticky);
  }
  ASSIGN_OR_RETURN(target.variant, deployments->Route(*target.deployment, hints));
  std::string_view id = request.Header("x-request-id");
  if (id.empty()) id = request.Header("ce-id");
  target.request_id_given = !id.empty() && id.size() <= 256;
  target.request_id = target.request_id_given ? std::string(id) : deployments->NewRequestId();
  return target;
}

std::vector<std::string> ServedVersions(const serving::Deployment& deployment) {
  std::vector<std::string> versions;
  for (const serving::Variant& v : deployment.variants) {
    if (v.spec.shadow || !v.ready() || v.source.version.empty()) continue;
    versions.push_back(v.source.version);
  }
  return versions;
}

void NameVariant(http::HttpResponse& response, const InferenceTarget& target) {
  response.headers.emplace_back(std::string(kVariantHeader), target.variant->spec.name);
  if (!target.variant->source.version.empty()) {
    response.headers.emplace_back("x-cairn-model-version", target.variant->source.version);
  }
  response.headers.emplace_back("x-request-id", target.request_id);
}

}  // namespace cairn::surface
