#include "tracking/tracking_service.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <tuple>
#include <unordered_set>

#include "tracking/lookups.h"
#include "tracking/run_search.h"
#include "tracking/schema.h"
#include "tracking/validation.h"

namespace cairn::tracking {

using store::SqlRows;
using store::SqlSession;
using store::SqlValue;

namespace {

constexpr char kRunNameTag[] = "mlflow.runName";
constexpr char kLogModelHistoryTag[] = "mlflow.log-model.history";

Status UpsertTag(SqlSession& db, int64_t run_key, const KeyValue& tag) {
  RETURN_IF_ERROR(db.Execute("INSERT INTO tags (run_key, key, value) VALUES (?, ?, ?) "
                             "ON CONFLICT (run_key, key) DO UPDATE SET value = excluded.value",
                             {run_key, tag.key, tag.value})
                      .status());
  if (tag.key == kRunNameTag) {
    RETURN_IF_ERROR(
        db.Execute("UPDATE runs SET name = ? WHERE run_key = ?", {tag.value, run_key}).status());
  }
  return Status::Ok();
}

}  // namespace

TrackingService::TrackingService(store::MetadataStore* store, Env* env, TrackingOptions options)
    : store_(store), env_(env), options_(std::move(options)) {
  while (!options_.default_artifact_root.empty() && options_.default_artifact_root.back() == '/') {
    options_.default_artifact_root.pop_back();
  }
}

Status TrackingService::Init() {
  auto migrations = TrackingMigrations();
  RETURN_IF_ERROR(store_->Migrate("tracking", migrations));
  int64_t now = env_->NowMillis();
  return store_->Write([&](SqlSession& db) {
    return db
        .Execute(
            "INSERT INTO experiments (experiment_id, name, artifact_location, "
            "lifecycle_stage, creation_time, last_update_time) VALUES (0, 'Default', ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            {options_.default_artifact_root + "/0", std::string(kActive), now, now})
        .status();
  });
}

// ---------------------------------------------------------------- experiments

StatusOr<std::string> TrackingService::CreateExperiment(const std::string& name,
                                                        const std::string& artifact_location,
                                                        const std::vector<KeyValue>& tags) {
  RETURN_IF_ERROR(ValidateExperimentName(name));
  for (const KeyValue& tag : tags) {
    RETURN_IF_ERROR(ValidateKeyName("tag", tag.key));
    RETURN_IF_ERROR(ValidateLength("Tag value", kMaxExperimentTagValueLength, tag.value));
  }
  int64_t now = env_->NowMillis();
  std::string id;
  RETURN_IF_ERROR(store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows existing,
                     db.Query("SELECT 1 FROM experiments WHERE name = ?", {name}));
    if (!existing.empty()) {
      return AlreadyExists("Experiment(name=" + name + ") already exists.");
    }
    ASSIGN_OR_RETURN(SqlRows inserted,
                     db.Query("INSERT INTO experiments (name, artifact_location, lifecycle_stage, "
                              "creation_time, last_update_time) VALUES (?, ?, ?, ?, ?) "
                              "RETURNING experiment_id",
                              {name, artifact_location, std::string(kActive), now, now}));
    int64_t key = inserted.Int(0, 0);
    id = std::to_string(key);
    if (artifact_location.empty()) {
      RETURN_IF_ERROR(
          db.Execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
                     {options_.default_artifact_root + "/" + id, key})
              .status());
    }
    for (const KeyValue& tag : tags) {
      RETURN_IF_ERROR(db.Execute("INSERT INTO experiment_tags (experiment_id, key, value) VALUES "
                                 "(?, ?, ?) ON CONFLICT (experiment_id, key) DO UPDATE SET value = "
                                 "excluded.value",
                                 {key, tag.key, tag.value})
                          .status());
    }
    return Status::Ok();
  }));
  return id;
}

StatusOr<Experiment> TrackingService::GetExperiment(const std::string& experiment_id) {
  ASSIGN_OR_RETURN(int64_t key, ParseExperimentId(experiment_id));
  Experiment out;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(out, LoadExperiment(db, "experiment_id = ?", key,
                                         "No Experiment with id=" + experiment_id + " exists"));
    return Status::Ok();
  }));
  return out;
}

StatusOr<Experiment> TrackingService::GetExperimentByName(const std::string& name) {
  Experiment out;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(out, LoadExperiment(db, "name = ?", name,
                                         "Could not find experiment with name '" + name + "'"));
    return Status::Ok();
  }));
  return out;
}

Status TrackingService::RenameExperiment(const std::string& experiment_id,
                                         const std::string& new_name) {
  ASSIGN_OR_RETURN(int64_t key, ParseExperimentId(experiment_id));
  RETURN_IF_ERROR(ValidateExperimentName(new_name));
  int64_t now = env_->NowMillis();
  return store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(Experiment e,
                     LoadExperiment(db, "experiment_id = ?", key,
                                    "No Experiment with id=" + experiment_id + " exists"));
    if (e.lifecycle_stage != kActive) {
      return FailedPrecondition("Cannot rename a non-active experiment.");
    }
    if (e.name == new_name) return Status::Ok();
    ASSIGN_OR_RETURN(SqlRows taken,
                     db.Query("SELECT 1 FROM experiments WHERE name = ?", {new_name}));
    if (!taken.empty()) return AlreadyExists("Experiment(name=" + new_name + ") already exists.");
    return db
        .Execute("UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?",
                 {new_name, now, key})
        .status();
  });
}

