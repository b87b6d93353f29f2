#include "xgboost/booster.h"

#include <xgboost/c_api.h>

#include <string>

namespace cairn::xgboost {

namespace {

Status LastError(const std::string& what) {
  return InvalidArgument("XGBoost: " + what + ": " + XGBGetLastError());
}

// Owns a DMatrixHandle.
class Matrix {
 public:
  Matrix() = default;
  ~Matrix() {
    if (handle_ != nullptr) XGDMatrixFree(handle_);
  }
  Matrix(const Matrix&) = delete;
  Matrix& operator=(const Matrix&) = delete;
  DMatrixHandle* out() { return &handle_; }
  DMatrixHandle get() const { return handle_; }

 private:
  DMatrixHandle handle_ = nullptr;
};

// XGBoost's array interface for a dense float32 matrix (pointer passed as a number).
std::string ArrayInterface(const float* data, size_t rows, size_t columns) {
  return R"({"data": [)" + std::to_string(reinterpret_cast<uintptr_t>(data)) +
         R"(, true], "shape": [)" + std::to_string(rows) + ", " + std::to_string(columns) +
         R"(], "typestr": "<f4", "version": 3})";
}

}  // namespace

StatusOr<std::unique_ptr<Booster>> Booster::Load(std::string_view bytes) {
  BoosterHandle handle = nullptr;
  if (XGBoosterCreate(nullptr, 0, &handle) != 0) return LastError("creating a booster");
  std::unique_ptr<Booster> booster(new Booster(handle));
  if (XGBoosterLoadModelFromBuffer(handle, bytes.data(), bytes.size()) != 0)
    return LastError("loading the model");
  return booster;
}

StatusOr<std::unique_ptr<Booster>> Booster::Train(
    const TrainingSet& data, const std::vector<std::pair<std::string, std::string>>& params,
    int rounds) {
  if (data.features.size() != data.rows * data.columns || data.labels.size() % data.rows != 0) {
    return InvalidArgument(
        "XGBoost training set: features must be rows x columns and labels a multiple of rows");
  }
  Matrix train;
  std::string interface = ArrayInterface(data.features.data(), data.rows, data.columns);
  if (XGDMatrixCreateFromDense(interface.c_str(), R"({"missing": NaN, "nthread": 1})",
                               train.out()) != 0) {
    return LastError("building the training matrix");
  }
  if (XGDMatrixSetFloatInfo(train.get(), "label", data.labels.data(), data.labels.size()) != 0) {
    return LastError("setting labels");
  }
  if (!data.categorical.empty()) {
    std::vector<std::string> types(data.columns, "q");
    for (size_t c : data.categorical) types.at(c) = "c";
    std::vector<const char*> pointers;
    for (const std::string& t : types) pointers.push_back(t.c_str());
    if (XGDMatrixSetStrFeatureInfo(train.get(), "feature_type", pointers.data(), pointers.size()) !=
        0) {
      return LastError("setting feature types");
    }
  }
  BoosterHandle handle = nullptr;
  DMatrixHandle matrices[] = {train.get()};
  if (XGBoosterCreate(matrices, 1, &handle) != 0) return LastError("creating a booster");
  std::unique_ptr<Booster> booster(new Booster(handle));
  for (const auto& [name, value] : params) {
    if (XGBoosterSetParam(handle, name.c_str(), value.c_str()) != 0)
      return LastError("parameter " + name);
  }
  for (int i = 0; i < rounds; ++i) {
    if (XGBoosterUpdateOneIter(handle, i, train.get()) != 0)
      return LastError("training round " + std::to_string(i));
  }
  return booster;
}

Booster::~Booster() { XGBoosterFree(handle_); }

StatusOr<std::string> Booster::Save(std::string_view format) const {
  std::string config = R"({"format": ")" + std::string(format) + R"("})";
  bst_ulong length = 0;
  const char* bytes = nullptr;
  if (XGBoosterSaveModelToBuffer(handle_, config.c_str(), &length, &bytes) != 0)
    return LastError("saving the model");
  return std::string(bytes, length);
}

StatusOr<std::vector<float>> Booster::Predict(std::span<const float> rows, size_t num_rows,
                                              size_t num_features, bool margin, Path path) const {
  return PredictType(rows, num_rows, num_features, margin ? 1 : 0, path);
}

StatusOr<std::vector<float>> Booster::PredictContributions(std::span<const float> rows,
                                                           size_t num_rows,
                                                           size_t num_features) const {
  return PredictType(rows, num_rows, num_features, 2, Path::kDMatrix);
}

StatusOr<std::vector<float>> Booster::PredictType(std::span<const float> rows, size_t num_rows,
                                                  size_t num_features, int type, Path path) const {
  if (rows.size() != num_rows * num_features)
    return InvalidArgument("XGBoost predict: rows must be rows x features");
  std::string interface = ArrayInterface(rows.data(), num_rows, num_features);
  std::string config =
      std::string(R"({"type": )") + std::to_string(type) +
      R"(, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false,)"
      R"( "missing": NaN, "cache_id": 0})";
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* result = nullptr;
  if (path == Path::kInplace) {
    if (XGBoosterPredictFromDense(handle_, interface.c_str(), config.c_str(), nullptr, &shape,
                                  &dims, &result) != 0) {
      return LastError("predicting");
    }
  } else {
    Matrix matrix;
    if (XGDMatrixCreateFromDense(interface.c_str(), R"({"missing": NaN, "nthread": 1})",
                                 matrix.out()) != 0) {
      return LastError("building the prediction matrix");
    }
    if (XGBoosterPredictFromDMatrix(handle_, matrix.get(), config.c_str(), &shape, &dims,
                                    &result) != 0) {
      return LastError("predicting");
    }
  }
  size_t count = 1;
  for (bst_ulong d = 0; d < dims; ++d) count *= shape[d];
  return std::vector<float>(result, result + count);
}

StatusOr<std::string> ConvertToJson(std::string_view bytes) {
  ASSIGN_OR_RETURN(std::unique_ptr<Booster> booster, Booster::Load(bytes));
  return booster->Save("json");
}

}  // namespace cairn::xgboost
