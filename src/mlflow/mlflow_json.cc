#include "mlflow/mlflow_json.h"

#include "core/log.h"

namespace cairn::mlflow {

http::HttpResponse ErrorResponse(const Status& status) {
  const char* code = "INTERNAL_ERROR";
  int http_status = 500;
  switch (status.code()) {
    case StatusCode::kOk: code = "OK"; http_status = 200; break;
    case StatusCode::kInvalidArgument: code = "INVALID_PARAMETER_VALUE"; http_status = 400; break;
    case StatusCode::kNotFound: code = "RESOURCE_DOES_NOT_EXIST"; http_status = 404; break;
    case StatusCode::kAlreadyExists: code = "RESOURCE_ALREADY_EXISTS"; http_status = 400; break;
    // MLflow's INVALID_STATE maps to 500, which clients retry; a wrong-state
    // request is the client's to fix, so answer 400.
    case StatusCode::kFailedPrecondition: code = "INVALID_STATE"; http_status = 400; break;
    case StatusCode::kPermissionDenied: code = "PERMISSION_DENIED"; http_status = 403; break;
    case StatusCode::kUnauthenticated: code = "UNAUTHENTICATED"; http_status = 401; break;
    case StatusCode::kResourceExhausted: code = "RESOURCE_EXHAUSTED"; http_status = 429; break;
    case StatusCode::kUnimplemented: code = "NOT_IMPLEMENTED"; http_status = 501; break;
    case StatusCode::kUnavailable: code = "TEMPORARILY_UNAVAILABLE"; http_status = 503; break;
    case StatusCode::kInternal: code = "INTERNAL_ERROR"; http_status = 500; break;
  }
  if (http_status >= 500 && http_status != 501) {
    LogError("request failed", {{"error", status.ToString()}});
  }
  json::Buffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  w.Key("error_code");
  w.String(code);
  w.Key("message");
  json::WriteString(w, status.message());
  w.EndObject();
  return http::HttpResponse::Json(http_status, std::string(buffer.GetString(), buffer.GetSize()));
}

http::HttpResponse JsonResponse(const json::Buffer& buffer) {
  return http::HttpResponse::Json(200, std::string(buffer.GetString(), buffer.GetSize()));
}

http::HttpResponse EmptyResponse() { return http::HttpResponse::Json(200, "{}"); }

void WriteKeyValues(json::Writer& w, const char* field, const std::vector<tracking::KeyValue>& kvs) {
  w.Key(field);
  w.StartArray();
  for (const auto& kv : kvs) {
    w.StartObject();
    w.Key("key");
    json::WriteString(w, kv.key);
    w.Key("value");
    json::WriteString(w, kv.value);
    w.EndObject();
  }
  w.EndArray();
}

void WriteExperiment(json::Writer& w, const tracking::Experiment& e) {
  w.StartObject();
  w.Key("experiment_id");
  json::WriteString(w, e.experiment_id);
  w.Key("name");
  json::WriteString(w, e.name);
  w.Key("artifact_location");
  json::WriteString(w, e.artifact_location);
  w.Key("lifecycle_stage");
  json::WriteString(w, e.lifecycle_stage);
  w.Key("last_update_time");
  w.Int64(e.last_update_time);
  w.Key("creation_time");
  w.Int64(e.creation_time);
  WriteKeyValues(w, "tags", e.tags);
  w.EndObject();
}

void WriteRunInfo(json::Writer& w, const tracking::RunInfo& info) {
  w.StartObject();
  w.Key("run_id");
  json::WriteString(w, info.run_id);
  w.Key("run_uuid");
  json::WriteString(w, info.run_id);
  w.Key("run_name");
  json::WriteString(w, info.run_name);
  w.Key("experiment_id");
  json::WriteString(w, info.experiment_id);
  w.Key("user_id");
  json::WriteString(w, info.user_id);
  w.Key("status");
  json::WriteString(w, info.status);
  if (info.start_time) {
    w.Key("start_time");
    w.Int64(*info.start_time);
  }
  if (info.end_time) {
    w.Key("end_time");
    w.Int64(*info.end_time);
  }
  w.Key("artifact_uri");
  json::WriteString(w, info.artifact_uri);
  w.Key("lifecycle_stage");
  json::WriteString(w, info.lifecycle_stage);
  w.EndObject();
}

void WriteMetric(json::Writer& w, const tracking::Metric& m, bool with_run_id) {
  w.StartObject();
  w.Key("key");
  json::WriteString(w, m.key);
  w.Key("value");
  json::WriteDouble(w, m.value);
  w.Key("timestamp");
  w.Int64(m.timestamp);
  w.Key("step");
  w.Int64(m.step);
  if (with_run_id) {
    w.Key("run_id");
    json::WriteString(w, m.run_id);
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
    w.Key("name");
    json::WriteString(w, d.name);
    w.Key("digest");
    json::WriteString(w, d.digest);
    w.Key("source_type");
    json::WriteString(w, d.source_type);
    w.Key("source");
    json::WriteString(w, d.source);
    if (!d.schema.empty()) {
      w.Key("schema");
      json::WriteString(w, d.schema);
    }
    if (!d.profile.empty()) {
      w.Key("profile");
      json::WriteString(w, d.profile);
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndObject();
}

}  // namespace cairn::mlflow
