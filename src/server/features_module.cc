// The features module: feature definitions from the registry, values from
// the online store, freshness metrics, and Feast's HTTP API in front.
#include <filesystem>
#include <memory>

#include "audit/audit_log.h"
#include "auth/access_policy.h"
#include "core/confined_path.h"
#include "feast/feast_routes.h"
#include "features/feature_registry.h"
#include "features/feature_stats.h"
#include "features/offline_push.h"
#include "features/online_serving.h"
#include "mlflow/mlflow_json.h"
#include "offline/engine.h"
#include "server/modules.h"
#include "server/stores.h"

namespace cairn::server {
namespace {

// The training data root, canonical, after checking that no file under it
// is the server's own state (a training set written over metadata.db or a
// policy). "" when not configured. Errors: InvalidArgument naming both.
StatusOr<std::string> TrainingDataRoot(const ServerConfig& config) {
  if (config.training_data_root.empty()) return std::string();
  ASSIGN_OR_RETURN(std::string root,
                   CanonicalRoot(config.training_data_root, "--training-data-root"));
  std::vector<OwnFolder> own = OwnFolders(config);
  // The broadest first: an overlap with the data dir is named as such.
  for (auto it = own.rbegin(); it != own.rend(); ++it) {
    std::error_code ec;
    std::filesystem::path canonical = std::filesystem::weakly_canonical(it->path, ec);
    if (ec) continue;
    if (PathsOverlap(root, canonical.string())) {
      return InvalidArgument("--training-data-root " + config.training_data_root + " overlaps " +
                             it->setting + " " + it->path +
                             ": requests could then read or overwrite the server's own state; "
                             "use a folder of its own for training data");
    }
  }
  return root;
}

// Freshness is read at scrape time: the age of each view's newest value
// keeps growing between materializations, so a stored number would lie.
void CollectFeatureMetrics(metrics::Registry& registry, features::FeatureStatsStore& stats,
                           Env* env) {
  auto all = stats.All();
  if (!all.ok()) return;
  int64_t now = env->NowMicros();
  for (const features::ViewStats& s : *all) {
    metrics::Labels labels = {{"project", s.project}, {"view", s.view}};
    if (s.newest_event_micros) {
      registry
          .GetGauge("cairn_feature_view_freshness_seconds",
                    "Seconds since the newest event time of the view's last statistics", labels)
          ->Set(static_cast<double>(now - *s.newest_event_micros) / 1e6);
    }
    registry.GetGauge("cairn_feature_view_rows", "Rows in the view's last statistics", labels)
        ->Set(static_cast<double>(s.rows));
    for (const features::FeatureStats& f : s.features) {
      metrics::Labels feature_labels = labels;
      feature_labels.emplace_back("feature", f.name);
      registry
          .GetGauge("cairn_feature_null_ratio",
                    "Share of null values of the feature in the view's last statistics",
                    feature_labels)
          ->Set(f.null_rate);
    }
  }
}

class FeaturesModule : public Module {
 public:
  std::string_view name() const override { return "features"; }

  void DeclareSettings(ServerConfig* config, config::Settings* settings) override {
    settings->Add("online_store", &config->online_store_uri,
                  "Online store: lmdb:///dir or redis://host:port/db (default: LMDB in "
                  "--data-dir/online)");
    settings->Add("feature_project", &config->feature_project,
                  "Feature project the Feast endpoints serve (default: the only one applied)");
    settings->Add("training_set_json_max_cells", &config->training_set_json_max_cells,
                  "Largest training set (rows x columns) answered as JSON by "
                  "/api/cairn/v1/features/historical; bigger ones need out_path (default "
                  "20,000,000)");
    settings->Add("training_data_root", &config->training_data_root,
                  "Folder whose files training-set requests may read (entities_path) and write "
                  "(out_path); default: none, no server-side files");
  }

  Status Start(ServerContext& context) override {
    const ServerConfig& config = context.config();
    ASSIGN_OR_RETURN(store::MetadataStore * store, context.Get<store::MetadataStore>());
    ASSIGN_OR_RETURN(audit::AuditLog * audit, context.Get<audit::AuditLog>());
    ASSIGN_OR_RETURN(auth::AccessPolicy * access, context.Get<auth::AccessPolicy>());
    ASSIGN_OR_RETURN(std::string training_data_root, TrainingDataRoot(config));
    if (!training_data_root.empty()) {
      // RunServer redacts both the spelled and the resolved form of it.
      context.AddRedaction(config.training_data_root, "<training-data-root>");
    }

    registry_ = std::make_unique<features::FeatureRegistry>(store, context.env());
    RETURN_IF_ERROR(Named("the feature registry", registry_->Init()));
    ASSIGN_OR_RETURN(online_store_, OpenOnlineStore(config));
    online_store_->StartWarmUp();
    serving_ = std::make_unique<features::OnlineServing>(registry_.get(), online_store_.get(),
                                                         context.env(), config.feature_project);
    serving_->StartRefresher();  // Requests (on IO threads) never read the registry.
    stats_ = std::make_unique<features::FeatureStatsStore>(store);
    RETURN_IF_ERROR(Named("feature statistics", stats_->Init()));
    metrics::Registry* registry = &context.metrics();
    features::FeatureStatsStore* stats = stats_.get();
    Env* env = context.env();
    registry->AddCollector(
        [registry, stats, env] { CollectFeatureMetrics(*registry, *stats, env); });

    // Feast's routes answer in Feast's error shape (feast/feast_json.h);
    // they share the main listener with MLflow's.
    surface::Surface shared(context.router(), access, mlflow::ErrorFormat::Get());
    feast::RegisterFeastRoutes(shared,
                               {.serving = serving_.get(),
                                .registry = registry_.get(),
                                .store = online_store_.get(),
                                .open_engine = [] { return offline::Engine::Open(); },
                                .stats = stats_.get(),
                                .env = context.env(),
                                .pushed_root = features::PushedRowsRoot(config.data_dir),
                                .training_set_json_max_cells = config.training_set_json_max_cells,
                                .training_data_root = training_data_root,
                                .audit = audit});
    context.Provide<features::FeatureRegistry>(registry_.get());
    context.Provide<features::OnlineServing>(serving_.get());
    return Status::Ok();
  }

 private:
  // Declared in the order they must be built; destroyed in reverse.
  std::unique_ptr<features::FeatureRegistry> registry_;
  std::unique_ptr<online::OnlineStore> online_store_;
  std::unique_ptr<features::OnlineServing> serving_;
  std::unique_ptr<features::FeatureStatsStore> stats_;
};

}  // namespace

std::unique_ptr<Module> NewFeaturesModule() { return std::make_unique<FeaturesModule>(); }

}  // namespace cairn::server
