#include "tracking/lookups.h"

#include <algorithm>
#include <cmath>

namespace cairn::tracking {

using store::SqlRows;
using store::SqlSession;
using store::SqlValue;

StatusOr<int64_t> ParseExperimentId(const std::string& id) {
  if (id.empty() || id.size() > 18 ||
      !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return NotFound("No Experiment with id=" + id + " exists");
  }
  return std::stoll(id);
}

StatusOr<RunRow> FindRun(SqlSession& db, const std::string& run_id) {
  ASSIGN_OR_RETURN(SqlRows rows,
                   db.Query("SELECT run_key, experiment_id, lifecycle_stage, name FROM runs "
                            "WHERE run_uuid = ?",
                            {run_id}));
  if (rows.empty()) return NotFound("Run with id=" + run_id + " not found");
  return RunRow{rows.Int(0, 0), rows.Int(0, 1), rows.Text(0, 2), rows.Text(0, 3)};
}

StatusOr<RunRow> FindActiveRun(SqlSession& db, const std::string& run_id) {
  ASSIGN_OR_RETURN(RunRow run, FindRun(db, run_id));
  if (run.lifecycle_stage != kActive) {
    return InvalidArgument("The run " + run_id +
                           " must be in the 'active' state. Current state is " +
                           run.lifecycle_stage + ".");
  }
  return run;
}

StatusOr<ModelRow> FindModel(SqlSession& db, const std::string& model_id) {
  ASSIGN_OR_RETURN(SqlRows rows, db.Query("SELECT model_key, experiment_id FROM logged_models "
                                          "WHERE model_id = ? AND lifecycle_stage = 'active'",
                                          {model_id}));
  if (rows.empty()) return NotFound("Logged model with ID '" + model_id + "' not found.");
  return ModelRow{rows.Int(0, 0), rows.Int(0, 1)};
}

Status InsertParamsOnce(SqlSession& db, std::string_view table, std::string_view owner_column,
                        int64_t owner_key, const std::string& owner,
                        const std::vector<KeyValue>& params) {
  std::string insert = "INSERT INTO " + std::string(table) + " (" + std::string(owner_column) +
                       ", key, value) VALUES (?, ?, ?) ON CONFLICT (" + std::string(owner_column) +
                       ", key) DO NOTHING";
  std::string select = "SELECT value FROM " + std::string(table) + " WHERE " +
                       std::string(owner_column) + " = ? AND key = ?";
  for (const KeyValue& p : params) {
    ASSIGN_OR_RETURN(int64_t inserted, db.Execute(insert, {owner_key, p.key, p.value}));
    if (inserted == 1) continue;
    ASSIGN_OR_RETURN(SqlRows old, db.Query(select, {owner_key, p.key}));
    if (!old.empty() && old.Text(0, 0) != p.value) {
      return InvalidArgument("Changing param values is not allowed. Param with key='" + p.key +
                             "' was already logged with value='" + old.Text(0, 0) + "' for " +
                             owner + ". Attempted logging new value '" + p.value + "'.");
    }
  }
  return Status::Ok();
}

StatusOr<Experiment> LoadExperiment(SqlSession& db, const char* where, const SqlValue& key,
                                    const std::string& describe) {
  std::string sql =
      std::string(
          "SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time, "
          "last_update_time FROM experiments WHERE ") +
      where;
  ASSIGN_OR_RETURN(SqlRows rows, db.Query(sql, {key}));
  if (rows.empty()) return NotFound(describe);
  Experiment e;
  e.experiment_id = std::to_string(rows.Int(0, 0));
  e.name = rows.Text(0, 1);
  e.artifact_location = rows.Text(0, 2);
  e.lifecycle_stage = rows.Text(0, 3);
  e.creation_time = rows.Int(0, 4);
  e.last_update_time = rows.Int(0, 5);
  ASSIGN_OR_RETURN(SqlRows tags, db.Query("SELECT key, value FROM experiment_tags WHERE "
                                          "experiment_id = ? ORDER BY key",
                                          {rows.Int(0, 0)}));
  for (size_t i = 0; i < tags.size(); ++i) e.tags.push_back({tags.Text(i, 0), tags.Text(i, 1)});
  return e;
}

std::string NewFriendlyName(Env& env) {
  // Friendly, memorable names in MLflow's "adjective-noun-number" shape.
  static const char* const kAdjectives[] = {
      "amber", "bold",  "brisk", "calm",   "clever", "crisp", "eager", "fleet",  "gentle", "glad",
      "keen",  "lucid", "merry", "nimble", "placid", "quiet", "rapid", "steady", "sunny",  "vivid"};
  static const char* const kNouns[] = {"badger", "cairn",   "comet",  "falcon", "fern",
                                       "harbor", "heron",   "lark",   "maple",  "meadow",
                                       "otter",  "pine",    "quartz", "raven",  "ridge",
                                       "river",  "sparrow", "summit", "tide",   "willow"};
  std::string hex = env.RandomHex(4);
  uint32_t bits = static_cast<uint32_t>(std::stoul(hex, nullptr, 16));
  return std::string(kAdjectives[bits % 20]) + "-" + kNouns[(bits / 20) % 20] + "-" +
         std::to_string((bits / 400) % 1000);
}

double StoredValue(double v) { return std::isnan(v) ? 0.0 : v; }
double LoadedValue(double v, int64_t is_nan) { return is_nan != 0 ? std::nan("") : v; }

StatusOr<std::map<std::string, double>> LatestRunMetrics(SqlSession& db,
                                                         const std::string& run_id) {
  std::map<std::string, double> out;
  RETURN_IF_ERROR(db.ForEachRow(
      "SELECT l.key, l.value, l.is_nan FROM latest_metrics l JOIN runs r ON r.run_key = "
      "l.run_key WHERE r.run_uuid = ?",
      std::vector<store::SqlValue>{run_id}, [&](const store::SqlRow& row) {
        out[std::string(row.Text(0))] = LoadedValue(row.Double(1), row.Int(2));
      }));
  return out;
}

}  // namespace cairn::tracking
