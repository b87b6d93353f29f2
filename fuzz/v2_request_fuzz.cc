// Fuzzes the KServe v2 infer request decoder and a tree model's input
// assembly behind it (what /v2/models/NAME/infer runs on a request body).
// Beyond "no crash": refusals are InvalidArgument; a decoded request's
// tensors hold exactly what their shapes say.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kserve/v2_json.h"
#include "serving/tree_model.h"
#include "trees/xgboost_reader.h"

namespace {

// A two-feature model with one split on each feature, built once.
const cairn::serving::TreeModel& Model() {
  static const auto* model = [] {
    cairn::trees::TreeEnsemble::Parts parts;
    parts.num_features = 2;
    parts.roots = {0, 3};
    parts.groups = {0, 0};
    parts.nodes = {{0.5f, 0, 1}, {1.0f, 0, 0},
                   {2.0f, 0, 0}, {-1.0f, 1 | cairn::trees::TreeEnsemble::kDefaultLeft, 4},
                   {3.0f, 0, 0}, {4.0f, 0, 0}};
    return new cairn::serving::TreeModel(cairn::trees::TreeEnsemble(std::move(parts)), {"a", "b"});
  }();
  return *model;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  // With a newline, also as the binary extension: the JSON up to it, binary after.
  if (size_t newline = body.find('\n'); newline != std::string_view::npos) {
    auto binary = cairn::kserve::ParseInferRequest(body, newline);
    if (!binary.ok() && binary.status().code() != cairn::StatusCode::kInvalidArgument)
      __builtin_trap();
    if (binary.ok()) {
      std::vector<bool> all_binary(binary->inputs.size(), true);
      (void)cairn::kserve::WriteBinaryInferResponse("m", "1", binary->id, binary->inputs,
                                                    all_binary);
    }
  }
  auto request = cairn::kserve::ParseInferRequest(body);
  if (!request.ok()) {
    if (request.status().code() != cairn::StatusCode::kInvalidArgument) __builtin_trap();
    return 0;
  }
  for (const cairn::serving::Tensor& t : request->inputs) {
    if (!cairn::serving::CheckShape(t, "input").ok()) __builtin_trap();
  }
  auto outputs = Model().Predict(request->inputs);
  if (!outputs.ok() && outputs.status().code() != cairn::StatusCode::kInvalidArgument)
    __builtin_trap();
  if (outputs.ok()) (void)cairn::kserve::WriteInferResponse("m", "1", request->id, *outputs);
  return 0;
}
