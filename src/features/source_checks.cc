#include "features/source_checks.h"

#include <map>

#include "features/offline_source.h"

namespace cairn::features {
namespace {

using offline::QuoteIdentifier;
using offline::QuoteLiteral;

bool IsInteger(const std::string& t) {
  for (const char* name : {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                           "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}) {
    if (t == name) return true;
  }
  return false;
}

bool IsNumber(const std::string& t) {
  return IsInteger(t) || t == "FLOAT" || t == "DOUBLE" || t.starts_with("DECIMAL");
}

bool IsTime(const std::string& t) { return t.starts_with("TIMESTAMP") || t == "DATE"; }

// Whether a column DuckDB types as `column` holds values of `declared`
// without a conversion that fails on some rows or loses information.
bool Holds(const std::string& column, ValueType declared) {
  switch (declared) {
    case ValueType::kString:
      return true;
    case ValueType::kInt32:
    case ValueType::kInt64:
      return IsInteger(column);
    case ValueType::kFloat32:
    case ValueType::kFloat64:
      return IsNumber(column);
    case ValueType::kBool:
      return column == "BOOLEAN";
    case ValueType::kBytes:
      return column == "BLOB" || column == "VARCHAR";
    case ValueType::kUnixTimestamp:
      return IsTime(column) || IsInteger(column);
  }
  return false;
}

// The value type to declare for a column DuckDB types as `column`.
std::string_view Suggested(const std::string& column) {
  if (IsInteger(column)) return "Int64";
  if (IsNumber(column)) return "Float64";
  if (column == "BOOLEAN") return "Bool";
  if (IsTime(column)) return "UnixTimestamp";
  if (column == "BLOB") return "Bytes";
  return "String";
}

std::string Listed(const std::map<std::string, std::string>& columns) {
  std::string out;
  for (const auto& [name, type] : columns) out += (out.empty() ? "" : ", ") + name + " " + type;
  return out;
}

// The source holding a view's rows today; null for a push source without a
// batch source (its rows are all still to be pushed).
const Source* DataSource(const FeatureRepo& repo, const FeatureView& view) {
  const Source* source = HistorySource(repo, view);
  return source != nullptr && source->kind == SourceKind::kPush ? nullptr : source;
}

// The entity that declares join key `key` for `view` (for its origin).
const Entity* EntityOf(const FeatureRepo& repo, const FeatureView& view, const std::string& key) {
  for (const std::string& name : view.entities) {
    for (const Entity& e : repo.entities) {
      if (e.name != name) continue;
      for (const Field& f : e.join_keys) {
        if (f.name == key) return &e;
      }
    }
  }
  return nullptr;
}

}  // namespace

StatusOr<std::vector<std::string>> CheckSources(offline::Engine& engine, const FeatureRepo& repo) {
  std::vector<std::string> problems;
  // Paths first: a source whose files are missing cannot be described.
  bool paths_ok = true;
  for (const Source& s : repo.sources) {
    if (s.kind != SourceKind::kFile) continue;
    std::string resolved = SourcePath(repo, s);
    ASSIGN_OR_RETURN(offline::Table matched,
                     engine.Query("SELECT count(*) FROM glob(" + QuoteLiteral(resolved) + ")"));
    if (matched.rows() == 0 || matched.columns[0].Int(0) == 0) {
      problems.push_back(s.origin + ": source '" + s.name + "': path '" + s.path +
                         "' matches no file (looked for " + resolved +
                         "); fix the path (relative to the repo folder)");
      paths_ok = false;
    }
  }
  if (!paths_ok) return problems;
  if (Status registered = RegisterSources(engine, repo); !registered.ok()) {
    problems.push_back(registered.message());
    return problems;
  }

  for (const FeatureView& view : repo.feature_views) {
    const Source* source = DataSource(repo, view);
    if (source == nullptr) continue;  // pushed rows only: nothing to read yet
    StatusOr<offline::Table> described = engine.Query("DESCRIBE " + ViewRowsQuery(repo, view));
    if (!described.ok()) {
      problems.push_back(view.origin + ": feature view '" + view.name + "' cannot read source '" +
                         source->name + "': " + described.status().message());
      continue;
    }
    std::map<std::string, std::string> columns;  // name -> DuckDB type
    for (size_t i = 0; i < described->rows(); ++i) {
      columns[std::string(described->columns[0].String(i))] =
          std::string(described->columns[1].String(i));
    }
    std::string where = "source '" + source->name + "'" +
                        (source->kind == SourceKind::kFile ? " (" + source->path + ")" : "");
    auto missing = [&](const std::string& origin, const std::string& column,
                       const std::string& role) {
      problems.push_back(origin + ": feature view '" + view.name + "': column '" + column + "' (" +
                         role + ") is not in " + where + ", which has: " + Listed(columns) +
                         "; fix the name (as the view sees it, after field_mapping) or the data");
    };
    for (auto [column, role] : {std::pair{TimestampColumn(repo, view), "timestamp_field"},
                                std::pair{CreatedColumn(repo, view), "created_timestamp_field"}}) {
      if (column.empty()) continue;
      auto it = columns.find(column);
      if (it == columns.end()) {
        missing(source->origin, column, std::string("its source's ") + role);
      } else if (!IsTime(it->second) && !IsInteger(it->second) && it->second != "VARCHAR") {
        problems.push_back(source->origin + ": feature view '" + view.name + "': column '" +
                           column + "' (its source's " + role + ") holds " + it->second + " in " +
                           where + ", not times; point " + role + " at a TIMESTAMP or DATE column");
      }
    }
    for (const Field& key : JoinKeys(repo, view)) {
      const Entity* entity = EntityOf(repo, view, key.name);
      std::string origin = entity != nullptr ? entity->origin : view.origin;
      auto it = columns.find(key.name);
      if (it == columns.end()) {
        missing(origin, key.name, "join key of entity '" + (entity ? entity->name : "?") + "'");
      } else if (!Holds(it->second, key.type)) {
        problems.push_back(origin + ": entity '" + (entity ? entity->name : "?") + "': join key '" +
                           key.name + "' has value_type " + std::string(ValueTypeName(key.type)) +
                           " but holds " + it->second + " in " + where + "; set value_type: " +
                           std::string(Suggested(it->second)) + " on the join key");
      }
    }
    // A view fed by a push source may have features only pushes carry: its
    // batch source need not hold them (the rows are unioned by name).
    bool pushed = repo.FindSource(view.source) != source;
    for (const Field& feature : view.schema) {
      auto it = columns.find(feature.name);
      if (it == columns.end()) {
        if (!pushed) missing(view.origin, feature.name, "a feature of its schema");
      } else if (!Holds(it->second, feature.type)) {
        problems.push_back(view.origin + ": feature view '" + view.name + "': feature '" +
                           feature.name + "' is declared " +
                           std::string(ValueTypeName(feature.type)) + " but holds " + it->second +
                           " in " + where + "; declare it " + std::string(Suggested(it->second)) +
                           ", or convert it in a SQL source");
      }
    }
  }
  return problems;
}

Status RequireSourcesMatch(offline::Engine& engine, const FeatureRepo& repo) {
  ASSIGN_OR_RETURN(std::vector<std::string> problems, CheckSources(engine, repo));
  if (problems.empty()) return Status::Ok();
  std::string message = "the feature repo does not match its data:";
  for (const std::string& p : problems) message += "\n  " + p;
  message +=
      "\n(--skip-source-checks applies without these checks, for sources not reachable from "
      "here)";
  return InvalidArgument(message);
}

}  // namespace cairn::features
