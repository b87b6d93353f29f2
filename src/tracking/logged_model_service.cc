#include "tracking/logged_model_service.h"

#include <array>

#include "core/base64.h"
#include "core/sha256.h"
#include "search/search_filter.h"
#include "tracking/lookups.h"
#include "tracking/run_search.h"
#include "tracking/validation.h"

namespace cairn::tracking {

using search::AttributeRule;
using search::ComparatorName;
using search::FilterClause;
using search::KeyType;
using search::ParseSearchFilter;
using search::SearchEntityRules;

using store::SqlRows;
using store::SqlSession;
using store::SqlValue;

namespace {

constexpr std::array<std::string_view, 4> kStatusNames = {
    "LOGGED_MODEL_STATUS_UNSPECIFIED", "LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY",
    "LOGGED_MODEL_UPLOAD_FAILED"};

// MLflow refuses these in model names: they would break URIs and paths.
Status ValidateModelName(const std::string& name) {
  if (name.find_first_of("/:.%\"'") != std::string::npos) {
    return InvalidArgument("Invalid model name ('" + name +
                           "') provided. Model name must be a non-empty string and cannot "
                           "contain the following characters: ('/', ':', '.', '%', '\"', \"'\")");
  }
  return Status::Ok();
}

Status ValidateParams(const std::vector<KeyValue>& params) {
  for (const KeyValue& p : params) RETURN_IF_ERROR(ValidateParam(p));
  return Status::Ok();
}

Status ValidateTags(const std::vector<KeyValue>& tags) {
  for (const KeyValue& t : tags) RETURN_IF_ERROR(ValidateTag(t));
  return Status::Ok();
}

// The model's internal key, if it exists and is not deleted.
StatusOr<int64_t> FindModelKey(SqlSession& db, const std::string& model_id) {
  ASSIGN_OR_RETURN(ModelRow model, FindModel(db, model_id));
  return model.model_key;
}

Status UpsertTags(SqlSession& db, int64_t model_key, const std::vector<KeyValue>& tags) {
  for (const KeyValue& t : tags) {
    RETURN_IF_ERROR(db.Execute("INSERT INTO logged_model_tags (model_key, key, value) VALUES "
                               "(?, ?, ?) ON CONFLICT (model_key, key) DO UPDATE SET value = "
                               "excluded.value",
                               {model_key, t.key, t.value})
                        .status());
  }
  return Status::Ok();
}

// The model with internal key `key` (from FindModelKey or a search, in the
// same read), with its tags, params and metrics.
StatusOr<LoggedModel> LoadModel(SqlSession& db, int64_t key) {
  ASSIGN_OR_RETURN(
      SqlRows rows,
      db.Query("SELECT model_id, experiment_id, name, artifact_uri, status, status_message, "
               "model_type, source_run_id, creation_timestamp_ms, last_updated_timestamp_ms "
               "FROM logged_models WHERE model_key = ?",
               {key}));
  if (rows.empty()) return Internal("Logged model key " + std::to_string(key) + " vanished");
  LoggedModel m;
  m.model_id = rows.Text(0, 0);
  const std::string& model_id = m.model_id;
  m.experiment_id = std::to_string(rows.Int(0, 1));
  m.name = rows.Text(0, 2);
  m.artifact_uri = rows.Text(0, 3);
  int64_t status = rows.Int(0, 4);
  m.status = status >= 0 && status <= 3 ? static_cast<LoggedModelStatus>(status)
                                        : LoggedModelStatus::kUnspecified;
  m.status_message = rows.Text(0, 5);
  m.model_type = rows.Text(0, 6);
  m.source_run_id = rows.Text(0, 7);
  m.creation_timestamp_ms = rows.Int(0, 8);
  m.last_updated_timestamp_ms = rows.Int(0, 9);
  RETURN_IF_ERROR(
      db.ForEachRow("SELECT key, value FROM logged_model_tags WHERE model_key = ? ORDER BY key",
                    std::vector<SqlValue>{key}, [&](const store::SqlRow& r) {
                      m.tags.push_back({std::string(r.Text(0)), std::string(r.Text(1))});
                    }));
  RETURN_IF_ERROR(
      db.ForEachRow("SELECT key, value FROM logged_model_params WHERE model_key = ? ORDER BY key",
                    std::vector<SqlValue>{key}, [&](const store::SqlRow& r) {
                      m.params.push_back({std::string(r.Text(0)), std::string(r.Text(1))});
                    }));
  RETURN_IF_ERROR(db.ForEachRow(
      "SELECT f.key, f.value, f.is_nan, f.timestamp, f.step, r.run_uuid, f.dataset_name, "
      "f.dataset_digest FROM logged_model_metrics f JOIN runs r ON r.run_key = f.run_key WHERE "
      "f.model_key = ? ORDER BY f.key, f.timestamp, f.step, r.run_uuid",
      std::vector<SqlValue>{key}, [&](const store::SqlRow& r) {
        Metric& metric = m.metrics.emplace_back();
        metric.key = r.Text(0);
        metric.value = LoadedValue(r.Double(1), r.Int(2));
        metric.timestamp = r.Int(3);
        metric.step = r.Int(4);
        metric.run_id = r.Text(5);
        metric.model_id = model_id;
        metric.dataset_name = r.Text(6);
        metric.dataset_digest = r.Text(7);
      }));
  return m;
}

}  // namespace

std::string_view LoggedModelStatusName(LoggedModelStatus status) {
  return kStatusNames[static_cast<size_t>(status)];
}

StatusOr<LoggedModelStatus> ParseLoggedModelStatus(std::string_view text) {
  for (size_t i = 0; i < kStatusNames.size(); ++i) {
    if (text == kStatusNames[i] || text == std::to_string(i)) {
      return static_cast<LoggedModelStatus>(i);
    }
  }
  return InvalidArgument("Invalid value \"" + std::string(text) +
                         "\" for parameter 'status' supplied: expected LOGGED_MODEL_READY, "
                         "LOGGED_MODEL_UPLOAD_FAILED, LOGGED_MODEL_PENDING or "
                         "LOGGED_MODEL_STATUS_UNSPECIFIED.");
}

LoggedModelService::LoggedModelService(store::MetadataStore* store, Env* env)
    : store_(store), env_(env) {}

std::string LoggedModelService::NewModelName() { return NewFriendlyName(*env_); }

StatusOr<LoggedModel> LoggedModelService::Create(const CreateLoggedModelRequest& request) {
  ASSIGN_OR_RETURN(int64_t experiment_key, ParseExperimentId(request.experiment_id));
  std::string name = request.name.empty() ? NewModelName() : request.name;
  RETURN_IF_ERROR(ValidateModelName(name));
  RETURN_IF_ERROR(ValidateParams(request.params));
  RETURN_IF_ERROR(ValidateTags(request.tags));
  std::string model_id = "m-" + env_->RandomHex(16);
  int64_t now = env_->NowMillis();
  RETURN_IF_ERROR(store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(Experiment experiment,
                     LoadExperiment(db, "experiment_id = ?", experiment_key,
                                    "No Experiment with id=" + request.experiment_id + " exists"));
    if (experiment.lifecycle_stage != kActive) {
      return InvalidArgument("The experiment " + request.experiment_id +
                             " must be in the 'active' state. Current state is " +
                             experiment.lifecycle_stage + ".");
    }
    // A run on this server must log to the same experiment: the model is
    // listed, searched and permissioned under its experiment, and a run in
    // another would link across that boundary. A run this server does not
    // hold (tracked elsewhere) is stored as given, as MLflow does.
    if (!request.source_run_id.empty()) {
      ASSIGN_OR_RETURN(SqlRows run, db.Query("SELECT experiment_id FROM runs WHERE run_uuid = ?",
                                             {request.source_run_id}));
      if (!run.empty() && run.Int(0, 0) != experiment_key) {
        return InvalidArgument("source_run_id: run " + request.source_run_id +
                               " belongs to experiment " + std::to_string(run.Int(0, 0)) +
                               ", not to experiment " + request.experiment_id +
                               " where the model is being created");
      }
    }
    std::string location = experiment.artifact_location;
    while (!location.empty() && location.back() == '/') location.pop_back();
    ASSIGN_OR_RETURN(
        SqlRows inserted,
        db.Query("INSERT INTO logged_models (model_id, experiment_id, name, artifact_uri, status, "
                 "status_message, model_type, source_run_id, lifecycle_stage, "
                 "creation_timestamp_ms, last_updated_timestamp_ms) VALUES (?, ?, ?, ?, ?, '', ?, "
                 "?, 'active', ?, ?) RETURNING model_key",
                 {model_id, experiment_key, name, location + "/models/" + model_id + "/artifacts",
                  int64_t{static_cast<int>(LoggedModelStatus::kPending)}, request.model_type,
                  request.source_run_id, now, now}));
    int64_t model_key = inserted.Int(0, 0);
    // A request naming a key twice keeps the last value, as a dict would.
    for (const KeyValue& p : request.params) {
      RETURN_IF_ERROR(db.Execute("INSERT INTO logged_model_params (model_key, key, value) VALUES "
                                 "(?, ?, ?) ON CONFLICT (model_key, key) DO UPDATE SET value = "
                                 "excluded.value",
                                 {model_key, p.key, p.value})
                          .status());
    }
    return UpsertTags(db, model_key, request.tags);
  }));
  return Get(model_id);
}

