#include "features/offline_source.h"

#include <filesystem>

#include "features/offline_push.h"
#include "features/pushed_files.h"

namespace cairn::features {
namespace {

using offline::QuoteIdentifier;
using offline::QuoteLiteral;

std::string FileReader(const FeatureRepo& repo, const Source& source) {
  std::string literal = QuoteLiteral(SourcePath(repo, source));
  if (source.format == "csv") {
    return "read_csv(" + literal + ", header = true, union_by_name = true)";
  }
  return "read_parquet(" + literal + ", union_by_name = true)";
}

std::string Mapped(const Source& source, const std::string& column) {
  auto it = source.field_mapping.find(column);
  return it == source.field_mapping.end() ? column : it->second;
}

// A reader of the rows pushed offline to `push`, or "" when there are none.
// The files are listed now and stay until the engine is closed (it holds the
// snapshot's lock), so a compaction cannot move rows under a running query.
StatusOr<std::string> PushedRowsReader(offline::Engine& engine, const FeatureRepo& repo,
                                       const Source& push, const std::string& pushed_root,
                                       Env* env) {
  if (pushed_root.empty()) return std::string();
  ASSIGN_OR_RETURN(PushedFiles files,
                   SnapshotPushedFiles(PushedRowsDir(pushed_root, repo.project, push.name), env));
  if (files.paths.empty()) return std::string();
  engine.KeepAlive(std::move(files.read_lock));
  std::string list;
  for (const std::string& path : files.paths) {
    list += (list.empty() ? "" : ", ") + QuoteLiteral(path);
  }
  return "read_parquet([" + list + "], union_by_name = true)";
}

}  // namespace

std::string SourcePath(const FeatureRepo& repo, const Source& source) {
  std::filesystem::path path(source.path);
  if (path.is_relative() && !repo.root.empty()) path = std::filesystem::path(repo.root) / path;
  return path.lexically_normal().string();
}

const Source* HistorySource(const FeatureRepo& repo, const FeatureView& view) {
  const Source* source = repo.FindSource(view.source);
  if (source != nullptr && source->kind == SourceKind::kPush && !source->batch_source.empty()) {
    return repo.FindSource(source->batch_source);
  }
  return source;
}

offline::ColumnType ColumnTypeOf(ValueType type) {
  switch (type) {
    case ValueType::kInt32:
      return offline::ColumnType::kInt32;
    case ValueType::kInt64:
      return offline::ColumnType::kInt64;
    case ValueType::kFloat32:
      return offline::ColumnType::kFloat;
    case ValueType::kFloat64:
      return offline::ColumnType::kDouble;
    case ValueType::kString:
      return offline::ColumnType::kString;
    case ValueType::kBytes:
      return offline::ColumnType::kBytes;
    case ValueType::kBool:
      return offline::ColumnType::kBool;
    case ValueType::kUnixTimestamp:
      return offline::ColumnType::kTimestamp;
  }
  return offline::ColumnType::kString;
}

void AppendFeatureValue(const FeatureValue& value, offline::Column* column) {
  if (const int64_t* i = std::get_if<int64_t>(&value)) {
    column->AppendInt(*i);
  } else if (const double* d = std::get_if<double>(&value)) {
    column->AppendDouble(*d);
  } else if (const std::string* s = std::get_if<std::string>(&value)) {
    column->AppendString(*s);
  } else {
    column->AppendNull();
  }
}

std::string SqlTypeOf(ValueType type) {
  switch (type) {
    case ValueType::kInt32:
      return "INTEGER";
    case ValueType::kInt64:
      return "BIGINT";
    case ValueType::kFloat32:
      return "FLOAT";
    case ValueType::kFloat64:
      return "DOUBLE";
    case ValueType::kString:
      return "VARCHAR";
    case ValueType::kBytes:
      return "BLOB";
    case ValueType::kBool:
      return "BOOLEAN";
    case ValueType::kUnixTimestamp:
      return "TIMESTAMPTZ";
  }
  return "VARCHAR";
}

Status RegisterSources(offline::Engine& engine, const FeatureRepo& repo,
                       const std::string& pushed_root, Env* env) {
  // File sources first; SQL sources may read them and each other, so those
  // are created in rounds until every one binds (or no round makes progress).
  std::vector<const Source*> pending;
  for (const Source& s : repo.sources) {
    if (s.kind == SourceKind::kFile) {
      Status created = engine.Execute("CREATE OR REPLACE TEMP VIEW " + QuoteIdentifier(s.name) +
                                      " AS SELECT * FROM " + FileReader(repo, s));
      if (!created.ok()) {
        return InvalidArgument(s.origin + ": source '" + s.name + "' (" + s.path +
                               "): " + created.message());
      }
    } else {
      pending.push_back(&s);
    }
  }
  while (!pending.empty()) {
    std::vector<const Source*> failed;
    Status last_error = Status::Ok();
    for (const Source* s : pending) {
      std::string body;
      if (s->kind == SourceKind::kSql) {
        body = s->query;
      } else {
        // A push source: its batch source's rows and the rows pushed to it.
        ASSIGN_OR_RETURN(std::string pushed, PushedRowsReader(engine, repo, *s, pushed_root, env));
        if (!s->batch_source.empty()) {
          body = "SELECT * FROM " + QuoteIdentifier(s->batch_source);
          if (!pushed.empty()) body += " UNION ALL BY NAME SELECT * FROM " + pushed;
        } else if (!pushed.empty()) {
          body = "SELECT * FROM " + pushed;
        } else {
          continue;  // nothing to read offline
        }
      }
      Status created =
          engine.Execute("CREATE OR REPLACE TEMP VIEW " + QuoteIdentifier(s->name) + " AS " + body);
      if (!created.ok()) {
        failed.push_back(s);
        last_error =
            InvalidArgument(s->origin + ": source '" + s->name + "': " + created.message());
      }
    }
    if (failed.size() == pending.size()) return last_error;
    pending = std::move(failed);
  }
  return Status::Ok();
}

std::string TimestampColumn(const FeatureRepo& repo, const FeatureView& view) {
  const Source* source = HistorySource(repo, view);
  if (source == nullptr) return "";
  std::string field = source->timestamp_field;
  if (field.empty() && source != repo.FindSource(view.source)) {
    field = repo.FindSource(view.source)->timestamp_field;
  }
  return Mapped(*source, field);
}

std::string CreatedColumn(const FeatureRepo& repo, const FeatureView& view) {
  const Source* source = HistorySource(repo, view);
  if (source == nullptr || source->created_timestamp_field.empty()) return "";
  return Mapped(*source, source->created_timestamp_field);
}

std::string ViewRowsQuery(const FeatureRepo& repo, const FeatureView& view) {
  const Source* source = HistorySource(repo, view);
  // A push source's view reads its batch source and its pushed rows; the
  // batch source's field mapping applies to both.
  std::string name = view.source;
  std::string rows = "SELECT * FROM " + QuoteIdentifier(name);
  if (source != nullptr && !source->field_mapping.empty()) {
    rows = "SELECT * RENAME (";
    bool first = true;
    for (const auto& [from, to] : source->field_mapping) {
      rows += (first ? "" : ", ") + QuoteIdentifier(from) + " AS " + QuoteIdentifier(to);
      first = false;
    }
    rows += ") FROM " + QuoteIdentifier(name);
  }
  if (view.transformation.empty()) return rows;
  return "WITH source AS (" + rows + ") " + view.transformation;
}

}  // namespace cairn::features

