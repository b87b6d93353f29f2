// The Open Inference Protocol v2 (KServe v2, Triton) JSON bodies: infer
// requests into serving::Tensor values, and outputs back into a response.
//
// Request data may be flat or nested as the shape; each element is checked
// against the datatype (integers in range, BOOL as true/false, BYTES as
// strings; FP16 only in the binary form). Errors name the input and element.
//
// Thread-safety: stateless.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "serving/tensor.h"

namespace cairn::kserve {

struct RequestedOutput {
  std::string name;
};

struct InferRequest {
  std::optional<std::string> id;
  std::vector<serving::Tensor> inputs;
  std::vector<RequestedOutput> outputs;  // empty: all
  std::string parameters_json;           // the request's "parameters" object, as sent ("" if none)
};

// Errors: InvalidArgument naming the field ("inputs[0].datatype: ...").
StatusOr<InferRequest> ParseInferRequest(std::string_view body);

// {"model_name", "model_version", "id", "outputs": [...]}. `outputs` are
// written in order; FP32 as the shortest text that reads back as the same float.
std::string WriteInferResponse(std::string_view model_name, std::string_view model_version,
                               const std::optional<std::string>& id,
                               const std::vector<serving::Tensor>& outputs);

}  // namespace cairn::kserve
