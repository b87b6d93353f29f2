#include "mlflow/mlflow_json.h"

#include "core/huge_pages.h"

#include <algorithm>
#include <deque>

#include "core/env.h"
#include "core/log.h"
#include "core/mutex.h"
#include "tracking/logged_model_service.h"

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
// {"error_code": ..., "message": ...}: MLflow's (Databricks') error body.
http::HttpResponse MlflowError(int http_status, std::string_view code, std::string_view message) {
  json::Buffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  w.Key("error_code");
  json::WriteString(w, code);
  Field(w, "message", message);
  w.EndObject();
  return http::HttpResponse::Json(http_status, std::string(buffer.GetString(), buffer.GetSize()));
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
  return MlflowError(http_status, code, status.message());
}

http::HttpResponse ErrorFormat::FromStatus(const Status& error) const {
  return ErrorResponse(error);
}

http::HttpResponse ErrorFormat::Local(int http_status, http::LocalReason reason,
                                      std::string_view message) const {
  using http::LocalReason;
  const char* code = "BAD_REQUEST";
  switch (reason) {
    case LocalReason::kNoRoute:
      code = "ENDPOINT_NOT_FOUND";
      break;
    case LocalReason::kMethodNotAllowed:
    case LocalReason::kMalformed:
      code = "BAD_REQUEST";
      break;
    case LocalReason::kUnauthenticated:
      code = "UNAUTHENTICATED";
      break;
    case LocalReason::kOverloaded:
      code = "REQUEST_LIMIT_EXCEEDED";
      break;
    case LocalReason::kForbidden:
      code = "PERMISSION_DENIED";
      break;
    case LocalReason::kInvalidRequest:
      code = "INVALID_PARAMETER_VALUE";
      break;
    case LocalReason::kTooLarge:
      code = "RESOURCE_LIMIT_EXCEEDED";
      break;
    case LocalReason::kMissingFile:
      code = "RESOURCE_DOES_NOT_EXIST";
      break;
    case LocalReason::kInternal:
      code = "INTERNAL_ERROR";
      break;
  }
  return MlflowError(http_status, code, message);
}

const ErrorFormat& ErrorFormat::Get() {
  static const ErrorFormat format;
  return format;
}

http::HttpResponse JsonResponse(const json::Buffer& buffer) {
  return http::HttpResponse::Json(200, std::string(buffer.GetString(), buffer.GetSize()));
}

http::HttpResponse EmptyResponse() { return http::HttpResponse::Json(200, "{}"); }

void WriteModelVersion(json::Writer& w, const registry::ModelVersion& v) {
  w.StartObject();
  Field(w, "name", v.name);
  Field(w, "version", std::to_string(v.version));
  Field(w, "creation_timestamp", v.creation_timestamp);
  Field(w, "last_updated_timestamp", v.last_updated_timestamp);
  if (!v.user_id.empty()) Field(w, "user_id", v.user_id);
  Field(w, "current_stage", registry::StageName(v.stage));
  if (v.description) Field(w, "description", *v.description);
  Field(w, "source", v.source);
  Field(w, "run_id", v.run_id);
  // Always sent: a client reading no status waits for PENDING_REGISTRATION
  // to end, polling for five minutes.
  Field(w, "status", v.status);
  if (!v.status_message.empty()) Field(w, "status_message", v.status_message);
  if (!v.tags.empty()) WriteKeyValues(w, "tags", v.tags);
  Field(w, "run_link", v.run_link);
  if (!v.aliases.empty()) {
    w.Key("aliases");
    w.StartArray();
    for (const std::string& a : v.aliases) json::WriteString(w, a);
    w.EndArray();
  }
  if (!v.model_id.empty()) Field(w, "model_id", v.model_id);
  w.EndObject();
}

