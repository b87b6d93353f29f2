// `cairn features plan|apply|list|versions|historical|materialize|
// materialize-incremental|stats`: the feature store from the command line.
#include <tuple>

#include "cli/command_group.h"
#include "server/feature_commands.h"

namespace cairn::cli {
namespace {

class FeatureCommands : public CommandGroup {
  using Action = server::FeaturesCommand::Action;

 public:
  void Add(CLI::App& app, server::ServerConfig& config) override {
    features_ = app.add_subcommand(
        "features", "Feature store: plan/apply definitions, build point-in-time training sets.");
    features_->require_subcommand(1);
    const std::tuple<const char*, const char*, Action> commands[] = {
        {"plan", "Show what `apply` would add, change and remove.", Action::kPlan},
        {"apply", "Store the repo's definitions as the project's next version.", Action::kApply},
        {"list", "Print the applied definitions.", Action::kList},
        {"versions", "Print the project's applied versions.", Action::kVersions},
        {"historical", "Build a point-in-time correct training set.", Action::kHistorical},
        {"materialize", "Copy the latest values in [START, END] into the online store.",
         Action::kMaterialize},
        {"materialize-incremental", "Materialize each view from where it last ended up to END.",
         Action::kMaterializeIncremental},
        {"stats", "Compute, save and print a feature view's statistics.", Action::kStats}};
    for (const auto& [name, help, action] : commands) {
      Action chosen = action;  // A copy: clang does not capture structured bindings.
      CLI::App* cmd = features_->add_subcommand(name, help);
      AddStoreOptions(cmd, config);
      AddOptions(cmd, chosen, config);
      cmd->callback([this, chosen] { command_.action = chosen; });
    }
  }

  std::optional<int> RunIfChosen(const server::ServerConfig& config) override {
    if (!features_->parsed()) return std::nullopt;
    return server::RunFeaturesCommand(config, command_);
  }

 private:
  void AddOptions(CLI::App* cmd, Action action, server::ServerConfig& config) {
    server::FeaturesCommand& c = command_;
    cmd->add_option("--repo", c.repo,
                    "Feature repo folder (with cairn_features.yaml); default: current folder");
    cmd->add_option("--project", c.project, "Project (default: the repo's)");
    if (action == Action::kPlan || action == Action::kApply) {
      cmd->add_flag("--skip-source-checks", c.skip_source_checks,
                    "Do not check paths, columns and types against the sources' data (for "
                    "sources not reachable from here)");
    }
    if (action == Action::kList || action == Action::kHistorical) {
      cmd->add_option("--version", c.version, "Registry version (default: newest)");
    }
    if (action == Action::kHistorical) {
      cmd->add_option("--entities", c.entities,
                      "Parquet or CSV file: join keys, event_timestamp, any other columns")
          ->required();
      cmd->add_option("--features", c.features,
                      "view:feature references (comma separated; view or view:* for all)")
          ->delimiter(',');
      cmd->add_option("--service", c.service, "A feature service instead");
      cmd->add_option("--out", c.out, "Output file: .parquet or .csv")->required();
      cmd->add_flag("--full-feature-names", c.full_feature_names, "Name columns view__feature");
      cmd->add_option("--timestamp-column", c.timestamp_column,
                      "The entities' time column (default: event_timestamp)");
      cmd->add_option("--as-of-created", c.as_of_created,
                      "Ignore feature rows created after this time (no backfill leakage)");
      cmd->add_option("--threads", c.threads, "Worker threads (0 = one per core)");
    }
    bool materialize = action == Action::kMaterialize || action == Action::kMaterializeIncremental;
    if (materialize) {
      if (action == Action::kMaterialize) {
        cmd->add_option("start", c.start, "Window start, e.g. 2026-01-01T00:00:00")->required();
      }
      cmd->add_option("end", c.end, "Window end, e.g. 2026-01-31T00:00:00")->required();
      cmd->add_option("--views", c.views, "Feature views (default: every online one)")
          ->delimiter(',');
      cmd->add_option("--threads", c.threads, "DuckDB threads (0 = one per core)");
      cmd->add_flag("--no-stats", c.no_stats,
                    "Do not compute the window's statistics (cairn features stats)");
    }
    if (materialize || action == Action::kApply) {
      // apply drops the online tables no view reads any more.
      cmd->add_option("--online-store", config.online_store_uri,
                      "lmdb:///dir or redis://host:port/db (default: LMDB in --data-dir/online)")
          ->envname("CAIRN_ONLINE_STORE");
    }
    if (action == Action::kStats) cmd->add_option("view", c.view, "Feature view")->required();
  }

  server::FeaturesCommand command_;
  CLI::App* features_ = nullptr;
};

}  // namespace

std::unique_ptr<CommandGroup> NewFeatureCommands() { return std::make_unique<FeatureCommands>(); }

}  // namespace cairn::cli
