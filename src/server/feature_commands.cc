#include "server/feature_commands.h"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "core/env.h"
#include "core/time_format.h"
#include "features/feature_registry.h"
#include "features/feature_stats.h"
#include "features/historical.h"
#include "features/materialize.h"
#include "features/offline_push.h"
#include "features/offline_source.h"
#include "features/repo_loader.h"
#include "features/source_checks.h"
#include "offline/engine.h"
#include "server/admin_common.h"

namespace cairn::server {
namespace {

using features::FeatureRegistry;
using features::FeatureRepo;

// The project a command acts on: --project, else the repo folder's, else the
// only one applied.
StatusOr<std::string> ProjectOf(FeatureRegistry& registry, const FeaturesCommand& c) {
  if (!c.project.empty()) return c.project;
  if (!c.repo.empty()) {
    ASSIGN_OR_RETURN(FeatureRepo repo, features::LoadRepo(Env::Default(), c.repo));
    return repo.project;
  }
  ASSIGN_OR_RETURN(std::vector<std::string> projects, registry.Projects());
  if (projects.size() == 1) return projects.front();
  if (projects.empty()) {
    return NotFound("no feature project is applied yet; run `cairn features apply --repo DIR`");
  }
  std::string names;
  for (const std::string& p : projects) names += (names.empty() ? "" : ", ") + p;
  return InvalidArgument("several feature projects are applied (" + names +
                         "); choose one with --project");
}

void PrintDefinitions(const FeatureRepo& repo, int64_t version) {
  std::cout << "project " << repo.project << " (version " << version << ")\n";
  for (const auto& e : repo.entities) {
    std::cout << "entity " << e.name << " keys:";
    for (const auto& k : e.join_keys) {
      std::cout << " " << k.name << ":" << features::ValueTypeName(k.type);
    }
    std::cout << "\n";
  }
  for (const auto& s : repo.sources) {
    std::cout << "source " << s.name << " (" << features::SourceKindName(s.kind) << ")"
              << (s.path.empty() ? "" : " " + s.path) << "\n";
  }
  for (const auto& v : repo.feature_views) {
    std::cout << "feature_view " << v.name << " ttl " << features::FormatDuration(v.ttl_seconds)
              << " source " << v.source << ":";
    for (const auto& f : v.schema)
      std::cout << " " << f.name << ":" << features::ValueTypeName(f.type);
    std::cout << "\n";
  }
  for (const auto& v : repo.on_demand_feature_views) {
    std::cout << "on_demand_feature_view " << v.name << ":";
    for (const auto& f : v.features) std::cout << " " << f.field.name;
    std::cout << "\n";
  }
  for (const auto& s : repo.feature_services) {
    std::cout << "feature_service " << s.name << ":";
    for (const auto& e : s.features) std::cout << " " << e.view;
    std::cout << "\n";
  }
}

Status Historical(const ServerConfig& config, FeatureRegistry& registry, const FeaturesCommand& c) {
  if (c.entities.empty() || c.out.empty()) {
    return InvalidArgument("historical needs --entities FILE and --out FILE");
  }
  ASSIGN_OR_RETURN(std::string project, ProjectOf(registry, c));
  ASSIGN_OR_RETURN(FeatureRepo repo, registry.Load(project, c.version));
  ASSIGN_OR_RETURN(auto resolved,
                   features::ResolveFeatures(repo, c.features, c.service, c.full_feature_names));
  int threads = c.threads > 0 ? c.threads : static_cast<int>(std::thread::hardware_concurrency());
  ASSIGN_OR_RETURN(std::unique_ptr<offline::Engine> engine, offline::Engine::Open(threads));

  auto start = std::chrono::steady_clock::now();
  auto say = [&](const std::string& step) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "[%6.2fs] %s\n", s, step.c_str());
  };
  say("reading entities from " + c.entities);
  RETURN_IF_ERROR(features::LoadEntityFile(*engine, c.entities));
  RETURN_IF_ERROR(
      features::RegisterSources(*engine, repo, features::PushedRowsRoot(config.data_dir)));

