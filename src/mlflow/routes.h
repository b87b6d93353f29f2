// The MLflow REST surface: registers MLflow's tracking and artifact endpoints
// under /api/2.0/mlflow/... and /ajax-api/2.0/mlflow/..., speaking MLflow's
// JSON and error format exactly, so unmodified MLflow clients work.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "artifacts/artifact_store.h"
#include "audit/audit_log.h"
#include "core/status.h"
#include "http/client.h"
#include "http/router.h"
#include "mlflow/access.h"
#include "registry/registry_service.h"
#include "signing/model_signer.h"
#include "store/metadata_store.h"
#include "tracking/logged_model_service.h"
#include "tracking/tracking_service.h"

namespace cairn::mlflow {

class RequestArgs;

// An MLflow handler: arguments already parsed; errors become MLflow error JSON.
using MlflowHandler =
    std::function<StatusOr<http::HttpResponse>(const RequestArgs&, http::HttpRequest&)>;

// Registers `handler` at /api/2.0/mlflow/<path> and /ajax-api/2.0/mlflow/<path>,
// guarded by `access` (checked after the arguments parse, before `handler`).
void AddMlflowRoute(const surface::Surface& surface, const std::string& method,
                    const std::string& path, const RouteAccess& access, MlflowHandler handler);
// As AddMlflowRoute, at these full paths (MLflow's UI routes such as
// /get-artifact live outside /api/2.0/mlflow/).
void AddMlflowRouteAt(const surface::Surface& surface, const std::string& method,
                      const std::vector<std::string>& paths, const RouteAccess& access,
                      MlflowHandler handler);

// `tracking` must outlive the router.
void RegisterTrackingRoutes(const surface::Surface& surface, tracking::TrackingService& tracking);

// MLflow 3's logged models and runs/outputs. `models` must outlive the router.
void RegisterLoggedModelRoutes(const surface::Surface& surface,
                               tracking::LoggedModelService& service);

// MLflow's model registry (registered models, versions, stages, aliases).
// With a `signer` (nullable), new versions are signed when a key exists, and
// get-download-uri refuses unsigned or tampered versions when signatures are
// required. `service` and `signer` must outlive the router.
void RegisterRegistryRoutes(const surface::Surface& surface, registry::RegistryService& service,
                            signing::ModelSigner* signer = nullptr);

// What guards the proxied artifacts beyond the caller's grants.
struct ArtifactGuards {
  // Uploads and deletes are recorded here (AuditLog::Append). Required.
  audit::AuditLog* audit = nullptr;
  // A registered version's files cannot be replaced or deleted. Required.
  registry::RegistryService* registry = nullptr;
  // With signatures required, a registered version's file is served only if
  // the version's signature covers it. Nullable.
  signing::ModelSigner* signer = nullptr;
};

// Proxied artifacts (/api/2.0/mlflow-artifacts/...) and the listings of a
// run's and a logged model's artifacts. Uploads go inside a run's or logged
// model's artifacts folder; deleting a folder above a run's needs manage on
// the experiment. `artifacts`, `tracking`, `models` and what `guards` points
// to must outlive the router.
// Where gateway-proxy forwards: an http:// deployments server.
struct GatewayTarget {
  std::string uri;  // As configured; "" when there is none.
  http::HttpAddress address;
};
// Errors: InvalidArgument naming the setting for a target that is not
// http://host[:port][/path].
StatusOr<GatewayTarget> ParseGatewayTarget(const std::string& uri);

// gateway-proxy (GET and POST): forwards the UI's calls to `target`'s
// gateway_path, or answers as an empty gateway when there is no target.
void RegisterGatewayProxyRoute(const surface::Surface& surface, const GatewayTarget& target);

// runs/create-promptlab-run (MLflow 2's prompt engineering UI): a finished
// run with the prompt's parameters, a promptlab model and its evaluation
// table in `store`. Both must outlive the router.
void RegisterPromptlabRoute(const surface::Surface& surface, tracking::TrackingService& tracking,
                            artifacts::ArtifactStore& store);

void RegisterArtifactRoutes(const surface::Surface& surface, artifacts::ArtifactStore& store,
                            tracking::TrackingService& tracking,
                            tracking::LoggedModelService& models, ArtifactGuards guards);

}  // namespace cairn::mlflow
