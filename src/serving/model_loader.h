// Loads an MLflow model folder from the artifact store into a ServedModel,
// choosing the engine by flavor: `xgboost` runs on the native tree evaluator
// (legacy binary files are converted through libxgboost first); other
// `python_function` models (sklearn, custom) on a pool of Python workers
// (python_model.h). A folder no engine here can run is refused naming its
// flavors and the options.
//
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "artifacts/artifact_store.h"
#include "core/env.h"
#include "core/status.h"
#include "serving/deployment_spec.h"
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

// What a load may use beyond the folder.
struct LoadOptions {
  // Python workers for python_function models (sklearn, custom): absent
  // when this server or deployment may not run them, for `python_refused`.
  std::optional<PythonSettings> python;
  std::string python_refused;
  // Where python models' folders are copied for their workers ("": the
  // store's spool folder).
  std::string copy_dir;
};

// `dir` is the model folder's path in `store` (holding MLmodel).
// Errors: NotFound naming the missing MLmodel or data file; InvalidArgument
// for a broken MLmodel or model file (naming it), or a python model that
// does not load (with Python's error); FailedPrecondition for a python model
// this server may not run (why); Unimplemented for flavors with no engine
// here.
StatusOr<LoadedModel> LoadModelFolder(artifacts::ArtifactStore& store, const std::string& dir,
                                      Env* env, const LoadOptions& options = {});

}  // namespace cairn::serving