namespace cairn::features {

std::vector<Field> JoinKeys(const FeatureRepo& repo, const FeatureView& view) {
  std::vector<Field> keys;
  for (const std::string& name : view.entities) {
    if (const Entity* e = repo.FindEntity(name)) {
      keys.insert(keys.end(), e->join_keys.begin(), e->join_keys.end());
    }
  }
  return keys;
}

bool IsTimestampType(const std::string& sql_type) {
  return sql_type.starts_with("TIMESTAMP") || sql_type == "DATE";
}

std::string MicrosExpr(const std::string& column, const std::string& sql_type) {
  std::string c = QuoteIdentifier(column);
  if (sql_type.starts_with("TIMESTAMP")) return "epoch_us(" + c + ")";
  bool integer = sql_type == "BIGINT" || sql_type == "INTEGER" || sql_type == "SMALLINT" ||
                 sql_type == "TINYINT" || sql_type == "UBIGINT" || sql_type == "UINTEGER";
  if (integer) return "(CAST(" + c + " AS BIGINT) * 1000000)";
  return "epoch_us(CAST(" + c + " AS TIMESTAMP))";
}

const offline::ColumnInfo* FindColumn(const std::vector<offline::ColumnInfo>& columns,
                                      const std::string& name) {
  for (const offline::ColumnInfo& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string ColumnList(const std::vector<offline::ColumnInfo>& columns) {
  std::string out;
  for (const offline::ColumnInfo& c : columns) out += (out.empty() ? "" : ", ") + c.name;
  return out;
}

StatusOr<ViewScan> BuildViewScan(offline::Engine& engine, const FeatureRepo& repo,
                                 const FeatureView& view, const std::vector<Field>& keys,
                                 const std::vector<std::string>& features) {
  std::string rows_query = ViewRowsQuery(repo, view);
  StatusOr<std::vector<offline::ColumnInfo>> columns = engine.Describe(rows_query);
  if (!columns.ok()) {
    return InvalidArgument("feature view '" + view.name + "' (source '" + view.source +
                           "'): " + columns.status().message());
  }
  auto missing = [&](const std::string& what, const std::string& column) {
    return InvalidArgument("feature view '" + view.name + "': its source has no " + what + " '" +
                           column + "'; its columns are: " + ColumnList(*columns));
  };
  std::string ts = TimestampColumn(repo, view);
  const offline::ColumnInfo* ts_col = FindColumn(*columns, ts);
  if (ts_col == nullptr) return missing("timestamp column", ts);

  ViewScan scan;
  std::string select = "SELECT ";
  for (const Field& key : keys) {
    if (FindColumn(*columns, key.name) == nullptr) return missing("join key column", key.name);
    select += "CAST(" + QuoteIdentifier(key.name) + " AS " + SqlTypeOf(key.type) + ") AS " +
              QuoteIdentifier(key.name) + ", ";
  }
  scan.ts_expr = MicrosExpr(ts, ts_col->sql_type);
  select += scan.ts_expr + " AS __cairn_ts";
  std::string created = CreatedColumn(repo, view);
  if (!created.empty()) {
    const offline::ColumnInfo* created_col = FindColumn(*columns, created);
    if (created_col == nullptr) return missing("created timestamp column", created);
    select += ", " + MicrosExpr(created, created_col->sql_type) + " AS __cairn_created";
    scan.has_created = true;
  }
  for (size_t i = 0; i < features.size(); ++i) {
    const Field* field = view.FindFeature(features[i]);
    if (field == nullptr) {
      return NotFound("feature view '" + view.name + "' has no feature '" + features[i] + "'");
    }
    if (FindColumn(*columns, features[i]) == nullptr) {
      return missing("column for the feature", features[i]);
    }
    select += ", CAST(" + QuoteIdentifier(features[i]) + " AS " + SqlTypeOf(field->type) +
              ") AS __cairn_f" + std::to_string(i);
  }
  scan.sql = select + " FROM (" + rows_query + ")";
  return scan;
}

}  // namespace cairn::features
