// An XGBoost booster through libxgboost's C API: reads the legacy binary
// format the native evaluator does not (and converts it to JSON for it),
// serves as the fallback engine for models the native evaluator refuses, and
// trains (tests use it as the oracle the native evaluator must equal).
//
// A Booster is not thread-safe: XGBoost's C API keeps per-booster prediction
// buffers, so callers serialize calls on one Booster (one per worker thread, or
// a mutex). Different Boosters may be used concurrently.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace cairn::xgboost {

class Booster {
 public:
  // A model in any format XGBoost reads (legacy binary, JSON, UBJSON).
  // InvalidArgument carries XGBoost's own message.
  static StatusOr<std::unique_ptr<Booster>> Load(std::string_view bytes);

  // Trains on a dense row-major matrix (NaN = missing). `params` are passed
  // through as XGBoost's string parameters. `categorical` lists the feature
  // indexes to treat as categorical (needs enable_categorical=true).
  struct TrainingSet {
    std::span<const float> features;  // rows x columns
    size_t rows = 0;
    size_t columns = 0;
    std::span<const float> labels;
    std::vector<size_t> categorical;
  };
  static StatusOr<std::unique_ptr<Booster>> Train(
      const TrainingSet& data, const std::vector<std::pair<std::string, std::string>>& params,
      int rounds);

  ~Booster();
  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;

  // The model in "json", "ubj" or "deprecated" (legacy binary) format.
  StatusOr<std::string> Save(std::string_view format) const;

  // Predictions for a dense row-major matrix (NaN = missing): margins when
  // `margin`, else transformed. Out: rows x outputs per row.
  // XGBoost has two prediction paths that agree except for dart, whose tree
  // weights they apply with different float rounding: kDMatrix is
  // Booster.predict(DMatrix) (what MLflow's xgboost flavor calls), kInplace is
  // inplace_predict.
  enum class Path { kDMatrix, kInplace };
  StatusOr<std::vector<float>> Predict(std::span<const float> rows, size_t num_rows,
                                       size_t num_features, bool margin,
                                       Path path = Path::kDMatrix) const;
  // Booster.predict(DMatrix, pred_contribs=True): per row and output group,
  // each feature's TreeSHAP contribution and then the bias.
  StatusOr<std::vector<float>> PredictContributions(std::span<const float> rows, size_t num_rows,
                                                    size_t num_features) const;

 private:
  // XGBoost's prediction "type": 0 values, 1 margins, 2 contributions.
  StatusOr<std::vector<float>> PredictType(std::span<const float> rows, size_t num_rows,
                                           size_t num_features, int type, Path path) const;
  explicit Booster(void* handle) : handle_(handle) {}
  void* handle_;  // BoosterHandle
};

// A legacy binary (or any) XGBoost model rewritten as JSON, for the native
// evaluator.
StatusOr<std::string> ConvertToJson(std::string_view bytes);

}  // namespace cairn::xgboost
