// LoggedModelService: MLflow 3's logged models (create, get, finalize,
// delete, tags, params) and the links between runs and models
// (runs/outputs, log-inputs models), with MLflow's semantics and messages.
//
// A model lives in an experiment, gets the id "m-<32 hex>" and the artifact
// location <experiment artifact location>/models/<model_id>/artifacts, and
// starts PENDING until the client finalizes it READY or UPLOAD_FAILED.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/status.h"
#include "store/metadata_store.h"
#include "tracking/entities.h"

namespace cairn::tracking {

struct CreateLoggedModelRequest {
  std::string experiment_id;
  std::string name;  // Generated when empty.
  std::string model_type;
  std::string source_run_id;
  std::vector<KeyValue> params;
  std::vector<KeyValue> tags;
};

// One entry of search's `datasets`: restricts which metric values count.
// An empty digest matches any digest (MLflow's documented meaning).
struct DatasetRef {
  std::string name;
  std::string digest;
};

// One order_by entry: a model attribute, or "metrics.<key>" (the model's
// latest value of that metric, optionally on one dataset).
struct LoggedModelOrder {
  std::string field_name;
  bool ascending = true;
  std::string dataset_name;
  std::string dataset_digest;
};

struct SearchLoggedModelsRequest {
  std::vector<std::string> experiment_ids;
  std::string filter;  // search_runs' grammar over attributes, metrics, params, tags.
  std::vector<DatasetRef> datasets;
  std::vector<LoggedModelOrder> order_by;
  int64_t max_results = 50;
  std::string page_token;
};

struct LoggedModelPage {
  std::vector<LoggedModel> models;
  std::string next_page_token;
};

class LoggedModelService {
 public:
  // `store` and `env` must outlive the service. The schema comes with
  // TrackingService::Init (component "tracking").
  LoggedModelService(store::MetadataStore* store, Env* env);

  // Errors: NotFound for an unknown experiment, InvalidArgument for a
  // deleted one, a bad name, or invalid params/tags.
  StatusOr<LoggedModel> Create(const CreateLoggedModelRequest& request);
  // Errors (all methods taking a model_id): NotFound "Logged model with ID
  // '<id>' not found." for an unknown or deleted model.
  StatusOr<LoggedModel> Get(const std::string& model_id);
  // Sets the status (READY, UPLOAD_FAILED; PENDING and UNSPECIFIED are
  // accepted as MLflow does). Finalizing again is allowed.
  StatusOr<LoggedModel> Finalize(const std::string& model_id, LoggedModelStatus status);
  // Soft delete; the model disappears from get and search.
  Status Delete(const std::string& model_id);
  Status SetTags(const std::string& model_id, const std::vector<KeyValue>& tags);
  // Errors: NotFound naming the key when the model has no such tag.
  Status DeleteTag(const std::string& model_id, const std::string& key);
  // Params are immutable: logging a key again with the same value is a
  // no-op, with another value InvalidArgument.
  Status LogParams(const std::string& model_id, const std::vector<KeyValue>& params);

  // Models of the experiments matching the filter, newest first unless
  // ordered otherwise. A metric clause matches if any value the model has for
  // that key (on `datasets`, if given) satisfies it, as in MLflow.
  // Errors: InvalidArgument naming the bad clause, field or token.
  StatusOr<LoggedModelPage> Search(const SearchLoggedModelsRequest& request);

  // runs/outputs: records that the run produced these models. Logging the
  // same (run, model) again keeps the first step (MLflow answers 400, which
  // would make the client mark a good model as failed).
  Status LogOutputs(const std::string& run_id, const std::vector<RunModelLink>& models);

 private:
  std::string NewModelName();

  store::MetadataStore* store_;
  Env* env_;
};

// "LOGGED_MODEL_READY" etc., as MLflow's JSON spells the enum.
std::string_view LoggedModelStatusName(LoggedModelStatus status);
// Accepts the enum's names and numbers ("LOGGED_MODEL_READY", "2").
// Errors: InvalidArgument.
StatusOr<LoggedModelStatus> ParseLoggedModelStatus(std::string_view text);

}  // namespace cairn::tracking
