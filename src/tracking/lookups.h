// Row lookups shared by the tracking services (runs, experiments, logged
// models): one place for the queries and for MLflow's not-found and
// wrong-state messages.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/env.h"
#include "core/status.h"
#include "store/metadata_store.h"
#include "tracking/entities.h"
#include "tracking/records.h"

namespace cairn::tracking {

// Experiment ids are integers stored as such; users see strings.
// Errors: NotFound ("No Experiment with id=... exists") for anything else.
StatusOr<int64_t> ParseExperimentId(const std::string& id);

struct RunRow {
  int64_t run_key = 0;
  int64_t experiment_id = 0;
  std::string lifecycle_stage;
  std::string name;
};

// Errors: NotFound "Run with id=<id> not found".
StatusOr<RunRow> FindRun(store::SqlSession& db, const std::string& run_id);
// As FindRun, and InvalidArgument unless the run is active.
StatusOr<RunRow> FindActiveRun(store::SqlSession& db, const std::string& run_id);

struct ModelRow {
  int64_t model_key = 0;
  int64_t experiment_id = 0;
};
// A logged model that is not deleted.
// Errors: NotFound "Logged model with ID '<id>' not found.".
StatusOr<ModelRow> FindModel(store::SqlSession& db, const std::string& model_id);

// Inserts params into `table` (columns <owner_column>, key, value) for one
// owner. Params are immutable: the same value again is a no-op, another value
// InvalidArgument naming the key, both values and `owner` ("run ID='...'").
Status InsertParamsOnce(store::SqlSession& db, std::string_view table,
                        std::string_view owner_column, int64_t owner_key, const std::string& owner,
                        const std::vector<KeyValue>& params);

// The experiment matching `where` (SQL with one `?` bound to `key`), with its
// tags. Errors: NotFound(describe).
StatusOr<Experiment> LoadExperiment(store::SqlSession& db, const char* where,
                                    const store::SqlValue& key, const std::string& describe);

// A memorable "adjective-noun-number" name, MLflow's shape for runs and
// unnamed models.
std::string NewFriendlyName(Env& env);

// NaN cannot be a key column value portably: stored as 0 with is_nan = 1.
double StoredValue(double v);
double LoadedValue(double v, int64_t is_nan);

}  // namespace cairn::tracking
