// The tracking component's tables and their versioned migrations.
#pragma once

#include <vector>

#include "store/metadata_store.h"

namespace cairn::tracking {

// Migrations for component "tracking", in version order.
std::vector<store::Migration> TrackingMigrations();

}  // namespace cairn::tracking
