// The MLmodel file of an MLflow model folder: which flavors it has (and the
// files each names) and its signature, as the MLflow clients 2.x and 3.x
// write it.
//
// Thread-safety: values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cairn::serving {

// One column or tensor of an MLflow signature.
struct SignatureField {
  std::string name;            // "" for an unnamed tensor spec
  std::string type;            // column type ("double", "long", "string", ...) or "tensor"
  std::string dtype;           // tensor specs: numpy dtype ("float32", ...)
  std::vector<int64_t> shape;  // tensor specs
  bool required = true;
};

struct MlModel {
  // flavor name -> its settings as flat strings ("data" -> "model.xgb",
  // "model_format" -> "xgb"); nested settings are left out.
  std::map<std::string, std::map<std::string, std::string>> flavors;
  std::vector<SignatureField> inputs;  // empty without a signature
  std::vector<SignatureField> outputs;
  std::string mlflow_version;
  std::string run_id;

  bool HasFlavor(std::string_view name) const { return flavors.contains(std::string(name)); }
  // A flavor's setting, or "".
  std::string Setting(std::string_view flavor, std::string_view key) const;
};

// Parses MLmodel text. InvalidArgument names `source` and what is wrong
// (not YAML, no flavors, a signature that is not MLflow's JSON).
StatusOr<MlModel> ParseMlModel(std::string_view text, std::string_view source);

}  // namespace cairn::serving