StatusOr<LoggedModel> LoggedModelService::Get(const std::string& model_id) {
  LoggedModel model;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, model_id));
    ASSIGN_OR_RETURN(model, LoadModel(db, key));
    return Status::Ok();
  }));
  return model;
}

StatusOr<LoggedModel> LoggedModelService::Finalize(const std::string& model_id,
                                                   LoggedModelStatus status) {
  int64_t now = env_->NowMillis();
  RETURN_IF_ERROR(store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, model_id));
    return db
        .Execute(
            "UPDATE logged_models SET status = ?, last_updated_timestamp_ms = ? WHERE "
            "model_key = ?",
            {int64_t{static_cast<int>(status)}, now, key})
        .status();
  }));
  return Get(model_id);
}

Status LoggedModelService::Delete(const std::string& model_id) {
  int64_t now = env_->NowMillis();
  return store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, model_id));
    return db
        .Execute(
            "UPDATE logged_models SET lifecycle_stage = 'deleted', "
            "last_updated_timestamp_ms = ? WHERE model_key = ?",
            {now, key})
        .status();
  });
}

Status LoggedModelService::SetTags(const std::string& model_id, const std::vector<KeyValue>& tags) {
  RETURN_IF_ERROR(ValidateTags(tags));
  return store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, model_id));
    return UpsertTags(db, key, tags);
  });
}

