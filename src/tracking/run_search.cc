#include "tracking/run_search.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <unordered_map>

#include "core/base64.h"
#include "search/search_filter.h"

namespace cairn::tracking {

using search::Comparator;
using search::ComparatorName;
using search::FilterClause;
using search::KeyType;
using search::OrderByClause;
using search::ParseOrderBy;
using search::ParseOrderByList;
using search::ParseSearchFilter;
using search::RunSearchRules;
using search::SearchEntityRules;

using store::Dialect;
using store::SqlRows;
using store::SqlSession;
using store::SqlValue;

std::string InList(size_t n) {
  std::string s = "(";
  for (size_t i = 0; i < n; ++i) s += i == 0 ? "?" : ", ?";
  return s + ")";
}

// "<column> <op> ?" for a string comparison. ComparatorName spells every
// comparator as SQL does, except ILIKE, which is written here as LOWER() on
// both sides so the same SQL works on SQLite and PostgreSQL. PostgreSQL's
// LIKE treats '\' as an escape character and SQLite's has none; ESCAPE ''
// makes PostgreSQL agree (SQLite rejects that clause, so it gets nothing).
std::string StringComparison(const std::string& column, const FilterClause& clause, Dialect dialect,
                             std::vector<SqlValue>* params) {
  if (clause.op == Comparator::kIn || clause.op == Comparator::kNotIn) {
    for (const std::string& item : clause.list) params->push_back(item);
    std::string list = clause.list.empty() ? "(NULL)" : InList(clause.list.size());
    return column + " " + std::string(ComparatorName(clause.op)) + " " + list;
  }
  params->push_back(clause.text);
  std::string escape = dialect == Dialect::kPostgres ? " ESCAPE ''" : "";
  if (clause.op == Comparator::kILike) return "LOWER(" + column + ") LIKE LOWER(?)" + escape;
  if (clause.op == Comparator::kLike) return column + " LIKE ?" + escape;
  return column + " " + std::string(ComparatorName(clause.op)) + " ?";
}

namespace {

// Maps a canonical run attribute to its column.
std::string RunAttributeColumn(const std::string& key) {
  if (key == "run_id") return "r.run_uuid";
  if (key == "run_name") return "r.name";
  if (key == "status") return "r.status";
  if (key == "user_id") return "r.user_id";
  if (key == "artifact_uri") return "r.artifact_uri";
  if (key == "start_time" || key == "created") return "r.start_time";
  if (key == "end_time") return "r.end_time";
  if (key == "experiment_id") return "r.experiment_id";
  return "";
}

// The lifecycle condition for table alias `alias` ("r", "e").
std::string StageCondition(const std::string& alias, ViewType view) {
  switch (view) {
    case ViewType::kActiveOnly:
      return alias + ".lifecycle_stage = 'active'";
    case ViewType::kDeletedOnly:
      return alias + ".lifecycle_stage = 'deleted'";
    case ViewType::kAll:
      return "1 = 1";
  }
  return "1 = 1";
}

// A WHERE fragment with its bound values, in text order.
struct SqlFragment {
  std::string sql;
  std::vector<SqlValue> params;

