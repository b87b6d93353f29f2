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
  bool binary = false;  // "parameters": {"binary_data": true}
};

struct InferRequest {
  std::optional<std::string> id;
  std::vector<serving::Tensor> inputs;
  std::vector<RequestedOutput> outputs;  // empty: all
  std::string parameters_json;           // the request's "parameters" object, as sent ("" if none)
  bool binary_output = false;            // "parameters": {"binary_data_output": true}
};

// Errors: InvalidArgument naming the field ("inputs[0].datatype: ...").
// With the binary tensor extension, `json_length` (the
// Inference-Header-Content-Length header) says where the JSON ends; inputs
// with "parameters": {"binary_data_size": S} take the next S bytes after it,
// in order (numbers little-endian, BOOL one byte, BYTES elements each a
// 4-byte little-endian length and the bytes; FP16 only this way). Without
// it, the whole body is JSON.
StatusOr<InferRequest> ParseInferRequest(std::string_view body,
                                         std::optional<size_t> json_length = std::nullopt);

// A v2 infer answer from another server (an external endpoint): its
// outputs, read as requests' inputs are (JSON data, or the binary extension
// when `json_length`, the answer's Inference-Header-Content-Length, is
// given). Errors: InvalidArgument naming the field ("outputs[0]: ...").
struct InferResponse {
  std::string model_version;
  std::vector<serving::Tensor> outputs;
};
StatusOr<InferResponse> ParseInferResponse(std::string_view body,
                                           std::optional<size_t> json_length = std::nullopt);

// {"model_name", "model_version", "id", "outputs": [...]}. `outputs` are
// written in order; FP32 as the shortest text that reads back as the same float.
std::string WriteInferResponse(std::string_view model_name, std::string_view model_version,
                               const std::optional<std::string>& id,
                               const std::vector<serving::Tensor>& outputs);

// As WriteInferResponse, with the outputs flagged in `binary` written in the
// binary form after the JSON: the body, and the JSON's length for the
// Inference-Header-Content-Length header. REQUIRES: binary.size() == outputs.size().
struct BinaryResponse {
  std::string body;
  size_t json_length = 0;
};
BinaryResponse WriteBinaryInferResponse(std::string_view model_name, std::string_view model_version,
                                        const std::optional<std::string>& id,
                                        const std::vector<serving::Tensor>& outputs,
                                        const std::vector<bool>& binary);

}  // namespace cairn::kserve
