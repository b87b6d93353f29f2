// Open Inference Protocol v2 REST routes (KServe v2, Triton) over Cairn's
// deployments: health, server and model metadata, readiness and infer.
// Answers in the protocol's `{"error": ...}` shape: 400 bad input, 404
// unknown model, 503 not ready.
//
// Who may infer: when the server has users, anyone with read on the
// registered model a deployment serves (any signed-in user for models
// outside the registry).
#pragma once

#include "serving/deployments.h"
#include "surface/surface.h"

namespace cairn::kserve {

// The version the protocols' server metadata report.
inline constexpr char kServerVersion[] = "0.1.0";

// REQUIRES: `surface` answers in http::PlainErrorFormat; `deployments`
// outlives the server.
void RegisterV2Routes(const surface::Surface& surface, serving::Deployments* deployments);

// KServe's v1 protocol over the same deployments: GET /v1/models,
// GET /v1/models/NAME, POST /v1/models/NAME:predict ({"instances"} or
// {"inputs"}: rows as lists or records, to {"predictions"}). :explain
// answers 501 until tree explanations exist. Same error shape and access.
void RegisterV1Routes(const surface::Surface& surface, serving::Deployments* deployments);

}  // namespace cairn::kserve
