// Feature statistics per view: row count, and per feature the null rate,
// min/max/mean/stddev and quantiles (numbers, booleans, timestamps), distinct
// count and top categories (strings), plus the view's freshness (its newest
// event time). Computed by DuckDB over the view's rows (all history, or a
// materialization's window), kept in the metadata store (the latest per
// view), shown by `cairn features stats`, /api/cairn/v1/features/stats and
// Prometheus gauges.
//
// Thread-safety: ComputeViewStats as offline::Engine (one thread at a time);
// FeatureStatsStore is safe to call concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/env.h"
#include "core/status.h"
#include "features/definitions.h"
#include "offline/engine.h"
#include "store/metadata_store.h"

namespace cairn::features {

struct FeatureStats {
  std::string name;
  ValueType type = ValueType::kString;
  int64_t nulls = 0;
  double null_rate = 0;  // nulls / rows, 0 for an empty view
  // Numbers, booleans (as 0/1) and timestamps (as microseconds).
  std::optional<double> min, max, mean, stddev;
  std::vector<std::pair<double, double>> quantiles;  // (q, value): 0.05, 0.25, 0.5, 0.75, 0.95
  // Strings and bytes.
  std::optional<int64_t> distinct;
  std::vector<std::pair<std::string, int64_t>> top;  // the 5 most frequent values
};

struct ViewStats {
  std::string project;
  std::string view;
  int64_t computed_at_micros = 0;
  int64_t rows = 0;
  std::optional<int64_t> oldest_event_micros;
  std::optional<int64_t> newest_event_micros;
  // The event-time window the rows came from; both empty for all history.
  std::optional<int64_t> window_start_micros, window_end_micros;
  std::vector<FeatureStats> features;
};

// REQUIRES: RegisterSources(engine, repo) ran.
// Errors: InvalidArgument naming the view when its source cannot be read.
StatusOr<ViewStats> ComputeViewStats(offline::Engine& engine, const FeatureRepo& repo,
                                     const FeatureView& view, Env* env,
                                     std::optional<int64_t> window_start = std::nullopt,
                                     std::optional<int64_t> window_end = std::nullopt);

std::string ViewStatsToJson(const ViewStats& stats);
StatusOr<ViewStats> ViewStatsFromJson(std::string_view text);

// The latest statistics of each view, in the metadata store.
class FeatureStatsStore {
 public:
  explicit FeatureStatsStore(store::MetadataStore* store) : store_(store) {}
  Status Init();
  Status Save(const ViewStats& stats);
  // Errors: NotFound naming the view and how to compute its statistics.
  StatusOr<ViewStats> Load(const std::string& project, const std::string& view);
  // Every view's latest statistics in `project` (all projects when empty).
  StatusOr<std::vector<ViewStats>> All(const std::string& project = "");

 private:
  store::MetadataStore* store_;
};

}  // namespace cairn::features
