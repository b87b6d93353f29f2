// The deployments serving a model version, in the registry's lineage: the
// server reports what its deployments have loaded; the offline `cairn
// lineage` command what the stored deployments name.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "lineage/lineage_service.h"

namespace cairn::server {

// One variant serving a registry version.
struct ServedVersion {
  std::string deployment;
  std::string variant;
  std::string model_uri;
  bool shadow = false;
  int64_t weight = 0;
  std::string registered_model;
  std::string version;
};

// Adds "served by" edges from a version to the variants `served` lists.
void AddServingLineage(lineage::LineageService* lineage,
                       std::function<std::vector<ServedVersion>()> served);

}  // namespace cairn::server
