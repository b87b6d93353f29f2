// Loads an MLflow model folder from the artifact store into a ServedModel,
// choosing the engine by flavor: `xgboost` runs on the native tree evaluator
// (legacy binary files are converted through libxgboost first). A folder no
// engine here can run is refused naming its flavors and the options.
//
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <memory>
#include <string>

#include "artifacts/artifact_store.h"
#include "core/env.h"
#include "core/status.h"
#include "serving/mlmodel.h"
#include "serving/served_model.h"

namespace cairn::serving {

// Model files larger than this are refused (a memory budget, not a format limit).
inline constexpr uint64_t kMaxModelFileBytes = 2ull << 30;

struct LoadedModel {
  std::unique_ptr<ServedModel> model;
  MlModel mlmodel;
  std::string flavor;  // the flavor served ("xgboost")
};

// `dir` is the model folder's path in `store` (holding MLmodel).
// Errors: NotFound naming the missing MLmodel or data file; InvalidArgument
// for a broken MLmodel or model file (naming it); Unimplemented for flavors
// with no engine here.
StatusOr<LoadedModel> LoadModelFolder(artifacts::ArtifactStore& store, const std::string& dir,
                                      Env* env);

}  // namespace cairn::serving
