#include "features/historical.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/strings.h"
#include "features/offline_source.h"
#include "features/on_demand.h"
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

// Row `row` of `column` as an expression value (booleans as bool).
ExprValue ExprAt(const Column& column, int64_t row) {
  if (row < 0 || !column.IsValid(static_cast<size_t>(row))) return {};
  size_t r = static_cast<size_t>(row);
  if (column.type() == offline::ColumnType::kBool) return column.Int(r) != 0;
  if (offline::IsIntegerStorage(column.type())) return column.Int(r);
  if (offline::IsDoubleStorage(column.type())) return column.Double(r);
  return std::string(column.String(r));
}

// Evaluates every requested on-demand feature row by row, from the joined
// (hidden or requested) source features and the entity table's request
// fields, into outputs[i] for each on-demand entry i of `all`.
Status ComputeOnDemand(offline::Engine& engine, const std::string& entity_table,
                       const std::vector<ColumnInfo>& entity_columns,
                       const std::vector<ResolvedFeature>& all,
                       const std::map<std::string, CompiledOnDemand>& on_demand, size_t rows,
                       std::vector<std::optional<offline::VirtualColumn>>* outputs) {
  for (const auto& [name, compiled] : on_demand) {
    // Where each input's values are: a joined column, or a request field.
    // Only inputs of the requested features are needed.
    std::vector<bool> needed = NeededInputs(compiled, all, name);
    std::vector<const offline::VirtualColumn*> joined(compiled.inputs.size(), nullptr);
    std::vector<std::string> fields;
    for (size_t k = 0; k < compiled.inputs.size(); ++k) {
      const OnDemandInput& input = compiled.inputs[k];
      if (!needed[k]) continue;
      if (input.from_request) {
        if (FindColumn(entity_columns, input.feature) == nullptr) {
          return InvalidArgument("entity table has no column '" + input.feature +
                                 "', a request field of on-demand feature view '" + name + "'");
        }
        fields.push_back(input.feature);
        continue;
      }
      for (size_t i = 0; i < all.size(); ++i) {
        bool same =
            !all[i].on_demand && all[i].view == input.view && all[i].feature == input.feature;
        if (same && (*outputs)[i]) joined[k] = &*(*outputs)[i];
      }
    }
    Table request_fields;
    if (!fields.empty()) {
      std::string select = "SELECT ";
      for (size_t i = 0; i < fields.size(); ++i) {
        select += (i ? ", " : "") + QuoteIdentifier(fields[i]);
      }
      ASSIGN_OR_RETURN(request_fields, engine.Query(select + " FROM " + entity_table));
    }
    std::vector<std::pair<size_t, size_t>> requested = RequestedOnDemand(compiled, all, name);
    auto table = std::make_shared<Table>();
    for (const auto& [i, f] : requested) {
      table->columns.emplace_back(all[i].output_name,
                                  ColumnTypeOf(compiled.view->features[f].field.type));
      table->columns.back().Reserve(rows);
    }
    std::vector<ExprValue> values(compiled.inputs.size());
    for (size_t row = 0; row < rows; ++row) {
      for (size_t k = 0; k < compiled.inputs.size(); ++k) {
        if (!needed[k]) continue;
        if (compiled.inputs[k].from_request) {
          values[k] = AsDeclared(
              ExprAt(*request_fields.Find(compiled.inputs[k].feature), static_cast<int64_t>(row)),
              compiled.inputs[k].type);
        } else {
          const offline::VirtualColumn& v = *joined[k];
          int64_t source_row = v.rows != nullptr ? (*v.rows)[row] : static_cast<int64_t>(row);
          values[k] = ExprAt(v.source->columns[v.column], source_row);
        }
      }
      for (size_t w = 0; w < requested.size(); ++w) {
        FeatureValue out = compiled.Evaluate(requested[w].second, values);
        Column& column = table->columns[w];
        AppendFeatureValue(out, &column);
      }
    }
    std::shared_ptr<const Table> computed = table;
    for (size_t w = 0; w < requested.size(); ++w) {
      (*outputs)[requested[w].first] =
          offline::VirtualColumn{.name = all[requested[w].first].output_name,
                                 .source = computed,
                                 .column = w,
                                 .rows = nullptr};
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<ResolvedFeature>> ResolveFeatures(const FeatureRepo& repo,
                                                       const std::vector<std::string>& refs,
                                                       const std::string& service,
                                                       bool full_feature_names) {
  std::vector<ResolvedFeature> out;
  auto add_view = [&](const std::string& view_name, const std::vector<std::string>& features,
                      const std::string& alias) -> Status {
    std::string prefix = alias.empty() ? view_name : alias;
    auto output = [&](const std::string& f) { return full_feature_names ? prefix + "__" + f : f; };
    if (const OnDemandFeatureView* odfv = repo.FindOnDemandFeatureView(view_name)) {
      std::vector<std::string> names = features;
      if (names.empty() || (names.size() == 1 && names[0] == "*")) {
        names.clear();
        for (const OnDemandFeature& f : odfv->features) names.push_back(f.field.name);
      }
      for (const std::string& f : names) {
        bool found = std::any_of(odfv->features.begin(), odfv->features.end(),
                                 [&](const OnDemandFeature& o) { return o.field.name == f; });
        if (!found) {
          return NotFound("on-demand feature view '" + view_name + "' has no feature '" + f + "'");
        }
        out.push_back({view_name, f, output(f), /*on_demand=*/true});
      }
      return Status::Ok();
    }
    const FeatureView* view = repo.FindFeatureView(view_name);
    if (view == nullptr) {
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
      out.push_back({view_name, f, output(f)});
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
                             "full feature names (view__feature) to tell them apart: "
                             "--full-feature-names, or full_feature_names: true over HTTP");
    }
  }
  return out;
}

std::string HiddenName(const std::string& view, const std::string& feature) {
  return "__cairn_in_" + view + "__" + feature;
}

std::vector<std::pair<size_t, size_t>> RequestedOnDemand(
    const CompiledOnDemand& compiled, const std::vector<ResolvedFeature>& features,
    const std::string& name) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < features.size(); ++i) {
    if (!features[i].on_demand || features[i].view != name) continue;
    for (size_t f = 0; f < compiled.view->features.size(); ++f) {
      if (compiled.view->features[f].field.name == features[i].feature) out.emplace_back(i, f);
    }
  }
  return out;
}

