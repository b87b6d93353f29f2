#include "serving/payload_log.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/json.h"
#include "core/log.h"
#include "core/time_format.h"
#include "http/client.h"
#include "serving/tensor_json.h"

namespace cairn::serving {

namespace {

// Records written per wake-up at most (bounds the writer's batch memory).
constexpr size_t kMaxBatch = 4096;

void AppendTensors(std::string& out, const std::vector<Tensor>& tensors) {
  out += '[';
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (i) out += ',';
    AppendTensorJson(out, tensors[i]);
  }
  out += ']';
}

}  // namespace

size_t PayloadRecord::Bytes() const {
  size_t n = sizeof(*this) + deployment.size() + variant.size() + model_version.size() +
             request_id.size() + outcome.message().size();
  for (const auto* tensors : {&inputs, &outputs, &entities}) {
    for (const Tensor& t : *tensors) {
      n += sizeof(Tensor) + t.name.size() + t.data.size() + t.shape.size() * sizeof(int64_t);
      for (const std::string& b : t.bytes) n += sizeof(std::string) + b.size();
    }
  }
  return n;
}

PayloadView PayloadView::Of(const PayloadRecord& r) {
  PayloadView v;
  v.time_micros = r.time_micros;
  v.deployment = r.deployment;
  v.variant = r.variant;
  v.model_version = r.model_version;
  v.request_id = r.request_id;
  v.shadow = r.shadow;
  v.outcome = &r.outcome;
  v.latency_nanos = r.latency_nanos;
  v.inputs = &r.inputs;
  v.outputs = &r.outputs;
  v.entities = &r.entities;
  return v;
}

PayloadRecord PayloadView::Copy() const {
  PayloadRecord r;
  r.time_micros = time_micros;
  r.deployment = std::string(deployment);
  r.variant = std::string(variant);
  r.model_version = std::string(model_version);
  r.request_id = std::string(request_id);
  r.shadow = shadow;
  if (outcome != nullptr) r.outcome = *outcome;
  r.latency_nanos = latency_nanos;
  if (inputs != nullptr) r.inputs = *inputs;
  if (outputs != nullptr) r.outputs = *outputs;
  if (entities != nullptr) r.entities = *entities;
  return r;
}

