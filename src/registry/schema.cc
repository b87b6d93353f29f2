#include "registry/schema.h"

namespace cairn::registry {
namespace {

// Registered models are addressed by a compact integer key, so a rename
// touches one row and versions, tags and aliases follow it.
// Versions are numbered per model and never reused while the model exists:
// a deleted version keeps its row (deleted = 1), hidden from every read but
// lineage and audit. stage holds MLflow's stage names. description is NULL
// once cleared (MLflow then omits it), '' when registered without one.
// model_versions_by_updated serves the unfiltered search's default order; it
// must not lead with `deleted`, or SQLite, without statistics, takes
// "deleted = 0" for a selective equality and walks every version even when a
// name filter would find a few.
constexpr char kInitialSchema[] = R"sql(
CREATE TABLE registered_models (
  model_key {AUTO_PK},
  name TEXT NOT NULL UNIQUE,
  description TEXT,
  creation_time BIGINT NOT NULL,
  last_updated_time BIGINT NOT NULL
);
CREATE TABLE registered_model_tags (
  model_key BIGINT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (model_key, key)
){CLUSTERED};
CREATE TABLE model_versions (
  model_key BIGINT NOT NULL,
  version BIGINT NOT NULL,
  creation_time BIGINT NOT NULL,
  last_updated_time BIGINT NOT NULL,
  description TEXT,
  user_id TEXT NOT NULL,
  stage TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  source TEXT NOT NULL,
  storage_location TEXT NOT NULL,
  run_id TEXT NOT NULL,
  run_link TEXT NOT NULL,
  model_id TEXT NOT NULL,
  status TEXT NOT NULL,
  status_message TEXT NOT NULL,
  PRIMARY KEY (model_key, version)
);
CREATE INDEX model_versions_by_stage ON model_versions (model_key, deleted, stage, version);
CREATE INDEX model_versions_by_updated ON model_versions (last_updated_time);
CREATE INDEX model_versions_by_run ON model_versions (run_id);
CREATE TABLE model_version_tags (
  model_key BIGINT NOT NULL,
  version BIGINT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (model_key, version, key)
){CLUSTERED};
CREATE TABLE registered_model_aliases (
  model_key BIGINT NOT NULL,
  alias TEXT NOT NULL,
  version BIGINT NOT NULL,
  PRIMARY KEY (model_key, alias)
){CLUSTERED}
)sql";

}  // namespace

std::vector<store::Migration> RegistryMigrations() {
  return {store::DdlMigration(1, "initial registry schema", kInitialSchema)};
}

}  // namespace cairn::registry
