// The registry's tables (component "registry" in schema_migrations).
#pragma once

#include <vector>

#include "store/metadata_store.h"

namespace cairn::registry {

std::vector<store::Migration> RegistryMigrations();

}  // namespace cairn::registry
