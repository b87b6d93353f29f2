// Endpoints every Cairn server answers, whatever else it serves:
// GET /health ("OK"), GET /version (an MLflow 2.x-compatible version string:
// a 3.4+ string would make MLflow 3 clients switch to OTLP tracing), and
// GET /metrics (Prometheus text exposition).
#pragma once

#include <string>

#include "http/router.h"
#include "metrics/metrics.h"

namespace cairn::http {

// The version /version reports.
inline constexpr char kMlflowCompatibleVersion[] = "2.19.0";

// `registry` must outlive the router.
void RegisterSystemRoutes(Router& router, metrics::Registry* registry);

}  // namespace cairn::http
