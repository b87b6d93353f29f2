// How feature data is read offline: every source of a repo becomes a DuckDB
// view named after it, and each feature view becomes a query over its source
// with the field mapping and the view's own SQL transformation applied.
// Historical retrieval, materialization and statistics all read through
// these, so they cannot disagree on what a view's rows are.
//
// Thread-safety: as offline::Engine (one thread at a time).
#pragma once

#include <string>
#include <vector>

#include "core/env.h"
#include "core/status.h"
#include "features/definitions.h"
#include "features/online_codec.h"
#include "offline/engine.h"

namespace cairn::features {

// The column storage of a feature value type, e.g. Float32 -> kFloat.
offline::ColumnType ColumnTypeOf(ValueType type);
// Appends a feature value (null, integer, double or string) to a column of
// the matching storage.
void AppendFeatureValue(const FeatureValue& value, offline::Column* column);

// DuckDB's type for a feature value type, e.g. Float32 -> "FLOAT".
std::string SqlTypeOf(ValueType type);

// Creates (or replaces) one temporary view per source of `repo`: file sources
// read their Parquet or CSV files (globs allowed, paths relative to the repo
// root), SQL sources run their query over the other sources, push sources
// read their batch source and, with `pushed_root` (PushedRowsRoot), the rows
// pushed to them offline (their files reached through `env`). Errors:
// InvalidArgument naming the source.
Status RegisterSources(offline::Engine& engine, const FeatureRepo& repo,
                       const std::string& pushed_root = "", Env* env = Env::Default());

// Where a file source's path (or glob) points: relative paths are taken
// from the repo folder.
std::string SourcePath(const FeatureRepo& repo, const Source& source);
// The source a view reads history from: a push source's batch source, or
// the push source itself when it has none.
const Source* HistorySource(const FeatureRepo& repo, const FeatureView& view);

// The name of `view`'s timestamp column after the source's field mapping.
std::string TimestampColumn(const FeatureRepo& repo, const FeatureView& view);
// As TimestampColumn, for the created timestamp; "" when the source has none.
std::string CreatedColumn(const FeatureRepo& repo, const FeatureView& view);

// A query returning `view`'s rows: the source's columns renamed by its field
// mapping, then the view's transformation (which reads them as `source`).
// REQUIRES: RegisterSources ran for this repo.
std::string ViewRowsQuery(const FeatureRepo& repo, const FeatureView& view);

// The join keys of `view`, from its entities, in declaration order.
std::vector<Field> JoinKeys(const FeatureRepo& repo, const FeatureView& view);

// SQL turning a time column of DuckDB type `sql_type` into microseconds
// since the epoch: timestamps and dates as they are (naive ones read as
// UTC), integers as Unix seconds, strings parsed as timestamps.
std::string MicrosExpr(const std::string& column, const std::string& sql_type);
bool IsTimestampType(const std::string& sql_type);

const offline::ColumnInfo* FindColumn(const std::vector<offline::ColumnInfo>& columns,
                                      const std::string& name);
// "a, b, c": for errors that list what there is.
std::string ColumnList(const std::vector<offline::ColumnInfo>& columns);

// A query over a view's rows selecting its join keys cast to their declared
// types (named as the keys), the event time in microseconds (__cairn_ts),
// the created time if the source has one (__cairn_created), and `features`
// cast to their declared types (__cairn_f0, __cairn_f1, ...). Callers append
// a WHERE clause using ts_expr.
struct ViewScan {
  std::string sql;
  std::string ts_expr;
  bool has_created = false;
};
// Errors: InvalidArgument naming the view and the missing column (with the
// columns there are) or the source's read error.
StatusOr<ViewScan> BuildViewScan(offline::Engine& engine, const FeatureRepo& repo,
                                 const FeatureView& view, const std::vector<Field>& keys,
                                 const std::vector<std::string>& features);

}  // namespace cairn::features
