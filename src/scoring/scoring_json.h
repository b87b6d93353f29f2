// MLflow's scoring protocol (`mlflow models serve`, /invocations): request
// bodies decoded into serving::Tensor values, and predictions encoded.
//
// JSON bodies carry exactly one of dataframe_split, dataframe_records,
// instances or inputs (and optional params); text/csv bodies are a header
// row and values. Named columns become one tensor per column: FP64 for
// numbers (null becomes NaN, as pandas reads it), BOOL, or BYTES for
// strings. Unnamed rows (instances/inputs as lists of lists) become one
// [N, F] FP64 tensor. Errors use MLflow's words.
//
// Thread-safety: stateless.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "serving/tensor.h"

namespace cairn::scoring {

struct ScoringRequest {
  std::vector<serving::Tensor> inputs;
  std::string params_json;  // the "params" object as sent, or ""
};

// Errors: InvalidArgument with MLflow's message (the input formats it takes).
StatusOr<ScoringRequest> ParseScoringJson(std::string_view body);
StatusOr<ScoringRequest> ParseScoringCsv(std::string_view body);

// {"predictions": [...]}: one value per row for a [N] output, a list per row
// for [N, K]; several outputs as {"predictions": {"name": [...], ...}}.
std::string WritePredictions(const std::vector<serving::Tensor>& outputs);

}  // namespace cairn::scoring