namespace {
Status SetExperimentStage(store::MetadataStore* store, Env* env, const std::string& experiment_id,
                          const char* stage) {
  ASSIGN_OR_RETURN(int64_t key, ParseExperimentId(experiment_id));
  int64_t now = env->NowMillis();
  bool deleting = std::string_view(stage) == kDeleted;
  if (deleting && key == 0) {
    return InvalidArgument(
        "Cannot delete the default experiment '0'. This is an internally "
        "reserved experiment.");
  }
  return store->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t changed,
                     db.Execute("UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? "
                                "WHERE experiment_id = ?",
                                {std::string(stage), now, key}));
    if (changed == 0) return NotFound("No Experiment with id=" + experiment_id + " exists");
    // Runs follow their experiment, as in MLflow: deleting hides them, restoring brings back
    // those deleted with it.
    if (deleting) {
      return db
          .Execute(
              "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ? "
              "AND lifecycle_stage = ?",
              {std::string(kDeleted), now, key, std::string(kActive)})
          .status();
    }
    return db
        .Execute(
            "UPDATE runs SET lifecycle_stage = ?, deleted_time = NULL WHERE experiment_id = ? "
            "AND lifecycle_stage = ?",
            {std::string(kActive), key, std::string(kDeleted)})
        .status();
  });
}
}  // namespace

Status TrackingService::DeleteExperiment(const std::string& experiment_id) {
  return SetExperimentStage(store_, env_, experiment_id, kDeleted);
}

Status TrackingService::RestoreExperiment(const std::string& experiment_id) {
  return SetExperimentStage(store_, env_, experiment_id, kActive);
}

namespace {

// MLflow's errors for a tag change on an experiment that is missing or deleted.
Status RequireActiveExperiment(SqlSession& db, int64_t key, const std::string& experiment_id) {
  ASSIGN_OR_RETURN(
      SqlRows rows,
      db.Query("SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?", {key}));
  if (rows.empty()) return NotFound("No Experiment with id=" + experiment_id + " exists");
  if (rows.Text(0, 0) != kActive) {
    return InvalidArgument("The experiment " + experiment_id +
                           " must be in the 'active' state. Current state is " + rows.Text(0, 0) +
                           ".");
  }
  return Status::Ok();
}

}  // namespace

Status TrackingService::SetExperimentTag(const std::string& experiment_id, const KeyValue& tag) {
  ASSIGN_OR_RETURN(int64_t key, ParseExperimentId(experiment_id));
  RETURN_IF_ERROR(ValidateKeyName("tag", tag.key));
  RETURN_IF_ERROR(ValidateLength("Tag value", kMaxExperimentTagValueLength, tag.value));
  return store_->Write([&](SqlSession& db) -> Status {
    RETURN_IF_ERROR(RequireActiveExperiment(db, key, experiment_id));
    return db
        .Execute(
            "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
            {key, tag.key, tag.value})
        .status();
  });
}

Status TrackingService::DeleteExperimentTag(const std::string& experiment_id,
                                            const std::string& tag_key) {
  ASSIGN_OR_RETURN(int64_t key, ParseExperimentId(experiment_id));
  return store_->Write([&](SqlSession& db) -> Status {
    RETURN_IF_ERROR(RequireActiveExperiment(db, key, experiment_id));
    ASSIGN_OR_RETURN(int64_t removed,
                     db.Execute("DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?",
                                {key, tag_key}));
    if (removed == 0) {
      return NotFound("No tag with name: " + tag_key + " in experiment with id " + experiment_id);
    }
    return Status::Ok();
  });
}

StatusOr<ExperimentPage> TrackingService::SearchExperiments(
    const SearchExperimentsRequest& request) {
  if (request.max_results < 1 || request.max_results > kMaxSearchResults) {
    return InvalidArgument("Invalid value for max_results. It must be between 1 and " +
                           std::to_string(kMaxSearchResults) + ", but got " +
                           std::to_string(request.max_results));
  }
  ASSIGN_OR_RETURN(int64_t offset, ParsePageToken(request.page_token));
  ASSIGN_OR_RETURN(SqlQuery query, BuildExperimentSearchQuery(request, store_->dialect(), offset));
  ExperimentPage page;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows ids, db.Query(query.sql, query.params));
    bool more = static_cast<int64_t>(ids.size()) > request.max_results;
    size_t count = more ? static_cast<size_t>(request.max_results) : ids.size();
    for (size_t i = 0; i < count; ++i) {
      ASSIGN_OR_RETURN(Experiment e, LoadExperiment(db, "experiment_id = ?", ids.Int(i, 0), ""));
      page.experiments.push_back(std::move(e));
    }
    page.next_page_token = NextPageToken(offset, count, more);
    return Status::Ok();
  }));
  return page;
}

// ----------------------------------------------------------------------- runs

std::string TrackingService::NewRunName() { return NewFriendlyName(*env_); }

StatusOr<Run> TrackingService::CreateRun(const CreateRunRequest& request) {
  for (const KeyValue& tag : request.tags) RETURN_IF_ERROR(ValidateTag(tag));
  std::string experiment_id = request.experiment_id.empty() ? "0" : request.experiment_id;
  ASSIGN_OR_RETURN(int64_t exp_key, ParseExperimentId(experiment_id));

  std::string run_name = request.run_name;
  for (const KeyValue& tag : request.tags) {
    if (tag.key != kRunNameTag) continue;
    if (!run_name.empty() && tag.value != run_name) {
      return InvalidArgument(
          "Both 'run_name' argument and 'mlflow.runName' tag are specified, but "
          "with different values (run_name='" +
          run_name + "', mlflow.runName='" + tag.value + "').");
    }
    run_name = tag.value;
  }
  if (run_name.empty()) run_name = NewRunName();

  Run run;
  run.info.run_id = env_->RandomHex(16);
  run.info.run_name = run_name;
  run.info.experiment_id = experiment_id;
  run.info.user_id = request.user_id;
  run.info.status = "RUNNING";
  run.info.start_time = request.start_time ? *request.start_time : env_->NowMillis();
  run.info.lifecycle_stage = kActive;
  run.tags = request.tags;
  if (std::none_of(run.tags.begin(), run.tags.end(),
                   [](const KeyValue& t) { return t.key == kRunNameTag; })) {
    run.tags.push_back({kRunNameTag, run_name});
  }

  RETURN_IF_ERROR(store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows exp, db.Query("SELECT artifact_location, lifecycle_stage FROM "
                                           "experiments WHERE experiment_id = ?",
                                           {exp_key}));
    if (exp.empty()) return NotFound("No Experiment with id=" + experiment_id + " exists");
    if (exp.Text(0, 1) != kActive) {
      return InvalidArgument("The experiment " + experiment_id +
                             " must be in the 'active' state. Current state is " + exp.Text(0, 1) +
                             ".");
    }
    std::string location = exp.Text(0, 0);
    while (!location.empty() && location.back() == '/') location.pop_back();
    run.info.artifact_uri = location + "/" + run.info.run_id + "/artifacts";
    ASSIGN_OR_RETURN(
        SqlRows inserted,
        db.Query("INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, "
                 "start_time, end_time, lifecycle_stage, artifact_uri) VALUES (?, ?, "
                 "?, ?, ?, ?, NULL, ?, ?) RETURNING run_key",
                 {run.info.run_id, exp_key, run_name, run.info.user_id, run.info.status,
                  *run.info.start_time, std::string(kActive), run.info.artifact_uri}));
    int64_t run_key = inserted.Int(0, 0);
    for (const KeyValue& tag : run.tags) RETURN_IF_ERROR(UpsertTag(db, run_key, tag));
    return Status::Ok();
  }));
  return run;
}

