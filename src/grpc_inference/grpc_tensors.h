// The gRPC inference protocol's messages into serving::Tensor values and
// back: inputs as raw contents (one entry per input, the binary tensor
// form) or typed contents (the repeated field matching the datatype), each
// checked against its shape and datatype; outputs always as raw contents,
// as Triton answers (tritonclient reads both).
//
// Errors name the input and what was expected, as the HTTP protocol's do.
//
// Thread-safety: stateless.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "grpc_inference/inference.pb.h"
#include "serving/tensor.h"

namespace cairn::grpc_inference {

struct DecodedInferRequest {
  std::vector<serving::Tensor> inputs;
  std::vector<std::string> outputs;  // requested by name; empty: all
  bool explain = false;              // parameters pred_contribs or explain: true
};

// Errors: InvalidArgument naming the field ("inputs[0] 'x': ...").
StatusOr<DecodedInferRequest> DecodeInferRequest(const inference::ModelInferRequest& request);

// Fills the response's outputs (those `wanted` names, in that order; all
// when empty) as raw contents. Errors: InvalidArgument naming a requested
// output the model does not give, and the ones it does.
Status EncodeInferResponse(std::vector<serving::Tensor> outputs,
                           const std::vector<std::string>& wanted,
                           inference::ModelInferResponse* response);

}  // namespace cairn::grpc_inference
