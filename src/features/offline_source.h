// How feature data is read offline: every source of a repo becomes a DuckDB
// view named after it, and each feature view becomes a query over its source
// with the field mapping and the view's own SQL transformation applied.
// Historical retrieval, materialization and statistics all read through
// these, so they cannot disagree on what a view's rows are.
//
// Thread-safety: as offline::Engine (one thread at a time).
#pragma once

#include <string>

#include "core/status.h"
#include "features/definitions.h"
#include "offline/engine.h"

namespace cairn::features {

// DuckDB's type for a feature value type, e.g. Float32 -> "FLOAT".
std::string SqlTypeOf(ValueType type);

// Creates (or replaces) one temporary view per source of `repo`: file sources
// read their Parquet or CSV files (globs allowed, paths relative to the repo
// root), SQL sources run their query over the other sources, push sources
// read their batch source. Errors: InvalidArgument naming the source.
Status RegisterSources(offline::Engine& engine, const FeatureRepo& repo);

// The name of `view`'s timestamp column after the source's field mapping.
std::string TimestampColumn(const FeatureRepo& repo, const FeatureView& view);
// As TimestampColumn, for the created timestamp; "" when the source has none.
std::string CreatedColumn(const FeatureRepo& repo, const FeatureView& view);

// A query returning `view`'s rows: the source's columns renamed by its field
// mapping, then the view's transformation (which reads them as `source`).
// REQUIRES: RegisterSources ran for this repo.
std::string ViewRowsQuery(const FeatureRepo& repo, const FeatureView& view);

}  // namespace cairn::features