StatusOr<Run> TrackingService::GetRun(const std::string& run_id) {
  Run run;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(std::vector<Run> runs, LoadRunsByUuid(db, {run_id}));
    if (runs.empty()) return NotFound("Run with id=" + run_id + " not found");
    run = std::move(runs.front());
    return Status::Ok();
  }));
  return run;
}

StatusOr<RunInfo> TrackingService::UpdateRun(const UpdateRunRequest& request) {
  if (request.status && !IsValidRunStatus(*request.status)) {
    return InvalidArgument("Invalid value " + *request.status +
                           " for parameter 'status' supplied: expected one of RUNNING, "
                           "SCHEDULED, FINISHED, FAILED, KILLED");
  }
  if (request.run_name)
    RETURN_IF_ERROR(ValidateLength("Tag value", kMaxTagValueLength, *request.run_name));
  RunInfo info;
  RETURN_IF_ERROR(store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(RunRow row, FindActiveRun(db, request.run_id));
    if (request.status) {
      RETURN_IF_ERROR(
          db.Execute("UPDATE runs SET status = ? WHERE run_key = ?", {*request.status, row.run_key})
              .status());
    }
    if (request.end_time) {
      RETURN_IF_ERROR(db.Execute("UPDATE runs SET end_time = ? WHERE run_key = ?",
                                 {*request.end_time, row.run_key})
                          .status());
    }
    if (request.run_name && !request.run_name->empty()) {
      RETURN_IF_ERROR(UpsertTag(db, row.run_key, {kRunNameTag, *request.run_name}));
    }
    ASSIGN_OR_RETURN(std::vector<Run> runs, LoadRunsByUuid(db, {request.run_id}));
    info = runs.front().info;
    return Status::Ok();
  }));
  return info;
}

namespace {
Status SetRunStage(store::MetadataStore* store, const std::string& run_id, const char* stage,
                   std::optional<int64_t> deleted_time) {
  return store->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(RunRow row, FindRun(db, run_id));
    if (!deleted_time) {
      return db
          .Execute("UPDATE runs SET lifecycle_stage = ?, deleted_time = NULL WHERE run_key = ?",
                   {std::string(stage), row.run_key})
          .status();
    }
    return db
        .Execute("UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_key = ?",
                 {std::string(stage), *deleted_time, row.run_key})
        .status();
  });
}
}  // namespace

Status TrackingService::DeleteRun(const std::string& run_id) {
  return SetRunStage(store_, run_id, kDeleted, env_->NowMillis());
}

Status TrackingService::RestoreRun(const std::string& run_id) {
  return SetRunStage(store_, run_id, kActive, std::nullopt);
}

// -------------------------------------------------------------------- logging

