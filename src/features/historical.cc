#include "features/historical.h"

#include <map>
#include <set>

#include "features/offline_source.h"
#include "features/pit_join.h"

namespace cairn::features {
namespace {

using offline::Column;
using offline::ColumnInfo;
using offline::QuoteIdentifier;
using offline::QuoteLiteral;
using offline::Table;

constexpr int64_t kMicrosPerSecond = 1'000'000;

StatusOr<std::string> EntityTimestampColumn(const std::vector<ColumnInfo>& columns,
                                            const std::string& requested) {
  if (!requested.empty()) {
    if (FindColumn(columns, requested) == nullptr) {
      return InvalidArgument("entity table has no column '" + requested +
                             "' for the event timestamp; its columns are: " + ColumnList(columns));
    }
    return requested;
  }
  if (FindColumn(columns, "event_timestamp") != nullptr) return std::string("event_timestamp");
  std::vector<std::string> candidates;
  for (const ColumnInfo& c : columns) {
    if (IsTimestampType(c.sql_type)) candidates.push_back(c.name);
  }
  if (candidates.size() == 1) return candidates.front();
  return InvalidArgument(
      "entity table needs an event timestamp: a column named event_timestamp, or exactly one "
      "timestamp column (found " +
      std::to_string(candidates.size()) + "); its columns are: " + ColumnList(columns));
}

struct ViewPlan {
  const FeatureView* view;
  std::vector<Field> keys;
  std::vector<size_t> outputs;  // indexes into request.features
};

}  // namespace

StatusOr<std::vector<ResolvedFeature>> ResolveFeatures(const FeatureRepo& repo,
                                                       const std::vector<std::string>& refs,
                                                       const std::string& service,
                                                       bool full_feature_names) {
  std::vector<ResolvedFeature> out;
  auto add_view = [&](const std::string& view_name, const std::vector<std::string>& features,
                      const std::string& alias) -> Status {
    const FeatureView* view = repo.FindFeatureView(view_name);
    if (view == nullptr) {
      if (repo.FindOnDemandFeatureView(view_name) != nullptr) {
        return InvalidArgument("'" + view_name +
                               "' is an on-demand feature view; training-set retrieval of "
                               "on-demand features is not supported yet");
      }
      return NotFound("no feature view named '" + view_name + "' in project '" + repo.project +
                      "'");
    }
    std::vector<std::string> names = features;
    if (names.empty() || (names.size() == 1 && names[0] == "*")) {
      names.clear();
      for (const Field& f : view->schema) names.push_back(f.name);
    }
    for (const std::string& f : names) {
      if (view->FindFeature(f) == nullptr) {
        return NotFound("feature view '" + view_name + "' has no feature '" + f + "'");
      }
      std::string prefix = alias.empty() ? view_name : alias;
      out.push_back({view_name, f, full_feature_names ? prefix + "__" + f : f});
    }
    return Status::Ok();
  };

  if (!service.empty()) {
    const FeatureService* s = repo.FindFeatureService(service);
    if (s == nullptr) {
      return NotFound("no feature service named '" + service + "' in project '" + repo.project +
                      "'");
    }
    for (const FeatureServiceEntry& e : s->features) {
      RETURN_IF_ERROR(add_view(e.view, e.features, e.alias));
    }
  }
  for (const std::string& ref : refs) {
    size_t colon = ref.find(':');
    std::string view = ref.substr(0, colon);
    std::vector<std::string> features;
    if (colon != std::string::npos) features.push_back(ref.substr(colon + 1));
    RETURN_IF_ERROR(add_view(view, features, ""));
  }
  if (out.empty())
    return InvalidArgument("no features requested: give feature references or a service");
  std::set<std::string> names;
  for (const ResolvedFeature& f : out) {
    if (!names.insert(f.output_name).second) {
      return InvalidArgument("feature name '" + f.output_name +
                             "' is requested twice (from two views, or twice from one); use "
                             "full feature names (view__feature) to tell them apart");
    }
  }
  return out;
}

Status LoadEntityFile(offline::Engine& engine, const std::string& path, const std::string& table) {
  bool csv = path.ends_with(".csv") || path.ends_with(".csv.gz");
  std::string reader = csv ? "read_csv(" + QuoteLiteral(path) + ", header = true)"
                           : "read_parquet(" + QuoteLiteral(path) + ")";
  Status loaded = engine.Execute("CREATE OR REPLACE TEMP TABLE " + QuoteIdentifier(table) +
                                 " AS SELECT * FROM " + reader);
  if (!loaded.ok()) return InvalidArgument("entity file " + path + ": " + loaded.message());
  return Status::Ok();
}

StatusOr<HistoricalResult> GetHistoricalFeatures(offline::Engine& engine, const FeatureRepo& repo,
                                                 const HistoricalRequest& request) {
  auto progress = [&](const std::string& step) {
    if (request.progress) request.progress(step);
  };
  const std::string entity_table = QuoteIdentifier(request.entity_table);
  ASSIGN_OR_RETURN(std::vector<ColumnInfo> entity_columns,
                   engine.Describe("SELECT * FROM " + entity_table));
  ASSIGN_OR_RETURN(std::string ts_column,
                   EntityTimestampColumn(entity_columns, request.timestamp_column));
  const ColumnInfo* ts_info = FindColumn(entity_columns, ts_column);

  // Group the requested features by view, in order of first appearance.
  std::vector<ViewPlan> views;
  std::map<std::string, size_t> view_index;
  for (size_t i = 0; i < request.features.size(); ++i) {
    const ResolvedFeature& f = request.features[i];
    if (FindColumn(entity_columns, f.output_name) != nullptr) {
      return InvalidArgument("entity table column '" + f.output_name +
                             "' has the name of a requested feature; rename the column or use "
                             "full feature names");
    }
    auto [it, added] = view_index.emplace(f.view, views.size());
    if (added) {
      const FeatureView* view = repo.FindFeatureView(f.view);
      if (view == nullptr) return NotFound("no feature view named '" + f.view + "'");
      views.push_back({view, JoinKeys(repo, *view), {}});
    }
    views[it->second].outputs.push_back(i);
  }

  // Every join key any view needs, typed as its entity declares.
  std::vector<Field> all_keys;
  for (const ViewPlan& v : views) {
    for (const Field& key : v.keys) {
      if (FindColumn(entity_columns, key.name) == nullptr) {
        return InvalidArgument("entity table has no column '" + key.name +
                               "', a join key of feature view '" + v.view->name +
                               "'; its columns are: " + ColumnList(entity_columns));
      }
      bool seen = false;
      for (const Field& k : all_keys) seen = seen || k.name == key.name;
      if (!seen) all_keys.push_back(key);
    }
  }

  progress("reading entity keys and timestamps");
  std::string select = "SELECT ";
  for (const Field& key : all_keys) {
    select += "CAST(" + QuoteIdentifier(key.name) + " AS " + SqlTypeOf(key.type) + ") AS " +
              QuoteIdentifier(key.name) + ", ";
  }
  select += MicrosExpr(ts_column, ts_info->sql_type) + " AS __cairn_ts FROM " + entity_table;
  StatusOr<Table> entities = engine.Query(select);
  if (!entities.ok()) {
    return InvalidArgument("entity table: join keys or event timestamp '" + ts_column +
                           "' cannot be read as declared: " + entities.status().message());
  }
  const Column* entity_ts = entities->Find("__cairn_ts");
  if (entity_ts->HasNulls()) {
    for (size_t row = 0; row < entity_ts->size(); ++row) {
      if (!entity_ts->IsValid(row)) {
        return InvalidArgument("entity row " + std::to_string(row + 1) + " has no " + ts_column);
      }
    }
  }
  int64_t min_ts = INT64_MAX, max_ts = INT64_MIN;
  for (int64_t t : entity_ts->ints()) {
    min_ts = std::min(min_ts, t);
    max_ts = std::max(max_ts, t);
  }

  HistoricalResult result;
  result.rows = entities->rows();
  for (const ColumnInfo& c : entity_columns) result.columns.push_back(c.name);
  for (const ResolvedFeature& f : request.features) result.columns.push_back(f.output_name);

  std::vector<std::optional<offline::VirtualColumn>> outputs(request.features.size());
  for (const ViewPlan& plan : views) {
    const FeatureView& view = *plan.view;
    progress("reading " + view.name);
    ASSIGN_OR_RETURN(ViewScan scan, BuildViewScan(engine, repo, view, plan.keys, [&] {
                       std::vector<std::string> names;
                       for (size_t i : plan.outputs) names.push_back(request.features[i].feature);
                       return names;
                     }()));
    // Only rows that can be chosen: none after the last entity time, none
    // older than the earliest entity time minus the ttl.
    int64_t ttl_micros = view.ttl_seconds * kMicrosPerSecond;
    std::string q = scan.sql + " WHERE " + scan.ts_expr + " <= " + std::to_string(max_ts);
    if (ttl_micros > 0) q += " AND " + scan.ts_expr + " >= " + std::to_string(min_ts - ttl_micros);
    StatusOr<Table> rows = engine.Query(q);
    if (!rows.ok()) {
      return InvalidArgument("feature view '" + view.name + "': " + rows.status().message());
    }

    progress("joining " + std::to_string(entities->rows()) + " entity rows with " +
             std::to_string(rows->rows()) + " rows of " + view.name);
    PitJoinInput input;
    for (const Field& key : plan.keys) {
      input.entity_keys.push_back(entities->Find(key.name));
      input.feature_keys.push_back(rows->Find(key.name));
    }
    input.entity_ts = entity_ts;
    input.feature_ts = rows->Find("__cairn_ts");
    input.feature_created = scan.has_created ? rows->Find("__cairn_created") : nullptr;
    PitJoinOptions options{.ttl_micros = ttl_micros,
                           .created_cutoff_micros = request.created_cutoff_micros,
                           .threads = request.threads};
    ASSIGN_OR_RETURN(std::vector<int64_t> match, PointInTimeJoin(input, options));

    // The chosen rows are not copied: DuckDB reads each feature through the
    // match list when the training set is written out.
    auto matched = std::make_shared<const std::vector<int64_t>>(std::move(match));
    auto source = std::make_shared<const Table>(std::move(*rows));
    for (size_t i = 0; i < plan.outputs.size(); ++i) {
      std::string column = "__cairn_f" + std::to_string(i);
      size_t index = 0;
      while (source->columns[index].name() != column) ++index;
      outputs[plan.outputs[i]] =
          offline::VirtualColumn{.name = request.features[plan.outputs[i]].output_name,
                                 .source = source,
                                 .column = index,
                                 .rows = matched};
    }
  }

  progress("assembling the training set");
  std::vector<offline::VirtualColumn> columns;
  for (std::optional<offline::VirtualColumn>& c : outputs) columns.push_back(std::move(*c));
  RETURN_IF_ERROR(engine.RegisterVirtualTable("cairn_features", std::move(columns), result.rows));
  result.query = "SELECT * FROM " + entity_table + " POSITIONAL JOIN cairn_table('cairn_features')";
  return result;
}

Status WriteResult(offline::Engine& engine, const std::string& query, const std::string& path) {
  bool csv = path.ends_with(".csv");
  Status written = engine.Execute("COPY (" + query + ") TO " + QuoteLiteral(path) +
                                  (csv ? " (FORMAT csv, HEADER true)" : " (FORMAT parquet)"));
  if (!written.ok()) return InvalidArgument("cannot write " + path + ": " + written.message());
  return Status::Ok();
}

}  // namespace cairn::features
