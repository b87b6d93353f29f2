// TrackingService: experiments, runs, params, metrics, tags and dataset
// inputs, with MLflow's semantics, on any MetadataStore.
//
// Every mutation is one atomic MetadataStore::Write (group-committed with
// concurrent requests); validation happens before anything is written, so a
// rejected request changes nothing.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/status.h"
#include "store/metadata_store.h"
#include "tracking/entities.h"

namespace cairn::tracking {

struct TrackingOptions {
  // Where new experiments put their artifacts unless told otherwise; runs
  // get <experiment location>/<run_id>/artifacts.
  std::string default_artifact_root = "mlflow-artifacts:";
};

struct ExperimentPage {
  std::vector<Experiment> experiments;
  std::string next_page_token;
};

struct RunPage {
  std::vector<Run> runs;
  std::string next_page_token;
};

struct CreateRunRequest {
  std::string experiment_id;
  std::string user_id;
  std::optional<int64_t> start_time;
  std::vector<KeyValue> tags;
  std::string run_name;
};

struct UpdateRunRequest {
  std::string run_id;
  std::optional<std::string> status;
  std::optional<int64_t> end_time;
  std::optional<std::string> run_name;
};

struct LogBatchRequest {
  std::string run_id;
  std::vector<Metric> metrics;
  std::vector<KeyValue> params;
  std::vector<KeyValue> tags;
};

struct SearchRunsRequest {
  std::vector<std::string> experiment_ids;
  std::string filter;
  ViewType view_type = ViewType::kActiveOnly;
  int64_t max_results = 1000;
  std::vector<std::string> order_by;
  std::string page_token;
};

struct SearchExperimentsRequest {
  ViewType view_type = ViewType::kActiveOnly;
  int64_t max_results = 1000;
  std::string filter;
  std::vector<std::string> order_by;
  std::string page_token;
  // Experiment ids the caller may not see: left out by the query itself.
  std::vector<std::string> hidden;
};

class TrackingService {
 public:
  // `store` and `env` must outlive the service.
  TrackingService(store::MetadataStore* store, Env* env, TrackingOptions options = {});

  // Applies the schema migrations and makes sure experiment "0" exists.
  Status Init();

  // Experiments. Errors: AlreadyExists for a taken name, NotFound for an
  // unknown id or name, InvalidArgument for bad input.
  StatusOr<std::string> CreateExperiment(const std::string& name,
                                         const std::string& artifact_location,
                                         const std::vector<KeyValue>& tags);
  StatusOr<Experiment> GetExperiment(const std::string& experiment_id);
  StatusOr<Experiment> GetExperimentByName(const std::string& name);
  StatusOr<ExperimentPage> SearchExperiments(const SearchExperimentsRequest& request);
  Status RenameExperiment(const std::string& experiment_id, const std::string& new_name);
  Status DeleteExperiment(const std::string& experiment_id);
  Status RestoreExperiment(const std::string& experiment_id);
  Status SetExperimentTag(const std::string& experiment_id, const KeyValue& tag);
  // Errors: NotFound "No tag with name: <key> in experiment with id <id>"
  // (MLflow 3's text) when the experiment has no such tag.
  Status DeleteExperimentTag(const std::string& experiment_id, const std::string& key);

  // Runs.
  StatusOr<Run> CreateRun(const CreateRunRequest& request);
  StatusOr<Run> GetRun(const std::string& run_id);
  StatusOr<RunInfo> UpdateRun(const UpdateRunRequest& request);
  Status DeleteRun(const std::string& run_id);
  Status RestoreRun(const std::string& run_id);
  StatusOr<RunPage> SearchRuns(const SearchRunsRequest& request);

  // Logging. A param may be logged again only with the same value; a metric
  // logged twice with identical (key, value, timestamp, step) is stored once,
  // so a retried batch is harmless. Invalid input fails `done` at once; a valid
  // batch is group-committed and `done` runs once it is durable, on the
  // store's commit thread or, if the store was idle, on this thread (see
  // MetadataStore::WriteAsync).
  void LogBatchAsync(LogBatchRequest batch, std::function<void(Status)> done);
  Status SetTag(const std::string& run_id, const KeyValue& tag);
  Status DeleteTag(const std::string& run_id, const std::string& key);
  // Datasets and (MLflow 3) models the run consumed; both may be empty.
  Status LogInputs(const std::string& run_id, const std::vector<DatasetInput>& inputs,
                   const std::vector<RunModelLink>& models = {});
  // Appends `model_json` (a JSON object, validated by the caller) to the run's
  // "mlflow.log-model.history" tag, a JSON list, atomically.
  Status LogModel(const std::string& run_id, const std::string& model_json);

  // Metric history in (step, timestamp, value) order, handed to `each` point
  // by point as it is read: a history may hold millions of points. At most
  // `max_results` points (<= 0: all). Returns the next page's token, or ""
  // after the last page. `each` runs inside a read; it must not call the store.
  StatusOr<std::string> ReadMetricHistory(const std::string& run_id, const std::string& key,
                                          int64_t max_results, const std::string& page_token,
                                          const std::function<void(const Metric&)>& each);
  // Up to `max_results` points per run, sampled evenly over [start_step, end_step].
  // The datasets the experiments' runs logged, with each use's context;
  // at most 1000. Ids that name no experiment match nothing.
  StatusOr<std::vector<DatasetSummary>> SearchDatasets(
      const std::vector<std::string>& experiment_ids);
  // Every point of `key` in the runs (ids sorted, then timestamp, step,
  // value), at most `max_results`; runs not here add none (MLflow's
  // get-history-bulk).
  StatusOr<std::vector<Metric>> GetMetricHistoryBulk(std::vector<std::string> run_ids,
                                                     const std::string& key, size_t max_results);
  StatusOr<std::vector<Metric>> GetMetricHistoryBulkInterval(
      const std::vector<std::string>& run_ids, const std::string& key,
      std::optional<int64_t> start_step, std::optional<int64_t> end_step, int64_t max_results);

  store::MetadataStore* store() const { return store_; }

 private:
  std::string NewRunName();

  store::MetadataStore* store_;
  Env* env_;
  TrackingOptions options_;
};

}  // namespace cairn::tracking