namespace {

Status ValidateBatch(const std::vector<Metric>& metrics, const std::vector<KeyValue>& params,
                     const std::vector<KeyValue>& tags) {
  RETURN_IF_ERROR(ValidateBatchLimit("metrics", kMaxMetricsPerBatch, metrics.size()));
  RETURN_IF_ERROR(ValidateBatchLimit("params", kMaxParamsTagsPerBatch, params.size()));
  RETURN_IF_ERROR(ValidateBatchLimit("tags", kMaxParamsTagsPerBatch, tags.size()));
  RETURN_IF_ERROR(ValidateBatchLimit("metrics, params, and tags", kMaxEntitiesPerBatch,
                                     metrics.size() + params.size() + tags.size()));
  for (const Metric& m : metrics) {
    RETURN_IF_ERROR(ValidateKeyName("metric", m.key));
    if (m.timestamp < 0) {
      return InvalidArgument("Got invalid timestamp " + std::to_string(m.timestamp) +
                             " for metric '" + m.key +
                             "'. Timestamp must be a nonnegative long (64-bit integer) ");
    }
  }
  std::set<std::string> param_keys;
  std::vector<std::string> duplicates;
  for (const KeyValue& p : params) {
    RETURN_IF_ERROR(ValidateParam(p));
    if (!param_keys.insert(p.key).second) duplicates.push_back("'" + p.key + "'");
  }
  if (!duplicates.empty()) {
    std::string list;
    for (const auto& d : duplicates) list += (list.empty() ? "" : ", ") + d;
    return InvalidArgument("Duplicate parameter keys have been submitted: [" + list +
                           "]. Please ensure the request contains only one param value per param "
                           "key.");
  }
  for (const KeyValue& t : tags) RETURN_IF_ERROR(ValidateTag(t));

  return Status::Ok();
}

// Rows per INSERT statement: one statement per point spends most of its time
// binding and stepping. On PostgreSQL every statement is also a round trip,
// so a whole log-batch (1000 points) goes in one, within its limit of 65,535
// parameters.
size_t RowsPerInsert(const SqlSession& db, size_t width) {
  return db.dialect() == store::Dialect::kPostgres ? std::min<size_t>(1000, 65535 / width) : 100;
}

// "VALUES (?, ...), (?, ...)": `rows` tuples of `width` placeholders.
std::string ValuesList(size_t rows, size_t width) {
  std::string tuple = "(" + std::string(2 * width - 1, '?') + ")";
  for (size_t i = 2; i < tuple.size() - 1; i += 2) tuple[i] = ',';
  std::string sql = "VALUES ";
  for (size_t i = 0; i < rows; ++i) sql += i == 0 ? tuple : ", " + tuple;
  return sql;
}

// Runs the statement `sql_for(n)`, whose first n * width placeholders are
// n rows of values and the rest `trailing`, over `rows` (each `width`
// values) in chunks of up to RowsPerInsert rows. Returns the rows changed.
StatusOr<int64_t> RunInChunks(SqlSession& db, size_t width, const std::vector<SqlValue>& rows,
                              const std::function<std::string(size_t n)>& sql_for,
                              const std::vector<SqlValue>& trailing = {}) {
  size_t count = rows.size() / width;
  std::string sql;
  size_t sql_rows = 0;
  int64_t changed = 0;
  std::vector<SqlValue> params;
  const size_t per_statement = RowsPerInsert(db, width + trailing.size());
  for (size_t start = 0; start < count; start += per_statement) {
    size_t n = std::min(per_statement, count - start);
    if (n != sql_rows) {
      sql = sql_for(n);
      sql_rows = n;
    }
    std::span<const SqlValue> values(rows.data() + start * width, n * width);
    if (!trailing.empty()) {
      params.assign(values.begin(), values.end());
      params.insert(params.end(), trailing.begin(), trailing.end());
      values = params;
    }
    ASSIGN_OR_RETURN(int64_t inserted, db.Execute(sql, values));
    changed += inserted;
  }
  return changed;
}

// Runs `insert` + " VALUES (?, ...), (?, ...) ... " + `on_conflict` over
// `rows` (each `width` values) in statements of up to RowsPerInsert rows.
// An upsert's rows must not repeat a conflict key (PostgreSQL refuses to
// update a row twice in one statement).
Status InsertRows(SqlSession& db, const std::string& insert, size_t width,
                  const std::vector<SqlValue>& rows,
                  const std::string& on_conflict = "ON CONFLICT DO NOTHING") {
  return RunInChunks(
             db, width, rows,
             [&](size_t n) { return insert + " " + ValuesList(n, width) + " " + on_conflict; })
      .status();
}

// As InsertRows, for rows that belong to the active run `run_id`, whose
// columns `run_columns` (of runs r) go first in each inserted row: the run is
// looked up inside each statement rather than by a query of its own (on
// PostgreSQL, one round trip fewer per log-metric). Nothing is inserted for
// a run that is missing or not active. Returns the rows inserted or updated.
StatusOr<int64_t> InsertRowsOfActiveRun(SqlSession& db, const std::string& insert,
                                        const std::string& run_columns, size_t width,
                                        const std::vector<SqlValue>& rows,
                                        const std::string& run_id, const std::string& on_conflict) {
  std::string columns;
  for (size_t c = 1; c <= width; ++c) columns += ", v.column" + std::to_string(c);
  // SQLite needs the WHERE to read ON CONFLICT as an upsert, not a join.
  return RunInChunks(db, width, rows,
                     [&](size_t n) {
                       return insert + " SELECT " + run_columns + columns + " FROM runs r, (" +
                              ValuesList(n, width) +
                              ") AS v WHERE r.run_uuid = ? AND r.lifecycle_stage = " + "'active' " +
                              on_conflict;
                     },
                     {run_id});
}

// Inserts the points logged without a model; a point already stored (a
// retried batch) is skipped.
Status InsertMetricPoints(SqlSession& db, int64_t run_key, const std::vector<Metric>& metrics) {
  std::vector<SqlValue> rows;
  rows.reserve(metrics.size() * 6);
  for (const Metric& m : metrics) {
    if (!m.model_id.empty()) continue;
    rows.insert(rows.end(), {run_key, m.key, m.step, m.timestamp, StoredValue(m.value),
                             int64_t{std::isnan(m.value) ? 1 : 0}});
  }
  return InsertRows(db, "INSERT INTO metrics (run_key, key, step, timestamp, value, is_nan)", 6,
                    rows);
}

// MLflow 3: a point logged with a model_id is the model's, with the run and
// dataset it came from, and is stored there only (the run's history merges
// it back in through run_model_metric_keys). The model must exist, or
// nothing is written.
Status InsertModelMetricPoints(SqlSession& db, int64_t run_key,
                               const std::vector<Metric>& metrics) {
  std::map<std::string, ModelRow> models;
  // The newest point per (model, key, scope, dataset): scope 0 is every
  // dataset, 1 one dataset name, 2 one name and digest.
  // Views into the batch's own strings: no copies per point.
  using LatestKey =
      std::tuple<int64_t, std::string_view, int64_t, std::string_view, std::string_view>;
  std::map<LatestKey, const Metric*> latest;
  std::set<std::pair<std::string_view, int64_t>> model_keys;  // (metric key, model)
  std::vector<SqlValue> rows;
  rows.reserve(metrics.size() * 9);  // Regrowing copies every value: a tenth of the writer's time.
  for (const Metric& m : metrics) {
    if (m.model_id.empty()) continue;
    auto [it, fresh] = models.emplace(m.model_id, ModelRow{});
    if (fresh) {
      ASSIGN_OR_RETURN(it->second, FindModel(db, m.model_id));
    }
    int64_t model_key = it->second.model_key;
    rows.insert(rows.end(),
                {model_key, m.key, run_key, m.step, m.timestamp, StoredValue(m.value),
                 int64_t{std::isnan(m.value) ? 1 : 0}, m.dataset_name, m.dataset_digest});
    model_keys.emplace(m.key, model_key);
    for (const LatestKey& scope :
         {LatestKey{model_key, m.key, 0, "", ""},
          LatestKey{model_key, m.key, 1, m.dataset_name, ""},
          LatestKey{model_key, m.key, 2, m.dataset_name, m.dataset_digest}}) {
      auto [slot, added] = latest.emplace(scope, &m);
      if (!added &&
          std::tie(m.timestamp, m.step) > std::tie(slot->second->timestamp, slot->second->step)) {
        slot->second = &m;
      }
    }
  }
  if (rows.empty()) return Status::Ok();
  RETURN_IF_ERROR(InsertRows(db,
                             "INSERT INTO logged_model_metrics (model_key, key, run_key, step, "
                             "timestamp, value, is_nan, dataset_name, dataset_digest)",
                             9, rows));
  std::vector<SqlValue> key_rows;
  for (const auto& [key, model_key] : model_keys) {
    key_rows.insert(key_rows.end(), {run_key, std::string(key), model_key});
  }
  RETURN_IF_ERROR(
      InsertRows(db, "INSERT INTO run_model_metric_keys (run_key, key, model_key)", 3, key_rows));
  std::vector<SqlValue> latest_rows;
  for (const auto& [scope, m] : latest) {
    const auto& [model_key, key, level, dataset_name, dataset_digest] = scope;
    latest_rows.insert(
        latest_rows.end(),
        {model_key, std::string(key), level, std::string(dataset_name), std::string(dataset_digest),
         models[m->model_id].experiment_id, m->timestamp, m->step, StoredValue(m->value)});
  }
  return InsertRows(db,
                    "INSERT INTO latest_model_metrics (model_key, key, scope, dataset_name, "
                    "dataset_digest, experiment_id, timestamp, step, value)",
                    9, latest_rows,
                    "ON CONFLICT (model_key, key, scope, dataset_name, dataset_digest) DO UPDATE "
                    "SET timestamp = excluded.timestamp, step = excluded.step, value = "
                    "excluded.value WHERE (excluded.timestamp, excluded.step) > "
                    "(latest_model_metrics.timestamp, latest_model_metrics.step)");
}

constexpr const char* kLatestMetricUpsert =
    "ON CONFLICT (run_key, key) DO UPDATE SET step = excluded.step, timestamp = "
    "excluded.timestamp, value = excluded.value, is_nan = excluded.is_nan WHERE (excluded.step, "
    "excluded.timestamp, excluded.value) > (latest_metrics.step, latest_metrics.timestamp, "
    "latest_metrics.value)";

// WriteBatch for run metrics alone (log-metric, and most log-batch calls)
// on PostgreSQL: the run is looked up inside the inserts, two round trips
// instead of three. Only when nothing was inserted (the run is missing or not
// active, or every point was already stored) is the run read on its own, to
// tell those apart.
Status WriteRunMetrics(SqlSession& db, const std::string& run_id,
                       const std::vector<Metric>& metrics,
                       const std::map<std::string, const Metric*>& latest) {
  std::vector<SqlValue> points;
  points.reserve(metrics.size() * 5);
  for (const Metric& m : metrics) {
    points.insert(points.end(), {m.key, m.step, m.timestamp, StoredValue(m.value),
                                 int64_t{std::isnan(m.value) ? 1 : 0}});
  }
  ASSIGN_OR_RETURN(int64_t inserted,
                   InsertRowsOfActiveRun(
                       db, "INSERT INTO metrics (run_key, key, step, timestamp, value, is_nan)",
                       "r.run_key", 5, points, run_id, "ON CONFLICT DO NOTHING"));
  if (inserted == 0) {
    // A retried request changes nothing; a missing or inactive run is an error.
    return FindActiveRun(db, run_id).status();
  }
  std::vector<SqlValue> latest_rows;
  for (const auto& [key, m] : latest) {
    latest_rows.insert(latest_rows.end(), {key, m->step, m->timestamp, StoredValue(m->value),
                                           int64_t{std::isnan(m->value) ? 1 : 0}});
  }
  return InsertRowsOfActiveRun(
             db,
             "INSERT INTO latest_metrics (run_key, experiment_id, key, step, timestamp, value, "
             "is_nan)",
             "r.run_key, r.experiment_id", 5, latest_rows, run_id, kLatestMetricUpsert)
      .status();
}

Status WriteBatch(SqlSession& db, const LogBatchRequest& batch) {
  const std::string& run_id = batch.run_id;
  const auto& metrics = batch.metrics;
  const auto& params = batch.params;
  const auto& tags = batch.tags;
  // The newest point per key in this batch, by MLflow's order (step, timestamp, value).
  std::map<std::string, const Metric*> latest;
  auto newer = [](const Metric& a, const Metric& b) {
    double av = std::isnan(a.value) ? 0 : a.value;
    double bv = std::isnan(b.value) ? 0 : b.value;
    return std::tie(a.step, a.timestamp, av) > std::tie(b.step, b.timestamp, bv);
  };
  for (const Metric& m : metrics) {
    auto [it, inserted] = latest.emplace(m.key, &m);
    if (!inserted && newer(m, *it->second)) it->second = &m;
  }

  // PostgreSQL only: on SQLite, where a query costs no round trip, the
  // insert-from-join is the slower plan (16 connections of log-metric:
  // 28k -> 23k calls/s).
  bool run_metrics_only = db.dialect() == store::Dialect::kPostgres && !metrics.empty() &&
                          params.empty() && tags.empty() &&
                          std::all_of(metrics.begin(), metrics.end(),
                                      [](const Metric& m) { return m.model_id.empty(); });
  if (run_metrics_only) return WriteRunMetrics(db, run_id, metrics, latest);

  ASSIGN_OR_RETURN(RunRow row, FindActiveRun(db, run_id));
  RETURN_IF_ERROR(
      InsertParamsOnce(db, "params", "run_key", row.run_key, "run ID='" + run_id + "'", params));
  for (const KeyValue& t : tags) RETURN_IF_ERROR(UpsertTag(db, row.run_key, t));
  RETURN_IF_ERROR(InsertMetricPoints(db, row.run_key, metrics));
  RETURN_IF_ERROR(InsertModelMetricPoints(db, row.run_key, metrics));
  std::vector<SqlValue> latest_rows;
  for (const auto& [key, m] : latest) {
    latest_rows.insert(latest_rows.end(),
                       {row.run_key, row.experiment_id, key, m->step, m->timestamp,
                        StoredValue(m->value), int64_t{std::isnan(m->value) ? 1 : 0}});
  }
  RETURN_IF_ERROR(InsertRows(
      db,
      "INSERT INTO latest_metrics (run_key, experiment_id, key, step, timestamp, value, is_nan)", 7,
      latest_rows, kLatestMetricUpsert));
  return Status::Ok();
}

}  // namespace

