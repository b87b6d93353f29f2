#include "tracking/schema.h"

#include <string>

namespace cairn::tracking {
namespace {

// Writes the dialect-specific parts of a DDL template:
//   {AUTO_PK}     an auto-assigned 64-bit integer primary key
//   {CLUSTERED}   SQLite's WITHOUT ROWID (the table is its primary key index)
std::string Render(std::string sql, bool postgres) {
  auto replace = [&sql](const std::string& from, const std::string& to) {
    for (size_t pos = sql.find(from); pos != std::string::npos; pos = sql.find(from, pos)) {
      sql.replace(pos, from.size(), to);
      pos += to.size();
    }
  };
  replace("{AUTO_PK}", postgres ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY");
  replace("{CLUSTERED}", postgres ? "" : " WITHOUT ROWID");
  return sql;
}

// Runs are addressed by a compact integer key internally; the 32-hex run id
// users see is unique and indexed. Metric points are clustered by
// (run, key, step) so a history read is one range scan. Identical points are
// stored once (the primary key covers the whole point), which makes retried
// batches idempotent. latest_metrics keeps the newest point per key for
// search filters and run listings.
constexpr char kInitialSchema[] = R"sql(
CREATE TABLE experiments (
  experiment_id {AUTO_PK},
  name TEXT NOT NULL UNIQUE,
  artifact_location TEXT NOT NULL,
  lifecycle_stage TEXT NOT NULL,
  creation_time BIGINT NOT NULL,
  last_update_time BIGINT NOT NULL
);
CREATE TABLE experiment_tags (
  experiment_id BIGINT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (experiment_id, key)
);
CREATE TABLE runs (
  run_key {AUTO_PK},
  run_uuid TEXT NOT NULL UNIQUE,
  experiment_id BIGINT NOT NULL,
  name TEXT NOT NULL,
  user_id TEXT NOT NULL,
  status TEXT NOT NULL,
  start_time BIGINT,
  end_time BIGINT,
  lifecycle_stage TEXT NOT NULL,
  artifact_uri TEXT NOT NULL,
  deleted_time BIGINT
);
CREATE INDEX runs_by_experiment ON runs (experiment_id, start_time DESC, run_uuid);
CREATE TABLE params (
  run_key BIGINT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (run_key, key)
){CLUSTERED};
CREATE TABLE tags (
  run_key BIGINT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (run_key, key)
){CLUSTERED};
CREATE TABLE metrics (
  run_key BIGINT NOT NULL,
  key TEXT NOT NULL,
  step BIGINT NOT NULL,
  timestamp BIGINT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  is_nan INTEGER NOT NULL,
  PRIMARY KEY (run_key, key, step, timestamp, value, is_nan)
){CLUSTERED};
CREATE TABLE latest_metrics (
  run_key BIGINT NOT NULL,
  key TEXT NOT NULL,
  step BIGINT NOT NULL,
  timestamp BIGINT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  is_nan INTEGER NOT NULL,
  PRIMARY KEY (run_key, key)
){CLUSTERED};
CREATE INDEX latest_metrics_by_key_value ON latest_metrics (key, value, run_key);
CREATE TABLE datasets (
  dataset_key {AUTO_PK},
  experiment_id BIGINT NOT NULL,
  name TEXT NOT NULL,
  digest TEXT NOT NULL,
  source_type TEXT NOT NULL,
  source TEXT NOT NULL,
  schema TEXT,
  profile TEXT,
  UNIQUE (experiment_id, name, digest)
);
CREATE TABLE run_inputs (
  run_key BIGINT NOT NULL,
  dataset_key BIGINT NOT NULL,
  PRIMARY KEY (run_key, dataset_key)
);
CREATE TABLE run_input_tags (
  run_key BIGINT NOT NULL,
  dataset_key BIGINT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (run_key, dataset_key, key)
)
)sql";

}  // namespace

std::vector<store::Migration> TrackingMigrations() {
  return {
      {1, "initial tracking schema", Render(kInitialSchema, false), Render(kInitialSchema, true)},
  };
}

}  // namespace cairn::tracking
