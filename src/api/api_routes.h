// Cairn's own REST API under /api/cairn/v1/: what MLflow's protocol has no
// words for (route listings now; approvals, audit and lineage as they land).
// JSON in and out; errors use the same {"error_code", "message"} body as the
// MLflow surface, so one client-side handler reads both.
#pragma once

#include "mlflow/access.h"

namespace cairn::api {

// GET /api/cairn/v1/routes (admins): every registered route with what it
// requires, so an operator (and the access test) can audit them.
// `surface.router` must outlive the server.
void RegisterApiRoutes(mlflow::Surface& surface);

}  // namespace cairn::api
