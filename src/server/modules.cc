#include "server/modules.h"

namespace cairn::server {

// The order is the dependency order: a module uses only the services of
// those before it. Serving, pipelines and monitoring join after features.
std::vector<std::unique_ptr<Module>> ServerModules() {
  std::vector<std::unique_ptr<Module>> modules;
  modules.push_back(NewPlatformModule());
  modules.push_back(NewTrackingModule());
  modules.push_back(NewRegistryModule());
  modules.push_back(NewFeaturesModule());
  modules.push_back(NewServingModule());
  modules.push_back(NewGrpcInferenceModule());
  return modules;
}

}  // namespace cairn::server