void TrackingService::LogBatchAsync(LogBatchRequest batch, std::function<void(Status)> done) {
  Status valid = ValidateBatch(batch.metrics, batch.params, batch.tags);
  if (!valid.ok()) return done(valid);
  // log-metric, log-parameter and set-tag-sized batches may commit inline
  // (see MetadataStore::WriteSize); big ones never block the IO thread.
  constexpr size_t kSmallBatch = 10;
  auto size = batch.metrics.size() + batch.params.size() + batch.tags.size() <= kSmallBatch
                  ? store::MetadataStore::WriteSize::kSmall
                  : store::MetadataStore::WriteSize::kLarge;
  // Shared because std::function needs a copyable callable; nothing else owns it.
  auto owned = std::make_shared<const LogBatchRequest>(std::move(batch));
  store_->WriteAsync([owned](SqlSession& db) { return WriteBatch(db, *owned); }, std::move(done),
                     size);
}

Status TrackingService::SetTag(const std::string& run_id, const KeyValue& tag) {
  RETURN_IF_ERROR(ValidateTag(tag));
  return store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(RunRow row, FindActiveRun(db, run_id));
    return UpsertTag(db, row.run_key, tag);
  });
}

Status TrackingService::DeleteTag(const std::string& run_id, const std::string& key) {
  return store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(RunRow row, FindActiveRun(db, run_id));
    ASSIGN_OR_RETURN(int64_t deleted, db.Execute("DELETE FROM tags WHERE run_key = ? AND key = ?",
                                                 {row.run_key, key}));
    if (deleted == 0) {
      return NotFound("No tag with name: " + key + " in run with id " + run_id);
    }
    return Status::Ok();
  });
}

