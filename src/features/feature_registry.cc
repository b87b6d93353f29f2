#include "features/feature_registry.h"

#include <yaml-cpp/yaml.h>

#include <map>

#include "features/repo_loader.h"

namespace cairn::features {
namespace {

using store::SqlRows;
using store::SqlSession;

// Each version is a full snapshot: definitions are small and few, and a
// snapshot makes "what did version N say" a plain read.
// feature_registry_versions.root keeps the repo folder, against which file
// sources with relative paths resolve.
constexpr char kSchema[] = R"sql(
CREATE TABLE feature_registry_versions (
  project TEXT NOT NULL,
  version BIGINT NOT NULL,
  applied_time BIGINT NOT NULL,
  applied_by TEXT NOT NULL,
  root TEXT NOT NULL,
  summary TEXT NOT NULL,
  PRIMARY KEY (project, version)
);
CREATE TABLE feature_definitions (
  project TEXT NOT NULL,
  version BIGINT NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  position BIGINT NOT NULL,
  spec TEXT NOT NULL,
  PRIMARY KEY (project, version, kind, name)
){CLUSTERED};
)sql";

constexpr char kMaterializationSchema[] = R"sql(
CREATE TABLE feature_materializations (
  project TEXT NOT NULL,
  view TEXT NOT NULL,
  start_micros BIGINT NOT NULL,
  end_micros BIGINT NOT NULL,
  finished_time BIGINT NOT NULL,
  row_count BIGINT NOT NULL,
  PRIMARY KEY (project, view, end_micros, start_micros)
);
)sql";

using SpecKey = std::pair<std::string, std::string>;  // kind, name

// The singular noun for plan lines: "feature_views" -> "feature_view".
std::string Singular(const std::string& kind) {
  return kind == "entities" ? "entity" : kind.substr(0, kind.size() - 1);
}

