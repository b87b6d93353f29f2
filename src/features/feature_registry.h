// FeatureRegistry: the applied feature definitions of each project, versioned
// in the metadata store (SQLite or PostgreSQL, whichever the server uses).
//
// `plan` compares a loaded repo with the newest applied version and lists
// what would be added, changed and removed; `apply` stores the repo as a new
// version in one transaction (nothing when nothing changed). Every version
// is kept, so what a model was trained with stays readable.
//
// A running server sees a new version on its next read: CurrentVersion() is
// one indexed lookup, so callers can check it per request instead of caching
// definitions for minutes (Feast's registry cache_ttl_seconds complaint).
//
// Thread-safety: safe to call concurrently (the store serialises writes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/status.h"
#include "features/definitions.h"
#include "store/metadata_store.h"

namespace cairn::features {

struct PlannedChange {
  enum class Action { kAdd, kChange, kRemove };
  Action action;
  std::string kind;  // "entities", "feature_views", ...
  std::string name;
  // For kChange: one line per differing field, e.g. "ttl: 1d -> 2d".
  std::vector<std::string> details;
};

struct Plan {
  std::string project;
  int64_t base_version = 0;  // the version compared against; 0 when none was applied
  std::vector<PlannedChange> changes;
  bool empty() const { return changes.empty(); }
};

// terraform-style text: "+ feature_view driver_stats", "~ ...", "- ...", and a
// closing count line.
std::string RenderPlan(const Plan& plan);

struct AppliedVersion {
  std::string project;
  int64_t version = 0;
  int64_t applied_time_ms = 0;
  std::string applied_by;
  std::string summary;  // "2 added, 1 changed, 0 removed"
};

// One finished materialization of a view: its window [start, end] and how
// many entity rows it wrote.
struct MaterializedInterval {
  std::string view;
  int64_t start_micros = 0;
  int64_t end_micros = 0;
  int64_t finished_time_ms = 0;
  int64_t rows = 0;
};

class FeatureRegistry {
 public:
  FeatureRegistry(store::MetadataStore* store, Env* env);

  // Creates the registry's tables when missing. Call once at start.
  Status Init();

  StatusOr<Plan> PlanApply(const FeatureRepo& repo);

  // Stores `repo` as the project's next version when it differs from the
  // newest; returns the plan that was applied (empty when nothing changed)
  // and sets *version to the version now in effect.
  // REQUIRES: repo passed ValidateRepo.
  StatusOr<Plan> Apply(const FeatureRepo& repo, const std::string& user, int64_t* version);

  // The newest version of `project`, 0 when none was applied.
  StatusOr<int64_t> CurrentVersion(const std::string& project);

  // The repo as applied at `version` (0: the newest).
  // Errors: NotFound naming the project (and how to apply it) or the version.
  StatusOr<FeatureRepo> Load(const std::string& project, int64_t version = 0);

  // Every applied version of `project`, newest first.
  StatusOr<std::vector<AppliedVersion>> History(const std::string& project);

  // The projects with at least one applied version.
  StatusOr<std::vector<std::string>> Projects();

  // Records that `view`'s rows in [start, end] reached the online store.
  // Recorded only after every row is written, so an interrupted run is
  // simply run again (writes are idempotent).
  Status RecordMaterialization(const std::string& project, const MaterializedInterval& interval);
  // The end of the latest recorded window of `view`, if any.
  StatusOr<std::optional<int64_t>> LastMaterializedEnd(const std::string& project,
                                                       const std::string& view);
  // Every recorded window of the project, newest first.
  StatusOr<std::vector<MaterializedInterval>> Materializations(const std::string& project);

 private:
  store::MetadataStore* store_;
  Env* env_;
};

}  // namespace cairn::features
