#include "tracking/run_search.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/base64.h"
#include "tracking/search_filter.h"

namespace cairn::tracking {

using store::SqlRows;
using store::SqlSession;
using store::SqlValue;

namespace {

// "<column> <op> ?" for a string comparison. ComparatorName spells every
// comparator as SQL does, except ILIKE, which is written here as LOWER() on
// both sides so the same SQL works on SQLite and PostgreSQL.
std::string StringComparison(const std::string& column, const FilterClause& clause,
                             std::vector<SqlValue>* params) {
  if (clause.op == Comparator::kIn || clause.op == Comparator::kNotIn) {
    std::string sql = column + " " + std::string(ComparatorName(clause.op)) + " (";
    for (size_t i = 0; i < clause.list.size(); ++i) {
      sql += i == 0 ? "?" : ", ?";
      params->push_back(clause.list[i]);
    }
    if (clause.list.empty()) sql += "NULL";
    return sql + ")";
  }
  params->push_back(clause.text);
  if (clause.op == Comparator::kILike) return "LOWER(" + column + ") LIKE LOWER(?)";
  return column + " " + std::string(ComparatorName(clause.op)) + " ?";
}

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

StatusOr<std::string> RunClauseSql(const FilterClause& clause, std::vector<SqlValue>* params) {
  switch (clause.type) {
    case KeyType::kMetric:
      params->push_back(clause.key);
      params->push_back(clause.number);
      return "r.run_key IN (SELECT run_key FROM latest_metrics WHERE key = ? AND is_nan = 0 AND "
             "value " +
             std::string(std::string(ComparatorName(clause.op))) + " ?)";
    case KeyType::kParam:
    case KeyType::kTag: {
      const char* table = clause.type == KeyType::kParam ? "params" : "tags";
      params->push_back(clause.key);
      return std::string("r.run_key IN (SELECT run_key FROM ") + table + " WHERE key = ? AND " +
             StringComparison("value", clause, params) + ")";
    }
    case KeyType::kAttribute: {
      std::string column = RunAttributeColumn(clause.key);
      if (column.empty()) return InvalidArgument("Invalid attribute key '" + clause.key + "'");
      if (clause.is_numeric) {
        params->push_back(clause.number);
        return column + " " + std::string(ComparatorName(clause.op)) +
               " CAST(? AS DOUBLE PRECISION)";
      }
      return StringComparison(column, clause, params);
    }
    case KeyType::kDataset: {
      if (clause.key == "context") {
        return "r.run_key IN (SELECT run_key FROM run_input_tags WHERE key = "
               "'mlflow.data.context' AND " +
               StringComparison("value", clause, params) + ")";
      }
      std::string column = clause.key == "digest" ? "d.digest" : "d.name";
      return "r.run_key IN (SELECT i.run_key FROM run_inputs i JOIN datasets d ON d.dataset_key = "
             "i.dataset_key WHERE " +
             StringComparison(column, clause, params) + ")";
    }
  }
  return InvalidArgument("Invalid search expression type");
}

std::string InList(size_t n) {
  std::string s = "(";
  for (size_t i = 0; i < n; ++i) s += i == 0 ? "?" : ", ?";
  return s + ")";
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

StatusOr<SqlQuery> BuildRunSearchQuery(const SearchRunsRequest& request,
                                       const std::vector<int64_t>& experiment_keys,
                                       int64_t offset) {
  ASSIGN_OR_RETURN(std::vector<FilterClause> clauses,
                   ParseSearchFilter(request.filter, RunSearchRules()));
  std::string joins;
  std::vector<SqlValue> join_params;
  std::string order;
  bool has_start_time = false;
  bool has_run_id = false;
  for (size_t i = 0; i < request.order_by.size(); ++i) {
    ASSIGN_OR_RETURN(OrderByClause ob, ParseOrderBy(request.order_by[i], RunSearchRules()));
    std::string dir = ob.ascending ? " ASC" : " DESC";
    std::string alias = "o" + std::to_string(i);
    std::string expr;
    std::string missing;
    switch (ob.type) {
      case KeyType::kAttribute:
        expr = RunAttributeColumn(ob.key);
        if (expr.empty()) return InvalidArgument("Invalid order_by key '" + ob.key + "'");
        missing = "(" + expr + " IS NULL)";
        has_start_time = has_start_time || expr == "r.start_time";
        has_run_id = has_run_id || expr == "r.run_uuid";
        break;
      case KeyType::kMetric:
        joins += " LEFT JOIN latest_metrics " + alias + " ON " + alias +
                 ".run_key = r.run_key AND " + alias + ".key = ?";
        join_params.push_back(ob.key);
        expr = alias + ".value";
        // MLflow's order: real values, then NaN, then runs without the metric.
        missing = "(CASE WHEN " + alias + ".value IS NULL THEN 2 WHEN " + alias +
                  ".is_nan = 1 THEN 1 ELSE 0 END)";
        break;
      case KeyType::kParam:
      case KeyType::kTag:
        joins += std::string(" LEFT JOIN ") + (ob.type == KeyType::kParam ? "params " : "tags ") +
                 alias + " ON " + alias + ".run_key = r.run_key AND " + alias + ".key = ?";
        join_params.push_back(ob.key);
        expr = alias + ".value";
        missing = "(" + alias + ".value IS NULL)";
        break;
      case KeyType::kDataset:
        return InvalidArgument("Invalid order_by entity: dataset");
    }
    order += missing + " ASC, " + expr + dir + ", ";
  }
  if (!has_start_time) order += "r.start_time DESC, ";
  order += has_run_id ? "r.run_key" : "r.run_uuid";

  SqlQuery query;
  query.params = std::move(join_params);
  query.sql = "SELECT r.run_key FROM runs r" + joins + " WHERE ";
  if (experiment_keys.empty()) {
    query.sql += "1 = 0";
  } else {
    query.sql += "r.experiment_id IN " + InList(experiment_keys.size());
    for (int64_t k : experiment_keys) query.params.push_back(k);
  }
  query.sql += " AND " + StageCondition("r", request.view_type);
  for (const FilterClause& clause : clauses) {
    ASSIGN_OR_RETURN(std::string sql, RunClauseSql(clause, &query.params));
    query.sql += " AND " + sql;
  }
  query.sql += " ORDER BY " + order + " LIMIT ? OFFSET ?";
  query.params.push_back(request.max_results + 1);
  query.params.push_back(offset);
  return query;
}

StatusOr<SqlQuery> BuildExperimentSearchQuery(const SearchExperimentsRequest& request,
                                              int64_t offset) {
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
          StringComparison("value", clause, &query.params) + ")";
    } else if (clause.type == KeyType::kAttribute && !column(clause.key).empty()) {
      if (clause.is_numeric) {
        query.params.push_back(clause.number);
        query.sql += " AND " + column(clause.key) + " " + std::string(ComparatorName(clause.op)) +
                     " CAST(? AS DOUBLE PRECISION)";
      } else {
        query.sql += " AND " + StringComparison(column(clause.key), clause, &query.params);
      }
    } else {
      return InvalidArgument("Invalid filter key '" + clause.key +
                             "' for experiments: use name, creation_time, last_update_time or "
                             "tags.<key>");
    }
  }
  query.sql += " ORDER BY " + order + " LIMIT ? OFFSET ?";
  query.params.push_back(request.max_results + 1);
  query.params.push_back(offset);
  return query;
}

namespace {

constexpr size_t kInChunk = 500;

// Runs `sql_prefix` + "(?, ...)" over `keys` in chunks, calling `row_fn` per row.
template <typename RowFn>
Status ForEachChunk(SqlSession& db, const std::string& sql_prefix, const std::string& sql_suffix,
                    const std::vector<int64_t>& keys, RowFn row_fn) {
  for (size_t start = 0; start < keys.size(); start += kInChunk) {
    size_t n = std::min(kInChunk, keys.size() - start);
    std::vector<SqlValue> params(keys.begin() + static_cast<long>(start),
                                 keys.begin() + static_cast<long>(start + n));
    ASSIGN_OR_RETURN(SqlRows rows, db.Query(sql_prefix + InList(n) + sql_suffix, params));
    for (size_t i = 0; i < rows.size(); ++i) row_fn(rows, i);
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<Run>> LoadRunsByKey(SqlSession& db, const std::vector<int64_t>& keys) {
  std::vector<Run> runs;
  std::unordered_map<int64_t, size_t> index;
  std::vector<Run> unordered;
  RETURN_IF_ERROR(ForEachChunk(
      db,
      "SELECT run_key, run_uuid, experiment_id, name, user_id, status, start_time, end_time, "
      "lifecycle_stage, artifact_uri FROM runs WHERE run_key IN ",
      "", keys, [&](const SqlRows& r, size_t i) {
        Run run;
        run.info.run_id = r.Text(i, 1);
        run.info.experiment_id = std::to_string(r.Int(i, 2));
        run.info.run_name = r.Text(i, 3);
        run.info.user_id = r.Text(i, 4);
        run.info.status = r.Text(i, 5);
        if (!r.IsNull(i, 6)) run.info.start_time = r.Int(i, 6);
        if (!r.IsNull(i, 7)) run.info.end_time = r.Int(i, 7);
        run.info.lifecycle_stage = r.Text(i, 8);
        run.info.artifact_uri = r.Text(i, 9);
        index[r.Int(i, 0)] = unordered.size();
        unordered.push_back(std::move(run));
      }));
  RETURN_IF_ERROR(
      ForEachChunk(db, "SELECT run_key, key, value FROM params WHERE run_key IN ",
                   " ORDER BY run_key, key", keys, [&](const SqlRows& r, size_t i) {
                     unordered[index[r.Int(i, 0)]].params.push_back({r.Text(i, 1), r.Text(i, 2)});
                   }));
  RETURN_IF_ERROR(
      ForEachChunk(db, "SELECT run_key, key, value FROM tags WHERE run_key IN ",
                   " ORDER BY run_key, key", keys, [&](const SqlRows& r, size_t i) {
                     unordered[index[r.Int(i, 0)]].tags.push_back({r.Text(i, 1), r.Text(i, 2)});
                   }));
  RETURN_IF_ERROR(ForEachChunk(
      db,
      "SELECT run_key, key, value, timestamp, step, is_nan FROM latest_metrics WHERE run_key IN ",
      " ORDER BY run_key, key", keys, [&](const SqlRows& r, size_t i) {
        double v = r.Int(i, 5) != 0 ? std::nan("") : r.Double(i, 2);
        unordered[index[r.Int(i, 0)]].metrics.push_back(
            {r.Text(i, 1), v, r.Int(i, 3), r.Int(i, 4), {}});
      }));
  std::unordered_map<int64_t, std::unordered_map<int64_t, size_t>> input_index;
  RETURN_IF_ERROR(ForEachChunk(
      db,
      "SELECT i.run_key, i.dataset_key, d.name, d.digest, d.source_type, d.source, d.schema, "
      "d.profile FROM run_inputs i JOIN datasets d ON d.dataset_key = i.dataset_key WHERE "
      "i.run_key IN ",
      " ORDER BY i.run_key, i.dataset_key", keys, [&](const SqlRows& r, size_t i) {
        Run& run = unordered[index[r.Int(i, 0)]];
        DatasetInput input;
        input.dataset = {r.Text(i, 2), r.Text(i, 3), r.Text(i, 4),
                         r.Text(i, 5), r.Text(i, 6), r.Text(i, 7)};
        input_index[r.Int(i, 0)][r.Int(i, 1)] = run.dataset_inputs.size();
        run.dataset_inputs.push_back(std::move(input));
      }));
  if (!input_index.empty()) {
    RETURN_IF_ERROR(ForEachChunk(
        db, "SELECT run_key, dataset_key, key, value FROM run_input_tags WHERE run_key IN ",
        " ORDER BY run_key, dataset_key, key", keys, [&](const SqlRows& r, size_t i) {
          Run& run = unordered[index[r.Int(i, 0)]];
          size_t slot = input_index[r.Int(i, 0)][r.Int(i, 1)];
          run.dataset_inputs[slot].tags.push_back({r.Text(i, 2), r.Text(i, 3)});
        }));
  }
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
  return std::stoll(number);
}

std::string NextPageToken(int64_t offset, size_t returned, bool more) {
  if (!more) return {};
  return Base64Encode("{\"offset\": " + std::to_string(offset + static_cast<int64_t>(returned)) +
                      "}");
}

}  // namespace cairn::tracking
