// Reads XGBoost model files (JSON and UBJSON, as XGBoost 1.6 to 3.x write
// them) into a TreeEnsemble.
//
// Supported: gbtree and dart boosters; regression, binary, multiclass,
// count, survival and ranking objectives; numeric and categorical splits;
// missing values. gblinear, vector-leaf (multi_strategy) trees and the legacy
// binary format are refused with a message saying what to use instead (the
// legacy format goes through the XGBoost C API: xgboost/booster.h).
//
// Every array is checked against the tree's node count, child links are
// checked to form a tree (a hostile file cannot make prediction loop or read
// out of bounds), and split features must be below num_feature.
#pragma once

#include <string_view>

#include "core/status.h"
#include "trees/tree_ensemble.h"

namespace cairn::trees {

enum class ModelFileFormat { kJson, kUbjson, kLegacyBinary };

// Tells the three formats apart by their first bytes.
ModelFileFormat DetectXGBoostFormat(std::string_view bytes);

// Returns the compiled ensemble. InvalidArgument names the field that is
// wrong (e.g. "trees[3].left_children: 7 entries, num_nodes is 9");
// Unimplemented names the unsupported feature and the alternative.
StatusOr<TreeEnsemble> ReadXGBoostModel(std::string_view bytes);

}  // namespace cairn::trees
