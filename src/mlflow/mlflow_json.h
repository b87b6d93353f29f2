// MLflow's wire format: Status -> error JSON, and tracking entities -> the
// JSON that MLflow's server returns (protobuf JSON mapping with int64 as
// numbers and non-finite doubles as "NaN"/"Infinity" strings).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "http/error_format.h"
#include "http/http_types.h"
#include "registry/entities.h"
#include "tracking/entities.h"

namespace cairn::mlflow {

// The one place where Cairn's status codes become MLflow error codes and HTTP
// statuses. Client errors are 4xx: the MLflow client retries 5xx.
http::HttpResponse ErrorResponse(const Status& status);

// MLflow's error shape, `{"error_code": ..., "message": ...}`, for handlers'
// errors (ErrorResponse) and the server's own answers on MLflow routes: an
// unknown path is ENDPOINT_NOT_FOUND, a body over the limit
// RESOURCE_LIMIT_EXCEEDED, missing credentials UNAUTHENTICATED. Cairn's own
// API (/api/cairn/v1) follows MLflow's REST conventions and uses it too.
class ErrorFormat : public http::ErrorFormat {
 public:
  std::string_view protocol() const override { return "mlflow"; }
  http::HttpResponse FromStatus(const Status& error) const override;
  http::HttpResponse Local(int http_status, http::LocalReason reason,
                           std::string_view message) const override;
  static const ErrorFormat& Get();
};
http::HttpResponse JsonResponse(const json::Buffer& buffer);
http::HttpResponse EmptyResponse();

// A 200 JSON object response whose members `fn(json::Writer&)` writes.
template <typename Fn>
http::HttpResponse WriteJson(Fn&& fn) {
  json::Buffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  fn(w);
  w.EndObject();
  return JsonResponse(buffer);
}

void WriteKeyValues(json::Writer& w, const char* field, const std::vector<tracking::KeyValue>& kvs);
void WriteExperiment(json::Writer& w, const tracking::Experiment& e);
void WriteRunInfo(json::Writer& w, const tracking::RunInfo& info);
void WriteMetric(json::Writer& w, const tracking::Metric& m, bool with_run_id);
void WriteRun(json::Writer& w, const tracking::Run& run);
void WriteLoggedModel(json::Writer& w, const tracking::LoggedModel& model);
// Model registry: versions are JSON strings ("3"); unset fields are omitted.
void WriteModelVersion(json::Writer& w, const registry::ModelVersion& v);
void WriteRegisteredModel(json::Writer& w, const registry::RegisteredModel& m);

// Builds {"metrics": [...], "next_page_token": ...} for metric histories,
// which may hold millions of points. Points are formatted straight into the
// body, several times faster than through json::Writer, and a long list is
// formatted on a second thread while the caller goes on reading points from
// the database, so both halves of the work overlap.
//
// Thread-safety: one thread calls Add and Finish.
class MetricListWriter {
 public:
  // `expected_points` sizes the first buffer; the body grows past it as needed.
  explicit MetricListWriter(bool with_run_id, size_t expected_points = 0);
  ~MetricListWriter();
  MetricListWriter(const MetricListWriter&) = delete;
  MetricListWriter& operator=(const MetricListWriter&) = delete;

  void Add(const tracking::Metric& m);
  http::HttpResponse Finish(const std::string& next_page_token = "") &&;

 private:
  struct Point;
  struct Formatter;

  bool with_run_id_;
  std::vector<Point> block_;  // Points not yet handed to the formatter.
  std::unique_ptr<Formatter> formatter_;
  std::string last_key_;
  std::string last_run_id_;
  size_t prefix_count_ = 0;
  size_t suffix_count_ = 0;
};

}  // namespace cairn::mlflow
