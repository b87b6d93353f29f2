#include "tracking/logged_model_service.h"

#include <array>

#include "tracking/lookups.h"
#include "tracking/validation.h"

namespace cairn::tracking {

using store::SqlRows;
using store::SqlSession;
using store::SqlValue;

namespace {

constexpr std::array<std::string_view, 4> kStatusNames = {
    "LOGGED_MODEL_STATUS_UNSPECIFIED", "LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY",
    "LOGGED_MODEL_UPLOAD_FAILED"};

Status ModelNotFound(const std::string& model_id) {
  return NotFound("Logged model with ID '" + model_id + "' not found.");
}

// MLflow refuses these in model names: they would break URIs and paths.
Status ValidateModelName(const std::string& name) {
  if (name.find_first_of("/:.%\"'") != std::string::npos) {
    return InvalidArgument("Invalid model name ('" + name +
                           "') provided. Model name must be a non-empty string and cannot "
                           "contain the following characters: ('/', ':', '.', '%', '\"', \"'\")");
  }
  return Status::Ok();
}

Status ValidateParams(const std::vector<KeyValue>& params) {
  for (const KeyValue& p : params) {
    RETURN_IF_ERROR(ValidateKeyName("param", p.key));
    RETURN_IF_ERROR(ValidateLength("Param value", kMaxParamValueLength, p.value));
  }
  return Status::Ok();
}

Status ValidateTags(const std::vector<KeyValue>& tags) {
  for (const KeyValue& t : tags) {
    RETURN_IF_ERROR(ValidateKeyName("tag", t.key));
    RETURN_IF_ERROR(ValidateLength("Tag value", kMaxTagValueLength, t.value));
  }
  return Status::Ok();
}

// The model's internal key, if it exists and is not deleted.
StatusOr<int64_t> FindModelKey(SqlSession& db, const std::string& model_id) {
  ASSIGN_OR_RETURN(SqlRows rows, db.Query("SELECT model_key FROM logged_models WHERE model_id = ? "
                                          "AND lifecycle_stage = 'active'",
                                          {model_id}));
  if (rows.empty()) return ModelNotFound(model_id);
  return rows.Int(0, 0);
}

Status InsertParams(SqlSession& db, int64_t model_key, const std::string& model_id,
                    const std::vector<KeyValue>& params) {
  for (const KeyValue& p : params) {
    ASSIGN_OR_RETURN(int64_t inserted,
                     db.Execute("INSERT INTO logged_model_params (model_key, key, value) VALUES "
                                "(?, ?, ?) ON CONFLICT (model_key, key) DO NOTHING",
                                {model_key, p.key, p.value}));
    if (inserted == 1) continue;
    ASSIGN_OR_RETURN(SqlRows old, db.Query("SELECT value FROM logged_model_params WHERE "
                                           "model_key = ? AND key = ?",
                                           {model_key, p.key}));
    if (!old.empty() && old.Text(0, 0) != p.value) {
      return InvalidArgument("Changing param values is not allowed. Param with key='" + p.key +
                             "' was already logged with value='" + old.Text(0, 0) +
                             "' for logged model ID='" + model_id +
                             "'. Attempted logging new value '" + p.value + "'.");
    }
  }
  return Status::Ok();
}

Status UpsertTags(SqlSession& db, int64_t model_key, const std::vector<KeyValue>& tags) {
  for (const KeyValue& t : tags) {
    RETURN_IF_ERROR(db.Execute("INSERT INTO logged_model_tags (model_key, key, value) VALUES "
                               "(?, ?, ?) ON CONFLICT (model_key, key) DO UPDATE SET value = "
                               "excluded.value",
                               {model_key, t.key, t.value})
                        .status());
  }
  return Status::Ok();
}

StatusOr<LoggedModel> LoadModel(SqlSession& db, const std::string& model_id) {
  ASSIGN_OR_RETURN(
      SqlRows rows,
      db.Query("SELECT model_key, experiment_id, name, artifact_uri, status, status_message, "
               "model_type, source_run_id, creation_timestamp_ms, last_updated_timestamp_ms "
               "FROM logged_models WHERE model_id = ? AND lifecycle_stage = 'active'",
               {model_id}));
  if (rows.empty()) return ModelNotFound(model_id);
  LoggedModel m;
  int64_t key = rows.Int(0, 0);
  m.model_id = model_id;
  m.experiment_id = std::to_string(rows.Int(0, 1));
  m.name = rows.Text(0, 2);
  m.artifact_uri = rows.Text(0, 3);
  int64_t status = rows.Int(0, 4);
  m.status = status >= 0 && status <= 3 ? static_cast<LoggedModelStatus>(status)
                                        : LoggedModelStatus::kUnspecified;
  m.status_message = rows.Text(0, 5);
  m.model_type = rows.Text(0, 6);
  m.source_run_id = rows.Text(0, 7);
  m.creation_timestamp_ms = rows.Int(0, 8);
  m.last_updated_timestamp_ms = rows.Int(0, 9);
  RETURN_IF_ERROR(
      db.ForEachRow("SELECT key, value FROM logged_model_tags WHERE model_key = ? ORDER BY key",
                    std::vector<SqlValue>{key}, [&](const store::SqlRow& r) {
                      m.tags.push_back({std::string(r.Text(0)), std::string(r.Text(1))});
                    }));
  RETURN_IF_ERROR(
      db.ForEachRow("SELECT key, value FROM logged_model_params WHERE model_key = ? ORDER BY key",
                    std::vector<SqlValue>{key}, [&](const store::SqlRow& r) {
                      m.params.push_back({std::string(r.Text(0)), std::string(r.Text(1))});
                    }));
  return m;
}

}  // namespace

std::string_view LoggedModelStatusName(LoggedModelStatus status) {
  return kStatusNames[static_cast<size_t>(status)];
}

StatusOr<LoggedModelStatus> ParseLoggedModelStatus(std::string_view text) {
  for (size_t i = 0; i < kStatusNames.size(); ++i) {
    if (text == kStatusNames[i] || text == std::to_string(i)) {
      return static_cast<LoggedModelStatus>(i);
    }
  }
  return InvalidArgument("Invalid value \"" + std::string(text) +
                         "\" for parameter 'status' supplied: expected LOGGED_MODEL_READY, "
                         "LOGGED_MODEL_UPLOAD_FAILED, LOGGED_MODEL_PENDING or "
                         "LOGGED_MODEL_STATUS_UNSPECIFIED.");
}

LoggedModelService::LoggedModelService(store::MetadataStore* store, Env* env)
    : store_(store), env_(env) {}

std::string LoggedModelService::NewModelName() { return NewFriendlyName(*env_); }

StatusOr<LoggedModel> LoggedModelService::Create(const CreateLoggedModelRequest& request) {
  ASSIGN_OR_RETURN(int64_t experiment_key, ParseExperimentId(request.experiment_id));
  std::string name = request.name.empty() ? NewModelName() : request.name;
  RETURN_IF_ERROR(ValidateModelName(name));
  RETURN_IF_ERROR(ValidateParams(request.params));
  RETURN_IF_ERROR(ValidateTags(request.tags));
  std::string model_id = "m-" + env_->RandomHex(16);
  int64_t now = env_->NowMillis();
  RETURN_IF_ERROR(store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(Experiment experiment,
                     LoadExperiment(db, "experiment_id = ?", experiment_key,
                                    "No Experiment with id=" + request.experiment_id + " exists"));
    if (experiment.lifecycle_stage != kActive) {
      return InvalidArgument("The experiment " + request.experiment_id +
                             " must be in the 'active' state. Current state is " +
                             experiment.lifecycle_stage + ".");
    }
    std::string location = experiment.artifact_location;
    while (!location.empty() && location.back() == '/') location.pop_back();
    ASSIGN_OR_RETURN(
        SqlRows inserted,
        db.Query("INSERT INTO logged_models (model_id, experiment_id, name, artifact_uri, status, "
                 "status_message, model_type, source_run_id, lifecycle_stage, "
                 "creation_timestamp_ms, last_updated_timestamp_ms) VALUES (?, ?, ?, ?, ?, '', ?, "
                 "?, 'active', ?, ?) RETURNING model_key",
                 {model_id, experiment_key, name, location + "/models/" + model_id + "/artifacts",
                  int64_t{static_cast<int>(LoggedModelStatus::kPending)}, request.model_type,
                  request.source_run_id, now, now}));
    int64_t model_key = inserted.Int(0, 0);
    // A request naming a key twice keeps the last value, as a dict would.
    for (const KeyValue& p : request.params) {
      RETURN_IF_ERROR(db.Execute("INSERT INTO logged_model_params (model_key, key, value) VALUES "
                                 "(?, ?, ?) ON CONFLICT (model_key, key) DO UPDATE SET value = "
                                 "excluded.value",
                                 {model_key, p.key, p.value})
                          .status());
    }
    return UpsertTags(db, model_key, request.tags);
  }));
  return Get(model_id);
}

