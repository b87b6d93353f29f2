// Tracking entities as the domain sees them: plain values, independent of
// any wire format (the MLflow surface maps them to its JSON) or storage.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cairn::tracking {

inline constexpr char kActive[] = "active";
inline constexpr char kDeleted[] = "deleted";

struct KeyValue {
  std::string key;
  std::string value;
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

struct Experiment {
  std::string experiment_id;
  std::string name;
  std::string artifact_location;
  std::string lifecycle_stage = kActive;
  int64_t creation_time = 0;
  int64_t last_update_time = 0;
  std::vector<KeyValue> tags;
};

struct Metric {
  std::string key;
  double value = 0;
  int64_t timestamp = 0;
  int64_t step = 0;
  std::string run_id;  // Filled only where several runs are mixed (bulk history).
  // MLflow 3: the logged model the value measures, and on which dataset.
  // Never set on a run's own metrics (the 3.x client relies on that).
  std::string model_id;
  std::string dataset_name;
  std::string dataset_digest;
};

struct RunInfo {
  std::string run_id;
  std::string run_name;
  std::string experiment_id;
  std::string user_id;
  std::string status = "RUNNING";
  std::optional<int64_t> start_time;
  std::optional<int64_t> end_time;
  std::string artifact_uri;
  std::string lifecycle_stage = kActive;
};

// A dataset as the experiment's runs used it (MLflow's search-datasets).
struct DatasetSummary {
  std::string experiment_id;
  std::string name;
  std::string digest;
  std::optional<std::string> context;  // the mlflow.data.context input tag
};

struct Dataset {
  std::string name;
  std::string digest;
  std::string source_type;
  std::string source;
  std::string schema;
  std::string profile;
};

struct DatasetInput {
  std::vector<KeyValue> tags;
  Dataset dataset;
};

// A model a run consumed (inputs) or produced (outputs, with the step).
struct RunModelLink {
  std::string model_id;
  int64_t step = 0;
};

struct Run {
  RunInfo info;
  std::vector<Metric> metrics;  // Latest value per key.
  std::vector<KeyValue> params;
  std::vector<KeyValue> tags;
  std::vector<DatasetInput> dataset_inputs;
  std::vector<RunModelLink> model_inputs;
  std::vector<RunModelLink> model_outputs;
};

enum class ViewType { kActiveOnly, kDeletedOnly, kAll };

// MLflow 3's LoggedModel: a model logged on its own, with an id
// ("m-<32 hex>") and artifacts, optionally produced by a run. Values are
// MLflow's LoggedModelStatus numbers.
enum class LoggedModelStatus { kUnspecified = 0, kPending = 1, kReady = 2, kUploadFailed = 3 };

struct LoggedModel {
  std::string model_id;
  std::string experiment_id;
  std::string name;
  std::string artifact_uri;
  LoggedModelStatus status = LoggedModelStatus::kPending;
  std::string status_message;
  std::string model_type;     // Empty when not given.
  std::string source_run_id;  // Empty when not given.
  int64_t creation_timestamp_ms = 0;
  int64_t last_updated_timestamp_ms = 0;
  std::vector<KeyValue> tags;
  std::vector<KeyValue> params;
  std::vector<Metric> metrics;  // Every point logged with this model's id.
};

// Run statuses MLflow defines.
bool IsValidRunStatus(const std::string& status);

}  // namespace cairn::tracking