Status TrackingService::LogInputs(const std::string& run_id,
                                  const std::vector<DatasetInput>& inputs,
                                  const std::vector<RunModelLink>& models) {
  RETURN_IF_ERROR(ValidateBatchLimit("datasets", 1000, inputs.size()));
  for (const DatasetInput& input : inputs) {
    if (input.dataset.name.empty()) {
      return InvalidArgument("Missing value for required parameter 'datasets.dataset.name'.");
    }
    if (input.dataset.digest.empty()) {
      return InvalidArgument("Missing value for required parameter 'datasets.dataset.digest'.");
    }
    RETURN_IF_ERROR(ValidateLength("Dataset name", 500, input.dataset.name));
    RETURN_IF_ERROR(ValidateLength("Dataset digest", 36, input.dataset.digest));
    RETURN_IF_ERROR(ValidateLength("Dataset schema", 65535, input.dataset.schema));
    RETURN_IF_ERROR(ValidateLength("Dataset source", 65535, input.dataset.source));
    for (const KeyValue& tag : input.tags) {
      RETURN_IF_ERROR(ValidateLength("Input tag key", 255, tag.key));
      RETURN_IF_ERROR(ValidateLength("Input tag value", 500, tag.value));
    }
  }
  return store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(RunRow row, FindActiveRun(db, run_id));
    for (const DatasetInput& input : inputs) {
      const Dataset& d = input.dataset;
      RETURN_IF_ERROR(db.Execute("INSERT INTO datasets (experiment_id, name, digest, source_type, "
                                 "source, schema, profile) VALUES (?, ?, ?, ?, ?, ?, ?) "
                                 "ON CONFLICT (experiment_id, name, digest) DO NOTHING",
                                 {row.experiment_id, d.name, d.digest, d.source_type, d.source,
                                  d.schema, d.profile})
                          .status());
      ASSIGN_OR_RETURN(SqlRows key, db.Query("SELECT dataset_key FROM datasets WHERE experiment_id "
                                             "= ? AND name = ? AND digest = ?",
                                             {row.experiment_id, d.name, d.digest}));
      int64_t dataset_key = key.Int(0, 0);
      RETURN_IF_ERROR(db.Execute("INSERT INTO run_inputs (run_key, dataset_key) VALUES (?, ?) "
                                 "ON CONFLICT DO NOTHING",
                                 {row.run_key, dataset_key})
                          .status());
      for (const KeyValue& tag : input.tags) {
        RETURN_IF_ERROR(db.Execute("INSERT INTO run_input_tags (run_key, dataset_key, key, value) "
                                   "VALUES (?, ?, ?, ?) ON CONFLICT (run_key, dataset_key, key) "
                                   "DO UPDATE SET value = excluded.value",
                                   {row.run_key, dataset_key, tag.key, tag.value})
                            .status());
      }
    }
    for (const RunModelLink& model : models) {
      RETURN_IF_ERROR(db.Execute("INSERT INTO run_models (run_key, direction, model_id, step) "
                                 "VALUES (?, 0, ?, 0) ON CONFLICT DO NOTHING",
                                 {row.run_key, model.model_id})
                          .status());
    }
    return Status::Ok();
  });
}

Status TrackingService::LogModel(const std::string& run_id, const std::string& model_json) {
  return store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(RunRow row, FindActiveRun(db, run_id));
    ASSIGN_OR_RETURN(SqlRows old, db.Query("SELECT value FROM tags WHERE run_key = ? AND key = ?",
                                           {row.run_key, std::string(kLogModelHistoryTag)}));
    std::string history = old.empty() ? "" : old.Text(0, 0);
    while (!history.empty() && (history.back() == ' ' || history.back() == '\n'))
      history.pop_back();
    if (history.size() >= 2 && history.back() == ']') {
      history.pop_back();
      bool empty_list = history.find_first_not_of(" [\n") == std::string::npos;
      history += (empty_list ? "" : ", ") + model_json + "]";
    } else {
      history = "[" + model_json + "]";
    }
    return db
        .Execute(
            "INSERT INTO tags (run_key, key, value) VALUES (?, ?, ?) ON CONFLICT (run_key, "
            "key) DO UPDATE SET value = excluded.value",
            {row.run_key, std::string(kLogModelHistoryTag), history})
        .status();
  });
}