Status LoggedModelService::DeleteTag(const std::string& model_id, const std::string& tag_key) {
  return store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, model_id));
    ASSIGN_OR_RETURN(int64_t deleted,
                     db.Execute("DELETE FROM logged_model_tags WHERE model_key = ? AND key = ?",
                                {key, tag_key}));
    if (deleted == 0) {
      return NotFound("No tag with key '" + tag_key + "' found for model with ID '" + model_id +
                      "'.");
    }
    return Status::Ok();
  });
}

Status LoggedModelService::LogParams(const std::string& model_id,
                                     const std::vector<KeyValue>& params) {
  RETURN_IF_ERROR(ValidateParams(params));
  return store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, model_id));
    return InsertParamsOnce(db, "logged_model_params", "model_key", key,
                            "logged model ID='" + model_id + "'", params);
  });
}

Status LoggedModelService::LogOutputs(const std::string& run_id,
                                      const std::vector<RunModelLink>& models) {
  return store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(RunRow run, FindActiveRun(db, run_id));
    for (const RunModelLink& link : models) {
      RETURN_IF_ERROR(db.Execute("INSERT INTO run_models (run_key, direction, model_id, step) "
                                 "VALUES (?, 1, ?, ?) ON CONFLICT (run_key, direction, model_id) "
                                 "DO NOTHING",
                                 {run.run_key, link.model_id, link.step})
                          .status());
    }
    return Status::Ok();
  });
}