  features::HistoricalRequest request{.features = resolved,
                                      .timestamp_column = c.timestamp_column,
                                      .threads = threads,
                                      .progress = say};
  if (!c.as_of_created.empty()) {
    StatusOr<offline::Table> cutoff =
        engine->Query("SELECT epoch_us(CAST(" + offline::QuoteLiteral(c.as_of_created) +
                      " AS TIMESTAMPTZ)) AS t");
    if (!cutoff.ok()) {
      return InvalidArgument("--as-of-created: '" + c.as_of_created +
                             "' is not a timestamp (e.g. 2026-01-31T00:00:00Z)");
    }
    request.created_cutoff_micros = cutoff->columns[0].Int(0);
  }
  ASSIGN_OR_RETURN(features::HistoricalResult result,
                   features::GetHistoricalFeatures(*engine, repo, request));
  say("writing " + std::to_string(result.rows) + " rows to " + c.out);
  RETURN_IF_ERROR(features::WriteResult(*engine, result.query, c.out));
  say("done");
  std::cout << "wrote " << result.rows << " rows x " << result.columns.size() << " columns to "
            << c.out << "\n";
  return Status::Ok();
}

// A progress line per view, redrawn in place: "driver_stats  45% 450,000/1,000,000".
void ShowProgress(const std::string& view, size_t done, size_t total) {
  int percent = total == 0 ? 100 : static_cast<int>(100.0 * done / total);
  std::fprintf(stderr, "\r%-32s %3d%% %zu/%zu rows", view.c_str(), percent, done, total);
  if (done >= total) std::fprintf(stderr, "\n");
}

Status Materialize(const ServerConfig& config, FeatureRegistry& registry,
                   const FeaturesCommand& c) {
  ASSIGN_OR_RETURN(std::string project, ProjectOf(registry, c));
  ASSIGN_OR_RETURN(FeatureRepo repo, registry.Load(project));
  features::MaterializeRequest request{
      .views = c.views,
      .incremental = c.action == FeaturesCommand::Action::kMaterializeIncremental,
      .progress = ShowProgress};
  StatusOr<int64_t> end = ParseTimestampMicros(c.end);
  if (!end.ok()) return InvalidArgument("END: " + end.status().message());
  request.end_micros = *end;
  if (!request.incremental) {
    StatusOr<int64_t> start = ParseTimestampMicros(c.start);
    if (!start.ok()) return InvalidArgument("START: " + start.status().message());
    request.start_micros = *start;
  }
  ASSIGN_OR_RETURN(std::unique_ptr<online::OnlineStore> store, OpenOnlineStore(config));
  ASSIGN_OR_RETURN(std::unique_ptr<store::MetadataStore> metadata, OpenStore(config));
  features::FeatureStatsStore stats(metadata.get());
  RETURN_IF_ERROR(stats.Init());
  if (!c.no_stats) {
    request.stats = &stats;
    request.env = Env::Default();
  }
  int threads = c.threads > 0 ? c.threads : static_cast<int>(std::thread::hardware_concurrency());
  ASSIGN_OR_RETURN(std::unique_ptr<offline::Engine> engine, offline::Engine::Open(threads));
  RETURN_IF_ERROR(
      features::RegisterSources(*engine, repo, features::PushedRowsRoot(config.data_dir)));
  auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(auto done, features::Materialize(*engine, repo, registry, *store, request));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  size_t rows = 0;
  for (const auto& v : done) {
    rows += v.rows;
    // A first incremental run of a view with ttl 0 starts at the beginning of time.
    std::string from =
        v.start_micros <= INT64_MIN / 2 ? "the beginning" : FormatRfc3339(v.start_micros);
    std::cout << v.view << ": " << v.rows << " entities in [" << from << ", "
              << FormatRfc3339(v.end_micros) << "], " << v.written << " written, " << v.kept_newer
              << " already newer online\n";
  }
  std::cout << "materialized " << done.size() << " view(s), " << rows << " rows in " << seconds
            << " s into " << store->DisplayUri() << "\n";
  return Status::Ok();
}