std::vector<bool> NeededInputs(const CompiledOnDemand& compiled,
                               const std::vector<ResolvedFeature>& features,
                               const std::string& name) {
  std::vector<bool> needed(compiled.inputs.size(), false);
  for (const auto& [unused, f] : RequestedOnDemand(compiled, features, name)) {
    for (size_t k : compiled.bindings[f]) needed[k] = true;
  }
  return needed;
}

StatusOr<std::map<std::string, CompiledOnDemand>> PlanOnDemand(const FeatureRepo& repo,
                                                               std::vector<ResolvedFeature>* all) {
  std::map<std::string, CompiledOnDemand> on_demand;
  size_t requested = all->size();
  for (size_t i = 0; i < requested; ++i) {
    const ResolvedFeature f = (*all)[i];
    if (!f.on_demand || on_demand.contains(f.view)) continue;
    const OnDemandFeatureView* odfv = repo.FindOnDemandFeatureView(f.view);
    if (odfv == nullptr) return NotFound("no on-demand feature view named '" + f.view + "'");
    ASSIGN_OR_RETURN(CompiledOnDemand compiled, CompileOnDemand(repo, *odfv));
    for (const OnDemandInput& input : compiled.inputs) {
      if (input.from_request) continue;
      std::string hidden = HiddenName(input.view, input.feature);
      bool present = std::any_of(all->begin(), all->end(),
                                 [&](const ResolvedFeature& r) { return r.output_name == hidden; });
      if (!present) all->push_back({input.view, input.feature, hidden});
    }
    on_demand.emplace(f.view, std::move(compiled));
  }
  return on_demand;
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

namespace {

// The column type of a JSON entity column other than the time. Errors:
// InvalidArgument naming the first value unlike those before it.
StatusOr<offline::ColumnType> EntityColumnType(const Frame& frame, const std::string& name,
                                               const std::vector<FrameValue>& values) {
  std::optional<offline::ColumnType> type;
  for (size_t row = 0; row < values.size(); ++row) {
    const FrameValue& v = values[row];
    if (std::holds_alternative<std::monostate>(v)) continue;
    offline::ColumnType mine = std::holds_alternative<int64_t>(v)  ? offline::ColumnType::kInt64
                               : std::holds_alternative<double>(v) ? offline::ColumnType::kDouble
                               : std::holds_alternative<bool>(v)   ? offline::ColumnType::kBool
                                                                   : offline::ColumnType::kString;
    bool numbers = (mine == offline::ColumnType::kInt64 || mine == offline::ColumnType::kDouble) &&
                   (type == offline::ColumnType::kInt64 || type == offline::ColumnType::kDouble);
    if (!type.has_value() || mine == *type) {
      type = mine;
    } else if (numbers) {
      type = offline::ColumnType::kDouble;
    } else {
      return InvalidArgument(frame.field + "." + name + "[" + std::to_string(row) + "]: expected " +
                             std::string(offline::SqlTypeName(*type)) +
                             " like the column's earlier values");
    }
  }
  return type.value_or(offline::ColumnType::kString);
}

}  // namespace

Status LoadEntityFrame(offline::Engine& engine, const Frame& frame,
                       const std::string& timestamp_column, const std::string& table) {
  if (frame.columns.empty()) {
    return InvalidArgument(frame.field +
                           ": expected columns: the join keys, event_timestamp and any labels");
  }
  ASSIGN_OR_RETURN(size_t rows, frame.Rows());
  const std::string& time_name = timestamp_column.empty() ? "event_timestamp" : timestamp_column;
  auto entities = std::make_shared<Table>();
  std::set<std::string> seen;
  for (const auto& [name, values] : frame.columns) {
    if (!seen.insert(name).second) {
      return InvalidArgument(frame.field + ": column '" + name + "' is given twice");
    }
    bool time = name == time_name;
    offline::ColumnType type = offline::ColumnType::kTimestamp;
    if (!time) {
      ASSIGN_OR_RETURN(type, EntityColumnType(frame, name, values));
    }
    Column column(name, type);
    column.Reserve(rows);
    for (size_t row = 0; row < rows; ++row) {
      const FrameValue& v = values[row];
      if (std::holds_alternative<std::monostate>(v)) {
        column.AppendNull();
      } else if (time) {
        ASSIGN_OR_RETURN(int64_t micros, FrameTime(v, name, row, frame.field));
        column.AppendInt(micros);
      } else if (const int64_t* i = std::get_if<int64_t>(&v)) {
        if (type == offline::ColumnType::kDouble) {
          column.AppendDouble(static_cast<double>(*i));
        } else {
          column.AppendInt(*i);
        }
      } else if (const double* d = std::get_if<double>(&v)) {
        column.AppendDouble(*d);
      } else if (const bool* b = std::get_if<bool>(&v)) {
        column.AppendInt(*b ? 1 : 0);
      } else {
        column.AppendString(std::get<std::string>(v));
      }
    }
    entities->columns.push_back(std::move(column));
  }
  const std::string rows_name = table + "_rows";
  RETURN_IF_ERROR(engine.RegisterTable(rows_name, std::move(entities)));
  // The virtual table scans in row order on one thread, so the copy keeps
  // the request's order (the training set answers in it).
  return engine.Execute("CREATE OR REPLACE TEMP TABLE " + QuoteIdentifier(table) +
                        " AS SELECT * FROM cairn_table(" + QuoteLiteral(rows_name) + ")");
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

  // On-demand features read source features that may not be requested:
  // those join as hidden columns, never output.
  std::vector<ResolvedFeature> all = request.features;
  ASSIGN_OR_RETURN(auto on_demand, PlanOnDemand(repo, &all));

  // Group the features by view, in order of first appearance.
  std::vector<ViewPlan> views;
  std::map<std::string, size_t> view_index;
  for (size_t i = 0; i < all.size(); ++i) {
    const ResolvedFeature& f = all[i];
    if (f.on_demand) continue;
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
  ASSIGN_OR_RETURN(Table counted, engine.Query("SELECT count(*) AS n FROM " + entity_table));
  StatusOr<Table> entities =
      engine.StreamQuery(select, static_cast<size_t>(counted.columns[0].Int(0)));
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

  std::vector<std::optional<offline::VirtualColumn>> outputs(all.size());
  for (const ViewPlan& plan : views) {
    const FeatureView& view = *plan.view;
    progress("reading " + view.name);
    ASSIGN_OR_RETURN(ViewScan scan, BuildViewScan(engine, repo, view, plan.keys, [&] {
                       std::vector<std::string> names;
                       for (size_t i : plan.outputs) names.push_back(all[i].feature);
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
      outputs[plan.outputs[i]] = offline::VirtualColumn{.name = all[plan.outputs[i]].output_name,
                                                        .source = source,
                                                        .column = index,
                                                        .rows = matched};
    }
  }

  if (!on_demand.empty()) {
    progress("computing on-demand features");
    RETURN_IF_ERROR(ComputeOnDemand(engine, entity_table, entity_columns, all, on_demand,
                                    result.rows, &outputs));
  }

  progress("assembling the training set");
  std::vector<offline::VirtualColumn> columns;
  std::vector<offline::ColumnType> types;
  for (size_t i = 0; i < request.features.size(); ++i) {
    types.push_back(outputs[i]->source->columns[outputs[i]->column].type());
    columns.push_back(std::move(*outputs[i]));
  }
  RETURN_IF_ERROR(engine.RegisterVirtualTable("cairn_features", std::move(columns), result.rows));
  // Each feature is read by the entity row's number inside DuckDB's scan of
  // the entity table, so the training set is built and written on every
  // core, in the entity table's order. (A POSITIONAL JOIN with the features
  // as a table keeps the order too, but runs on one thread.) The entity
  // table was read in rowid order above; a column of its own named rowid
  // would hide that, so it falls back to the join.
  bool rowid_taken =
      std::any_of(entity_columns.begin(), entity_columns.end(),
                  [](const ColumnInfo& c) { return EqualsIgnoreCase(c.name, "rowid"); });
  if (rowid_taken) {
    result.query =
        "SELECT * FROM " + entity_table + " POSITIONAL JOIN cairn_table('cairn_features')";
    return result;
  }
  result.query = "SELECT *";
  for (size_t i = 0; i < request.features.size(); ++i) {
    result.query += ", " + offline::VirtualColumnExpr("cairn_features", i, types[i], "rowid") +
                    " AS " + QuoteIdentifier(request.features[i].output_name);
  }
  result.query += " FROM " + entity_table;
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
