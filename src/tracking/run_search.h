// Query building and bulk loading for run and experiment search.
//
// Filters are parsed by search_filter.h into clauses and turned into SQL with
// every user value bound as a parameter; user text never becomes SQL.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/metadata_store.h"
#include "tracking/entities.h"
#include "tracking/tracking_service.h"

namespace cairn::tracking {

struct SqlQuery {
  std::string sql;
  std::vector<store::SqlValue> params;
};

// SELECT of run_key for the page at `offset`, one row more than max_results
// so the caller can tell whether another page exists.
StatusOr<SqlQuery> BuildRunSearchQuery(const SearchRunsRequest& request,
                                       const std::vector<int64_t>& experiment_keys, int64_t offset);
// SELECT of experiment_id, likewise.
StatusOr<SqlQuery> BuildExperimentSearchQuery(const SearchExperimentsRequest& request,
                                              int64_t offset);

// Full runs (info, params, tags, latest metrics, inputs) in the order given;
// unknown keys are skipped.
StatusOr<std::vector<Run>> LoadRunsByKey(store::SqlSession& db, const std::vector<int64_t>& keys);
StatusOr<std::vector<Run>> LoadRunsByUuid(store::SqlSession& db,
                                          const std::vector<std::string>& run_ids);

// Opaque page tokens (base64 of {"offset": N}, as MLflow's server).
// Errors: InvalidArgument for a token this server did not issue.
StatusOr<int64_t> ParsePageToken(const std::string& token);
// The token for the page after one of `returned` items at `offset`, or "" if none.
std::string NextPageToken(int64_t offset, size_t returned, bool more);

}  // namespace cairn::tracking