std::string NodeText(const YAML::Node& node) {
  if (!node.IsDefined()) return "(none)";
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

// One line per top-level field whose value differs.
std::vector<std::string> FieldChanges(const std::string& before, const std::string& after) {
  std::vector<std::string> out;
  try {
    YAML::Node a = YAML::Load(before);
    YAML::Node b = YAML::Load(after);
    std::vector<std::string> keys;
    for (const auto& item : a) keys.push_back(item.first.Scalar());
    for (const auto& item : b) {
      if (!a[item.first.Scalar()].IsDefined()) keys.push_back(item.first.Scalar());
    }
    for (const std::string& key : keys) {
      std::string was = NodeText(a[key]);
      std::string now = NodeText(b[key]);
      if (was != now) out.push_back(key + ": " + was + " -> " + now);
    }
  } catch (const YAML::Exception&) {
    out.push_back("definition changed");
  }
  return out;
}

Plan Diff(const std::string& project, int64_t base_version,
          const std::map<SpecKey, std::string>& applied, const std::vector<DefinitionSpec>& next) {
  Plan plan{.project = project, .base_version = base_version};
  std::map<SpecKey, bool> seen;
  for (const DefinitionSpec& spec : next) {
    SpecKey key{spec.kind, spec.name};
    seen[key] = true;
    auto it = applied.find(key);
    if (it == applied.end()) {
      plan.changes.push_back({PlannedChange::Action::kAdd, spec.kind, spec.name, {}});
    } else if (it->second != spec.yaml) {
      plan.changes.push_back({PlannedChange::Action::kChange, spec.kind, spec.name,
                              FieldChanges(it->second, spec.yaml)});
    }
  }
  for (const auto& [key, spec] : applied) {
    if (!seen.contains(key)) {
      plan.changes.push_back({PlannedChange::Action::kRemove, key.first, key.second, {}});
    }
  }
  return plan;
}

std::string Summary(const Plan& plan) {
  int counts[3] = {0, 0, 0};
  for (const PlannedChange& c : plan.changes) ++counts[static_cast<int>(c.action)];
  return std::to_string(counts[0]) + " to add, " + std::to_string(counts[1]) + " to change, " +
         std::to_string(counts[2]) + " to remove";
}

StatusOr<int64_t> NewestVersion(SqlSession& db, const std::string& project) {
  ASSIGN_OR_RETURN(SqlRows rows, db.Query("SELECT MAX(version) FROM feature_registry_versions "
                                          "WHERE project = ?",
                                          {project}));
  return rows.empty() || rows.IsNull(0, 0) ? 0 : rows.Int(0, 0);
}

StatusOr<std::map<SpecKey, std::string>> SpecsAt(SqlSession& db, const std::string& project,
                                                 int64_t version) {
  std::map<SpecKey, std::string> out;
  if (version == 0) return out;
  ASSIGN_OR_RETURN(SqlRows rows, db.Query("SELECT kind, name, spec FROM feature_definitions "
                                          "WHERE project = ? AND version = ?",
                                          {project, version}));
  for (size_t i = 0; i < rows.size(); ++i) {
    out[{rows.Text(i, 0), rows.Text(i, 1)}] = rows.Text(i, 2);
  }
  return out;
}

// A moved repo folder is a change: relative source paths resolve against
// it, so a server on the old version would read from where the files were.
Status AddRootChange(SqlSession& db, const FeatureRepo& repo, int64_t version, Plan* plan) {
  if (version == 0 || repo.root.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(SqlRows rows, db.Query("SELECT root FROM feature_registry_versions WHERE "
                                          "project = ? AND version = ?",
                                          {repo.project, version}));
  if (rows.empty() || rows.Text(0, 0) == repo.root) return Status::Ok();
  plan->changes.push_back({PlannedChange::Action::kChange,
                           "repos",
                           "folder",
                           {"root: " + rows.Text(0, 0) + " -> " + repo.root}});
  return Status::Ok();
}

}  // namespace

std::string RenderPlan(const Plan& plan) {
  std::string out;
  for (const PlannedChange& c : plan.changes) {
    const char* mark = c.action == PlannedChange::Action::kAdd      ? "+ "
                       : c.action == PlannedChange::Action::kChange ? "~ "
                                                                    : "- ";
    out += mark + Singular(c.kind) + " " + c.name + "\n";
    for (const std::string& d : c.details) out += "    " + d + "\n";
  }
  if (plan.empty()) {
    out += "No changes: project '" + plan.project + "' is up to date (version " +
           std::to_string(plan.base_version) + ").\n";
  } else {
    out += "Plan: " + Summary(plan) + " (project '" + plan.project + "', version " +
           std::to_string(plan.base_version) + " -> " + std::to_string(plan.base_version + 1) +
           ").\n";
  }
  return out;
}

FeatureRegistry::FeatureRegistry(store::MetadataStore* store, Env* env)
    : store_(store), env_(env) {}

Status FeatureRegistry::Init() {
  std::vector<store::Migration> migrations = {
      store::DdlMigration(1, "feature registry", kSchema),
      store::DdlMigration(2, "materialization intervals", kMaterializationSchema)};
  return store_->Migrate("features", migrations);
}

StatusOr<Plan> FeatureRegistry::PlanApply(const FeatureRepo& repo) {
  Plan plan;
  std::vector<DefinitionSpec> next = CanonicalSpecs(repo);
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t version, NewestVersion(db, repo.project));
    ASSIGN_OR_RETURN(auto applied, SpecsAt(db, repo.project, version));
    plan = Diff(repo.project, version, applied, next);
    return AddRootChange(db, repo, version, &plan);
  }));
  return plan;
}

StatusOr<Plan> FeatureRegistry::Apply(const FeatureRepo& repo, const std::string& user,
                                      int64_t* version) {
  Plan plan;
  std::vector<DefinitionSpec> next = CanonicalSpecs(repo);
  int64_t now = env_->NowMillis();
  RETURN_IF_ERROR(store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t newest, NewestVersion(db, repo.project));
    ASSIGN_OR_RETURN(auto applied, SpecsAt(db, repo.project, newest));
    plan = Diff(repo.project, newest, applied, next);
    RETURN_IF_ERROR(AddRootChange(db, repo, newest, &plan));
    *version = newest;
    if (plan.empty()) return Status::Ok();
    *version = newest + 1;
    RETURN_IF_ERROR(db.Execute("INSERT INTO feature_registry_versions (project, version, "
                               "applied_time, applied_by, root, summary) VALUES (?, ?, ?, ?, ?, ?)",
                               {repo.project, *version, now, user, repo.root, Summary(plan)})
                        .status());
    for (size_t i = 0; i < next.size(); ++i) {
      RETURN_IF_ERROR(db.Execute("INSERT INTO feature_definitions (project, version, kind, name, "
                                 "position, spec) VALUES (?, ?, ?, ?, ?, ?)",
                                 {repo.project, *version, next[i].kind, next[i].name,
                                  static_cast<int64_t>(i), next[i].yaml})
                          .status());
    }
    return Status::Ok();
  }));
  return plan;
}

