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
};

class ServedModel {
 public:
  virtual ~ServedModel() = default;
  virtual const ModelMetadata& metadata() const = 0;

  // Outputs for `inputs` (each checked with CheckShape by the caller).
  // Errors: InvalidArgument naming the input and what was expected.
  virtual StatusOr<std::vector<Tensor>> Predict(const std::vector<Tensor>& inputs) const = 0;

  // Bytes the loaded model holds (what a memory budget counts).
  virtual size_t MemoryBytes() const = 0;
};

}  // namespace cairn::serving
