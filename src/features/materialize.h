// Materialization: copies the latest row per entity of each online feature
// view from its offline source into the online store, over a time window,
// and records the window in the feature registry.
//
// Latest means greatest (event time, created time) among the rows in
// [start, end] (both inclusive); the online store keeps a record only if it
// is not older than what it holds, so windows may overlap, run twice or run
// out of order without a newer value ever being replaced by an older one.
// A run that fails part-way leaves every written batch valid and records
// nothing: running it again finishes the job.
//
// Incremental runs start each view where its last recorded window ended; a
// view never materialized starts at end - ttl (all history when ttl is 0).
//
// Thread-safety: one run per Engine at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/status.h"
#include "features/definitions.h"
#include "features/feature_registry.h"
#include "features/feature_stats.h"
#include "offline/engine.h"
#include "online/online_store.h"

namespace cairn::features {

struct MaterializeRequest {
  std::vector<std::string> views;  // empty: every view with online enabled
  int64_t start_micros = 0;        // ignored when incremental
  int64_t end_micros = 0;
  bool incremental = false;
  size_t batch_rows = 100'000;
  // When set, each view's statistics over the window are computed after its
  // rows are written and saved there (a window with no rows keeps the old).
  FeatureStatsStore* stats = nullptr;
  Env* env = nullptr;  // REQUIRES: set with `stats`
  // Told after each batch: the view, rows written so far, and its total.
  std::function<void(const std::string& view, size_t done, size_t total)> progress;
};

struct ViewMaterialization {
  std::string view;
  int64_t start_micros = 0;
  int64_t end_micros = 0;
  size_t rows = 0;  // entities with a row in the window
  size_t written = 0;
  size_t kept_newer = 0;  // the store already held a newer record
};

// The online store table of a view: "project/view/<schema digest>". Records
// hold values by position in the view's schema, so a view whose features
// change (names, types, order) reads from a new, empty table until it is
// materialized again, instead of serving values under the wrong names.
std::string OnlineTable(const std::string& project, const FeatureView& view);

// The online tables of `before`'s views that no view of `after` reads: views
// removed or taken offline, and views whose schema changed. Once `after` is
// applied nothing reads or refreshes them; left in the store, their data
// would take space for good, and be served again if such a view came back.
std::vector<std::string> OnlineTablesLeftBehind(const FeatureRepo& before,
                                                const FeatureRepo& after);

// REQUIRES: RegisterSources(engine, repo) ran.
// Errors: NotFound naming an unknown view; InvalidArgument for a view with
// online disabled, an empty window, or a source that cannot be read; the
// online store's error when a write fails (earlier batches stay written).
StatusOr<std::vector<ViewMaterialization>> Materialize(offline::Engine& engine,
                                                       const FeatureRepo& repo,
                                                       FeatureRegistry& registry,
                                                       online::OnlineStore& store,
                                                       const MaterializeRequest& request);

}  // namespace cairn::features
