#include "surface/deployment_access.h"

#include "auth/http_authenticator.h"
#include "registry/model_uri.h"

namespace cairn::surface {

std::string RegisteredModelOf(const std::string& model_uri) {
  auto uri = registry::ParseModelUri(model_uri);
  if (!uri.ok()) return "";
  using Kind = registry::ModelUri::Kind;
  return uri->kind == Kind::kLoggedModel || uri->kind == Kind::kRun ? "" : uri->name;
}

Status RequireDeploymentRead(auth::AccessPolicy* access, const http::HttpRequest& request,
                             const serving::Deployment& deployment) {
  if (access == nullptr) return Status::Ok();
  const std::string model = deployment.source.registered_model.empty()
                                ? RegisteredModelOf(deployment.spec.model_uri)
                                : deployment.source.registered_model;
  if (model.empty()) return Status::Ok();
  return access->Require(auth::IdentityOf(request), auth::ResourceKind::kRegisteredModel, model,
                         auth::Level::kRead);
}

}  // namespace cairn::surface
