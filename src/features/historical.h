// Historical retrieval: a point-in-time correct training set from an entity
// table (join keys, an event timestamp, and any other columns such as labels)
// and a list of features, with Feast's semantics (see pit_join.h) and these
// fixes: every entity row comes back exactly once and in input order, rows
// sharing keys and timestamp are all kept, and an optional created-time
// cutoff keeps later backfills out.
//
// Output columns: the entity table's, in order, then each requested feature
// in request order, named `feature`, or `view__feature` with
// full_feature_names (a service's alias replaces the view name). On-demand
// features are computed after the join from the joined source features and
// the entity table's columns named like their request fields.
//
// Thread-safety: one retrieval per Engine at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "features/definitions.h"
#include "features/on_demand.h"
#include "features/online_writer.h"
#include "offline/engine.h"

namespace cairn::features {

// One requested feature, resolved against the repo.
struct ResolvedFeature {
  std::string view;  // a feature view's name, or an on-demand view's
  std::string feature;
  std::string output_name;
  bool on_demand = false;
};

// Resolves "view:feature" references (or "view" / "view:*" for all of a
// view's features) or a feature service. Errors: NotFound naming the unknown
// view, feature or service; InvalidArgument when two features would get one
// output name (the message suggests full feature names).
StatusOr<std::vector<ResolvedFeature>> ResolveFeatures(const FeatureRepo& repo,
                                                       const std::vector<std::string>& refs,
                                                       const std::string& service,
                                                       bool full_feature_names);

// For the on-demand features among `features`: compiles their views and
// appends to `features` the source features they read that were not asked
// for, as entries named HiddenName(view, feature) (never output). Returns
// the compiled views by name. Errors: as CompileOnDemand.
StatusOr<std::map<std::string, CompiledOnDemand>> PlanOnDemand(const FeatureRepo& repo,
                                                               std::vector<ResolvedFeature>* all);
std::string HiddenName(const std::string& view, const std::string& feature);
// The entries of `features` asking for on-demand view `name`: (index in
// `features`, index of the feature in the view).
std::vector<std::pair<size_t, size_t>> RequestedOnDemand(
    const CompiledOnDemand& compiled, const std::vector<ResolvedFeature>& features,
    const std::string& name);
// Which of `compiled`'s inputs the features of on-demand view `name` that
// `features` asks for read (an unrequested feature's request field may be absent).
std::vector<bool> NeededInputs(const CompiledOnDemand& compiled,
                               const std::vector<ResolvedFeature>& features,
                               const std::string& name);

struct HistoricalRequest {
  std::vector<ResolvedFeature> features;
  // The entity table, already in the engine (see LoadEntityFile).
  std::string entity_table = "cairn_entities";
  // Column of the entity table holding the event time; "" picks
  // `event_timestamp`, or the table's only timestamp column.
  std::string timestamp_column;
  std::optional<int64_t> created_cutoff_micros;
  int threads = 2;
  // Told each step as it starts ("reading driver_stats", ...).
  std::function<void(const std::string&)> progress;
};

struct HistoricalResult {
  // A query over the engine's temporary tables returning the training set;
  // valid until the next retrieval on the same engine.
  std::string query;
  size_t rows = 0;
  std::vector<std::string> columns;
};

// Loads a Parquet or CSV file (by extension) as the entity table.
// Errors: InvalidArgument naming the file when it cannot be read.
Status LoadEntityFile(offline::Engine& engine, const std::string& path,
                      const std::string& table = "cairn_entities");

// Loads entity rows sent as JSON columns (the HTTP API's `entities`) as the
// entity table, in their order. The time column (`timestamp_column`, or
// event_timestamp when "") holds RFC 3339 text or Unix seconds; any other
// column takes its values' type: integers, numbers (integers among numbers
// read as numbers), text or booleans; a column of nulls only is text.
// Errors: InvalidArgument naming field.column[row] for a value unlike the
// column's earlier ones or an unreadable time, columns of unequal length, a
// column given twice, or no columns.
Status LoadEntityFrame(offline::Engine& engine, const Frame& frame,
                       const std::string& timestamp_column,
                       const std::string& table = "cairn_entities");

// REQUIRES: RegisterSources(engine, repo) ran.
// Errors: InvalidArgument naming the missing entity column, the missing or
// untyped timestamp column, a join key of the wrong type, or the feature
// view whose source failed to read.
StatusOr<HistoricalResult> GetHistoricalFeatures(offline::Engine& engine, const FeatureRepo& repo,
                                                 const HistoricalRequest& request);

// Writes `query`'s result to `path`: Parquet, or CSV when it ends in .csv.
Status WriteResult(offline::Engine& engine, const std::string& query, const std::string& path);

}  // namespace cairn::features
