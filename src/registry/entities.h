// Model registry entities as the domain sees them: plain values, independent
// of any wire format (the MLflow surface maps them to its JSON) or storage.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tracking/entities.h"

namespace cairn::registry {

using tracking::KeyValue;

// MLflow's model version stages. Deprecated by MLflow since 2.9 in favour of
// aliases, but clients still use them, and promotion policies gate both.
enum class Stage { kNone, kStaging, kProduction, kArchived };

// "None", "Staging", "Production", "Archived".
std::string_view StageName(Stage stage);
// Case-insensitive, as MLflow. Errors: InvalidArgument naming the valid stages.
StatusOr<Stage> ParseStage(std::string_view text);

struct ModelVersion {
  std::string name;  // The registered model's.
  int64_t version = 0;
  int64_t creation_timestamp = 0;
  int64_t last_updated_timestamp = 0;
  std::string user_id;
  Stage stage = Stage::kNone;
  std::optional<std::string> description;  // nullopt once cleared by an update.
  std::string source;                      // As the client registered it.
  std::string run_id;
  std::string run_link;
  std::string model_id;  // MLflow 3's logged model, when registered from one.
  std::string status = "READY";
  std::string status_message;
  std::vector<KeyValue> tags;
  std::vector<std::string> aliases;
  // Where the version's files are: `source` resolved once, at registration
  // (models:/..., runs:/... become the artifact location they named).
  std::string storage_location;
};

struct ModelAlias {
  std::string alias;
  int64_t version = 0;
};

struct RegisteredModel {
  std::string name;
  int64_t creation_timestamp = 0;
  int64_t last_updated_timestamp = 0;
  std::optional<std::string> description;
  // The newest live version in each stage that has one.
  std::vector<ModelVersion> latest_versions;
  std::vector<KeyValue> tags;
  std::vector<ModelAlias> aliases;
};

}  // namespace cairn::registry
