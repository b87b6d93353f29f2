// Fuzzes every MLflow JSON request decoder end to end: the first input byte
// picks a registered route, the rest is its body (or query string for GET).
// The handlers run against a real SQLite store in a temp folder, so decoding,
// validation and the store paths behind them are all exercised.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "artifacts/local/local_artifact_store.h"
#include "audit/audit_log.h"
#include "core/env.h"
#include "http/router.h"
#include "mlflow/mlflow_json.h"
#include "mlflow/routes.h"
#include "registry/registry_service.h"
#include "route_driver.h"
#include "store/sqlite/sqlite_store.h"
#include "surface/surface.h"
#include "tracking/tracking_service.h"

namespace {

struct Fixture {
  Fixture() : router(&registry) {
    std::string dir = std::filesystem::temp_directory_path() /
                      ("cairn-fuzz-" + cairn::Env::Default()->RandomHex(6));
    std::filesystem::create_directories(dir);
    store = std::move(cairn::store::OpenSqliteStore(dir + "/meta.db")).value();
    artifacts = std::move(cairn::artifacts::OpenLocalArtifactStore(dir + "/artifacts")).value();
    tracking =
        std::make_unique<cairn::tracking::TrackingService>(store.get(), cairn::Env::Default());
    if (!tracking->Init().ok()) std::abort();
    logged_models =
        std::make_unique<cairn::tracking::LoggedModelService>(store.get(), cairn::Env::Default());
    model_registry =
        std::make_unique<cairn::registry::RegistryService>(store.get(), cairn::Env::Default());
    if (!model_registry->Init().ok()) std::abort();
    audit = std::make_unique<cairn::audit::AuditLog>(store.get(), cairn::Env::Default());
    if (!audit->Init().ok()) std::abort();
    cairn::surface::Surface surface(router, nullptr, cairn::mlflow::ErrorFormat::Get());
    cairn::mlflow::RegisterTrackingRoutes(surface, *tracking);
    cairn::mlflow::RegisterLoggedModelRoutes(surface, *logged_models);
    cairn::mlflow::RegisterArtifactRoutes(surface, *artifacts, *tracking, *logged_models,
                                          {audit.get(), model_registry.get(), nullptr});
    // Last, so the seeds' route bytes (the first byte picks a route) stay valid.
    cairn::mlflow::RegisterRegistryRoutes(surface, *model_registry);
    for (const cairn::http::Route* route : router.routes()) {
      // Spooled uploads need a file, not a body; everything else takes JSON or a query.
      if (route->options.body_mode == cairn::http::BodyMode::kBuffered) routes.push_back(route);
    }
  }
  cairn::metrics::Registry registry;
  cairn::http::Router router;
  std::unique_ptr<cairn::store::MetadataStore> store;
  std::unique_ptr<cairn::artifacts::ArtifactStore> artifacts;
  std::unique_ptr<cairn::tracking::TrackingService> tracking;
  std::unique_ptr<cairn::tracking::LoggedModelService> logged_models;
  std::unique_ptr<cairn::registry::RegistryService> model_registry;
  std::unique_ptr<cairn::audit::AuditLog> audit;
  std::vector<const cairn::http::Route*> routes;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fixture = new Fixture();
  cairn::fuzz::DriveRoute(fixture->routes, data, size);
  return 0;
}