StatusOr<LoggedModel> LoggedModelService::Get(const std::string& model_id) {
  LoggedModel model;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(model, LoadModel(db, model_id));
    return Status::Ok();
  }));
  return model;
}

StatusOr<LoggedModel> LoggedModelService::Finalize(const std::string& model_id,
                                                   LoggedModelStatus status) {
  int64_t now = env_->NowMillis();
  RETURN_IF_ERROR(store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, model_id));
    return db
        .Execute(
            "UPDATE logged_models SET status = ?, last_updated_timestamp_ms = ? WHERE "
            "model_key = ?",
            {int64_t{static_cast<int>(status)}, now, key})
        .status();
  }));
  return Get(model_id);
}

Status LoggedModelService::Delete(const std::string& model_id) {
  int64_t now = env_->NowMillis();
  return store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, model_id));
    return db
        .Execute(
            "UPDATE logged_models SET lifecycle_stage = 'deleted', "
            "last_updated_timestamp_ms = ? WHERE model_key = ?",
            {now, key})
        .status();
  });
}

Status LoggedModelService::SetTags(const std::string& model_id, const std::vector<KeyValue>& tags) {
  RETURN_IF_ERROR(ValidateTags(tags));
  return store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, model_id));
    return UpsertTags(db, key, tags);
  });
}

