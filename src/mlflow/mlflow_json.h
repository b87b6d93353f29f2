// MLflow's wire format: Status -> error JSON, and tracking entities -> the
// JSON that MLflow's server returns (protobuf JSON mapping with int64 as
// numbers and non-finite doubles as "NaN"/"Infinity" strings).
#pragma once

#include <string>

#include "core/json.h"
#include "core/status.h"
#include "http/http_types.h"
#include "tracking/entities.h"

namespace cairn::mlflow {

// The one place where Cairn's status codes become MLflow error codes and HTTP
// statuses. Client errors are 4xx: the MLflow client retries 5xx.
http::HttpResponse ErrorResponse(const Status& status);
http::HttpResponse JsonResponse(const json::Buffer& buffer);
http::HttpResponse EmptyResponse();

void WriteKeyValues(json::Writer& w, const char* field, const std::vector<tracking::KeyValue>& kvs);
void WriteExperiment(json::Writer& w, const tracking::Experiment& e);
void WriteRunInfo(json::Writer& w, const tracking::RunInfo& info);
void WriteMetric(json::Writer& w, const tracking::Metric& m, bool with_run_id);
void WriteRun(json::Writer& w, const tracking::Run& run);

}  // namespace cairn::mlflow