namespace {

// RFC 3339 with microseconds, the date and time of day formatted once per
// second per thread (every record of a busy second shares them).
void AppendTime(std::string& out, int64_t micros) {
  thread_local int64_t cached_second = INT64_MIN;
  thread_local std::string cached;  // "2026-12-07T16:40:00"
  const int64_t second = micros >= 0 ? micros / 1'000'000 : (micros - 999'999) / 1'000'000;
  if (second != cached_second) {
    cached = FormatRfc3339(second * 1'000'000);
    if (!cached.empty() && cached.back() == 'Z') cached.pop_back();
    cached_second = second;
  }
  char fraction[16];
  std::snprintf(fraction, sizeof fraction, ".%06lldZ",
                static_cast<long long>(micros - second * 1'000'000));
  out += '"';
  out += cached;
  out += fraction;
  out += '"';
}

}  // namespace

std::string PayloadRecordJson(const PayloadView& r) {
  std::string out;
  out.reserve(256);
  out += "{\"time\":";
  AppendTime(out, r.time_micros);
  out += ",\"deployment\":";
  json::AppendString(out, r.deployment);
  out += ",\"variant\":";
  json::AppendString(out, r.variant);
  out += ",\"model_version\":";
  json::AppendString(out, r.model_version);
  out += ",\"request_id\":";
  json::AppendString(out, r.request_id);
  out += r.shadow ? ",\"shadow\":true" : ",\"shadow\":false";
  if (r.outcome == nullptr || r.outcome->ok()) {
    out += ",\"status\":\"ok\"";
  } else {
    out += ",\"status\":\"error\",\"error_code\":";
    json::AppendString(out, StatusCodeName(r.outcome->code()));
    out += ",\"error\":";
    json::AppendString(out, r.outcome->message());
  }
  out += ",\"latency_ms\":";
  json::AppendDouble(out, static_cast<double>(r.latency_nanos) / 1e6);
  static const std::vector<Tensor> kNone;
  out += ",\"inputs\":";
  AppendTensors(out, r.inputs != nullptr ? *r.inputs : kNone);
  out += ",\"outputs\":";
  AppendTensors(out, r.outputs != nullptr ? *r.outputs : kNone);
  if (r.entities != nullptr && !r.entities->empty()) {
    out += ",\"entities\":";
    AppendTensors(out, *r.entities);
  }
  out += '}';
  return out;
}

PayloadLog::PayloadLog(Env* env, PayloadLogOptions options, metrics::Registry* registry)
    : env_(env), options_(std::move(options)) {
  if (registry == nullptr) return;
  written_ = registry->GetCounter("cairn_serving_payloads_logged_total",
                                  "Payload records written to the payload log");
  dropped_counter_ =
      registry->GetCounter("cairn_serving_payloads_dropped_total",
                           "Payload records dropped because the payload log's queue was full");
  write_errors_ = registry->GetCounter("cairn_serving_payload_write_errors_total",
                                       "Payload log batches that could not be written to disk");
  sink_errors_ = registry->GetCounter(
      "cairn_serving_payload_sink_errors_total",
      "CloudEvents the payload log's sink did not accept (unreachable or non-2xx)");
}

StatusOr<std::unique_ptr<PayloadLog>> PayloadLog::Open(Env* env, PayloadLogOptions options,
                                                       metrics::Registry* registry) {
  if (options.max_file_bytes < 4096 || options.max_files < 1) {
    return InvalidArgument("payload log: files must hold at least 4096 bytes, and keep at least 1");
  }
  std::optional<http::HttpAddress> sink;
  if (!options.cloudevents_url.empty()) {
    StatusOr<http::HttpAddress> address = http::HttpAddress::Parse(options.cloudevents_url);
    if (!address.ok()) {
      return InvalidArgument("payload log CloudEvents sink: " + address.status().message());
    }
    sink = std::move(*address);
  }
  if (Status made = env->CreateDirectories(options.dir); !made.ok()) {
    return Unavailable("payload log folder " + options.dir + ": " + made.message());
  }
  std::unique_ptr<PayloadLog> log(new PayloadLog(env, std::move(options), registry));
  log->sink_ = std::move(sink);
  PayloadLog* self = log.get();
  ASSIGN_OR_RETURN(log->writer_, env->StartThread("payload-log", [self] { self->WriterLoop(); }));
  return log;
}

PayloadLog::~PayloadLog() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  wake_.SignalAll();
  if (writer_) writer_->Join();
  if (file_ != nullptr) std::fclose(file_);
}

bool PayloadLog::Append(const PayloadView& record) {
  Entry entry;
  entry.line = PayloadRecordJson(record);
  entry.line += '\n';
  entry.bytes = sizeof(Entry) + entry.line.capacity();
  if (sink_) {
    entry.sink = record.Copy();
    entry.bytes += entry.sink->Bytes();
  }
  bool wake = false;
  {
    MutexLock lock(&mu_);
    if (queued_bytes_ + entry.bytes > options_.max_pending_bytes || stopping_) {
      ++dropped_;
      if (dropped_counter_ != nullptr) dropped_counter_->Inc();
      return false;
    }
    queued_bytes_ += entry.bytes;
    ++appended_;
    queue_.push_back(std::move(entry));
    // The writer wakes on its own every kWriteEveryMillis; a wake-up per
    // record (a futex call on the request path) cost more than the logging.
    wake = queue_.size() == kWakeRecords;
  }
  if (wake) wake_.Signal();
  return true;
}

void PayloadLog::Flush() {
  MutexLock lock(&mu_);
  const uint64_t target = appended_;
  ++flush_waiters_;
  wake_.Signal();
  while (written_count_ < target) flushed_.Wait();
  --flush_waiters_;
}

int64_t PayloadLog::dropped() const {
  MutexLock lock(&mu_);
  return dropped_;
}

