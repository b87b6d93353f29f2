// PythonModel: models no native engine runs (sklearn, custom
// python_function models) served by a pool of Python worker processes, each
// loading the model with the user's own MLflow (mlflow.pyfunc.load_model)
// and answering batches over a local socket.
//
// Each worker is `INTERPRETER -c <worker script> MODEL_DIR`, with the
// deployment's path first on PYTHONPATH and its end of a socket pair on fd
// 3. Messages both ways are framed: an 8-byte little-endian length, then a
// 4-byte length and a JSON header, then the tensors' raw little-endian
// bytes in header order (BYTES elements travel in the header). A worker
// first reports that the model loaded (and its signature's column names),
// or the Python error that stopped it.
//
// A request takes a free worker (waiting at most the timeout for one). A
// worker that dies, or does not answer within the timeout (it is killed),
// fails the request with 503 naming the cause, and is started again for
// the next request: no request hangs on a dead worker.
//
// Thread-safety: Predict may be called from any number of threads; at most
// `workers` calls run at once.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/mutex.h"
#include "serving/deployment_spec.h"
#include "serving/served_model.h"

namespace cairn::serving {

// A worker's reply (the message after its 8-byte length): its outputs, or
// InvalidArgument (the model called the input bad) or Internal (the model
// failed, or the reply does not decode). For Predict and the fuzz target.
StatusOr<std::vector<Tensor>> DecodeWorkerReply(std::string message);

class PythonModel : public ServedModel {
 public:
  // Starts `settings.workers` workers on the model folder `local_dir` (a
  // local copy, removed with the model when `owns_dir`) and waits until
  // each has loaded it. Errors: InvalidArgument with the Python error when
  // the model does not load; Unavailable when a worker cannot start.
  static StatusOr<std::unique_ptr<PythonModel>> Start(const PythonSettings& settings,
                                                      std::string local_dir, bool owns_dir,
                                                      Env* env);
  ~PythonModel() override;

  const ModelMetadata& metadata() const override { return metadata_; }
  StatusOr<std::vector<Tensor>> Predict(const std::vector<Tensor>& inputs) const override;
  // The workers' resident memory.
  size_t MemoryBytes() const override;
  bool blocking() const override { return true; }
  int concurrency() const override { return static_cast<int>(workers_.size()); }
  // The signature's input names the workers build DataFrames with.
  const std::vector<std::string>& columns() const { return columns_; }

  // The workers' process ids (0 for one not running), for status and tests.
  std::vector<int> worker_pids() const;

 private:
  // Used only by the request that holds it (busy_), so unguarded; pid is
  // also read by status and memory figures.
  struct Worker {
    std::atomic<int> pid{0};  // 0: not running (start it before use)
    int fd = -1;
  };
  PythonModel(const PythonSettings& settings, std::string local_dir, bool owns_dir, Env* env);
  // Starts worker `w` and waits for its model to load; `columns` (may be
  // null) gets the signature's input names. REQUIRES: w not running.
  Status StartWorker(Worker& w, std::vector<std::string>* columns) const;
  // The two halves of StartWorker: start the process, then wait for its
  // report (stopping it when the model did not load).
  Status SpawnWorker(Worker& w) const;
  Status AwaitLoaded(Worker& w, std::vector<std::string>* columns) const;
  // Kills and reaps `w`, returning how it ended ("exited with status 1",
  // "killed by signal 9").
  std::string StopWorker(Worker& w) const;
  // Takes a free worker, waiting at most the timeout. Errors: Unavailable.
  StatusOr<Worker*> Acquire() const;
  void Release(Worker* w) const;

  const PythonSettings settings_;
  const std::string dir_;
  const bool owns_dir_;
  Env* const env_;
  ModelMetadata metadata_;
  std::vector<std::string> columns_;              // the signature's input names, if any
  std::vector<std::unique_ptr<Worker>> workers_;  // fixed after Start
  mutable Mutex mu_;
  mutable CondVar free_{&mu_};
  mutable std::vector<bool> busy_ GUARDED_BY(mu_);
};

}  // namespace cairn::serving
