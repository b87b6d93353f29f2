// Search over registered models and model versions: MLflow's filter grammar
// (search_filter.h with the registry's rules) turned into SQL with every user
// value bound, MLflow's orders and limits, and MLflow 3's prompt exclusion.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "registry/registry_service.h"
#include "store/metadata_store.h"
#include "tracking/run_search.h"

namespace cairn::registry {

// SELECT m.model_key of one page of registered models at `offset`, one row
// more than max_results so the caller can tell whether another page exists.
// Errors: InvalidArgument (MLflow's messages) for a bad filter, order_by or
// max_results.
StatusOr<tracking::SqlQuery> BuildRegisteredModelSearch(const SearchRequest& request,
                                                        store::Dialect dialect, int64_t offset);

// SELECT v.model_key, v.version of one page of live model versions, as above.
StatusOr<tracking::SqlQuery> BuildModelVersionSearch(const SearchRequest& request,
                                                     store::Dialect dialect, int64_t offset);

}  // namespace cairn::registry
