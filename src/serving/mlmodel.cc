#include "serving/mlmodel.h"

#include <yaml-cpp/yaml.h>

#include "core/json.h"

namespace cairn::serving {

namespace {

// A signature side: MLflow stores it as a JSON string inside the YAML.
Status ParseSignatureSide(const YAML::Node& node, std::string_view side, std::string_view source,
                          std::vector<SignatureField>* out) {
  if (!node || node.IsNull()) return Status::Ok();
  if (!node.IsScalar()) {
    return InvalidArgument(std::string(source) + ": signature." + std::string(side) +
                           " must be a JSON string");
  }
  json::Document doc;
  doc.Parse(node.as<std::string>().c_str());
  if (doc.HasParseError() || !doc.IsArray()) {
    return InvalidArgument(std::string(source) + ": signature." + std::string(side) +
                           " is not MLflow's JSON list of columns or tensors");
  }
  for (const json::Value& item : doc.GetArray()) {
    if (!item.IsObject()) continue;
    SignatureField field;
    if (item.HasMember("name") && item["name"].IsString()) field.name = item["name"].GetString();
    if (item.HasMember("type") && item["type"].IsString()) field.type = item["type"].GetString();
    if (item.HasMember("required") && item["required"].IsBool())
      field.required = item["required"].GetBool();
    if (item.HasMember("tensor-spec") && item["tensor-spec"].IsObject()) {
      const json::Value& spec = item["tensor-spec"];
      if (spec.HasMember("dtype") && spec["dtype"].IsString())
        field.dtype = spec["dtype"].GetString();
      if (spec.HasMember("shape") && spec["shape"].IsArray()) {
        for (const json::Value& d : spec["shape"].GetArray()) {
          if (d.IsInt64()) field.shape.push_back(d.GetInt64());
        }
      }
    }
    out->push_back(std::move(field));
  }
  return Status::Ok();
}

}  // namespace

std::string MlModel::Setting(std::string_view flavor, std::string_view key) const {
  auto f = flavors.find(std::string(flavor));
  if (f == flavors.end()) return "";
  auto s = f->second.find(std::string(key));
  return s == f->second.end() ? "" : s->second;
}

StatusOr<MlModel> ParseMlModel(std::string_view text, std::string_view source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string(source) + ": not YAML: " + e.what());
  }
  if (!root.IsMap())
    return InvalidArgument(std::string(source) + ": expected a mapping with 'flavors'");
  MlModel model;
  try {
    const YAML::Node flavors = root["flavors"];
    if (!flavors || !flavors.IsMap() || flavors.size() == 0) {
      return InvalidArgument(std::string(source) +
                             ": no 'flavors'; is this an MLflow model folder?");
    }
    for (const auto& flavor : flavors) {
      auto& settings = model.flavors[flavor.first.as<std::string>()];
      if (!flavor.second.IsMap()) continue;
      for (const auto& setting : flavor.second) {
        if (setting.second.IsScalar()) {
          settings[setting.first.as<std::string>()] = setting.second.as<std::string>();
        }
      }
    }
    if (root["mlflow_version"] && root["mlflow_version"].IsScalar()) {
      model.mlflow_version = root["mlflow_version"].as<std::string>();
    }
    if (root["run_id"] && root["run_id"].IsScalar())
      model.run_id = root["run_id"].as<std::string>();
    const YAML::Node signature = root["signature"];
    if (signature && signature.IsMap()) {
      RETURN_IF_ERROR(ParseSignatureSide(signature["inputs"], "inputs", source, &model.inputs));
      RETURN_IF_ERROR(ParseSignatureSide(signature["outputs"], "outputs", source, &model.outputs));
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string(source) + ": " + e.what());
  }
  return model;
}

}  // namespace cairn::serving
