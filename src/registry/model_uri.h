// Model URIs: how every part of Cairn names a model (registration sources,
// downloads, serving, lineage), with MLflow's meaning:
//
//   models:/<name>/<version>   a registered model version ("models:/churn/3")
//   models:/<name>/<stage>     the newest live version in a stage (any case:
//                              None, Staging, Production, Archived)
//   models:/<name>/latest      the newest live version
//   models:/<name>@<alias>     the version an alias points at
//   models:/<model_id>         an MLflow 3 logged model ("models:/m-0123...")
//   runs:/<run_id>/<path>      a folder of a run's artifacts
//
// Parsing is pure; RegistryService::ResolveModelUri looks the names up.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "registry/entities.h"

namespace cairn::registry {

struct ModelUri {
  enum class Kind { kVersion, kStage, kLatest, kAlias, kLoggedModel, kRun };
  Kind kind = Kind::kVersion;
  std::string name;  // The registered model (kVersion, kStage, kLatest, kAlias).
  int64_t version = 0;
  Stage stage = Stage::kNone;
  std::string alias;
  std::string model_id;  // kLoggedModel.
  std::string run_id;    // kRun.
  std::string path;      // kRun: the folder under the run's artifacts, "" for all.
};

// Errors: InvalidArgument saying which forms are valid.
StatusOr<ModelUri> ParseModelUri(std::string_view uri);

// True for "models:..." and "runs:..." (what ParseModelUri is for).
bool IsModelUri(std::string_view uri);

}  // namespace cairn::registry
