#include "registry/entities.h"

#include <array>

#include "core/strings.h"

namespace cairn::registry {
namespace {

constexpr std::array<std::string_view, 4> kStageNames = {"None", "Staging", "Production",
                                                         "Archived"};

}  // namespace

std::string_view StageName(Stage stage) { return kStageNames[static_cast<size_t>(stage)]; }

StatusOr<Stage> ParseStage(std::string_view text) {
  for (size_t i = 0; i < kStageNames.size(); ++i) {
    if (EqualsIgnoreCase(kStageNames[i], text)) return static_cast<Stage>(i);
  }
  return InvalidArgument("Invalid Model Version stage: " + std::string(text) +
                         ". Value must be one of None, Staging, Production, Archived.");
}

}  // namespace cairn::registry
