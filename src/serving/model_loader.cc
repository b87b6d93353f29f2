#include "serving/model_loader.h"

#include <filesystem>

#include "serving/python_model.h"
#include "serving/tree_model.h"
#include "trees/xgboost_reader.h"
#include "xgboost/booster.h"

namespace cairn::serving {

namespace {

std::string Join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

StatusOr<std::string> ReadArtifact(artifacts::ArtifactStore& store, const std::string& path,
                                   Env* env, uint64_t max_bytes) {
  StatusOr<std::string> local = store.LocalFile(path);
  if (!local.ok()) {
    if (local.status().code() == StatusCode::kNotFound)
      return NotFound("model file '" + path + "' is missing");
    return local.status();
  }
  StatusOr<std::string> bytes = env->ReadFile(*local, max_bytes);
  if (!bytes.ok() && bytes.status().code() == StatusCode::kResourceExhausted) {
    return ResourceExhausted("model file '" + path + "' is larger than " +
                             std::to_string(max_bytes >> 20) +
                             " MiB, the most a served model may be");
  }
  return bytes;
}

// The model's columns in order: the XGBoost file's names, else the MLflow
// signature's (when it names one column per feature), else f0, f1, ...
std::vector<std::string> FeatureNames(const trees::TreeEnsemble& ensemble, const MlModel& mlmodel) {
  const auto n = static_cast<size_t>(ensemble.num_features());
  if (ensemble.feature_names().size() == n) return ensemble.feature_names();
  std::vector<std::string> names;
  for (const SignatureField& f : mlmodel.inputs) {
    if (!f.name.empty()) names.push_back(f.name);
  }
  if (names.size() == n) return names;
  names.clear();
  for (size_t i = 0; i < n; ++i) names.push_back("f" + std::to_string(i));
  return names;
}

StatusOr<LoadedModel> LoadXGBoost(artifacts::ArtifactStore& store, const std::string& dir,
                                  MlModel mlmodel, Env* env) {
  std::string data = mlmodel.Setting("xgboost", "data");
  if (data.empty()) data = mlmodel.Setting("python_function", "data");
  if (data.empty())
    return InvalidArgument(Join(dir, "MLmodel") + ": the xgboost flavor names no 'data' file");
  // The data file lies inside the model folder: a crafted MLmodel must not
  // reach another run's files (".." is refused by the store as well).
  if (data.front() == '/' || data.find("..") != std::string::npos) {
    return InvalidArgument(Join(dir, "MLmodel") + ": the xgboost flavor's data '" + data +
                           "' must be a path inside the model folder (no absolute path, no '..')");
  }
  const std::string path = Join(dir, data);
  ASSIGN_OR_RETURN(std::string bytes, ReadArtifact(store, path, env, kMaxModelFileBytes));
  if (trees::DetectXGBoostFormat(bytes) == trees::ModelFileFormat::kLegacyBinary) {
    StatusOr<std::string> json = xgboost::ConvertToJson(bytes);
    if (!json.ok()) return InvalidArgument("model file '" + path + "': " + json.status().message());
    bytes = std::move(*json);
  }
  StatusOr<trees::TreeEnsemble> ensemble = trees::ReadXGBoostModel(bytes);
  if (!ensemble.ok()) {
    return Status(ensemble.status().code(),
                  "model file '" + path + "': " + ensemble.status().message());
  }
  std::vector<std::string> names = FeatureNames(*ensemble, mlmodel);
  LoadedModel loaded;
  loaded.model = std::make_unique<TreeModel>(std::move(*ensemble), std::move(names));
  loaded.mlmodel = std::move(mlmodel);
  loaded.flavor = "xgboost";
  return loaded;
}

// Copies the folder `dir` of `store` into the local folder `to`, at most
// kMaxModelFileBytes in all.
Status CopyFolder(artifacts::ArtifactStore& store, const std::string& dir, const std::string& to,
                  Env* env, uint64_t* copied) {
  ASSIGN_OR_RETURN(std::vector<artifacts::ArtifactEntry> entries, store.List(dir));
  std::error_code error;
  std::filesystem::create_directories(to, error);
  if (error) return Internal("cannot make '" + to + "': " + error.message());
  for (const artifacts::ArtifactEntry& e : entries) {
    const std::string name = e.path.substr(e.path.rfind('/') + 1);
    if (name.empty() || name == "." || name == "..") continue;
    if (e.is_dir) {
      RETURN_IF_ERROR(CopyFolder(store, e.path, to + "/" + name, env, copied));
      continue;
    }
    ASSIGN_OR_RETURN(std::string bytes,
                     ReadArtifact(store, e.path, env, kMaxModelFileBytes - *copied));
    *copied += bytes.size();
    RETURN_IF_ERROR(env->WriteFileAtomically(to + "/" + name, bytes));
  }
  return Status::Ok();
}

StatusOr<LoadedModel> LoadPython(artifacts::ArtifactStore& store, const std::string& dir,
                                 MlModel mlmodel, Env* env, const LoadOptions& options) {
  if (!options.python) return FailedPrecondition(options.python_refused);
  const std::string base = options.copy_dir.empty() ? store.SpoolDir() : options.copy_dir;
  const std::string local = base + "/pyfunc-" + env->RandomHex(8);
  uint64_t copied = 0;
  if (Status status = CopyFolder(store, dir, local, env, &copied); !status.ok()) {
    std::error_code ignored;
    std::filesystem::remove_all(local, ignored);
    return status;
  }
  StatusOr<std::unique_ptr<PythonModel>> model =
      PythonModel::Start(*options.python, local, /*owns_dir=*/true, env);
  if (!model.ok()) {
    std::error_code ignored;
    std::filesystem::remove_all(local, ignored);
    return model.status();
  }
  LoadedModel loaded;
  loaded.model = std::move(*model);
  loaded.mlmodel = std::move(mlmodel);
  loaded.flavor = "python_function";
  return loaded;
}

}  // namespace

StatusOr<LoadedModel> LoadModelFolder(artifacts::ArtifactStore& store, const std::string& dir,
                                      Env* env, const LoadOptions& options) {
  const std::string mlmodel_path = Join(dir, "MLmodel");
  StatusOr<std::string> text = ReadArtifact(store, mlmodel_path, env, 16 << 20);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return NotFound(
          "no MLmodel file at '" + mlmodel_path +
          "': deploy an MLflow model folder (what log_model writes), e.g. models:/NAME/1 or "
          "runs:/RUN_ID/model");
    }
    return text.status();
  }
  ASSIGN_OR_RETURN(MlModel mlmodel, ParseMlModel(*text, mlmodel_path));
  if (mlmodel.HasFlavor("xgboost")) return LoadXGBoost(store, dir, std::move(mlmodel), env);
  if (mlmodel.HasFlavor("python_function")) {
    return LoadPython(store, dir, std::move(mlmodel), env, options);
  }
  std::string flavors;
  for (const auto& [name, settings] : mlmodel.flavors)
    flavors += (flavors.empty() ? "" : ", ") + name;
  return Unimplemented("the model at '" + dir + "' has flavors [" + flavors +
                       "]; this server runs the xgboost flavor (native trees) and "
                       "python_function models (Python workers); pytorch models need "
                       "libtorch, which is not built yet");
}

}  // namespace cairn::serving
