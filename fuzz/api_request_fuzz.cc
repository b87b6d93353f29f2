// Fuzzes the request decoders not behind the MLflow routes: Feast's feature
// API (/get-online-features, /push, /write-to-online-store, /materialize*),
// training sets (/api/cairn/v1/features/historical, with a training data
// root) and Cairn's own API (/api/cairn/v1/audit, promotions, lineage). The
// input drives one route (route_driver.h). Handlers run for real: a SQLite store and an LMDB online
// store in a temp folder, with a small feature repo applied, so decoding, validation and what lies
// behind them are all exercised.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "api/api_routes.h"
#include "audit/audit_log.h"
#include "core/env.h"
#include "feast/feast_routes.h"
#include "features/feature_registry.h"
#include "features/feature_stats.h"
#include "features/online_serving.h"
#include "features/repo_loader.h"
#include "governance/promotion_service.h"
#include "http/router.h"
#include "lineage/lineage_service.h"
#include "mlflow/mlflow_json.h"
#include "offline/engine.h"
#include "online/lmdb/lmdb_online_store.h"
#include "registry/registry_service.h"
#include "route_driver.h"
#include "store/sqlite/sqlite_store.h"
#include "surface/surface.h"
#include "tracking/logged_model_service.h"
#include "tracking/tracking_service.h"

namespace {

constexpr char kDefinitions[] = R"yaml(
entities:
  - {name: driver, join_keys: [driver_id], value_type: Int64}
sources:
  - name: stats_src
    path: data/stats.csv
    timestamp_field: event_timestamp
    created_timestamp_field: created
  - {name: live, type: push, batch_source: stats_src}
feature_views:
  - name: driver_stats
    entities: [driver]
    ttl: 0
    source: stats_src
    schema: [{name: conv_rate, type: Float32}, {name: trips, type: Int64}, {name: tier, type: String}]
  - name: live_stats
    entities: [driver]
    source: live
    schema: [{name: conv_rate, type: Float64}, {name: active, type: Bool}]
on_demand_feature_views:
  - name: derived
    sources: [driver_stats]
    request_schema: [{name: bonus, type: Float64}]
    features:
      - {name: trips_plus, type: Float64, expression: trips + bonus}
feature_services:
  - name: svc
    features:
      - {view: driver_stats, features: [trips]}
)yaml";

constexpr char kStats[] =
    "driver_id,event_timestamp,created,conv_rate,trips,tier\n"
    "1001,2026-01-01 10:00:00,2026-01-01 10:00:00,0.5,10,gold\n"
    "1002,2026-01-01 09:00:00,2026-01-01 09:00:00,0.25,3,silver\n";

template <typename T>
T Must(cairn::StatusOr<T> value) {
  if (!value.ok()) {
    std::fprintf(stderr, "api_request_fuzz setup: %s\n", value.status().ToString().c_str());
    std::abort();
  }
  return std::move(*value);
}

void Must(const cairn::Status& status) {
  if (!status.ok()) {
    std::fprintf(stderr, "api_request_fuzz setup: %s\n", status.ToString().c_str());
    std::abort();
  }
}

struct Fixture {
  Fixture() : router(&registry) {
    namespace fs = std::filesystem;
    cairn::Env* env = cairn::Env::Default();
    fs::path dir = fs::temp_directory_path() / ("cairn-api-fuzz-" + env->RandomHex(6));
    fs::create_directories(dir / "repo/data");
    fs::create_directories(dir / "training");
    std::ofstream(dir / "repo/cairn_features.yaml") << "project: fuzz\n";
    std::ofstream(dir / "repo/defs.yaml") << kDefinitions;
    std::ofstream(dir / "repo/data/stats.csv") << kStats;
    std::ofstream(dir / "training/entities.csv")
        << "driver_id,event_timestamp\n1001,2026-01-01 12:00:00\n";

    store = Must(cairn::store::OpenSqliteStore((dir / "meta.db").string()));
    audit = std::make_unique<cairn::audit::AuditLog>(store.get(), env);
    Must(audit->Init());
    store->SetWriteObserver(audit.get());
    tracking = std::make_unique<cairn::tracking::TrackingService>(store.get(), env);
    Must(tracking->Init());
    logged_models = std::make_unique<cairn::tracking::LoggedModelService>(store.get(), env);
    model_registry = std::make_unique<cairn::registry::RegistryService>(store.get(), env);
    Must(model_registry->Init());
    promotions = std::make_unique<cairn::governance::PromotionService>(store.get(), env,
                                                                       (dir / "policies").string());
    Must(promotions->Init());
    model_registry->SetPromotionGate(promotions.get());
    lineage = std::make_unique<cairn::lineage::LineageService>(model_registry.get(), tracking.get(),
                                                               logged_models.get());

    feature_registry = std::make_unique<cairn::features::FeatureRegistry>(store.get(), env);
    Must(feature_registry->Init());
    cairn::features::FeatureRepo repo =
        Must(cairn::features::LoadRepo(cairn::Env::Default(), (dir / "repo").string()));
    int64_t version = 0;
    Must(feature_registry->Apply(repo, "fuzz", &version).status());
    online = Must(cairn::online::OpenLmdbOnlineStore((dir / "online").string()));
    serving = std::make_unique<cairn::features::OnlineServing>(feature_registry.get(), online.get(),
                                                               env, "");
    stats = std::make_unique<cairn::features::FeatureStatsStore>(store.get());
    Must(stats->Init());

    cairn::surface::Surface surface(router, nullptr, cairn::mlflow::ErrorFormat::Get());
    cairn::api::RegisterApiRoutes(surface, audit.get(), promotions.get(), lineage.get());
    cairn::feast::RegisterFeastRoutes(
        surface, {.serving = serving.get(),
                  .registry = feature_registry.get(),
                  .store = online.get(),
                  .open_engine = [] { return cairn::offline::Engine::Open(); },
                  .stats = stats.get(),
                  .env = env,
                  .pushed_root = (dir / "pushed").string(),
                  .training_set_json_max_cells = 100'000,
                  .training_data_root = fs::canonical(dir / "training").string(),
                  .audit = audit.get()});
    for (const cairn::http::Route* route : router.routes()) {
      if (route->options.body_mode == cairn::http::BodyMode::kBuffered) routes.push_back(route);
    }
  }

  cairn::metrics::Registry registry;
  cairn::http::Router router;
  std::unique_ptr<cairn::store::MetadataStore> store;
  std::unique_ptr<cairn::audit::AuditLog> audit;
  std::unique_ptr<cairn::tracking::TrackingService> tracking;
  std::unique_ptr<cairn::tracking::LoggedModelService> logged_models;
  std::unique_ptr<cairn::registry::RegistryService> model_registry;
  std::unique_ptr<cairn::governance::PromotionService> promotions;
  std::unique_ptr<cairn::lineage::LineageService> lineage;
  std::unique_ptr<cairn::features::FeatureRegistry> feature_registry;
  std::unique_ptr<cairn::online::OnlineStore> online;
  std::unique_ptr<cairn::features::OnlineServing> serving;
  std::unique_ptr<cairn::features::FeatureStatsStore> stats;
  std::vector<const cairn::http::Route*> routes;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fixture = new Fixture();
  cairn::fuzz::DriveRoute(fixture->routes, data, size);
  return 0;
}