void WriteRegisteredModel(json::Writer& w, const registry::RegisteredModel& m) {
  w.StartObject();
  Field(w, "name", m.name);
  Field(w, "creation_timestamp", m.creation_timestamp);
  Field(w, "last_updated_timestamp", m.last_updated_timestamp);
  if (m.description && !m.description->empty()) Field(w, "description", *m.description);
  if (!m.latest_versions.empty()) {
    w.Key("latest_versions");
    w.StartArray();
    for (const auto& v : m.latest_versions) WriteModelVersion(w, v);
    w.EndArray();
  }
  if (!m.tags.empty()) WriteKeyValues(w, "tags", m.tags);
  if (!m.aliases.empty()) {
    w.Key("aliases");
    w.StartArray();
    for (const auto& a : m.aliases) {
      w.StartObject();
      Field(w, "alias", a.alias);
      Field(w, "version", std::to_string(a.version));
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

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
  if (!m.model_id.empty()) Field(w, "model_id", m.model_id);
  if (!m.dataset_name.empty()) Field(w, "dataset_name", m.dataset_name);
  if (!m.dataset_digest.empty()) Field(w, "dataset_digest", m.dataset_digest);
  w.EndObject();
}

namespace {

// Points per block handed to the formatter thread: big enough that handing
// over costs nothing, small enough that the thread starts early.
constexpr size_t kBlockPoints = 8192;

// The response body being written: body_[0, used_) is text, the rest room.
class BodyText {
 public:
  explicit BodyText(size_t expected_bytes) { Grow(expected_bytes); }

  char* Room(size_t n) {
    if (used_ + n > body_.size()) Grow(std::max(body_.size() * 2, used_ + n));
    return body_.data() + used_;
  }
  void Commit(const char* end) { used_ = static_cast<size_t>(end - body_.data()); }
  void Write(std::string_view text) {
    Commit(std::copy(text.begin(), text.end(), Room(text.size())));
  }
  std::string Take() && {
    body_.resize(used_);
    return std::move(body_);
  }

 private:
  // Bodies run to megabytes (100,000 points are 8 MB): on huge pages they
  // take a few page faults instead of thousands, which cost more than the
  // formatting on virtual machines.
  void Grow(size_t bytes) {
    ReserveHuge(body_, bytes);
    body_.resize(bytes);
  }

  std::string body_;
  size_t used_ = 0;
};

}  // namespace

// A point as the formatter needs it: numbers, and indexes of shared text.
struct MetricListWriter::Point {
  double value;
  int64_t timestamp;
  int64_t step;
  uint32_t prefix;
  uint32_t suffix;
};

namespace {
constexpr uint32_t kNoSuffix = UINT32_MAX;
}  // namespace

// Formats blocks of points into the body, on its own thread once started.
struct MetricListWriter::Formatter {
  // A point with a short key and full-precision numbers takes about 85
  // bytes, 130 with its run id: sized to fit, so that the body is not copied
  // into a bigger buffer at its very end.
  Formatter(size_t expected_points, bool with_run_id)
      : body(std::min<size_t>(expected_points, size_t{1} << 20) * (with_run_id ? 144 : 96) + 256) {
    body.Write("{\"metrics\":[");
  }

  void Format(const std::vector<Point>& points) {
    constexpr std::string_view kTimestamp = ",\"timestamp\":";
    constexpr std::string_view kStep = ",\"step\":";
    // A deque never moves its strings, so views taken under the lock stay
    // valid while the reading thread appends more.
    std::vector<std::string_view> prefix_text, suffix_text;
    {
      MutexLock lock(&strings_mu);
      prefix_text.assign(prefixes.begin(), prefixes.end());
      suffix_text.assign(suffixes.begin(), suffixes.end());
    }
    for (const Point& point : points) {
      std::string_view prefix = prefix_text[point.prefix];
      if (count++ == 0) prefix.remove_prefix(1);
      body.Write(prefix);
      char* p = body.Room(3 * json::kMaxNumberChars + kTimestamp.size() + kStep.size());
      p = json::FormatDouble(p, point.value);
      p = std::copy(kTimestamp.begin(), kTimestamp.end(), p);
      p = json::FormatInt(p, point.timestamp);
      p = std::copy(kStep.begin(), kStep.end(), p);
      body.Commit(json::FormatInt(p, point.step));
      if (point.suffix != kNoSuffix) body.Write(suffix_text[point.suffix]);
      body.Write("}");
    }
  }

  // The formatter thread: formats queued blocks until told no more come.
  void Run() {
    for (;;) {
      std::vector<Point> points;
      {
        MutexLock lock(&mu);
        while (queue.empty() && !closed) cv.Wait();
        if (queue.empty()) return;
        points = std::move(queue.front());
        queue.pop_front();
      }
      Format(points);
    }
  }

  void Push(std::vector<Point> points) {
    if (thread == nullptr && !inline_formatting) {
      StatusOr<std::unique_ptr<Thread>> started =
          Env::Default()->StartThread("metric-format", [this] { Run(); });
      if (started.ok()) {
        thread = std::move(*started);
      } else {
        inline_formatting = true;  // no thread to spare: format here, slower but answered
      }
    }
    if (inline_formatting) {
      Format(points);
      return;
    }
    {
      MutexLock lock(&mu);
      queue.push_back(std::move(points));
    }
    cv.Signal();
  }

  // Waits until every pushed block is formatted.
  void Close() {
    {
      MutexLock lock(&mu);
      closed = true;
    }
    cv.Signal();
    if (thread != nullptr) thread->Join();
  }

  BodyText body;  // Written only by the formatting thread until Close returns.
  size_t count = 0;
  // Escaped text shared by many points, appended to by the reading thread:
  // ,{"key":"<key>","value":  and  ,"run_id":"<id>"
  Mutex strings_mu;
  std::deque<std::string> prefixes GUARDED_BY(strings_mu);
  std::deque<std::string> suffixes GUARDED_BY(strings_mu);

  Mutex mu;
  CondVar cv{&mu};
  std::deque<std::vector<Point>> queue GUARDED_BY(mu);
  bool closed GUARDED_BY(mu) = false;
  // Used by the reading thread only.
  std::unique_ptr<Thread> thread;
  bool inline_formatting = false;
};

MetricListWriter::MetricListWriter(bool with_run_id, size_t expected_points)
    : with_run_id_(with_run_id),
      formatter_(std::make_unique<Formatter>(expected_points, with_run_id)) {
  block_.reserve(kBlockPoints);
}

MetricListWriter::~MetricListWriter() { formatter_->Close(); }

void MetricListWriter::Add(const tracking::Metric& m) {
  // A list is usually one key's points (and one run's): escape each once.
  if (prefix_count_ == 0 || m.key != last_key_) {
    last_key_ = m.key;
    std::string prefix = ",{\"key\":";
    json::AppendString(prefix, m.key);
    prefix += ",\"value\":";
    MutexLock lock(&formatter_->strings_mu);
    formatter_->prefixes.push_back(std::move(prefix));
    prefix_count_ = formatter_->prefixes.size();
  }
  if (with_run_id_ && (suffix_count_ == 0 || m.run_id != last_run_id_)) {
    last_run_id_ = m.run_id;
    std::string suffix = ",\"run_id\":";
    json::AppendString(suffix, m.run_id);
    MutexLock lock(&formatter_->strings_mu);
    formatter_->suffixes.push_back(std::move(suffix));
    suffix_count_ = formatter_->suffixes.size();
  }
  block_.push_back({m.value, m.timestamp, m.step, static_cast<uint32_t>(prefix_count_ - 1),
                    with_run_id_ ? static_cast<uint32_t>(suffix_count_ - 1) : kNoSuffix});
  if (block_.size() == kBlockPoints) {
    formatter_->Push(std::move(block_));
    block_ = {};
    block_.reserve(kBlockPoints);
  }
}

http::HttpResponse MetricListWriter::Finish(const std::string& next_page_token) && {
  formatter_->Close();
  formatter_->Format(block_);  // The tail, here: the thread is done.
  BodyText& body = formatter_->body;
  body.Write("]");
  if (!next_page_token.empty()) {
    std::string token = ",\"next_page_token\":";
    json::AppendString(token, next_page_token);
    body.Write(token);
  }
  body.Write("}");
  return http::HttpResponse::Json(200, std::move(body).Take());
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
  if (!run.model_inputs.empty()) {
    w.Key("model_inputs");
    w.StartArray();
    for (const tracking::RunModelLink& link : run.model_inputs) {
      w.StartObject();
      Field(w, "model_id", link.model_id);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  // MLflow 3: the models the run produced (2.x clients ignore the field).
  w.Key("outputs");
  w.StartObject();
  if (!run.model_outputs.empty()) {
    w.Key("model_outputs");
    w.StartArray();
    for (const tracking::RunModelLink& link : run.model_outputs) {
      w.StartObject();
      Field(w, "model_id", link.model_id);
      Field(w, "step", link.step);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  w.EndObject();
}

// MLflow's LoggedModel JSON: empty optional fields are left out, as
// protobuf's JSON mapping leaves out unset fields.
void WriteLoggedModel(json::Writer& w, const tracking::LoggedModel& m) {
  w.StartObject();
  w.Key("info");
  w.StartObject();
  Field(w, "model_id", m.model_id);
  Field(w, "experiment_id", m.experiment_id);
  Field(w, "name", m.name);
  Field(w, "creation_timestamp_ms", m.creation_timestamp_ms);
  Field(w, "last_updated_timestamp_ms", m.last_updated_timestamp_ms);
  Field(w, "artifact_uri", m.artifact_uri);
  Field(w, "status", tracking::LoggedModelStatusName(m.status));
  if (!m.status_message.empty()) Field(w, "status_message", m.status_message);
  if (!m.model_type.empty()) Field(w, "model_type", m.model_type);
  if (!m.source_run_id.empty()) Field(w, "source_run_id", m.source_run_id);
  if (!m.tags.empty()) WriteKeyValues(w, "tags", m.tags);
  w.EndObject();
  w.Key("data");
  w.StartObject();
  if (!m.params.empty()) WriteKeyValues(w, "params", m.params);
  if (!m.metrics.empty()) {
    w.Key("metrics");
    w.StartArray();
    for (const tracking::Metric& metric : m.metrics) WriteMetric(w, metric, true);
    w.EndArray();
  }
  w.EndObject();
  w.EndObject();
}

}  // namespace cairn::mlflow