  void Append(const std::string& conjunct, const std::vector<SqlValue>& values) {
    sql += sql.empty() ? conjunct : " AND " + conjunct;
    params.insert(params.end(), values.begin(), values.end());
  }
};

// A filter on a run's metric, param or tag: rows of `table` (alias f) with
// f.key = key and `condition`.
struct KeyedCondition {
  std::string table;
  bool scoped_by_experiment = false;  // The table has experiment_id (latest_metrics).
  std::string condition;
  std::vector<SqlValue> params;  // key first, then the condition's values.
};

KeyedCondition KeyedFilter(const FilterClause& clause, Dialect dialect) {
  KeyedCondition c;
  c.params.push_back(clause.key);
  if (clause.type == KeyType::kMetric) {
    c.table = "latest_metrics";
    c.scoped_by_experiment = true;
    c.condition = "f.is_nan = 0 AND f.value " + std::string(ComparatorName(clause.op)) + " ?";
    c.params.push_back(clause.number);
  } else {
    c.table = clause.type == KeyType::kParam ? "params" : "tags";
    c.condition = StringComparison("f.value", clause, dialect, &c.params);
  }
  return c;
}

// Rows counted before deciding a filter is unselective (see KeyedFilterSql).
constexpr int64_t kSelectiveRows = 2000;

// A keyed filter becomes either an IN over the runs the filter matches
// (cheap when few match: a short indexed list) or a correlated EXISTS that
// probes each candidate run's own row by primary key (cheap when many match:
// nothing to build, and an ordered scan can stop at the page's end). Picking
// wrongly costs 10-100x either way. PostgreSQL's planner makes this choice
// itself from its statistics; SQLite cannot, so there we count at most
// kSelectiveRows matching rows through the (key, value) index first.
StatusOr<SqlFragment> KeyedFilterSql(SqlSession& db, const FilterClause& clause,
                                     const std::vector<int64_t>& experiment_keys) {
  KeyedCondition c = KeyedFilter(clause, db.dialect());
  std::string scope;
  std::vector<SqlValue> scoped = {};
  if (c.scoped_by_experiment) {
    scope = "f.experiment_id IN " + InList(experiment_keys.size()) + " AND ";
    scoped.assign(experiment_keys.begin(), experiment_keys.end());
  }
  scoped.insert(scoped.end(), c.params.begin(), c.params.end());
  std::string matching = "FROM " + c.table + " f WHERE " + scope + "f.key = ? AND " + c.condition;
  bool selective = false;
  if (db.dialect() == Dialect::kSqlite) {
    std::vector<SqlValue> probe_params = scoped;
    probe_params.emplace_back(kSelectiveRows);
    ASSIGN_OR_RETURN(SqlRows probe,
                     db.Query("SELECT COUNT(*) FROM (SELECT 1 " + matching + " LIMIT ?) AS probe",
                              probe_params));
    selective = probe.Int(0, 0) < kSelectiveRows;
  }
  SqlFragment out;
  if (selective) {
    out.Append("r.run_key IN (SELECT f.run_key " + matching + ")", scoped);
  } else {
    out.Append("EXISTS (SELECT 1 FROM " + c.table +
                   " f WHERE f.run_key = r.run_key AND f.key = ? AND " + c.condition + ")",
               c.params);
  }
  return out;
}

StatusOr<SqlFragment> RunFilterSql(SqlSession& db, const FilterClause& clause,
                                   const std::vector<int64_t>& experiment_keys) {
  SqlFragment out;
  std::vector<SqlValue> params;
  switch (clause.type) {
    case KeyType::kMetric:
    case KeyType::kParam:
    case KeyType::kTag:
      return KeyedFilterSql(db, clause, experiment_keys);
    case KeyType::kAttribute: {
      std::string column = RunAttributeColumn(clause.key);
      if (column.empty()) return InvalidArgument("Invalid attribute key '" + clause.key + "'");
      if (clause.is_numeric) {
        out.Append(
            column + " " + std::string(ComparatorName(clause.op)) + " CAST(? AS DOUBLE PRECISION)",
            {clause.number});
        return out;
      }
      std::string sql = StringComparison(column, clause, db.dialect(), &params);
      out.Append(sql, params);
      return out;
    }
    case KeyType::kDataset: {
      if (clause.key == "context") {
        std::string sql = StringComparison("value", clause, db.dialect(), &params);
        out.Append(
            "r.run_key IN (SELECT run_key FROM run_input_tags WHERE key = "
            "'mlflow.data.context' AND " +
                sql + ")",
            params);
        return out;
      }
      std::string column = clause.key == "digest" ? "d.digest" : "d.name";
      std::string sql = StringComparison(column, clause, db.dialect(), &params);
      out.Append(
          "r.run_key IN (SELECT i.run_key FROM run_inputs i JOIN datasets d ON "
          "d.dataset_key = i.dataset_key WHERE " +
              sql + ")",
          params);
      return out;
    }
  }
  return InvalidArgument("Invalid search expression type");
}

// One order_by term: an optional LEFT JOIN bringing in the value, and the
// ORDER BY text. MLflow's order puts real values first, then NaN, then runs
// without the key, whatever the direction.
struct OrderTerm {
  std::string join;
  std::vector<SqlValue> join_params;
  std::string order;  // "<missing rank> ASC, <expr> <dir>"
};

StatusOr<OrderTerm> RunOrderTerm(const OrderByClause& ob, const std::string& alias) {
  std::string dir = ob.ascending ? " ASC" : " DESC";
  OrderTerm term;
  switch (ob.type) {
    case KeyType::kAttribute: {
      std::string expr = RunAttributeColumn(ob.key);
      if (expr.empty()) return InvalidArgument("Invalid order_by key '" + ob.key + "'");
      term.order = "(" + expr + " IS NULL) ASC, " + expr + dir;
      return term;
    }
    case KeyType::kMetric:
      term.join = " LEFT JOIN latest_metrics " + alias + " ON " + alias +
                  ".run_key = r.run_key AND " + alias + ".key = ?";
      term.join_params.push_back(ob.key);
      term.order = "(CASE WHEN " + alias + ".value IS NULL THEN 2 WHEN " + alias +
                   ".is_nan = 1 THEN 1 ELSE 0 END) ASC, " + alias + ".value" + dir;
      return term;
    case KeyType::kParam:
    case KeyType::kTag:
      term.join = std::string(" LEFT JOIN ") + (ob.type == KeyType::kParam ? "params " : "tags ") +
                  alias + " ON " + alias + ".run_key = r.run_key AND " + alias + ".key = ?";
      term.join_params.push_back(ob.key);
      term.order = "(" + alias + ".value IS NULL) ASC, " + alias + ".value" + dir;
      return term;
    case KeyType::kDataset:
      break;
  }
  return InvalidArgument("Invalid order_by entity: dataset");
}

// search_experiments: name (string), creation_time and last_update_time
// (numeric), and tags; no metrics or params.
const SearchEntityRules& ExperimentSearchRules() {
  static const SearchEntityRules* rules = [] {
    auto* r = new SearchEntityRules();
    r->allow_metrics = false;
    r->allow_params = false;
    r->attributes.push_back({"name", false, false, true, true, {}, {}});
    r->attributes.push_back({"creation_time", true, false, true, true, {}, {}});
    r->attributes.push_back({"last_update_time", true, false, true, true, {}, {}});
    r->attributes.push_back({"experiment_id", false, false, false, true, {}, {}});
    return r;
  }();
  return *rules;
}

}  // namespace

StatusOr<SegmentedSearch> PlanRunSearch(SqlSession& db, const SearchRunsRequest& request,
                                        const std::vector<int64_t>& experiment_keys) {
  ASSIGN_OR_RETURN(std::vector<FilterClause> clauses,
                   ParseSearchFilter(request.filter, RunSearchRules()));
  ASSIGN_OR_RETURN(std::vector<OrderByClause> order_by,
                   ParseOrderByList(request.order_by, RunSearchRules()));
  SegmentedSearch plan;
  if (experiment_keys.empty()) return plan;  // Matches nothing.

  SqlFragment where;
  std::vector<SqlValue> experiments(experiment_keys.begin(), experiment_keys.end());
  where.Append("r.experiment_id IN " + InList(experiment_keys.size()), experiments);
  where.Append(StageCondition("r", request.view_type), {});
  for (const FilterClause& clause : clauses) {
    ASSIGN_OR_RETURN(SqlFragment sql, RunFilterSql(db, clause, experiment_keys));
    where.Append(sql.sql, sql.params);
  }

  // A first order key on a metric, param or tag splits the search into
  // segments by MLflow's ranks (runs with a value, with NaN, without the
  // key). Within the first segment the value itself is the leading sort key,
  // so the database can walk the (experiment, key, value) index in order and
  // stop at the page's end instead of sorting every match.
  bool segmented = !order_by.empty() && order_by[0].type != KeyType::kAttribute;
  std::string joins;
  std::vector<SqlValue> join_params;
  std::string order;
  bool has_start_time = false;
  bool has_run_id = false;
  for (size_t i = segmented ? 1 : 0; i < order_by.size(); ++i) {
    ASSIGN_OR_RETURN(OrderTerm term, RunOrderTerm(order_by[i], "o" + std::to_string(i)));
    joins += term.join;
    join_params.insert(join_params.end(), term.join_params.begin(), term.join_params.end());
    order += term.order + ", ";
  }
  for (const OrderByClause& ob : order_by) {
    if (ob.type != KeyType::kAttribute) continue;
    has_start_time = has_start_time || RunAttributeColumn(ob.key) == "r.start_time";
    has_run_id = has_run_id || ob.key == "run_id";
  }
  if (!has_start_time) order += "r.start_time DESC, ";
  order += has_run_id ? "r.run_key" : "r.run_uuid";

  // SELECT r.run_key FROM <from><joins> WHERE <segment condition> AND <where> ORDER BY ...
  auto add_segment = [&](const std::string& from, const SqlFragment& condition,
                         const std::string& leading_order) {
    SqlQuery q;
    q.sql = "SELECT r.run_key FROM " + from + joins + " WHERE ";
    q.params = join_params;
    if (!condition.sql.empty()) q.sql += condition.sql + " AND ";
    q.params.insert(q.params.end(), condition.params.begin(), condition.params.end());
    q.sql += where.sql + " ORDER BY " + leading_order + order;
    q.params.insert(q.params.end(), where.params.begin(), where.params.end());
    plan.segments.push_back(std::move(q));
  };
  if (!segmented) {
    add_segment("runs r", {}, "");
    return plan;
  }
  const OrderByClause& first = order_by[0];
  std::string dir = first.ascending ? " ASC, " : " DESC, ";
  std::string table = first.type == KeyType::kMetric  ? "latest_metrics"
                      : first.type == KeyType::kParam ? "params"
                                                      : "tags";
  std::string from = table + " o0 JOIN runs r ON r.run_key = o0.run_key";
  SqlFragment has_key;
  if (first.type == KeyType::kMetric) {
    has_key.Append("o0.experiment_id IN " + InList(experiment_keys.size()), experiments);
  }
  has_key.Append("o0.key = ?", {first.key});
  if (first.type == KeyType::kMetric) {
    SqlFragment real = has_key;
    real.Append("o0.is_nan = 0", {});
    add_segment(from, real, "o0.value" + dir);
    SqlFragment nan = has_key;
    nan.Append("o0.is_nan = 1", {});
    add_segment(from, nan, "");
  } else {
    add_segment(from, has_key, "o0.value" + dir);
  }
  SqlFragment missing;
  missing.Append(
      "NOT EXISTS (SELECT 1 FROM " + table + " o0 WHERE o0.run_key = r.run_key AND o0.key = ?)",
      {first.key});
  add_segment("runs r", missing, "");
  return plan;
}

StatusOr<std::vector<int64_t>> ReadSegmentedPage(SqlSession& db, const SegmentedSearch& plan,
                                                 int64_t offset, int64_t limit) {
  std::vector<int64_t> keys;
  int64_t skip = offset;  // Rows still to skip, counted from the current segment's start.
  for (size_t s = 0; s < plan.segments.size(); ++s) {
    int64_t want = limit - static_cast<int64_t>(keys.size());
    if (want <= 0) break;
    const SqlQuery& segment = plan.segments[s];
    std::vector<SqlValue> params = segment.params;
    params.emplace_back(want);
    params.emplace_back(skip);
    ASSIGN_OR_RETURN(SqlRows rows, db.Query(segment.sql + " LIMIT ? OFFSET ?", params));
    for (size_t i = 0; i < rows.size(); ++i) keys.push_back(rows.Int(i, 0));
    if (!rows.empty()) {
      skip = 0;  // This segment ended inside the page: the next one starts right after.
      continue;
    }
    if (s + 1 == plan.segments.size()) break;
    // The page starts beyond this segment: skip all of it.
    ASSIGN_OR_RETURN(
        SqlRows count,
        db.Query("SELECT COUNT(*) FROM (" + segment.sql + ") AS segment", segment.params));
    skip = std::max<int64_t>(0, skip - count.Int(0, 0));
  }
  return keys;
}

StatusOr<SqlQuery> BuildExperimentSearchQuery(const SearchExperimentsRequest& request,
                                              Dialect dialect, int64_t offset) {
  ASSIGN_OR_RETURN(std::vector<FilterClause> clauses,
                   ParseSearchFilter(request.filter, ExperimentSearchRules()));
  auto column = [](const std::string& key) -> std::string {
    if (key == "name") return "e.name";
    if (key == "creation_time") return "e.creation_time";
    if (key == "last_update_time") return "e.last_update_time";
    if (key == "experiment_id") return "e.experiment_id";
    return "";
  };
  SqlQuery query;
  std::string joins;
  std::string order;
  for (size_t i = 0; i < request.order_by.size(); ++i) {
    ASSIGN_OR_RETURN(OrderByClause ob, ParseOrderBy(request.order_by[i], ExperimentSearchRules()));
    std::string expr = column(ob.key);
    if (ob.type != KeyType::kAttribute || expr.empty()) {
      return InvalidArgument("Invalid order_by entity '" + request.order_by[i] +
                             "': experiments can be ordered by name, experiment_id, "
                             "creation_time or last_update_time");
    }
    order += expr + (ob.ascending ? " ASC, " : " DESC, ");
  }
  order += request.order_by.empty() ? "e.creation_time DESC, e.experiment_id ASC"
                                    : "e.experiment_id ASC";
  query.sql =
      "SELECT e.experiment_id FROM experiments e WHERE " + StageCondition("e", request.view_type);
  for (const FilterClause& clause : clauses) {
    if (clause.type == KeyType::kTag) {
      query.params.push_back(clause.key);
      query.sql +=
          " AND e.experiment_id IN (SELECT experiment_id FROM experiment_tags WHERE key "
          "= ? AND " +
          StringComparison("value", clause, dialect, &query.params) + ")";
    } else if (clause.type == KeyType::kAttribute && !column(clause.key).empty()) {
      if (clause.is_numeric) {
        query.params.push_back(clause.number);
        query.sql += " AND " + column(clause.key) + " " + std::string(ComparatorName(clause.op)) +
                     " CAST(? AS DOUBLE PRECISION)";
      } else {
        query.sql += " AND " + StringComparison(column(clause.key), clause, dialect, &query.params);
      }
    } else {
      return InvalidArgument("Invalid filter key '" + clause.key +
                             "' for experiments: use name, creation_time, last_update_time or "
                             "tags.<key>");
    }
  }
  if (!request.hidden.empty()) {
    query.sql += " AND e.experiment_id NOT IN " + InList(request.hidden.size());
    for (const std::string& id : request.hidden) {
      char* end = nullptr;
      int64_t key = std::strtoll(id.c_str(), &end, 10);
      query.params.push_back(end != nullptr && *end == '\0' ? SqlValue(key)
                                                            : SqlValue(int64_t{-1}));
    }
  }
  query.sql += " ORDER BY " + order + " LIMIT ? OFFSET ?";
  query.params.push_back(request.max_results + 1);
  query.params.push_back(offset);
  return query;
}

namespace {

constexpr size_t kInChunk = 500;

// Runs `sql_prefix` + "(?, ...)" + `sql_suffix` over `keys` in chunks,
// handing each row to `row_fn`.
Status ForEachChunk(SqlSession& db, const std::string& sql_prefix, const std::string& sql_suffix,
                    const std::vector<int64_t>& keys,
                    const std::function<void(const store::SqlRow&)>& row_fn) {
  for (size_t start = 0; start < keys.size(); start += kInChunk) {
    size_t n = std::min(kInChunk, keys.size() - start);
    std::vector<SqlValue> params(keys.begin() + static_cast<long>(start),
                                 keys.begin() + static_cast<long>(start + n));
    RETURN_IF_ERROR(db.ForEachRow(sql_prefix + InList(n) + sql_suffix, params, row_fn));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<Run>> LoadRunsByKey(SqlSession& db, const std::vector<int64_t>& keys) {
  std::unordered_map<int64_t, size_t> index;
  index.reserve(keys.size());
  std::vector<Run> unordered;
  unordered.reserve(keys.size());
  RETURN_IF_ERROR(ForEachChunk(
      db,
      "SELECT run_key, run_uuid, experiment_id, name, user_id, status, start_time, end_time, "
      "lifecycle_stage, artifact_uri FROM runs WHERE run_key IN ",
      "", keys, [&](const store::SqlRow& r) {
        Run run;
        run.info.run_id = r.Text(1);
        run.info.experiment_id = std::to_string(r.Int(2));
        run.info.run_name = r.Text(3);
        run.info.user_id = r.Text(4);
        run.info.status = r.Text(5);
        if (!r.IsNull(6)) run.info.start_time = r.Int(6);
        if (!r.IsNull(7)) run.info.end_time = r.Int(7);
        run.info.lifecycle_stage = r.Text(8);
        run.info.artifact_uri = r.Text(9);
        index[r.Int(0)] = unordered.size();
        unordered.push_back(std::move(run));
      }));
  RETURN_IF_ERROR(ForEachChunk(db, "SELECT run_key, key, value FROM params WHERE run_key IN ",
                               " ORDER BY run_key, key", keys, [&](const store::SqlRow& r) {
                                 unordered[index[r.Int(0)]].params.push_back(
                                     {std::string(r.Text(1)), std::string(r.Text(2))});
                               }));
  RETURN_IF_ERROR(ForEachChunk(
      db, "SELECT run_key, key, value FROM tags WHERE run_key IN ", " ORDER BY run_key, key", keys,
      [&](const store::SqlRow& r) {
        unordered[index[r.Int(0)]].tags.push_back({std::string(r.Text(1)), std::string(r.Text(2))});
      }));
  RETURN_IF_ERROR(ForEachChunk(
      db,
      "SELECT run_key, key, value, timestamp, step, is_nan FROM latest_metrics WHERE run_key IN ",
      " ORDER BY run_key, key", keys, [&](const store::SqlRow& r) {
        Metric& m = unordered[index[r.Int(0)]].metrics.emplace_back();
        m.key = r.Text(1);
        m.value = r.Int(5) != 0 ? std::nan("") : r.Double(2);
        m.timestamp = r.Int(3);
        m.step = r.Int(4);
      }));
  std::unordered_map<int64_t, std::unordered_map<int64_t, size_t>> input_index;
  RETURN_IF_ERROR(ForEachChunk(
      db,
      "SELECT i.run_key, i.dataset_key, d.name, d.digest, d.source_type, d.source, d.schema, "
      "d.profile FROM run_inputs i JOIN datasets d ON d.dataset_key = i.dataset_key WHERE "
      "i.run_key IN ",
      " ORDER BY i.run_key, i.dataset_key", keys, [&](const store::SqlRow& r) {
        Run& run = unordered[index[r.Int(0)]];
        DatasetInput input;
        input.dataset = {std::string(r.Text(2)), std::string(r.Text(3)), std::string(r.Text(4)),
                         std::string(r.Text(5)), std::string(r.Text(6)), std::string(r.Text(7))};
        input_index[r.Int(0)][r.Int(1)] = run.dataset_inputs.size();
        run.dataset_inputs.push_back(std::move(input));
      }));
  if (!input_index.empty()) {
    RETURN_IF_ERROR(ForEachChunk(
        db, "SELECT run_key, dataset_key, key, value FROM run_input_tags WHERE run_key IN ",
        " ORDER BY run_key, dataset_key, key", keys, [&](const store::SqlRow& r) {
          Run& run = unordered[index[r.Int(0)]];
          size_t slot = input_index[r.Int(0)][r.Int(1)];
          run.dataset_inputs[slot].tags.push_back({std::string(r.Text(2)), std::string(r.Text(3))});
        }));
  }
  RETURN_IF_ERROR(ForEachChunk(
      db, "SELECT run_key, direction, model_id, step FROM run_models WHERE run_key IN ",
      " ORDER BY run_key, direction, model_id", keys, [&](const store::SqlRow& r) {
        Run& run = unordered[index[r.Int(0)]];
        auto& links = r.Int(1) == 0 ? run.model_inputs : run.model_outputs;
        links.push_back({std::string(r.Text(2)), r.Int(3)});
      }));
  std::vector<Run> runs;
  runs.reserve(keys.size());
  for (int64_t key : keys) {
    auto it = index.find(key);
    if (it != index.end()) runs.push_back(std::move(unordered[it->second]));
  }
  return runs;
}

StatusOr<std::vector<Run>> LoadRunsByUuid(SqlSession& db, const std::vector<std::string>& run_ids) {
  std::vector<int64_t> keys;
  for (const std::string& id : run_ids) {
    ASSIGN_OR_RETURN(SqlRows rows, db.Query("SELECT run_key FROM runs WHERE run_uuid = ?", {id}));
    if (!rows.empty()) keys.push_back(rows.Int(0, 0));
  }
  return LoadRunsByKey(db, keys);
}

StatusOr<int64_t> ParsePageToken(const std::string& token) {
  if (token.empty()) return int64_t{0};
  auto decoded = Base64Decode(token);
  std::string_view text = decoded ? std::string_view(*decoded) : std::string_view();
  size_t colon = text.find(':');
  if (!decoded || text.rfind("{\"offset\":", 0) != 0 || colon == std::string_view::npos) {
    return InvalidArgument("Invalid page token, could not base64-decode");
  }
  std::string number(text.substr(colon + 1));
  number.erase(
      std::remove_if(number.begin(), number.end(), [](char c) { return c == ' ' || c == '}'; }),
      number.end());
  if (number.empty() ||
      !std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidArgument("Invalid page token, offset is not a non-negative integer");
  }
  // from_chars, not stoll: a token is client input, and stoll throws on an
  // offset past INT64_MAX ("99999999999999999999"), which must be a 400.
  int64_t offset = 0;
  auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), offset);
  if (error != std::errc() || end != number.data() + number.size()) {
    return InvalidArgument("Invalid page token, offset is out of range");
  }
  return offset;
}

std::string NextPageToken(int64_t offset, size_t returned, bool more) {
  if (!more) return {};
  return Base64Encode("{\"offset\": " + std::to_string(offset + static_cast<int64_t>(returned)) +
                      "}");
}

}  // namespace cairn::tracking