// ------------------------------------------------------------- metric history

namespace {

// A run's points for one metric key as a relation p(step, timestamp, value,
// is_nan), with its parameters. Points logged with a model_id are stored as
// the model's (see InsertModelMetricPoints); when the run has any for the
// key they are merged in with UNION, which also keeps one copy of a point
// logged for two models or stored by an earlier version in both tables, as
// MLflow's metrics table would. Without them it is one index range.
struct PointRelation {
  std::string sql;
  std::vector<SqlValue> params;
};

StatusOr<PointRelation> RunKeyPoints(SqlSession& db, int64_t run_key, const std::string& key) {
  constexpr char kRunPoints[] =
      "SELECT step, timestamp, value, is_nan FROM metrics WHERE run_key = ? AND key = ?";
  ASSIGN_OR_RETURN(SqlRows linked, db.Query("SELECT 1 FROM run_model_metric_keys WHERE run_key "
                                            "= ? AND key = ? LIMIT 1",
                                            {run_key, key}));
  if (linked.empty()) return PointRelation{"(" + std::string(kRunPoints) + ") p", {run_key, key}};
  return PointRelation{
      "(" + std::string(kRunPoints) +
          " UNION SELECT f.step, f.timestamp, f.value, f.is_nan FROM run_model_metric_keys k JOIN "
          "logged_model_metrics f ON f.model_key = k.model_key AND f.key = k.key AND f.run_key = "
          "k.run_key WHERE k.run_key = ? AND k.key = ?) p",
      {run_key, key, run_key, key}};
}

}  // namespace

StatusOr<std::string> TrackingService::ReadMetricHistory(
    const std::string& run_id, const std::string& key, int64_t max_results,
    const std::string& page_token, const std::function<void(const Metric&)>& each) {
  ASSIGN_OR_RETURN(int64_t offset, ParsePageToken(page_token));
  if (max_results <= 0 && offset > 0) {
    return InvalidArgument("A page_token needs max_results to be set.");
  }
  std::string next_page_token;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(RunRow row, FindRun(db, run_id));
    // No max_results means every point; a LIMIT (one row more, to tell
    // whether another page follows) is only added when paging.
    ASSIGN_OR_RETURN(PointRelation points, RunKeyPoints(db, row.run_key, key));
    std::string sql = "SELECT step, timestamp, value, is_nan FROM " + points.sql +
                      " ORDER BY step, timestamp, value";
    std::vector<SqlValue>& params = points.params;
    if (max_results > 0) {
      sql += " LIMIT ? OFFSET ?";
      params.emplace_back(max_results + 1);
      params.emplace_back(offset);
    }
    Metric point;
    point.key = key;
    int64_t count = 0;
    RETURN_IF_ERROR(db.ForEachRow(sql, params, [&](const store::SqlRow& r) {
      if (max_results > 0 && count == max_results) {
        next_page_token = NextPageToken(offset, static_cast<size_t>(count), true);
        return;
      }
      ++count;
      point.step = r.Int(0);
      point.timestamp = r.Int(1);
      point.value = LoadedValue(r.Double(2), r.Int(3));
      each(point);
    }));
    return Status::Ok();
  }));
  return next_page_token;
}

namespace {

// MLflow's _get_sampled_steps_from_steps, quirks included (its bound check
// compares an absolute index with a count), so that charts sample the very
// steps MLflow's UI expects.
std::set<int64_t> SampleSteps(int64_t start, int64_t end, int64_t max_results,
                              const std::vector<int64_t>& all_steps) {
  auto begin_it = std::lower_bound(all_steps.begin(), all_steps.end(), start);
  auto end_it = std::upper_bound(all_steps.begin(), all_steps.end(), end);
  auto start_idx = static_cast<int64_t>(begin_it - all_steps.begin());
  auto end_idx = static_cast<int64_t>(end_it - all_steps.begin());
  if (end_idx - start_idx <= max_results) return {begin_it, end_it};
  int64_t count = end_idx - start_idx;
  double interval = static_cast<double>(count) / static_cast<double>(max_results);
  std::set<int64_t> sampled;
  for (int64_t i = 0; i < max_results; ++i) {
    auto idx = start_idx + static_cast<int64_t>(static_cast<double>(i) * interval);
    if (idx < count) sampled.insert(all_steps[static_cast<size_t>(idx)]);
  }
  sampled.insert(all_steps[static_cast<size_t>(end_idx - 1)]);
  return sampled;
}

}  // namespace

StatusOr<std::vector<DatasetSummary>> TrackingService::SearchDatasets(
    const std::vector<std::string>& experiment_ids) {
  constexpr int64_t kMaxSummaries = 1000;
  std::vector<SqlValue> keys;
  for (const std::string& id : experiment_ids) {
    StatusOr<int64_t> key = ParseExperimentId(id);
    if (key.ok()) keys.emplace_back(*key);
  }
  std::vector<DatasetSummary> out;
  if (keys.empty()) return out;
  std::string marks;
  for (size_t i = 0; i < keys.size(); ++i) marks += i == 0 ? "?" : ", ?";
  keys.emplace_back(kMaxSummaries);
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    return db.ForEachRow(
        "SELECT DISTINCT d.experiment_id, d.name, d.digest, t.value FROM datasets d JOIN "
        "run_inputs i ON i.dataset_key = d.dataset_key LEFT JOIN run_input_tags t ON t.run_key = "
        "i.run_key AND t.dataset_key = d.dataset_key AND t.key = 'mlflow.data.context' WHERE "
        "d.experiment_id IN (" +
            marks + ") ORDER BY d.experiment_id, d.name, d.digest, t.value LIMIT ?",
        keys, [&](const store::SqlRow& row) {
          DatasetSummary& summary = out.emplace_back();
          summary.experiment_id = std::to_string(row.Int(0));
          summary.name = std::string(row.Text(1));
          summary.digest = std::string(row.Text(2));
          if (!row.IsNull(3)) summary.context = std::string(row.Text(3));
        });
  }));
  return out;
}

