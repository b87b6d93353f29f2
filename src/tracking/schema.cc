#include "tracking/schema.h"

#include <string>

namespace cairn::tracking {
namespace {

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

// Search reads. latest_metrics carries its run's experiment (runs never move)
// so a search ordered or filtered by a metric walks only that experiment's
// rows, in value order, real values (is_nan = 0) apart from NaN. params and
// tags get (key, value) indexes so a selective filter finds its few runs
// without a scan. SQLite only: PostgreSQL's B-tree rejects index entries over
// about 2.7 kB and values may be longer; its planner picks hash semi-joins
// for these filters instead.
constexpr char kSearchIndexes[] = R"sql(
ALTER TABLE latest_metrics ADD COLUMN experiment_id BIGINT NOT NULL DEFAULT 0;
UPDATE latest_metrics SET experiment_id =
  (SELECT r.experiment_id FROM runs r WHERE r.run_key = latest_metrics.run_key);
DROP INDEX latest_metrics_by_key_value;
CREATE INDEX latest_metrics_by_experiment_key_value
  ON latest_metrics (experiment_id, key, is_nan, value, run_key){SQLITE_ONLY:;
CREATE INDEX params_by_key_value ON params (key, value, run_key);
CREATE INDEX tags_by_key_value ON tags (key, value, run_key)}
)sql";

// MLflow 3's logged models. model_key is the compact internal key; model_id
// ("m-<32 hex>") is what users see. Metrics a run logs with a model_id are
// also kept per model (logged_model_metrics, full history, with the dataset
// they were measured on) for the model's data.metrics and for search
// (since migration 4, only there: see kModelPointsOnce).
// latest_model_metrics keeps a model's newest value per key (by timestamp,
// then step) at three scopes, for search's order_by: 0 over every dataset,
// 1 per dataset name, 2 per dataset name and digest; indexed by value so an
// ordered search walks it and stops at the page's end.
// run_models links runs to models: direction 0 = input (log-inputs),
// 1 = output (runs/outputs, with the step).
constexpr char kLoggedModels[] = R"sql(
CREATE TABLE logged_models (
  model_key {AUTO_PK},
  model_id TEXT NOT NULL UNIQUE,
  experiment_id BIGINT NOT NULL,
  name TEXT NOT NULL,
  artifact_uri TEXT NOT NULL,
  status INTEGER NOT NULL,
  status_message TEXT NOT NULL,
  model_type TEXT NOT NULL,
  source_run_id TEXT NOT NULL,
  lifecycle_stage TEXT NOT NULL,
  creation_timestamp_ms BIGINT NOT NULL,
  last_updated_timestamp_ms BIGINT NOT NULL
);
CREATE INDEX logged_models_by_experiment
  ON logged_models (experiment_id, creation_timestamp_ms DESC, model_id);
CREATE TABLE logged_model_params (
  model_key BIGINT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (model_key, key)
){CLUSTERED};
CREATE TABLE logged_model_tags (
  model_key BIGINT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (model_key, key)
){CLUSTERED};
CREATE TABLE logged_model_metrics (
  model_key BIGINT NOT NULL,
  key TEXT NOT NULL,
  timestamp BIGINT NOT NULL,
  step BIGINT NOT NULL,
  run_key BIGINT NOT NULL,
  dataset_name TEXT NOT NULL,
  dataset_digest TEXT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  is_nan INTEGER NOT NULL,
  PRIMARY KEY (model_key, key, timestamp, step, run_key, dataset_name, dataset_digest)
){CLUSTERED};
CREATE TABLE latest_model_metrics (
  model_key BIGINT NOT NULL,
  key TEXT NOT NULL,
  scope INTEGER NOT NULL,
  dataset_name TEXT NOT NULL,
  dataset_digest TEXT NOT NULL,
  experiment_id BIGINT NOT NULL,
  timestamp BIGINT NOT NULL,
  step BIGINT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (model_key, key, scope, dataset_name, dataset_digest)
){CLUSTERED};
CREATE INDEX latest_model_metrics_by_value ON latest_model_metrics
  (experiment_id, key, scope, dataset_name, dataset_digest, value, model_key);
CREATE TABLE run_models (
  run_key BIGINT NOT NULL,
  direction INTEGER NOT NULL,
  model_id TEXT NOT NULL,
  step BIGINT NOT NULL,
  PRIMARY KEY (run_key, direction, model_id)
){CLUSTERED}
)sql";

// A point logged with a model_id is stored once, as the model's: before, it
// was written to both metrics and logged_model_metrics, and the second B-tree
// insert per point halved model-linked log-batch throughput. The model's
// table is now clustered by (model, key, run, step, ...) so a run's history
// reads its model-linked points in step order, and run_model_metric_keys (one
// row per run, key and model) tells a history read which models to merge in.
// The key covers the whole point, value and dataset included, so a retried
// batch is idempotent and two datasets' equal points both stay. Points that
// earlier versions also wrote to metrics stay there: history reads merge with
// UNION, which drops such duplicates.
constexpr char kModelPointsOnce[] = R"sql(
CREATE TABLE logged_model_points (
  model_key BIGINT NOT NULL,
  key TEXT NOT NULL,
  run_key BIGINT NOT NULL,
  step BIGINT NOT NULL,
  timestamp BIGINT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  is_nan INTEGER NOT NULL,
  dataset_name TEXT NOT NULL,
  dataset_digest TEXT NOT NULL,
  PRIMARY KEY (model_key, key, run_key, step, timestamp, value, is_nan, dataset_name,
               dataset_digest)
){CLUSTERED};
INSERT INTO logged_model_points (model_key, key, run_key, step, timestamp, value, is_nan,
                                 dataset_name, dataset_digest)
  SELECT model_key, key, run_key, step, timestamp, value, is_nan, dataset_name, dataset_digest
  FROM logged_model_metrics;
DROP TABLE logged_model_metrics;
ALTER TABLE logged_model_points RENAME TO logged_model_metrics;
CREATE TABLE run_model_metric_keys (
  run_key BIGINT NOT NULL,
  key TEXT NOT NULL,
  model_key BIGINT NOT NULL,
  PRIMARY KEY (run_key, key, model_key)
){CLUSTERED};
INSERT INTO run_model_metric_keys (run_key, key, model_key)
  SELECT DISTINCT run_key, key, model_key FROM logged_model_metrics
)sql";

}  // namespace

std::vector<store::Migration> TrackingMigrations() {
  return {
      store::DdlMigration(1, "initial tracking schema", kInitialSchema),
      store::DdlMigration(2, "search indexes", kSearchIndexes),
      store::DdlMigration(3, "logged models", kLoggedModels),
      store::DdlMigration(4, "model-linked points stored once", kModelPointsOnce),
  };
}

}  // namespace cairn::tracking
