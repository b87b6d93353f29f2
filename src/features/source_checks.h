// Checks a feature repo against its data at plan and apply time, so that a
// typo in a path, a missing column or a key of the wrong type is reported
// with the YAML file and line that declares it, before anyone trains on it
// (it used to surface only at `historical`, pointing at a registry entry).
//
// Reads each source's schema (DuckDB binds the files' metadata, not their
// rows: fast on big files) and checks, per feature view: the source's path
// matches files, the timestamp and created columns, every join key and
// declared feature exist, and their types can hold the declared value types.
//
// Thread-safety: as offline::Engine.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "features/definitions.h"
#include "offline/engine.h"

namespace cairn::features {

// Every problem found, each naming "file:line", what the data has and the
// fix; empty when the repo and its data agree. Push sources without a batch
// source have no data to check yet.
StatusOr<std::vector<std::string>> CheckSources(offline::Engine& engine, const FeatureRepo& repo);

// As CheckSources, as one error: InvalidArgument listing the problems and
// how to skip the checks (--skip-source-checks) when the data is not
// reachable from where apply runs.
Status RequireSourcesMatch(offline::Engine& engine, const FeatureRepo& repo);

}  // namespace cairn::features
