// ServedModel: a loaded model as the inference protocols use it, whatever
// runs it (the native tree evaluator, libxgboost, and next libtorch, Python
// workers, remote v2 endpoints).
//
// Thread-safety: Predict may be called from any number of threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "serving/tensor.h"

namespace cairn::serving {

struct TensorSpec {
  std::string name;
  DataType datatype = DataType::kFp32;
  std::vector<int64_t> shape;  // -1 for a variable dimension
};

// What the v2 model metadata endpoint reports.
struct ModelMetadata {
  std::string platform;  // "cairn_xgboost", ...
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  // The model's columns in order, when it has named ones (what
  // explanations are reported by).
  std::vector<std::string> feature_names;
};

class ServedModel {
 public:
  virtual ~ServedModel() = default;
  virtual const ModelMetadata& metadata() const = 0;

  // Outputs for `inputs` (each checked with CheckShape by the caller).
  // Errors: InvalidArgument naming the input and what was expected.
  virtual StatusOr<std::vector<Tensor>> Predict(const std::vector<Tensor>& inputs) const = 0;

  // Per-feature contributions to each row's output (TreeSHAP for tree
  // models): "contributions", FP32, [N, F + 1] with the bias last, or
  // [N, G, F + 1] for G outputs per row. Errors: as Predict; Unimplemented
  // when this model cannot explain, saying why.
  virtual StatusOr<std::vector<Tensor>> Explain(const std::vector<Tensor>& inputs) const {
    (void)inputs;
    return Unimplemented("platform " + metadata().platform + " gives no explanations");
  }

  // Bytes the loaded model holds (what a memory budget counts).
  virtual size_t MemoryBytes() const = 0;

  // Predict waits on something outside this process (a worker, a remote
  // endpoint): it must not run on an IO thread. In-process engines compute
  // in microseconds and may.
  virtual bool blocking() const { return false; }
  // Calls that run at once to good effect (a pool's workers).
  virtual int concurrency() const { return 1; }
};

}  // namespace cairn::serving