std::string Number(const std::optional<double>& v) {
  if (!v) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.4g", *v);
  return buffer;
}

// "42s", "7.1h", "3.5d": how old the newest value is, rounded for reading.
std::string Age(int64_t seconds) {
  char buffer[32];
  if (seconds < 60) {
    std::snprintf(buffer, sizeof(buffer), "%llds", static_cast<long long>(seconds));
  } else if (seconds < 3600) {
    std::snprintf(buffer, sizeof(buffer), "%.1fm", seconds / 60.0);
  } else if (seconds < 86400) {
    std::snprintf(buffer, sizeof(buffer), "%.1fh", seconds / 3600.0);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.1fd", seconds / 86400.0);
  }
  return buffer;
}

void PrintStats(const features::ViewStats& s, int64_t now_micros) {
  std::cout << s.view << " (project " << s.project << "): " << s.rows << " rows";
  if (s.oldest_event_micros && s.newest_event_micros) {
    std::cout << ", events " << FormatRfc3339(*s.oldest_event_micros) << " .. "
              << FormatRfc3339(*s.newest_event_micros) << ", newest "
              << Age((now_micros - *s.newest_event_micros) / 1'000'000) << " old";
  }
  std::cout << "\n";
  std::printf("%-24s %-13s %7s %10s %10s %10s %10s %10s %10s %10s  %s\n", "feature", "type",
              "nulls", "min", "p05", "p50", "p95", "max", "mean", "stddev", "distinct / top");
  for (const features::FeatureStats& f : s.features) {
    auto quantile = [&](double q) -> std::optional<double> {
      for (const auto& [at, v] : f.quantiles) {
        if (at == q) return v;
      }
      return std::nullopt;
    };
    std::string top;
    if (f.distinct) top = std::to_string(*f.distinct) + " distinct";
    for (const auto& [value, count] : f.top)
      top += (top.empty() ? "" : ", ") + value + " (" + std::to_string(count) + ")";
    std::printf("%-24s %-13s %6.2f%% %10s %10s %10s %10s %10s %10s %10s  %s\n", f.name.c_str(),
                std::string(features::ValueTypeName(f.type)).c_str(), 100 * f.null_rate,
                Number(f.min).c_str(), Number(quantile(0.05)).c_str(),
                Number(quantile(0.5)).c_str(), Number(quantile(0.95)).c_str(),
                Number(f.max).c_str(), Number(f.mean).c_str(), Number(f.stddev).c_str(),
                top.c_str());
  }
  std::fflush(stdout);
}

Status Stats(const ServerConfig& config, FeatureRegistry& registry, const FeaturesCommand& c) {
  ASSIGN_OR_RETURN(std::string project, ProjectOf(registry, c));
  ASSIGN_OR_RETURN(FeatureRepo repo, registry.Load(project));
  const features::FeatureView* view = repo.FindFeatureView(c.view);
  if (view == nullptr) {
    return NotFound("no feature view named '" + c.view + "' in project '" + project + "'");
  }
  int threads = c.threads > 0 ? c.threads : static_cast<int>(std::thread::hardware_concurrency());
  ASSIGN_OR_RETURN(std::unique_ptr<offline::Engine> engine, offline::Engine::Open(threads));
  RETURN_IF_ERROR(
      features::RegisterSources(*engine, repo, features::PushedRowsRoot(config.data_dir)));
  ASSIGN_OR_RETURN(features::ViewStats stats,
                   features::ComputeViewStats(*engine, repo, *view, Env::Default()));
  ASSIGN_OR_RETURN(std::unique_ptr<store::MetadataStore> metadata, OpenStore(config));
  features::FeatureStatsStore saved(metadata.get());
  RETURN_IF_ERROR(saved.Init());
  RETURN_IF_ERROR(saved.Save(stats));
  PrintStats(stats, Env::Default()->NowMicros());
  return Status::Ok();
}