namespace {

// Model attributes by every name search accepts, and their columns.
std::string ModelAttributeColumn(const std::string& name) {
  if (name == "model_id") return "m.model_id";
  if (name == "name") return "m.name";
  if (name == "model_type") return "m.model_type";
  if (name == "source_run_id") return "m.source_run_id";
  if (name == "experiment_id") return "m.experiment_id";
  if (name == "creation_timestamp_ms" || name == "creation_time" || name == "creation_timestamp") {
    return "m.creation_timestamp_ms";
  }
  if (name == "last_updated_timestamp_ms" || name == "last_updated_timestamp") {
    return "m.last_updated_timestamp_ms";
  }
  if (name == "status") {
    // Compared by the enum's names, as users write and read them.
    std::string names = "(CASE m.status";
    for (size_t i = 1; i < kStatusNames.size(); ++i) {
      names += " WHEN " + std::to_string(i) + " THEN '" + std::string(kStatusNames[i]) + "'";
    }
    return names + " ELSE '" + std::string(kStatusNames[0]) + "' END)";
  }
  return "";
}

const SearchEntityRules& LoggedModelSearchRules() {
  static const SearchEntityRules rules = [] {
    SearchEntityRules r;
    for (const char* name : {"model_id", "name", "model_type", "source_run_id", "status"}) {
      AttributeRule rule;
      rule.name = name;
      rule.allows_list = true;
      r.attributes.push_back(rule);
    }
    AttributeRule created;
    created.name = "creation_timestamp_ms";
    created.numeric = true;
    created.filter_aliases = {"creation_time", "creation_timestamp"};
    r.attributes.push_back(created);
    AttributeRule updated;
    updated.name = "last_updated_timestamp_ms";
    updated.numeric = true;
    updated.filter_aliases = {"last_updated_timestamp"};
    r.attributes.push_back(updated);
    return r;
  }();
  return rules;
}

// "(f.dataset_name = ? [AND f.dataset_digest = ?]) OR ..." for `datasets`.
std::string DatasetCondition(const std::vector<DatasetRef>& datasets, const std::string& alias,
                             std::vector<SqlValue>* params) {
  std::string sql;
  for (const DatasetRef& d : datasets) {
    sql += sql.empty() ? "(" : " OR (";
    sql += alias + ".dataset_name = ?";
    params->push_back(d.name);
    if (!d.digest.empty()) {
      sql += " AND " + alias + ".dataset_digest = ?";
      params->push_back(d.digest);
    }
    sql += ")";
  }
  return "(" + sql + ")";
}

// Where latest_model_metrics keeps the value an order_by entry means.
struct MetricScope {
  int64_t scope = 0;
  std::string dataset_name;
  std::string dataset_digest;
};

MetricScope ScopeOf(const LoggedModelOrder& o) {
  if (o.dataset_name.empty()) return {0, "", ""};
  if (o.dataset_digest.empty()) return {1, o.dataset_name, ""};
  return {2, o.dataset_name, o.dataset_digest};
}

// "<alias>.key = ? AND <alias>.scope = ? AND ..." for metric `key` at `scope`.
std::string ScopeCondition(const std::string& alias, const std::string& key,
                           const MetricScope& scope, std::vector<SqlValue>* params) {
  params->insert(params->end(), {key, scope.scope, scope.dataset_name, scope.dataset_digest});
  return alias + ".key = ? AND " + alias + ".scope = ? AND " + alias + ".dataset_name = ? AND " +
         alias + ".dataset_digest = ?";
}

// A fingerprint of what a search asks for. Its page tokens carry it, so a
// token cannot page a different search (MLflow's logged-model tokens carry
// the experiment ids, filter and order_by and are checked the same way).
std::string SearchFingerprint(const SearchLoggedModelsRequest& r) {
  std::string text;
  auto add = [&text](std::string_view part) {
    text += std::to_string(part.size());  // length-prefixed: no two searches collide
    text += ':';
    text += part;
  };
  for (const std::string& id : r.experiment_ids) add(id);
  add(r.filter);
  for (const LoggedModelOrder& o : r.order_by) {
    add(o.field_name);
    add(o.ascending ? "asc" : "desc");
    add(o.dataset_name);
    add(o.dataset_digest);
  }
  text += '|';
  for (const DatasetRef& d : r.datasets) {
    add(d.name);
    add(d.digest);
  }
  return Sha256Hex(text).substr(0, 16);
}

// Page tokens: base64 of {"offset": N, "search": "<fingerprint>"}.
std::string ModelPageToken(int64_t offset, size_t returned, bool more, const std::string& search) {
  if (!more) return {};
  return Base64Encode("{\"offset\": " + std::to_string(offset + static_cast<int64_t>(returned)) +
                      ", \"search\": \"" + search + "\"}");
}

StatusOr<int64_t> ParseModelPageToken(const std::string& token, const std::string& search) {
  if (token.empty()) return int64_t{0};
  std::optional<std::string> decoded = Base64Decode(token);
  const std::string tail = ", \"search\": \"" + search + "\"}";
  if (!decoded || !decoded->ends_with(tail)) {
    if (decoded && decoded->find("\"search\"") != std::string::npos) {
      return InvalidArgument(
          "page_token: it was issued for a different search (experiment_ids, filter, order_by "
          "or datasets changed); repeat the search's first request without it");
    }
    return InvalidArgument("Invalid page token, could not base64-decode");
  }
  return ParsePageToken(Base64Encode(decoded->substr(0, decoded->size() - tail.size()) + "}"));
}

}  // namespace

