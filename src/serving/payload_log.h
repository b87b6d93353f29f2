// The payload log: what deployments were asked and answered, for monitoring
// (drift against the training profile, performance once labels arrive) and
// for audits. Requests hand records to a bounded in-memory queue and go on;
// one writer thread drains it to rotating JSON Lines files and, when asked,
// to a CloudEvents HTTP sink in KServe's payload-logger format. A full queue
// drops the record and counts it: logging never blocks or fails a request.
//
// Files: <dir>/payloads-<UTC time>-<sequence>.jsonl, each at most
// max_file_bytes, the oldest removed beyond max_files. One record per line
// (docs/payload-log.md has the fields):
//
//   {"time":"2026-12-07T16:40:00.123456Z","deployment":"churn","variant":"stable",
//    "model_version":"3","request_id":"c0ffee-17","shadow":false,"status":"ok",
//    "latency_ms":0.011,"inputs":[{"name":"x","datatype":"FP32","shape":[1,3],
//    "data":[0.1,0.2,0.3]}],"outputs":[{"name":"predict","datatype":"FP32",
//    "shape":[1],"data":[0.73]}]}
//
// Thread-safety: Append and Flush may be called from any thread.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "core/mutex.h"
#include "core/status.h"
#include "http/client.h"
#include "metrics/metrics.h"
#include "serving/tensor.h"

namespace cairn::serving {

struct PayloadRecord {
  int64_t time_micros = 0;
  std::string deployment;
  std::string variant;
  std::string model_version;
  std::string request_id;
  bool shadow = false;         // a shadow's answer (never returned to the caller)
  Status outcome;              // OK, or why the request failed
  int64_t latency_nanos = 0;   // the model's compute time
  std::vector<Tensor> inputs;  // as the model got them (empty when the body did not parse)
  std::vector<Tensor> outputs;
  // With feature enrichment: the request's own inputs (entity keys and
  // request fields) the model's inputs were made from; empty otherwise.
  std::vector<Tensor> entities;

  // Bytes the record holds in the queue (what the queue's bound counts).
  size_t Bytes() const;
};

struct PayloadLogOptions {
  std::string dir;
  uint64_t max_file_bytes = 64ull << 20;
  int max_files = 16;
  size_t max_pending_bytes = 64ull << 20;
  // http://host:port/path of a CloudEvents sink ("" for none).
  std::string cloudevents_url;
};

// A record as the request path has it: views of the request's own values,
// valid during Append, so nothing is copied for the log file.
struct PayloadView {
  int64_t time_micros = 0;
  std::string_view deployment;
  std::string_view variant;
  std::string_view model_version;
  std::string_view request_id;
  bool shadow = false;
  const Status* outcome = nullptr;  // null: OK
  int64_t latency_nanos = 0;
  const std::vector<Tensor>* inputs = nullptr;  // null: none
  const std::vector<Tensor>* outputs = nullptr;
  const std::vector<Tensor>* entities = nullptr;  // null: none

  static PayloadView Of(const PayloadRecord& record);
  PayloadRecord Copy() const;
};

// One record as its JSON line (without the newline).
std::string PayloadRecordJson(const PayloadView& record);
inline std::string PayloadRecordJson(const PayloadRecord& record) {
  return PayloadRecordJson(PayloadView::Of(record));
}

class PayloadLog {
 public:
  // Creates `options.dir` and starts the writer thread. Errors:
  // InvalidArgument for a bad sink URL or limits; Unavailable when the
  // folder or thread cannot be made.
  static StatusOr<std::unique_ptr<PayloadLog>> Open(Env* env, PayloadLogOptions options,
                                                    metrics::Registry* registry = nullptr);
  // Writes what is queued, then stops.
  ~PayloadLog();
  PayloadLog(const PayloadLog&) = delete;
  PayloadLog& operator=(const PayloadLog&) = delete;

  // Queues `record` (its JSON line is made here, on the caller's thread;
  // the record is copied only for a CloudEvents sink); false (and counted)
  // when the queue is full.
  bool Append(const PayloadView& record);
  bool Append(const PayloadRecord& record) { return Append(PayloadView::Of(record)); }
  // Returns when every record appended before the call is written (files
  // and sink).
  void Flush();

  const std::string& dir() const { return options_.dir; }
  int64_t dropped() const;

 private:
  PayloadLog(Env* env, PayloadLogOptions options, metrics::Registry* registry);
  void WriterLoop();
  struct Entry {
    std::string line;                   // with its newline
    std::optional<PayloadRecord> sink;  // for the CloudEvents sink, when there is one
    size_t bytes = 0;
  };
  void Write(const std::vector<Entry>& batch);
  Status WriteLines(const std::string& lines);
  Status Rotate();
  void SendToSink(const PayloadRecord& record);

  Env* env_;
  PayloadLogOptions options_;
  std::optional<http::HttpAddress> sink_;
  metrics::Counter* written_ = nullptr;
  metrics::Counter* dropped_counter_ = nullptr;
  metrics::Counter* write_errors_ = nullptr;
  metrics::Counter* sink_errors_ = nullptr;

  // The writer drains the queue every kWriteEveryMillis, or as soon as it
  // holds kWakeRecords records or someone flushes.
  static constexpr int kWriteEveryMillis = 20;
  static constexpr size_t kWakeRecords = 1024;

  mutable Mutex mu_;
  CondVar wake_{&mu_};
  CondVar flushed_{&mu_};
  std::deque<Entry> queue_ GUARDED_BY(mu_);
  size_t queued_bytes_ GUARDED_BY(mu_) = 0;
  uint64_t appended_ GUARDED_BY(mu_) = 0;  // records ever accepted
  uint64_t written_count_ GUARDED_BY(mu_) = 0;
  int64_t dropped_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  int flush_waiters_ GUARDED_BY(mu_) = 0;

  // Touched by the writer thread only.
  std::FILE* file_ = nullptr;
  std::string file_path_;
  uint64_t file_bytes_ = 0;
  uint64_t sequence_ = 0;

  std::unique_ptr<Thread> writer_;
};

}  // namespace cairn::serving