Status LoggedModelService::DeleteTag(const std::string& model_id, const std::string& tag_key) {
  return store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, model_id));
    ASSIGN_OR_RETURN(int64_t deleted,
                     db.Execute("DELETE FROM logged_model_tags WHERE model_key = ? AND key = ?",
                                {key, tag_key}));
    if (deleted == 0) {
      return NotFound("No tag with key '" + tag_key + "' found for model with ID '" + model_id +
                      "'.");
    }
    return Status::Ok();
  });
}

Status LoggedModelService::LogParams(const std::string& model_id,
                                     const std::vector<KeyValue>& params) {
  RETURN_IF_ERROR(ValidateParams(params));
  return store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, model_id));
    return InsertParams(db, key, model_id, params);
  });
}

Status LoggedModelService::LogOutputs(const std::string& run_id,
                                      const std::vector<RunModelLink>& models) {
  return store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(RunRow run, FindActiveRun(db, run_id));
    for (const RunModelLink& link : models) {
      RETURN_IF_ERROR(db.Execute("INSERT INTO run_models (run_key, direction, model_id, step) "
                                 "VALUES (?, 1, ?, ?) ON CONFLICT (run_key, direction, model_id) "
                                 "DO NOTHING",
                                 {run.run_key, link.model_id, link.step})
                          .status());
    }
    return Status::Ok();
  });
}

}  // namespace cairn::tracking
