// Tracking's records as other components may read them: the registry (a
// version's source run or logged model) and, through the lookups the
// tracking module registers, the access policy (which experiment holds a
// run or a logged model). Outside tracking nothing reads tracking's tables
// but through these, so tracking may change its schema freely.
//
// Each takes the caller's SqlSession: the read joins the caller's
// transaction (a version is registered against the run as it is then).
//
// Thread-safety: as the session.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/status.h"
#include "store/metadata_store.h"

namespace cairn::tracking {

// The run's artifact root (its artifact_uri). Errors: NotFound "Run with
// id=<id> not found".
StatusOr<std::string> RunArtifactUri(store::SqlSession& db, const std::string& run_id);

// Whether a run with that id exists (in any lifecycle stage).
StatusOr<bool> RunExists(store::SqlSession& db, const std::string& run_id);

struct LoggedModelLocation {
  std::string artifact_uri;
  std::string source_run_id;  // "" when it was logged outside a run.
};
// An active logged model's location. Errors: NotFound "Logged model with ID
// '<id>' not found.".
StatusOr<LoggedModelLocation> FindLoggedModelLocation(store::SqlSession& db,
                                                      const std::string& model_id);

// MLflow 3 reads runs:/<run_id>/<name>/... as the logged model `name` that
// run produced, when there is one: its id and location (the newest, if the
// run logged that name twice); nullopt when the run logged none by that name.
struct RunLoggedModel {
  std::string model_id;
  std::string artifact_uri;
};
StatusOr<std::optional<RunLoggedModel>> FindRunLoggedModel(store::SqlSession& db,
                                                           const std::string& run_id,
                                                           const std::string& name);

// The experiment that holds a run, a logged model, or is named `name`;
// nullopt when there is none.
StatusOr<std::optional<int64_t>> ExperimentOfRun(store::SqlSession& db, const std::string& run_id);
StatusOr<std::optional<int64_t>> ExperimentOfLoggedModel(store::SqlSession& db,
                                                         const std::string& model_id);
StatusOr<std::optional<int64_t>> ExperimentIdByName(store::SqlSession& db, const std::string& name);

// The newest value of each metric of run `run_id` (what search filters
// and promotion gates compare); NaN values included. Empty for an unknown run.
StatusOr<std::map<std::string, double>> LatestRunMetrics(store::SqlSession& db,
                                                         const std::string& run_id);

}  // namespace cairn::tracking