StatusOr<LoggedModelPage> LoggedModelService::Search(const SearchLoggedModelsRequest& request) {
  const std::string search = SearchFingerprint(request);
  ASSIGN_OR_RETURN(int64_t offset, ParseModelPageToken(request.page_token, search));
  if (request.max_results < 1) {
    return InvalidArgument("Invalid value for max_results: it must be at least 1, but got " +
                           std::to_string(request.max_results));
  }
  ASSIGN_OR_RETURN(std::vector<FilterClause> clauses,
                   ParseSearchFilter(request.filter, LoggedModelSearchRules()));
  for (const DatasetRef& d : request.datasets) {
    if (d.name.empty()) {
      return InvalidArgument("`dataset_name` in the `datasets` clause must be specified.");
    }
  }
  for (const LoggedModelOrder& o : request.order_by) {
    if (o.field_name.rfind("metrics.", 0) == 0) continue;
    if (o.field_name.find('.') != std::string::npos) {
      return InvalidArgument("Invalid order by field name: " + o.field_name +
                             ". Only metrics are supported.");
    }
    if (ModelAttributeColumn(o.field_name).empty()) {
      return InvalidArgument("Invalid order by field name: " + o.field_name);
    }
  }
  std::vector<int64_t> experiments;
  for (const std::string& id : request.experiment_ids) {
    auto key = ParseExperimentId(id);
    if (key.ok()) experiments.push_back(*key);  // Unknown ids match nothing.
  }
  LoggedModelPage page;
  if (experiments.empty()) return page;

  // A first order key on a metric splits the search (see SegmentedSearch):
  // models with the metric, walked in value order through
  // latest_model_metrics' index, then models without it.
  bool segmented =
      !request.order_by.empty() && request.order_by[0].field_name.rfind("metrics.", 0) == 0;
  std::string order;
  std::vector<SqlValue> order_params;
  bool has_creation = false;
  for (size_t i = segmented ? 1 : 0; i < request.order_by.size(); ++i) {
    const LoggedModelOrder& o = request.order_by[i];
    std::string dir = o.ascending ? " ASC" : " DESC";
    if (o.field_name.rfind("metrics.", 0) == 0) {
      // Models without the metric come last either way: the lookup appears
      // twice, for that rank and for the value.
      for (int twice = 0; twice < 2; ++twice) {
        std::string value =
            "(SELECT x.value FROM latest_model_metrics x WHERE x.model_key = "
            "m.model_key AND " +
            ScopeCondition("x", o.field_name.substr(8), ScopeOf(o), &order_params) + ")";
        order += twice == 0 ? "(" + value + " IS NULL) ASC, " : value + dir + ", ";
      }
      continue;
    }
    std::string column = ModelAttributeColumn(o.field_name);
    has_creation = has_creation || column == "m.creation_timestamp_ms";
    order += column + dir + ", ";
  }
  if (!has_creation) order += "m.creation_timestamp_ms DESC, ";
  order += "m.model_id ASC";

  std::string where =
      "m.experiment_id IN " + InList(experiments.size()) + " AND m.lifecycle_stage = 'active'";
  std::vector<SqlValue> where_params(experiments.begin(), experiments.end());
  bool has_metric_clause = false;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    for (const FilterClause& clause : clauses) {
      std::vector<SqlValue> p;
      switch (clause.type) {
        case KeyType::kMetric: {
          // Any value the model ever had for the key, as in MLflow.
          has_metric_clause = true;
          std::string sql =
              "EXISTS (SELECT 1 FROM logged_model_metrics f WHERE f.model_key = m.model_key AND "
              "f.key = ? AND f.is_nan = 0 AND f.value " +
              std::string(ComparatorName(clause.op)) + " ?";
          p = {clause.key, clause.number};
          if (!request.datasets.empty()) {
            sql += " AND " + DatasetCondition(request.datasets, "f", &p);
          }
          where += " AND " + sql + ")";
          break;
        }
        case KeyType::kParam:
        case KeyType::kTag: {
          std::string table =
              clause.type == KeyType::kParam ? "logged_model_params" : "logged_model_tags";
          p.push_back(clause.key);
          where += " AND EXISTS (SELECT 1 FROM " + table +
                   " f WHERE f.model_key = m.model_key AND f.key = ? AND " +
                   StringComparison("f.value", clause, db.dialect(), &p) + ")";
          break;
        }
        case KeyType::kAttribute: {
          std::string column = ModelAttributeColumn(clause.key);
          if (clause.is_numeric) {
            where += " AND " + column + " " + std::string(ComparatorName(clause.op)) +
                     " CAST(? AS DOUBLE PRECISION)";
            p.push_back(clause.number);
          } else {
            where += " AND " + StringComparison(column, clause, db.dialect(), &p);
          }
          break;
        }
        case KeyType::kDataset:
          return InvalidArgument(
              "Invalid filter: logged models cannot be filtered by dataset; use the datasets "
              "field");
      }
      where_params.insert(where_params.end(), p.begin(), p.end());
    }
    if (!request.datasets.empty() && !has_metric_clause) {
      std::vector<SqlValue> p;
      where +=
          " AND EXISTS (SELECT 1 FROM logged_model_metrics f WHERE f.model_key = "
          "m.model_key AND " +
          DatasetCondition(request.datasets, "f", &p) + ")";
      where_params.insert(where_params.end(), p.begin(), p.end());
    }

    SegmentedSearch plan;
    // SELECT m.model_key FROM <from> WHERE <condition> AND <where> ORDER BY <lead><order>
    auto add_segment = [&](const std::string& from, const std::string& condition,
                           const std::vector<SqlValue>& condition_params, const std::string& lead) {
      SqlQuery q;
      q.sql = "SELECT m.model_key FROM " + from + " WHERE " + condition + " AND " + where +
              " ORDER BY " + lead + order;
      q.params = condition_params;
      q.params.insert(q.params.end(), where_params.begin(), where_params.end());
      q.params.insert(q.params.end(), order_params.begin(), order_params.end());
      plan.segments.push_back(std::move(q));
    };
    if (!segmented) {
      add_segment("logged_models m", "1 = 1", {}, "");
    } else {
      const LoggedModelOrder& first = request.order_by[0];
      MetricScope scope = ScopeOf(first);
      std::string key = first.field_name.substr(8);
      std::vector<SqlValue> has_params(experiments.begin(), experiments.end());
      std::string has = "o0.experiment_id IN " + InList(experiments.size()) + " AND " +
                        ScopeCondition("o0", key, scope, &has_params);
      add_segment("latest_model_metrics o0 JOIN logged_models m ON m.model_key = o0.model_key", has,
                  has_params, std::string("o0.value") + (first.ascending ? " ASC, " : " DESC, "));
      std::vector<SqlValue> missing_params;
      std::string missing =
          "NOT EXISTS (SELECT 1 FROM latest_model_metrics o0 WHERE o0.model_key = m.model_key "
          "AND " +
          ScopeCondition("o0", key, scope, &missing_params) + ")";
      add_segment("logged_models m", missing, missing_params, "");
    }
    ASSIGN_OR_RETURN(std::vector<int64_t> keys,
                     ReadSegmentedPage(db, plan, offset, request.max_results + 1));
    bool more = static_cast<int64_t>(keys.size()) > request.max_results;
    if (more) keys.pop_back();
    for (int64_t key : keys) {
      ASSIGN_OR_RETURN(LoggedModel model, LoadModel(db, key));
      page.models.push_back(std::move(model));
    }
    page.next_page_token = ModelPageToken(offset, keys.size(), more, search);
    return Status::Ok();
  }));
  return page;
}

}  // namespace cairn::tracking
