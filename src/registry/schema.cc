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

// Every version that entered a stage or took an alias, newest last: what a
// promotion gate compares a candidate with when the target is empty now
// (its incumbent was archived or deleted), so that moving the incumbent away
// does not make "no incumbent" pass. run_id is kept because the version may
// since have been deleted. Alias targets are lowercased ("alias:champion"),
// as policies match aliases whatever their case. model_name and rules (the
// fingerprint of the policy that guarded the move, '' if none) say under
// which name and rules the move was made: a move made under another name's
// weaker rules must not become the baseline (see PromotionFacts). Rows
// outlive their model: its name's bar stays (a later model under the name
// is held to it).
constexpr char kPromotionHistory[] = R"sql(
CREATE TABLE model_promotion_history (
  promotion_id {AUTO_PK},
  model_key BIGINT NOT NULL,
  model_name TEXT NOT NULL,
  target TEXT NOT NULL,
  version BIGINT NOT NULL,
  run_id TEXT NOT NULL,
  rules TEXT NOT NULL,
  time BIGINT NOT NULL
);
CREATE INDEX model_promotion_history_by_target
  ON model_promotion_history (model_key, target, promotion_id)
)sql";

}  // namespace

std::vector<store::Migration> RegistryMigrations() {
  return {store::DdlMigration(1, "initial registry schema", kInitialSchema),
          store::DdlMigration(2, "promotion history", kPromotionHistory)};
}

}  // namespace cairn::registry
