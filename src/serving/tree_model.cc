#include "serving/tree_model.h"

#include <unordered_map>

namespace cairn::serving {

namespace {
std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

Status NumericInput(const Tensor& t) {
  if (t.datatype == DataType::kBytes) {
    return InvalidArgument("input '" + t.name +
                           "' is BYTES; this model takes numbers (FP32, FP64, INT*, BOOL)");
  }
  return Status::Ok();
}
}  // namespace

TreeModel::TreeModel(trees::TreeEnsemble ensemble, std::vector<std::string> feature_names)
    : ensemble_(std::move(ensemble)), feature_names_(std::move(feature_names)) {
  metadata_.platform = "cairn_xgboost";
  const auto features = static_cast<int64_t>(ensemble_.num_features());
  metadata_.inputs.push_back({"input-0", DataType::kFp32, {-1, features}});
  const int outputs = ensemble_.OutputsPerRow();
  metadata_.outputs.push_back(
      {"predict", DataType::kFp32,
       outputs == 1 ? std::vector<int64_t>{-1} : std::vector<int64_t>{-1, outputs}});
  metadata_.feature_names = feature_names_;
}

size_t TreeModel::MemoryBytes() const {
  size_t bytes = sizeof(*this) + ensemble_.MemoryBytes();
  for (const std::string& name : feature_names_) bytes += sizeof(std::string) + name.capacity();
  return bytes;
}

Status TreeModel::AssembleRows(const std::vector<Tensor>& inputs, std::vector<float>* rows,
                               size_t* num_rows) const {
  const auto features = static_cast<size_t>(ensemble_.num_features());
  if (inputs.empty())
    return InvalidArgument("no inputs; this model takes " + std::to_string(features) + " features");
  // Column tensors: every feature named among the inputs.
  std::unordered_map<std::string_view, const Tensor*> by_name;
  for (const Tensor& t : inputs) by_name.emplace(t.name, &t);
  size_t named = 0;
  for (const std::string& f : feature_names_) named += by_name.contains(f) ? 1 : 0;
  const bool columns = named == features;  // else one [N, F] tensor
  if (!columns) {
    if (inputs.size() != 1) {
      std::string missing;
      for (const std::string& f : feature_names_) {
        if (!by_name.contains(f)) missing += (missing.empty() ? "'" : ", '") + f + "'";
      }
      return InvalidArgument("inputs name no column of this model or leave out " + missing +
                             "; send one tensor [N, " + std::to_string(features) +
                             "] or one tensor per feature");
    }
    const Tensor& t = inputs[0];
    RETURN_IF_ERROR(NumericInput(t));
    size_t n;
    if (t.shape.size() == 2 && t.shape[1] == static_cast<int64_t>(features)) {
      n = static_cast<size_t>(t.shape[0]);
    } else if (t.shape.size() == 1 && t.shape[0] == static_cast<int64_t>(features)) {
      n = 1;
    } else {
      return InvalidArgument("input '" + t.name + "' has shape " + ShapeText(t.shape) +
                             "; this model takes [N, " + std::to_string(features) + "]");
    }
    rows->resize(n * features);
    for (size_t i = 0; i < rows->size(); ++i) (*rows)[i] = t.FloatAt(i);
    *num_rows = n;
    return Status::Ok();
  }
  size_t n = 0;
  bool first = true;
  for (const std::string& f : feature_names_) {
    const Tensor& t = *by_name.at(f);
    RETURN_IF_ERROR(NumericInput(t));
    const bool column_shape = (t.shape.size() == 1) || (t.shape.size() == 2 && t.shape[1] == 1);
    if (!column_shape) {
      return InvalidArgument("input '" + t.name + "' has shape " + ShapeText(t.shape) +
                             "; a column takes [N] or [N, 1]");
    }
    auto len = static_cast<size_t>(t.shape[0]);
    if (first) {
      n = len;
      first = false;
    } else if (len != n) {
      return InvalidArgument("input '" + t.name + "' has " + std::to_string(len) +
                             " rows, the others " + std::to_string(n));
    }
  }
  rows->resize(n * features);
  for (size_t c = 0; c < features; ++c) {
    const Tensor& t = *by_name.at(feature_names_[c]);
    for (size_t r = 0; r < n; ++r) (*rows)[r * features + c] = t.FloatAt(r);
  }
  *num_rows = n;
  return Status::Ok();
}

StatusOr<std::vector<Tensor>> TreeModel::Predict(const std::vector<Tensor>& inputs) const {
  std::vector<float> rows;
  size_t n = 0;
  RETURN_IF_ERROR(AssembleRows(inputs, &rows, &n));
  const auto groups = static_cast<size_t>(ensemble_.num_groups());
  std::vector<float> out(n * groups);
  ensemble_.PredictMargins(rows, n, out);
  ensemble_.Transform(out);
  const auto per_row = static_cast<size_t>(ensemble_.OutputsPerRow());
  out.resize(n * per_row);
  std::vector<int64_t> shape = {static_cast<int64_t>(n)};
  if (per_row > 1) shape.push_back(static_cast<int64_t>(per_row));
  std::vector<Tensor> result;
  result.push_back(Fp32Tensor("predict", std::move(shape), out));
  return result;
}

StatusOr<std::vector<Tensor>> TreeModel::Explain(const std::vector<Tensor>& inputs) const {
  if (!ensemble_.can_explain()) {
    return Unimplemented(
        "this XGBoost model file has no node covers (sum_hessian), or a tree deeper than " +
        std::to_string(trees::TreeEnsemble::kMaxExplainDepth) +
        ", so TreeSHAP cannot run; save the model with XGBoost 1.0 or later");
  }
  std::vector<float> rows;
  size_t n = 0;
  RETURN_IF_ERROR(AssembleRows(inputs, &rows, &n));
  const auto groups = static_cast<size_t>(ensemble_.num_groups());
  const auto columns = static_cast<size_t>(ensemble_.num_features()) + 1;
  std::vector<float> out(n * groups * columns);
  ensemble_.PredictContributions(rows, n, out);
  std::vector<int64_t> shape = {static_cast<int64_t>(n)};
  if (groups > 1) shape.push_back(static_cast<int64_t>(groups));
  shape.push_back(static_cast<int64_t>(columns));
  std::vector<Tensor> result;
  result.push_back(Fp32Tensor("contributions", std::move(shape), out));
  return result;
}

}  // namespace cairn::serving
