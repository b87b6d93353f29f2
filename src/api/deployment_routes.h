// Cairn's API for deployments (serving), in Cairn's API error shape:
//   POST   /api/cairn/v1/deployments {"name", "model_uri"} (role editor, and
//          read on the registered model): creates or replaces; the model is
//          loaded before anything is stored, so a broken model is refused
//          and the previous one keeps serving.
//   GET    /api/cairn/v1/deployments: every deployment with its state.
//   GET    /api/cairn/v1/deployments/{name}
//   DELETE /api/cairn/v1/deployments/{name} (role editor)
// Changes are recorded in the audit log, in the transaction that stores them.
#pragma once

#include "serving/deployments.h"
#include "surface/surface.h"

namespace cairn::api {

// `deployments` must outlive the server.
void RegisterDeploymentRoutes(const surface::Surface& surface, serving::Deployments* deployments);

}  // namespace cairn::api