// After an apply: the tables no view reads any more. The apply stands either
// way; a table that cannot be dropped is named, with its data left in place.
Status DropOnlineTables(const ServerConfig& config, const std::vector<std::string>& tables) {
  if (tables.empty()) return Status::Ok();
  StatusOr<std::unique_ptr<online::OnlineStore>> store = OpenOnlineStore(config);
  for (const std::string& table : tables) {
    Status dropped = store.ok() ? (*store)->DropTable(table) : store.status();
    if (!dropped.ok()) {
      return Status(dropped.code(), "Applied, but could not drop the online table " + table +
                                        ", which no feature view reads now: " + dropped.message() +
                                        ". Its records stay in the online store.");
    }
    std::cout << "Dropped online table " << table << " (no feature view reads it now).\n";
  }
  return Status::Ok();
}

// plan and apply check the repo against its data first (features/source_checks.h).
Status CheckAgainstData(const FeatureRepo& repo, const FeaturesCommand& c) {
  if (c.skip_source_checks) return Status::Ok();
  ASSIGN_OR_RETURN(std::unique_ptr<offline::Engine> engine, offline::Engine::Open(1));
  return features::RequireSourcesMatch(*engine, repo);
}

Status Run(const ServerConfig& config, FeatureRegistry& registry, const FeaturesCommand& c) {
  switch (c.action) {
    case FeaturesCommand::Action::kPlan: {
      ASSIGN_OR_RETURN(FeatureRepo repo,
                       features::LoadRepo(Env::Default(), c.repo.empty() ? "." : c.repo));
      RETURN_IF_ERROR(CheckAgainstData(repo, c));
      ASSIGN_OR_RETURN(features::Plan plan, registry.PlanApply(repo));
      std::cout << features::RenderPlan(plan);
      return Status::Ok();
    }
    case FeaturesCommand::Action::kApply: {
      ASSIGN_OR_RETURN(FeatureRepo repo,
                       features::LoadRepo(Env::Default(), c.repo.empty() ? "." : c.repo));
      RETURN_IF_ERROR(CheckAgainstData(repo, c));
      int64_t version = 0;
      ASSIGN_OR_RETURN(features::Plan plan, registry.Apply(repo, CliUser(), &version));
      std::cout << features::RenderPlan(plan);
      if (plan.empty()) return Status::Ok();
      std::cout << "Applied: project '" << repo.project << "' is now at version " << version
                << ".\n";
      if (plan.base_version == 0) return Status::Ok();
      ASSIGN_OR_RETURN(FeatureRepo before, registry.Load(repo.project, plan.base_version));
      return DropOnlineTables(config, features::OnlineTablesLeftBehind(before, repo));
    }
    case FeaturesCommand::Action::kList: {
      ASSIGN_OR_RETURN(std::string project, ProjectOf(registry, c));
      ASSIGN_OR_RETURN(FeatureRepo repo, registry.Load(project, c.version));
      ASSIGN_OR_RETURN(int64_t current, registry.CurrentVersion(project));
      PrintDefinitions(repo, c.version == 0 ? current : c.version);
      return Status::Ok();
    }
    case FeaturesCommand::Action::kVersions: {
      ASSIGN_OR_RETURN(std::string project, ProjectOf(registry, c));
      ASSIGN_OR_RETURN(auto history, registry.History(project));
      for (const auto& v : history) {
        std::cout << v.version << "\t" << v.applied_time_ms << "\t" << v.applied_by << "\t"
                  << v.summary << "\n";
      }
      return Status::Ok();
    }
    case FeaturesCommand::Action::kHistorical:
      return Historical(config, registry, c);
    case FeaturesCommand::Action::kMaterialize:
    case FeaturesCommand::Action::kMaterializeIncremental:
      return Materialize(config, registry, c);
    case FeaturesCommand::Action::kStats:
      return Stats(config, registry, c);
  }
  return Status::Ok();
}

}  // namespace

int RunFeaturesCommand(const ServerConfig& config, const FeaturesCommand& command) {
  auto store = OpenStore(config);
  if (!store.ok()) return Fail(store.status());
  FeatureRegistry registry(store->get(), Env::Default());
  Status status = registry.Init();
  if (status.ok()) status = Run(config, registry, command);
  return status.ok() ? 0 : Fail(status);
}

}  // namespace cairn::server
