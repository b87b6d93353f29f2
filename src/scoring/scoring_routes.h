// MLflow's scoring protocol over Cairn's deployments, as `mlflow models
// serve` answers it: POST /invocations (the default deployment) and
// /deployments/NAME/invocations, with JSON (dataframe_split,
// dataframe_records, instances, inputs; optional params) or text/csv; 415
// for other content types; GET /ping, /health, /version. Inputs are checked
// against the model's MLflow signature with MLflow's messages, answered as
// 400 {"error_code": "BAD_REQUEST", "message": ...} (MLflow's own server
// answers a missing column with a 500; a client's mistake is a 400 here).
//
// Registered on the serving listener's router only: the main listener has
// its own /health and /version.
#pragma once

#include <string>

#include "serving/deployments.h"
#include "surface/surface.h"

namespace cairn::scoring {

// `default_deployment`: the deployment /invocations serves; "" means the
// only one there is. `deployments` must outlive the server.
void RegisterScoringRoutes(const surface::Surface& surface, serving::Deployments* deployments,
                           const std::string& default_deployment);

// The error shape of MLflow's scoring server.
const http::ErrorFormat& ScoringErrorFormat();

}  // namespace cairn::scoring
