// Fuzzes the gRPC inference protocol's request decoding (grpc_tensors.h):
// protobuf's parser over arbitrary bytes, then the checks that turn a
// ModelInferRequest into tensors (raw and typed contents, shapes, element
// ranges, BYTES lengths). Beyond "no crash": a refusal is InvalidArgument,
// every decoded tensor holds exactly what its shape says, and encoding the
// tensors back as outputs keeps every element.
#include <cstddef>
#include <cstdint>

#include "grpc_inference/grpc_tensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  inference::ModelInferRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  auto decoded = cairn::grpc_inference::DecodeInferRequest(request);
  if (!decoded.ok()) {
    if (decoded.status().code() != cairn::StatusCode::kInvalidArgument) __builtin_trap();
    return 0;
  }
  size_t elements = 0;
  for (const cairn::serving::Tensor& t : decoded->inputs) {
    if (!cairn::serving::CheckShape(t, "input").ok()) __builtin_trap();
    elements += t.Size();
  }
  inference::ModelInferResponse response;
  if (!cairn::grpc_inference::EncodeInferResponse(decoded->inputs, {}, &response).ok()) {
    __builtin_trap();
  }
  if (response.outputs_size() != static_cast<int>(decoded->inputs.size())) __builtin_trap();
  size_t raw_elements = 0;
  for (int i = 0; i < response.outputs_size(); ++i) {
    cairn::serving::Tensor back;
    auto type = cairn::serving::ParseDataType(response.outputs(i).datatype());
    if (!type) __builtin_trap();
    back.datatype = *type;
    if (!cairn::serving::ReadRawElements(response.raw_output_contents(i), "output", &back).ok()) {
      __builtin_trap();
    }
    raw_elements += back.Size();
  }
  if (raw_elements != elements) __builtin_trap();
  return 0;
}
