// Fuzzes the XGBoost model reader (JSON and UBJSON model files users upload)
// and the evaluator over what it accepts. Beyond "no crash": a refused file
// gets InvalidArgument or Unimplemented; an accepted one predicts rows of
// ordinary, missing and extreme values without reading out of bounds or
// looping (the sanitizers and libFuzzer's timeout catch both).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "trees/xgboost_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto model = cairn::trees::ReadXGBoostModel(bytes);
  if (!model.ok()) {
    auto code = model.status().code();
    if (code != cairn::StatusCode::kInvalidArgument && code != cairn::StatusCode::kUnimplemented) {
      __builtin_trap();
    }
    return 0;
  }
  const auto features = static_cast<size_t>(model->num_features());
  const auto groups = static_cast<size_t>(model->num_groups());
  if (features > 4096 || groups > 4096) return 0;  // valid, but too big to be worth predicting here
  const float values[] = {0.0f,
                          -1.5f,
                          3.0f,
                          std::numeric_limits<float>::quiet_NaN(),
                          std::numeric_limits<float>::infinity(),
                          1e30f,
                          7.0f,
                          31.0f,
                          32.0f};
  constexpr size_t kRows = 20;  // more than one lane group, plus leftovers
  std::vector<float> rows(kRows * features);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = values[(i * 7 + i / 3) % std::size(values)];
  std::vector<float> margins(kRows * groups);
  model->PredictMargins(rows, kRows, margins);
  model->Transform(margins);
  return 0;
}
