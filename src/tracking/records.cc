#include "tracking/records.h"

namespace cairn::tracking {

namespace {

// The first column of the first row of `sql` with one parameter, as an
// integer; nullopt when there is no row.
StatusOr<std::optional<int64_t>> OneInt(store::SqlSession& db, const char* sql,
                                        const std::string& key) {
  ASSIGN_OR_RETURN(store::SqlRows rows, db.Query(sql, {key}));
  if (rows.empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(rows.Int(0, 0));
}

}  // namespace

StatusOr<std::string> RunArtifactUri(store::SqlSession& db, const std::string& run_id) {
  ASSIGN_OR_RETURN(store::SqlRows rows,
                   db.Query("SELECT artifact_uri FROM runs WHERE run_uuid = ?", {run_id}));
  if (rows.empty()) return NotFound("Run with id=" + run_id + " not found");
  return rows.Text(0, 0);
}

StatusOr<bool> RunExists(store::SqlSession& db, const std::string& run_id) {
  ASSIGN_OR_RETURN(store::SqlRows rows,
                   db.Query("SELECT 1 FROM runs WHERE run_uuid = ?", {run_id}));
  return !rows.empty();
}

StatusOr<LoggedModelLocation> FindLoggedModelLocation(store::SqlSession& db,
                                                      const std::string& model_id) {
  ASSIGN_OR_RETURN(store::SqlRows rows,
                   db.Query("SELECT artifact_uri, source_run_id FROM logged_models WHERE "
                            "model_id = ? AND lifecycle_stage = 'active'",
                            {model_id}));
  if (rows.empty()) return NotFound("Logged model with ID '" + model_id + "' not found.");
  return LoggedModelLocation{rows.Text(0, 0), rows.Text(0, 1)};
}

StatusOr<std::optional<RunLoggedModel>> FindRunLoggedModel(store::SqlSession& db,
                                                           const std::string& run_id,
                                                           const std::string& name) {
  ASSIGN_OR_RETURN(
      store::SqlRows rows,
      db.Query("SELECT model_id, artifact_uri FROM logged_models WHERE source_run_id = ? "
               "AND name = ? AND lifecycle_stage = 'active' ORDER BY "
               "creation_timestamp_ms DESC, model_key DESC LIMIT 1",
               {run_id, name}));
  if (rows.empty()) return std::optional<RunLoggedModel>();
  return std::optional<RunLoggedModel>(RunLoggedModel{rows.Text(0, 0), rows.Text(0, 1)});
}

StatusOr<std::optional<int64_t>> ExperimentOfRun(store::SqlSession& db, const std::string& run_id) {
  return OneInt(db, "SELECT experiment_id FROM runs WHERE run_uuid = ?", run_id);
}

StatusOr<std::optional<int64_t>> ExperimentOfLoggedModel(store::SqlSession& db,
                                                         const std::string& model_id) {
  return OneInt(db, "SELECT experiment_id FROM logged_models WHERE model_id = ?", model_id);
}

StatusOr<std::optional<int64_t>> ExperimentIdByName(store::SqlSession& db,
                                                    const std::string& name) {
  return OneInt(db, "SELECT experiment_id FROM experiments WHERE name = ?", name);
}

}  // namespace cairn::tracking
