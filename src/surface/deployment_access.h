// Who may use a deployment, and how every protocol that serves one (KServe
// v1 and v2, MLflow scoring, Cairn's deployment API) opens it for a request:
// found, allowed, and routed to one of its variants.
//
// A deployment is readable by whoever may read every model its variants
// name: the registered model (read), or, for runs:/ and models:/m-ID, the
// run's or logged model's experiment (read). Shadows count: their answers
// are logged and compared.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/access_policy.h"
#include "http/http_types.h"
#include "serving/deployments.h"

namespace cairn::surface {

// OK, or PermissionDenied naming the user and what they may not read.
// `access` may be null (no users: everyone may). A reference that does not
// parse is left to the deploy's own checks.
Status RequireModelUriRead(auth::AccessPolicy* access, const http::HttpRequest& request,
                           const std::string& model_uri);
Status RequireDeploymentRead(auth::AccessPolicy* access, const http::HttpRequest& request,
                             const serving::Deployment& deployment);

// Who may change deployments (create, replace, remove, traffic, load and
// unload): role editor, and read on every model `deployment` names (null:
// a deployment not made yet; the caller checks the new spec's models).
Status RequireDeploymentChange(auth::AccessPolicy* access, const http::HttpRequest& request,
                               const serving::Deployment* deployment);

// A request's deployment and the variant that answers it.
struct InferenceTarget {
  std::shared_ptr<const serving::Deployment> deployment;
  const serving::Variant* variant = nullptr;  // ready
  // The request's id: its x-request-id or ce-id header, else one made here
  // (a protocol may put the body's own id in its place). Logged with the
  // payload and returned as x-request-id, so labels can be joined later.
  std::string request_id;
  bool request_id_given = false;
};

// The header that names the answering variant in every inference response;
// a client sending it back stays on that variant while it is live.
inline constexpr std::string_view kVariantHeader = "x-cairn-variant";

// Finds `name`, checks the caller may read it, and routes the request
// (`version` "" unless the URL names a registry version). Errors: NotFound
// naming the deployment (or the versions it serves); PermissionDenied;
// Unavailable when no variant is ready, with the reasons.
StatusOr<InferenceTarget> OpenDeployment(serving::Deployments* deployments,
                                         auth::AccessPolicy* access,
                                         const http::HttpRequest& request, const std::string& name,
                                         std::string_view version = {});

// The registry versions a deployment's live, ready variants serve (what
// the protocols' model metadata list).
std::vector<std::string> ServedVersions(const serving::Deployment& deployment);

// Whether `name` can answer now (the variant serving `version`, if given),
// for the protocols' model-ready calls. Errors: NotFound naming the
// deployment or the versions it serves; PermissionDenied.
StatusOr<bool> DeploymentReady(serving::Deployments* deployments, auth::AccessPolicy* access,
                               const http::HttpRequest& request, const std::string& name,
                               std::string_view version);

// Names the answering variant (and its registry version) and the request
// id in `response`.
void NameVariant(http::HttpResponse& response, const InferenceTarget& target);

}  // namespace cairn::surface