StatusOr<int64_t> FeatureRegistry::CurrentVersion(const std::string& project) {
  int64_t version = 0;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(version, NewestVersion(db, project));
    return Status::Ok();
  }));
  return version;
}

StatusOr<FeatureRepo> FeatureRegistry::Load(const std::string& project, int64_t version) {
  FeatureRepo repo;
  repo.project = project;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    if (version == 0) {
      ASSIGN_OR_RETURN(version, NewestVersion(db, project));
      if (version == 0) {
        return NotFound("feature project '" + project +
                        "' has nothing applied; run `cairn features apply` in its repo folder");
      }
    }
    ASSIGN_OR_RETURN(SqlRows head, db.Query("SELECT root FROM feature_registry_versions WHERE "
                                            "project = ? AND version = ?",
                                            {project, version}));
    if (head.empty()) {
      return NotFound("feature project '" + project + "' has no version " +
                      std::to_string(version));
    }
    repo.root = head.Text(0, 0);
    ASSIGN_OR_RETURN(SqlRows rows, db.Query("SELECT kind, name, spec FROM feature_definitions "
                                            "WHERE project = ? AND version = ? ORDER BY position",
                                            {project, version}));
    for (size_t i = 0; i < rows.size(); ++i) {
      DefinitionSpec spec{rows.Text(i, 0), rows.Text(i, 1), rows.Text(i, 2)};
      std::string origin =
          "registry:" + project + "@" + std::to_string(version) + "/" + spec.kind + "/" + spec.name;
      RETURN_IF_ERROR(ParseSpec(spec, origin, &repo));
    }
    return Status::Ok();
  }));
  return repo;
}

StatusOr<std::vector<AppliedVersion>> FeatureRegistry::History(const std::string& project) {
  std::vector<AppliedVersion> out;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows rows,
                     db.Query("SELECT version, applied_time, applied_by, summary FROM "
                              "feature_registry_versions WHERE project = ? ORDER BY version DESC",
                              {project}));
    for (size_t i = 0; i < rows.size(); ++i) {
      out.push_back({project, rows.Int(i, 0), rows.Int(i, 1), rows.Text(i, 2), rows.Text(i, 3)});
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<std::string>> FeatureRegistry::Projects() {
  std::vector<std::string> out;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows rows, db.Query("SELECT DISTINCT project FROM "
                                            "feature_registry_versions ORDER BY project"));
    for (size_t i = 0; i < rows.size(); ++i) out.push_back(rows.Text(i, 0));
    return Status::Ok();
  }));
  return out;
}

Status FeatureRegistry::RecordMaterialization(const std::string& project,
                                              const MaterializedInterval& interval) {
  int64_t now = env_->NowMillis();
  return store_->Write([&](SqlSession& db) -> Status {
    return db
        .Execute(
            "INSERT INTO feature_materializations (project, view, start_micros, end_micros, "
            "finished_time, row_count) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (project, view, "
            "end_micros, start_micros) DO UPDATE SET finished_time = excluded.finished_time, "
            "row_count = excluded.row_count",
            {project, interval.view, interval.start_micros, interval.end_micros, now,
             interval.rows})
        .status();
  });
}

StatusOr<std::optional<int64_t>> FeatureRegistry::LastMaterializedEnd(const std::string& project,
                                                                      const std::string& view) {
  std::optional<int64_t> end;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows rows, db.Query("SELECT MAX(end_micros) FROM feature_materializations "
                                            "WHERE project = ? AND view = ?",
                                            {project, view}));
    if (!rows.empty() && !rows.IsNull(0, 0)) end = rows.Int(0, 0);
    return Status::Ok();
  }));
  return end;
}

StatusOr<std::vector<MaterializedInterval>> FeatureRegistry::Materializations(
    const std::string& project) {
  std::vector<MaterializedInterval> out;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(
        SqlRows rows,
        db.Query("SELECT view, start_micros, end_micros, finished_time, row_count FROM "
                 "feature_materializations WHERE project = ? ORDER BY finished_time "
                 "DESC, view",
                 {project}));
    for (size_t i = 0; i < rows.size(); ++i) {
      out.push_back(
          {rows.Text(i, 0), rows.Int(i, 1), rows.Int(i, 2), rows.Int(i, 3), rows.Int(i, 4)});
    }
    return Status::Ok();
  }));
  return out;
}

}  // namespace cairn::features