void PayloadLog::WriterLoop() {
  for (;;) {
    std::vector<Entry> batch;
    {
      MutexLock lock(&mu_);
      // Batches: wait for enough records, a flush, the stop, or the period.
      if (!stopping_ && flush_waiters_ == 0 && queue_.size() < kWakeRecords) {
        wake_.WaitFor(std::chrono::milliseconds(kWriteEveryMillis));
      }
      if (queue_.empty()) {
        if (stopping_) return;
        continue;
      }
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        queued_bytes_ -= queue_.front().bytes;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    Write(batch);
    {
      MutexLock lock(&mu_);
      written_count_ += batch.size();
    }
    flushed_.SignalAll();
  }
}

void PayloadLog::Write(const std::vector<Entry>& batch) {
  std::string lines;
  size_t total = 0;
  for (const Entry& e : batch) total += e.line.size();
  lines.reserve(total);
  for (const Entry& e : batch) lines += e.line;
  if (Status written = WriteLines(lines); !written.ok()) {
    if (write_errors_ != nullptr) write_errors_->Inc();
    LogWarn("payload log: records lost",
            {{"records", std::to_string(batch.size())}, {"error", written.message()}});
  } else if (written_ != nullptr) {
    written_->Inc(batch.size());
  }
  if (sink_) {
    for (const Entry& e : batch) {
      if (e.sink) SendToSink(*e.sink);
    }
  }
}

Status PayloadLog::WriteLines(const std::string& lines) {
  if (file_ == nullptr || file_bytes_ + lines.size() > options_.max_file_bytes) {
    RETURN_IF_ERROR(Rotate());
  }
  if (std::fwrite(lines.data(), 1, lines.size(), file_) != lines.size() ||
      std::fflush(file_) != 0) {
    return Unavailable(file_path_ + ": " + std::strerror(errno));
  }
  file_bytes_ += lines.size();
  return Status::Ok();
}

Status PayloadLog::Rotate() {
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
  // Names sort by time: the oldest go first when there are too many.
  std::string stamp = FormatRfc3339(env_->NowMicros());
  for (char& c : stamp) {
    if (c == ':') c = '-';
  }
  char seq[24];
  std::snprintf(seq, sizeof seq, "%06llu", static_cast<unsigned long long>(sequence_++));
  file_path_ = options_.dir + "/payloads-" + stamp + "-" + seq + ".jsonl";
  file_ = std::fopen(file_path_.c_str(), "ae");
  if (file_ == nullptr) return Unavailable(file_path_ + ": " + std::strerror(errno));
  file_bytes_ = 0;
  StatusOr<std::vector<std::string>> names = env_->ListDirectory(options_.dir);
  if (names.ok()) {
    std::vector<std::string> logs;
    for (const std::string& n : *names) {
      if (n.rfind("payloads-", 0) == 0 && n.size() > 6 && n.ends_with(".jsonl")) logs.push_back(n);
    }
    for (size_t i = 0; i + static_cast<size_t>(options_.max_files) < logs.size(); ++i) {
      (void)env_->RemoveFile(options_.dir + "/" + logs[i]);
    }
  }
  return Status::Ok();
}

// KServe's payload logger: one CloudEvent for the request and one for the
// response, binary mode (attributes in ce- headers, the payload as body).
void PayloadLog::SendToSink(const PayloadRecord& r) {
  const http::HttpAddress* address = &*sink_;
  for (bool response : {false, true}) {
    http::ClientRequest request;
    request.method = "POST";
    request.target = address->base_path.empty() ? "/" : address->base_path;
    request.timeout = std::chrono::milliseconds(2000);
    request.headers = {
        {"Content-Type", "application/json"},
        {"ce-specversion", "1.0"},
        {"ce-id", r.request_id},
        {"ce-type", response ? "org.kubeflow.serving.inference.response"
                             : "org.kubeflow.serving.inference.request"},
        {"ce-source", "http://cairn/deployments/" + r.deployment},
        {"ce-time", FormatRfc3339(r.time_micros)},
        {"ce-inferenceservicename", r.deployment},
        {"ce-component", r.variant},
        {"ce-endpoint", r.shadow ? "shadow" : "live"},
        {"ce-modelversion", r.model_version},
    };
    std::string body;
    if (response) {
      body = "{\"model_name\":";
      json::AppendString(body, r.deployment);
      body += ",\"model_version\":";
      json::AppendString(body, r.model_version);
      body += ",\"id\":";
      json::AppendString(body, r.request_id);
      if (!r.outcome.ok()) {
        body += ",\"error\":";
        json::AppendString(body, r.outcome.message());
      }
      body += ",\"outputs\":";
      AppendTensors(body, r.outputs);
      body += '}';
    } else {
      body = "{\"id\":";
      json::AppendString(body, r.request_id);
      body += ",\"inputs\":";
      AppendTensors(body, r.inputs);
      body += '}';
    }
    request.body = std::move(body);
    StatusOr<http::ClientResponse> answer = http::Fetch(*address, request);
    if ((!answer.ok() || answer->status >= 300) && sink_errors_ != nullptr) sink_errors_->Inc();
  }
}

}  // namespace cairn::serving
