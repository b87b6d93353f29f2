#include "features/materialize.h"

#include "core/sha256.h"
#include "features/offline_source.h"
#include "features/online_codec.h"

namespace cairn::features {
namespace {

using offline::Column;
using offline::QuoteIdentifier;
using offline::Table;

constexpr int64_t kMicrosPerSecond = 1'000'000;

FeatureValue ValueAt(const Column& column, size_t row) {
  if (!column.IsValid(row)) return std::monostate{};
  if (offline::IsIntegerStorage(column.type())) return column.Int(row);
  if (offline::IsDoubleStorage(column.type())) return column.Double(row);
  return std::string(column.String(row));
}

// REQUIRES: the key is not null at `row`.
Status AppendKey(const Field& key, const Column& column, size_t row, std::string* out) {
  if (offline::IsStringStorage(column.type()))
    return AppendKeyString(key.type, column.String(row), out);
  return AppendKeyInt(key.type, column.Int(row), out);
}

StatusOr<ViewMaterialization> MaterializeView(offline::Engine& engine, const FeatureRepo& repo,
                                              const FeatureView& view, online::OnlineStore& store,
                                              const MaterializeRequest& request, int64_t start,
                                              int64_t end) {
  ViewMaterialization result{.view = view.name, .start_micros = start, .end_micros = end};
  std::vector<Field> keys = JoinKeys(repo, view);
  std::vector<std::string> features;
  for (const Field& f : view.schema) features.push_back(f.name);
  ASSIGN_OR_RETURN(ViewScan scan, BuildViewScan(engine, repo, view, keys, features));

  // The latest row per entity in the window, chosen by DuckDB in parallel.
  std::string partition;
  for (const Field& key : keys)
    partition += (partition.empty() ? "" : ", ") + QuoteIdentifier(key.name);
  std::string order = "__cairn_ts DESC";
  if (scan.has_created) order += ", __cairn_created DESC NULLS LAST";
  std::string sql = scan.sql + " WHERE " + scan.ts_expr + " BETWEEN " + std::to_string(start) +
                    " AND " + std::to_string(end);
  if (!keys.empty()) {
    sql += " QUALIFY row_number() OVER (PARTITION BY " + partition + " ORDER BY " + order + ") = 1";
  } else {
    sql += " ORDER BY " + order + " LIMIT 1";  // an entity-less view holds one row
  }
  StatusOr<Table> rows = engine.Query(sql);
  if (!rows.ok()) {
    return InvalidArgument("feature view '" + view.name + "': " + rows.status().message());
  }
  result.rows = rows->rows();

  std::vector<const Column*> key_columns;
  for (const Field& key : keys) key_columns.push_back(rows->Find(key.name));
  const Column* ts = rows->Find("__cairn_ts");
  const Column* created = scan.has_created ? rows->Find("__cairn_created") : nullptr;
  std::vector<const Column*> value_columns;
  for (size_t i = 0; i < features.size(); ++i) {
    value_columns.push_back(rows->Find("__cairn_f" + std::to_string(i)));
  }

  const std::string table = OnlineTable(repo.project, view);
  std::vector<std::string> batch_keys;
  std::vector<std::string> batch_records;  // stored form: header, then values
  std::vector<online::OnlineWrite> writes;
  auto flush = [&]() -> Status {
    writes.clear();
    for (size_t i = 0; i < batch_keys.size(); ++i) {
      writes.push_back({batch_keys[i], batch_records[i]});
    }
    ASSIGN_OR_RETURN(online::WriteCounts counts, store.Write(table, writes));
    result.written += counts.written;
    result.kept_newer += counts.kept_newer;
    batch_keys.clear();
    batch_records.clear();
    if (request.progress)
      request.progress(view.name, result.written + result.kept_newer, result.rows);
    return Status::Ok();
  };
  for (size_t row = 0; row < rows->rows(); ++row) {
    std::string key;
    bool null_key = false;
    for (size_t k = 0; k < keys.size(); ++k) {
      if (!key_columns[k]->IsValid(row)) {
        null_key = true;  // a row without its entity cannot be served
        break;
      }
      Status appended = AppendKey(keys[k], *key_columns[k], row, &key);
      if (!appended.ok()) {
        return InvalidArgument("feature view '" + view.name + "', join key '" + keys[k].name +
                               "': " + appended.message());
      }
    }
    if (null_key) continue;
    std::string record;
    online::AppendStoredHeader(
        ts->Int(row), created != nullptr && created->IsValid(row) ? created->Int(row) : 0, &record);
    for (const Column* c : value_columns) AppendValue(ValueAt(*c, row), &record);
    batch_keys.push_back(std::move(key));
    batch_records.push_back(std::move(record));
    if (batch_keys.size() >= request.batch_rows) RETURN_IF_ERROR(flush());
  }
  if (!batch_keys.empty() || result.rows == 0) RETURN_IF_ERROR(flush());
  return result;
}

}  // namespace

std::string OnlineTable(const std::string& project, const FeatureView& view) {
  std::string schema;
  for (const Field& f : view.schema) {
    schema += f.name;
    schema += ':';
    schema += ValueTypeName(f.type);
    schema += ';';
  }
  return project + "/" + view.name + "/" + Sha256Hex(schema).substr(0, 12);
}

StatusOr<std::vector<ViewMaterialization>> Materialize(offline::Engine& engine,
                                                       const FeatureRepo& repo,
                                                       FeatureRegistry& registry,
                                                       online::OnlineStore& store,
                                                       const MaterializeRequest& request) {
  std::vector<const FeatureView*> views;
  if (request.views.empty()) {
    for (const FeatureView& v : repo.feature_views) {
      if (v.online) views.push_back(&v);
    }
  } else {
    for (const std::string& name : request.views) {
      const FeatureView* v = repo.FindFeatureView(name);
      if (v == nullptr) {
        return NotFound("no feature view named '" + name + "' in project '" + repo.project + "'");
      }
      if (!v->online) {
        return InvalidArgument("feature view '" + name +
                               "' has online: false; set online: true and apply to serve it");
      }
      views.push_back(v);
    }
  }
  std::vector<ViewMaterialization> results;
  for (const FeatureView* view : views) {
    int64_t start = request.start_micros;
    if (request.incremental) {
      ASSIGN_OR_RETURN(std::optional<int64_t> last,
                       registry.LastMaterializedEnd(repo.project, view->name));
      start = last.has_value()        ? *last
              : view->ttl_seconds > 0 ? request.end_micros - view->ttl_seconds * kMicrosPerSecond
                                      : INT64_MIN / 2;
    }
    if (start > request.end_micros) {
      return InvalidArgument("materialization window of '" + view->name +
                             "' starts after it ends; the end must be after the start");
    }
    ASSIGN_OR_RETURN(ViewMaterialization done, MaterializeView(engine, repo, *view, store, request,
                                                               start, request.end_micros));
    if (request.stats != nullptr && done.rows > 0) {
      ASSIGN_OR_RETURN(ViewStats stats, ComputeViewStats(engine, repo, *view, request.env, start,
                                                         request.end_micros));
      RETURN_IF_ERROR(request.stats->Save(stats));
    }
    RETURN_IF_ERROR(registry.RecordMaterialization(
        repo.project, {.view = view->name,
                       .start_micros = start,
                       .end_micros = request.end_micros,
                       .rows = static_cast<int64_t>(done.written + done.kept_newer)}));
    results.push_back(done);
  }
  return results;
}

}  // namespace cairn::features
