// A tree ensemble (an XGBoost model) served by the native evaluator.
//
// Inputs, as the protocols send tabular rows:
// - one tensor [N, F] (or [F] for one row) of numbers in the model's feature
//   order, whatever its name; or
// - one tensor per feature, named as the feature ([N] or [N, 1]): MLServer's
//   "pd" codec and MLflow's dataframe columns. Extra columns are ignored, as
//   MLflow's scoring server ignores them.
// Numbers of any datatype become float as XGBoost's DMatrix reads them
// (doubles rounded once to float). Output: "predict", FP32, [N] or [N, C].
//
// Thread-safety: Predict is const and safe from any number of threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "serving/served_model.h"
#include "trees/tree_ensemble.h"

namespace cairn::serving {

class TreeModel : public ServedModel {
 public:
  // `feature_names`: the model's columns in order (the XGBoost file's, else
  // the MLflow signature's, else f0, f1, ...). REQUIRES: one per feature.
  TreeModel(trees::TreeEnsemble ensemble, std::vector<std::string> feature_names);

  const ModelMetadata& metadata() const override { return metadata_; }
  StatusOr<std::vector<Tensor>> Predict(const std::vector<Tensor>& inputs) const override;
  // TreeSHAP, equal to XGBoost's pred_contribs (margin space).
  StatusOr<std::vector<Tensor>> Explain(const std::vector<Tensor>& inputs) const override;
  size_t MemoryBytes() const override;

  // Rows in model order from `inputs` (NaN where a value is missing), and
  // how many. Exposed for the batcher and tests.
  Status AssembleRows(const std::vector<Tensor>& inputs, std::vector<float>* rows,
                      size_t* num_rows) const;

 private:
  trees::TreeEnsemble ensemble_;
  std::vector<std::string> feature_names_;
  ModelMetadata metadata_;
};

}  // namespace cairn::serving