StatusOr<std::vector<Metric>> TrackingService::GetMetricHistoryBulk(
    std::vector<std::string> run_ids, const std::string& key, size_t max_results) {
  std::sort(run_ids.begin(), run_ids.end());
  run_ids.erase(std::unique(run_ids.begin(), run_ids.end()), run_ids.end());
  std::vector<Metric> out;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    for (const std::string& run_id : run_ids) {
      if (out.size() >= max_results) break;
      StatusOr<RunRow> row = FindRun(db, run_id);
      if (!row.ok() && row.status().code() == StatusCode::kNotFound) continue;
      RETURN_IF_ERROR(row.status());
      ASSIGN_OR_RETURN(PointRelation points, RunKeyPoints(db, row->run_key, key));
      std::vector<SqlValue> params = points.params;
      params.emplace_back(static_cast<int64_t>(max_results - out.size()));
      RETURN_IF_ERROR(db.ForEachRow("SELECT step, timestamp, value, is_nan FROM " + points.sql +
                                        " ORDER BY timestamp, step, value LIMIT ?",
                                    params, [&](const store::SqlRow& r) {
                                      Metric& m = out.emplace_back();
                                      m.key = key;
                                      m.value = LoadedValue(r.Double(2), r.Int(3));
                                      m.timestamp = r.Int(1);
                                      m.step = r.Int(0);
                                      m.run_id = run_id;
                                    }));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<Metric>> TrackingService::GetMetricHistoryBulkInterval(
    const std::vector<std::string>& run_ids, const std::string& key,
    std::optional<int64_t> start_step, std::optional<int64_t> end_step, int64_t max_results) {
  // As MLflow: one set of steps for all runs (sampled from the union of
  // their steps, plus each run's first and last), then each run's points at
  // those steps, runs in the order asked.
  constexpr size_t kMaxPointsPerRun = 25000;
  std::vector<Metric> out;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    std::vector<PointRelation> relations;
    std::set<int64_t> union_steps;
    std::set<int64_t> ends;  // each run's min and max
    for (const std::string& run_id : run_ids) {
      ASSIGN_OR_RETURN(RunRow row, FindRun(db, run_id));
      ASSIGN_OR_RETURN(PointRelation points, RunKeyPoints(db, row.run_key, key));
      ASSIGN_OR_RETURN(
          SqlRows steps,
          db.Query("SELECT DISTINCT step FROM " + points.sql + " ORDER BY step", points.params));
      for (size_t i = 0; i < steps.size(); ++i) union_steps.insert(steps.Int(i, 0));
      if (!steps.empty()) {
        ends.insert(steps.Int(0, 0));
        ends.insert(steps.Int(steps.size() - 1, 0));
      }
      relations.push_back(std::move(points));
    }
    std::vector<int64_t> all_steps(union_steps.begin(), union_steps.end());
    int64_t start = start_step.value_or(0);
    int64_t end = end_step.value_or(all_steps.empty() ? 0 : all_steps.back());
    std::set<int64_t> chosen = SampleSteps(start, end, max_results, all_steps);
    for (int64_t step : ends) {
      if (start <= step && step <= end) chosen.insert(step);
    }
    if (chosen.empty()) return Status::Ok();
    for (size_t r = 0; r < run_ids.size(); ++r) {
      std::vector<SqlValue> range = relations[r].params;
      range.insert(range.end(), {*chosen.begin(), *chosen.rbegin()});
      ASSIGN_OR_RETURN(
          SqlRows rows,
          db.Query("SELECT step, timestamp, value, is_nan FROM " + relations[r].sql +
                       " WHERE step >= ? AND step <= ? ORDER BY step, timestamp, value",
                   range));
      size_t taken = 0;
      for (size_t i = 0; i < rows.size() && taken < kMaxPointsPerRun; ++i) {
        if (!chosen.contains(rows.Int(i, 0))) continue;
        Metric& m = out.emplace_back();
        m.key = key;
        m.value = LoadedValue(rows.Double(i, 2), rows.Int(i, 3));
        m.timestamp = rows.Int(i, 1);
        m.step = rows.Int(i, 0);
        m.run_id = run_ids[r];
        ++taken;
      }
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<RunPage> TrackingService::SearchRuns(const SearchRunsRequest& request) {
  if (request.max_results < 1 || request.max_results > kMaxSearchResults) {
    return InvalidArgument("Invalid value for request parameter max_results. It must be at most " +
                           std::to_string(kMaxSearchResults) + ", but got value " +
                           std::to_string(request.max_results));
  }
  ASSIGN_OR_RETURN(int64_t offset, ParsePageToken(request.page_token));
  std::vector<int64_t> experiment_keys;
  for (const std::string& id : request.experiment_ids) {
    auto key = ParseExperimentId(id);
    if (key.ok()) experiment_keys.push_back(*key);  // Unknown ids match nothing, as in MLflow.
  }
  RunPage page;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SegmentedSearch plan, PlanRunSearch(db, request, experiment_keys));
    ASSIGN_OR_RETURN(std::vector<int64_t> run_keys,
                     ReadSegmentedPage(db, plan, offset, request.max_results + 1));
    bool more = static_cast<int64_t>(run_keys.size()) > request.max_results;
    if (more) run_keys.pop_back();
    size_t count = run_keys.size();
    ASSIGN_OR_RETURN(page.runs, LoadRunsByKey(db, run_keys));
    page.next_page_token = NextPageToken(offset, count, more);
    return Status::Ok();
  }));
  return page;
}

}  // namespace cairn::tracking
