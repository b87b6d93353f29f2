// Who may use a deployment, for every protocol that serves one (KServe v1
// and v2, MLflow scoring, Cairn's deployment API): read on the registered
// model it serves, or, for a deployment not (yet) loaded, on the model its
// reference names; deployments of runs and logged models need only a
// signed-in user.
#pragma once

#include <string>

#include "auth/access_policy.h"
#include "http/http_types.h"
#include "serving/deployments.h"

namespace cairn::surface {

// The registered model a model reference names ("" for runs:/ and logged models).
std::string RegisteredModelOf(const std::string& model_uri);

// OK, or PermissionDenied naming the user and the model. `access` may be null
// (no users: everyone may).
Status RequireDeploymentRead(auth::AccessPolicy* access, const http::HttpRequest& request,
                             const serving::Deployment& deployment);

}  // namespace cairn::surface
