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

namespace cairn::search {
struct FilterClause;
}  // namespace cairn::search

namespace cairn::tracking {

// "(?, ?, ?)" for n values.
std::string InList(size_t n);
// "<column> <op> ?" for a string clause (=, !=, LIKE, ILIKE, IN, NOT IN) with
// its values appended to `params`, the same on SQLite and PostgreSQL.
std::string StringComparison(const std::string& column, const search::FilterClause& clause,
                             store::Dialect dialect, std::vector<store::SqlValue>* params);

struct SqlQuery {
  std::string sql;
  std::vector<store::SqlValue> params;
};

// A search (of runs, of logged models) as ordered segments: the result is
// the first segment's rows in its order, then the second's, and so on. Each
// is a SELECT of one integer key with its ORDER BY and no LIMIT. Splitting a
// search ordered by a metric, param or tag by MLflow's ranks (value, NaN,
// missing) lets the database read the first page from an index in order
// instead of sorting every match.
struct SegmentedSearch {
  std::vector<SqlQuery> segments;
};

// Parses the request's filter and order_by and plans the search. Reads the
// store on SQLite to judge how selective each filter is.
// Errors: InvalidArgument (MLflow's messages) for a bad filter or order_by.
StatusOr<SegmentedSearch> PlanRunSearch(store::SqlSession& db, const SearchRunsRequest& request,
                                        const std::vector<int64_t>& experiment_keys);
// Up to `limit` keys from `offset` in the plan's result.
StatusOr<std::vector<int64_t>> ReadSegmentedPage(store::SqlSession& db, const SegmentedSearch& plan,
                                                 int64_t offset, int64_t limit);

// SELECT of experiment_id for the page at `offset`, one row more than
// max_results so the caller can tell whether another page exists.
StatusOr<SqlQuery> BuildExperimentSearchQuery(const SearchExperimentsRequest& request,
                                              store::Dialect dialect, int64_t offset);

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
