#include "mlflow/mlflow_json.h"

#include "core/log.h"

namespace cairn::mlflow {

namespace {
void Field(json::Writer& w, const char* key, std::string_view value) {
  w.Key(key);
  json::WriteString(w, value);
}
void Field(json::Writer& w, const char* key, int64_t value) {
  w.Key(key);
  w.Int64(value);
}
}  // namespace

http::HttpResponse ErrorResponse(const Status& status) {
  const char* code = "INTERNAL_ERROR";
  int http_status = 500;
  switch (status.code()) {
    case StatusCode::kOk:
      code = "OK";
      http_status = 200;
      break;
    case StatusCode::kInvalidArgument:
      code = "INVALID_PARAMETER_VALUE";
      http_status = 400;
      break;
    case StatusCode::kNotFound:
      code = "RESOURCE_DOES_NOT_EXIST";
      http_status = 404;
      break;
    case StatusCode::kAlreadyExists:
      code = "RESOURCE_ALREADY_EXISTS";
      http_status = 400;
      break;
    // MLflow's INVALID_STATE maps to 500, which clients retry; a wrong-state
    // request is the client's to fix, so answer 400.
    case StatusCode::kFailedPrecondition:
      code = "INVALID_STATE";
      http_status = 400;
      break;
    case StatusCode::kPermissionDenied:
      code = "PERMISSION_DENIED";
      http_status = 403;
      break;
    case StatusCode::kUnauthenticated:
      code = "UNAUTHENTICATED";
      http_status = 401;
      break;
    case StatusCode::kResourceExhausted:
      code = "RESOURCE_EXHAUSTED";
      http_status = 429;
      break;
    case StatusCode::kUnimplemented:
      code = "NOT_IMPLEMENTED";
      http_status = 501;
      break;
    case StatusCode::kUnavailable:
      code = "TEMPORARILY_UNAVAILABLE";
      http_status = 503;
      break;
    case StatusCode::kInternal:
      code = "INTERNAL_ERROR";
      http_status = 500;
      break;
  }
  if (http_status >= 500 && http_status != 501) {
    LogError("request failed", {{"error", status.ToString()}});
  }
  json::Buffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  w.Key("error_code");
  w.String(code);
  Field(w, "message", status.message());
  w.EndObject();
  return http::HttpResponse::Json(http_status, std::string(buffer.GetString(), buffer.GetSize()));
}

http::HttpResponse JsonResponse(const json::Buffer& buffer) {
  return http::HttpResponse::Json(200, std::string(buffer.GetString(), buffer.GetSize()));
}

http::HttpResponse EmptyResponse() { return http::HttpResponse::Json(200, "{}"); }

void WriteKeyValues(json::Writer& w, const char* field,
                    const std::vector<tracking::KeyValue>& kvs) {
  w.Key(field);
  w.StartArray();
  for (const auto& kv : kvs) {
    w.StartObject();
    Field(w, "key", kv.key);
    Field(w, "value", kv.value);
    w.EndObject();
  }
  w.EndArray();
}

void WriteExperiment(json::Writer& w, const tracking::Experiment& e) {
  w.StartObject();
  Field(w, "experiment_id", e.experiment_id);
  Field(w, "name", e.name);
  Field(w, "artifact_location", e.artifact_location);
  Field(w, "lifecycle_stage", e.lifecycle_stage);
  Field(w, "last_update_time", e.last_update_time);
  Field(w, "creation_time", e.creation_time);
  WriteKeyValues(w, "tags", e.tags);
  w.EndObject();
}

void WriteRunInfo(json::Writer& w, const tracking::RunInfo& info) {
  w.StartObject();
  Field(w, "run_id", info.run_id);
  Field(w, "run_uuid", info.run_id);
  Field(w, "run_name", info.run_name);
  Field(w, "experiment_id", info.experiment_id);
  Field(w, "user_id", info.user_id);
  Field(w, "status", info.status);
  if (info.start_time) {
    Field(w, "start_time", *info.start_time);
  }
  if (info.end_time) {
    Field(w, "end_time", *info.end_time);
  }
  Field(w, "artifact_uri", info.artifact_uri);
  Field(w, "lifecycle_stage", info.lifecycle_stage);
  w.EndObject();
}

void WriteMetric(json::Writer& w, const tracking::Metric& m, bool with_run_id) {
  w.StartObject();
  Field(w, "key", m.key);
  w.Key("value");
  json::WriteDouble(w, m.value);
  Field(w, "timestamp", m.timestamp);
  Field(w, "step", m.step);
  if (with_run_id) {
    Field(w, "run_id", m.run_id);
  }
  w.EndObject();
}

void WriteRun(json::Writer& w, const tracking::Run& run) {
  w.StartObject();
  w.Key("info");
  WriteRunInfo(w, run.info);
  w.Key("data");
  w.StartObject();
  w.Key("metrics");
  w.StartArray();
  for (const auto& m : run.metrics) WriteMetric(w, m, false);
  w.EndArray();
  WriteKeyValues(w, "params", run.params);
  WriteKeyValues(w, "tags", run.tags);
  w.EndObject();
  w.Key("inputs");
  w.StartObject();
  w.Key("dataset_inputs");
  w.StartArray();
  for (const auto& input : run.dataset_inputs) {
    w.StartObject();
    WriteKeyValues(w, "tags", input.tags);
    w.Key("dataset");
    w.StartObject();
    const auto& d = input.dataset;
    Field(w, "name", d.name);
    Field(w, "digest", d.digest);
    Field(w, "source_type", d.source_type);
    Field(w, "source", d.source);
    if (!d.schema.empty()) {
      Field(w, "schema", d.schema);
    }
    if (!d.profile.empty()) {
      Field(w, "profile", d.profile);
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndObject();
}

}  // namespace cairn::mlflow
