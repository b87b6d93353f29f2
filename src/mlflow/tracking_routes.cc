#include <cmath>

#include "mlflow/mlflow_json.h"
#include "mlflow/request_args.h"
#include "mlflow/routes.h"
#include "tracking/validation.h"

namespace cairn::mlflow {

using http::HttpRequest;
using http::HttpResponse;
using tracking::KeyValue;

void AddMlflowRoute(const surface::Surface& surface, const std::string& method,
                    const std::string& path, const RouteAccess& access, MlflowHandler handler) {
  AddMlflowRouteAt(surface, method, {"/api/2.0/mlflow/" + path, "/ajax-api/2.0/mlflow/" + path},
                   access, std::move(handler));
}

void AddMlflowRouteAt(const surface::Surface& surface, const std::string& method,
                      const std::vector<std::string>& paths, const RouteAccess& access,
                      MlflowHandler handler) {
  auto wrapped = [handler = std::move(handler), access, surface](HttpRequest& request) {
    auto args = RequestArgs::FromRequest(request);
    if (!args.ok()) return ErrorResponse(args.status());
    Status allowed = CheckAccess(surface, access, *args, request);
    if (!allowed.ok()) return ErrorResponse(allowed);
    store::ScopedWriteContext audited(AuditContext(access, *args, request));
    auto response = handler(*args, request);
    if (!response.ok()) return ErrorResponse(response.status());
    return std::move(response).value();
  };
  http::RouteOptions options;
  options.access = access.Describe();
  for (const std::string& path : paths) surface.Add(method, path, wrapped, options);
}

namespace {

// Turns a request into the batch it logs.
using BatchDecoder =
    std::function<StatusOr<tracking::LogBatchRequest>(const RequestArgs&, HttpRequest&)>;

// The logging endpoints (log-metric, log-parameter, log-batch) decode on the IO
// thread and answer when the group commit holding their batch is durable,
// without parking a worker thread per request.
void AddLogBatchRoute(const surface::Surface& surface, const std::string& path, BatchDecoder decode,
                      tracking::TrackingService* t) {
  RouteAccess access = RouteAccess::Run(auth::Level::kEdit);
  auto handler = [decode = std::move(decode), t, surface, access](HttpRequest& request,
                                                                  const http::Responder& respond) {
    auto args = RequestArgs::FromRequest(request);
    if (!args.ok()) return respond(ErrorResponse(args.status()));
    // Grants are cached: this stays off the database for a known run.
    Status allowed = CheckAccess(surface, access, *args, request);
    if (!allowed.ok()) return respond(ErrorResponse(allowed));
    auto batch = decode(*args, request);
    if (!batch.ok()) return respond(ErrorResponse(batch.status()));
    // Not audited: metric, param and batch logging is data ingestion at tens
    // of thousands of requests a second, attributed through its run; the
    // audit log records who created, changed and deleted things.
    t->LogBatchAsync(std::move(batch).value(), [respond](const Status& status) {
      respond(status.ok() ? EmptyResponse() : ErrorResponse(status));
    });
  };
  http::RouteOptions options;
  options.access = access.Describe();
  surface.AddAsync("POST", "/api/2.0/mlflow/" + path, handler, options);
  surface.AddAsync("POST", "/ajax-api/2.0/mlflow/" + path, handler, options);
}

// A search's max_results. MLflow's handler refuses more than 50000 with
// its own message before its store sees the request.
StatusOr<std::optional<int64_t>> SearchMaxResults(const RequestArgs& args) {
  ASSIGN_OR_RETURN(std::optional<int64_t> max, args.OptionalInt("max_results"));
  if (max && *max > tracking::kMaxSearchResults) {
    return InvalidParameter("max_results", *args.Get("max_results"));
  }
  return max;
}

// Whether every object in `list` has each of `fields` set (not null, not
// ""): MLflow's log-batch check, which answers a miss with the whole list
// as the invalid value.
bool ItemsHave(const json::Value& list, std::initializer_list<const char*> fields) {
  for (const json::Value& item : list.GetArray()) {
    if (!item.IsObject()) continue;  // refused item by item, naming its index
    for (const char* field : fields) {
      auto it = item.FindMember(field);
      if (it == item.MemberEnd() || it->value.IsNull() ||
          (it->value.IsString() && it->value.GetStringLength() == 0)) {
        return false;
      }
    }
  }
  return true;
}

StatusOr<tracking::Metric> MetricFrom(const json::Value& item, const std::string& path) {
  if (!item.IsObject()) return InvalidParameter(path, item);
  tracking::Metric m;
  auto key = item.FindMember("key");
  if (key == item.MemberEnd() || key->value.IsNull()) return MissingParameter(path + ".key");
  ASSIGN_OR_RETURN(m.key, RequestArgs::AsString(key->value, path + ".key"));
  auto value = item.FindMember("value");
  if (value == item.MemberEnd() || value->value.IsNull()) return MissingParameter(path + ".value");
  ASSIGN_OR_RETURN(m.value, RequestArgs::AsDouble(value->value, path + ".value"));
  auto ts = item.FindMember("timestamp");
  if (ts == item.MemberEnd() || ts->value.IsNull()) return MissingParameter(path + ".timestamp");
  ASSIGN_OR_RETURN(m.timestamp, RequestArgs::AsInt(ts->value, path + ".timestamp"));
  auto step = item.FindMember("step");
  if (step != item.MemberEnd() && !step->value.IsNull()) {
    ASSIGN_OR_RETURN(m.step, RequestArgs::AsInt(step->value, path + ".step"));
  }
  // MLflow 3: the model and dataset a value measures.
  for (auto [name, out] :
       {std::pair{"model_id", &m.model_id}, std::pair{"dataset_name", &m.dataset_name},
        std::pair{"dataset_digest", &m.dataset_digest}}) {
    auto it = item.FindMember(name);
    if (it != item.MemberEnd() && !it->value.IsNull()) {
      ASSIGN_OR_RETURN(*out, RequestArgs::AsString(it->value, path + "." + name));
    }
  }
  return m;
}

StatusOr<tracking::ViewType> ViewTypeArg(const RequestArgs& args, const char* name) {
  const json::Value* v = args.Get(name);
  if (v == nullptr) return tracking::ViewType::kActiveOnly;
  std::string s;
  if (v->IsInt64()) {
    int64_t i = v->GetInt64();
    s = i == 1 ? "ACTIVE_ONLY" : i == 2 ? "DELETED_ONLY" : i == 3 ? "ALL" : "";
  } else if (v->IsString()) {
    s = v->GetString();
  }
  if (s == "ACTIVE_ONLY") return tracking::ViewType::kActiveOnly;
  if (s == "DELETED_ONLY") return tracking::ViewType::kDeletedOnly;
  if (s == "ALL") return tracking::ViewType::kAll;
  return InvalidArgument("Invalid value for parameter '" + std::string(name) +
                         "': expected ACTIVE_ONLY, DELETED_ONLY or ALL.");
}

void WriteNextPageToken(json::Writer& w, const std::string& token) {
  if (token.empty()) return;
  w.Key("next_page_token");
  json::WriteString(w, token);
}

}  // namespace

void RegisterTrackingRoutes(const surface::Surface& surface, tracking::TrackingService& tracking) {
  tracking::TrackingService* t = &tracking;
  // Unknown MLflow endpoints keep MLflow's ENDPOINT_NOT_FOUND on any listener.
  surface.ClaimPrefix("/api/2.0/mlflow/");
  surface.ClaimPrefix("/ajax-api/2.0/mlflow/");

  // ---------------------------------------------------------------- experiments
  AddMlflowRoute(surface, "POST", "experiments/create", RouteAccess::Role(auth::Role::kEditor),
                 [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
                   ASSIGN_OR_RETURN(std::string location, args.StringOr("artifact_location", ""));
                   ASSIGN_OR_RETURN(auto tags, KeyValueList(args.Get("tags"), "tags", false));
                   ASSIGN_OR_RETURN(std::string id, t->CreateExperiment(name, location, tags));
                   return WriteJson([&](json::Writer& w) {
                     w.Key("experiment_id");
                     json::WriteString(w, id);
                   });
                 });
  auto get_experiment = [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
    ASSIGN_OR_RETURN(std::string id, args.RequiredString("experiment_id"));
    ASSIGN_OR_RETURN(tracking::Experiment e, t->GetExperiment(id));
    return WriteJson([&](json::Writer& w) {
      w.Key("experiment");
      WriteExperiment(w, e);
    });
  };
  AddMlflowRoute(surface, "GET", "experiments/get", RouteAccess::Experiment(auth::Level::kRead),
                 get_experiment);
  AddMlflowRoute(surface, "GET", "experiments/get-by-name",
                 RouteAccess::ExperimentName(auth::Level::kRead),
                 [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string name, args.RequiredString("experiment_name"));
                   ASSIGN_OR_RETURN(tracking::Experiment e, t->GetExperimentByName(name));
                   return WriteJson([&](json::Writer& w) {
                     w.Key("experiment");
                     WriteExperiment(w, e);
                   });
                 });
  auto search_experiments = [t, surface](const RequestArgs& args,
                                         HttpRequest& request) -> StatusOr<HttpResponse> {
    tracking::SearchExperimentsRequest req;
    ASSIGN_OR_RETURN(req.hidden, Unreadable(surface, request, auth::ResourceKind::kExperiment));
    ASSIGN_OR_RETURN(req.view_type, ViewTypeArg(args, "view_type"));
    ASSIGN_OR_RETURN(std::optional<int64_t> max, SearchMaxResults(args));
    if (max) req.max_results = *max;
    ASSIGN_OR_RETURN(req.filter, args.StringOr("filter", ""));
    ASSIGN_OR_RETURN(req.order_by, args.StringList("order_by"));
    ASSIGN_OR_RETURN(req.page_token, args.StringOr("page_token", ""));
    ASSIGN_OR_RETURN(tracking::ExperimentPage page, t->SearchExperiments(req));
    return WriteJson([&](json::Writer& w) {
      w.Key("experiments");
      w.StartArray();
      for (const auto& e : page.experiments) WriteExperiment(w, e);
      w.EndArray();
      WriteNextPageToken(w, page.next_page_token);
    });
  };
  AddMlflowRoute(surface, "POST", "experiments/search", RouteAccess::Search(), search_experiments);
  AddMlflowRoute(surface, "GET", "experiments/search", RouteAccess::Search(), search_experiments);
  AddMlflowRoute(surface, "POST", "experiments/update", RouteAccess::Experiment(auth::Level::kEdit),
                 [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string id, args.RequiredString("experiment_id"));
                   ASSIGN_OR_RETURN(std::string name, args.RequiredString("new_name"));
                   RETURN_IF_ERROR(t->RenameExperiment(id, name));
                   return EmptyResponse();
                 });
  AddMlflowRoute(surface, "POST", "experiments/delete",
                 RouteAccess::Experiment(auth::Level::kManage),
                 [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string id, args.RequiredString("experiment_id"));
                   RETURN_IF_ERROR(t->DeleteExperiment(id));
                   return EmptyResponse();
                 });
  AddMlflowRoute(surface, "POST", "experiments/restore",
                 RouteAccess::Experiment(auth::Level::kManage),
                 [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string id, args.RequiredString("experiment_id"));
                   RETURN_IF_ERROR(t->RestoreExperiment(id));
                   return EmptyResponse();
                 });
  AddMlflowRoute(surface, "POST", "experiments/set-experiment-tag",
                 RouteAccess::Experiment(auth::Level::kEdit),
                 [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string id, args.RequiredString("experiment_id"));
                   ASSIGN_OR_RETURN(std::string key, args.RequiredString("key"));
                   ASSIGN_OR_RETURN(std::string value, args.StringOr("value", ""));
                   RETURN_IF_ERROR(t->SetExperimentTag(id, {key, value}));
                   return EmptyResponse();
                 });

  AddMlflowRoute(surface, "POST", "experiments/delete-experiment-tag",
                 RouteAccess::Experiment(auth::Level::kEdit),
                 [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string id, args.RequiredString("experiment_id"));
                   ASSIGN_OR_RETURN(std::string key, args.RequiredString("key"));
                   RETURN_IF_ERROR(t->DeleteExperimentTag(id, key));
                   return EmptyResponse();
                 });

  // ----------------------------------------------------------------------- runs
  AddMlflowRoute(surface, "POST", "runs/create", RouteAccess::Experiment(auth::Level::kEdit),
                 [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   tracking::CreateRunRequest req;
                   ASSIGN_OR_RETURN(req.experiment_id, args.StringOr("experiment_id", ""));
                   ASSIGN_OR_RETURN(req.user_id, args.StringOr("user_id", ""));
                   ASSIGN_OR_RETURN(req.start_time, args.OptionalInt("start_time"));
                   ASSIGN_OR_RETURN(req.tags, KeyValueList(args.Get("tags"), "tags", false));
                   ASSIGN_OR_RETURN(req.run_name, args.StringOr("run_name", ""));
                   ASSIGN_OR_RETURN(tracking::Run run, t->CreateRun(req));
                   return WriteJson([&](json::Writer& w) {
                     w.Key("run");
                     WriteRun(w, run);
                   });
                 });
  AddMlflowRoute(surface, "GET", "runs/get", RouteAccess::Run(auth::Level::kRead),
                 [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string run_id, RunIdArg(args));
                   ASSIGN_OR_RETURN(tracking::Run run, t->GetRun(run_id));
                   return WriteJson([&](json::Writer& w) {
                     w.Key("run");
                     WriteRun(w, run);
                   });
                 });
  AddMlflowRoute(surface, "POST", "runs/update", RouteAccess::Run(auth::Level::kEdit),
                 [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   tracking::UpdateRunRequest req;
                   ASSIGN_OR_RETURN(req.run_id, RunIdArg(args));
                   ASSIGN_OR_RETURN(req.status, args.OptionalString("status"));
                   if (const json::Value* s = args.Get("status"); s != nullptr && s->IsInt64()) {
                     static const char* kStatuses[] = {"",         "RUNNING", "SCHEDULED",
                                                       "FINISHED", "FAILED",  "KILLED"};
                     int64_t i = s->GetInt64();
                     if (i >= 1 && i <= 5) req.status = kStatuses[i];
                   }
                   ASSIGN_OR_RETURN(req.end_time, args.OptionalInt("end_time"));
                   ASSIGN_OR_RETURN(req.run_name, args.OptionalString("run_name"));
                   ASSIGN_OR_RETURN(tracking::RunInfo info, t->UpdateRun(req));
                   return WriteJson([&](json::Writer& w) {
                     w.Key("run_info");
                     WriteRunInfo(w, info);
                   });
                 });
  AddMlflowRoute(surface, "POST", "runs/delete", RouteAccess::Run(auth::Level::kEdit),
                 [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string run_id, RunIdArg(args));
                   RETURN_IF_ERROR(t->DeleteRun(run_id));
                   return EmptyResponse();
                 });
  AddMlflowRoute(surface, "POST", "runs/restore", RouteAccess::Run(auth::Level::kEdit),
                 [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string run_id, RunIdArg(args));
                   RETURN_IF_ERROR(t->RestoreRun(run_id));
                   return EmptyResponse();
                 });
  auto search_runs = [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
    tracking::SearchRunsRequest req;
    ASSIGN_OR_RETURN(req.experiment_ids, args.StringList("experiment_ids"));
    ASSIGN_OR_RETURN(req.filter, args.StringOr("filter", ""));
    ASSIGN_OR_RETURN(req.view_type, ViewTypeArg(args, "run_view_type"));
    ASSIGN_OR_RETURN(std::optional<int64_t> max, SearchMaxResults(args));
    if (max) req.max_results = *max;
    ASSIGN_OR_RETURN(req.order_by, args.StringList("order_by"));
    ASSIGN_OR_RETURN(req.page_token, args.StringOr("page_token", ""));
    ASSIGN_OR_RETURN(tracking::RunPage page, t->SearchRuns(req));
    return WriteJson([&](json::Writer& w) {
      w.Key("runs");
      w.StartArray();
      for (const auto& run : page.runs) WriteRun(w, run);
      w.EndArray();
      WriteNextPageToken(w, page.next_page_token);
    });
  };
  AddMlflowRoute(surface, "POST", "runs/search", RouteAccess::Experiments(auth::Level::kRead),
                 search_runs);
  AddMlflowRoute(surface, "GET", "runs/search", RouteAccess::Experiments(auth::Level::kRead),
                 search_runs);

  // -------------------------------------------------------------------- logging
  AddLogBatchRoute(
      surface, "runs/log-metric",
      [](const RequestArgs& args, HttpRequest&) -> StatusOr<tracking::LogBatchRequest> {
        tracking::LogBatchRequest batch;
        ASSIGN_OR_RETURN(batch.run_id, RunIdArg(args));
        tracking::Metric m;
        ASSIGN_OR_RETURN(m.key, args.RequiredString("key"));
        ASSIGN_OR_RETURN(m.value, args.RequiredDouble("value"));
        ASSIGN_OR_RETURN(m.timestamp, args.RequiredInt("timestamp"));
        ASSIGN_OR_RETURN(std::optional<int64_t> step, args.OptionalInt("step"));
        m.step = step.value_or(0);
        ASSIGN_OR_RETURN(m.model_id, args.StringOr("model_id", ""));
        ASSIGN_OR_RETURN(m.dataset_name, args.StringOr("dataset_name", ""));
        ASSIGN_OR_RETURN(m.dataset_digest, args.StringOr("dataset_digest", ""));
        batch.metrics.push_back(std::move(m));
        return batch;
      },
      t);
  AddLogBatchRoute(
      surface, "runs/log-parameter",
      [](const RequestArgs& args, HttpRequest&) -> StatusOr<tracking::LogBatchRequest> {
        tracking::LogBatchRequest batch;
        ASSIGN_OR_RETURN(batch.run_id, RunIdArg(args));
        tracking::KeyValue param;
        ASSIGN_OR_RETURN(param.key, args.RequiredString("key"));
        ASSIGN_OR_RETURN(param.value, args.StringOr("value", ""));
        batch.params.push_back(std::move(param));
        return batch;
      },
      t);
  AddMlflowRoute(surface, "POST", "runs/set-tag", RouteAccess::Run(auth::Level::kEdit),
                 [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string run_id, RunIdArg(args));
                   ASSIGN_OR_RETURN(std::string key, args.RequiredString("key"));
                   ASSIGN_OR_RETURN(std::string value, args.StringOr("value", ""));
                   RETURN_IF_ERROR(t->SetTag(run_id, {key, value}));
                   return EmptyResponse();
                 });
  AddMlflowRoute(surface, "POST", "runs/delete-tag", RouteAccess::Run(auth::Level::kEdit),
                 [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string run_id, RunIdArg(args));
                   ASSIGN_OR_RETURN(std::string key, args.RequiredString("key"));
                   RETURN_IF_ERROR(t->DeleteTag(run_id, key));
                   return EmptyResponse();
                 });
  AddLogBatchRoute(
      surface, "runs/log-batch",
      [](const RequestArgs& args, HttpRequest& request) -> StatusOr<tracking::LogBatchRequest> {
        if (request.body.size() > tracking::kMaxBatchRequestBytes) {
          return InvalidArgument("Batched logging API requests must be at most " +
                                 std::to_string(tracking::kMaxBatchRequestBytes) +
                                 " bytes, got a request of size " +
                                 std::to_string(request.body.size()) + ".");
        }
        tracking::LogBatchRequest batch;
        ASSIGN_OR_RETURN(batch.run_id, RunIdArg(args));
        if (const json::Value* list = args.Get("metrics")) {
          if (!list->IsArray() || !ItemsHave(*list, {"key", "value", "timestamp"})) {
            return InvalidParameter("metrics", *list);
          }
          batch.metrics.reserve(list->Size());
          for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
            ASSIGN_OR_RETURN(tracking::Metric m,
                             MetricFrom((*list)[i], "metrics[" + std::to_string(i) + "]"));
            batch.metrics.push_back(std::move(m));
          }
        }
        for (const char* field : {"params", "tags"}) {
          const json::Value* list = args.Get(field);
          if (list != nullptr && (!list->IsArray() || !ItemsHave(*list, {"key"}))) {
            return InvalidParameter(field, *list);
          }
        }
        ASSIGN_OR_RETURN(batch.params, KeyValueList(args.Get("params"), "params", true));
        ASSIGN_OR_RETURN(batch.tags, KeyValueList(args.Get("tags"), "tags", true));
        return batch;
      },
      t);
  AddMlflowRoute(surface, "POST", "runs/log-model", RouteAccess::Run(auth::Level::kEdit),
                 [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string run_id, RunIdArg(args));
                   ASSIGN_OR_RETURN(std::string model_json, args.RequiredString("model_json"));
                   json::Document model;
                   if (!json::Parse(model_json, &model).ok() || !model.IsObject()) {
                     return InvalidArgument(
                         "Invalid value for parameter 'model_json': expected a JSON object "
                         "describing the MLflow model.");
                   }
                   // Store it compactly re-serialised, so the tag holds valid JSON.
                   json::Buffer buffer;
                   json::Writer w(buffer);
                   model.Accept(w);
                   RETURN_IF_ERROR(t->LogModel(run_id, buffer.GetString()));
                   return EmptyResponse();
                 });
  AddMlflowRoute(
      surface, "POST", "runs/log-inputs", RouteAccess::Run(auth::Level::kEdit),
      [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
        ASSIGN_OR_RETURN(std::string run_id, RunIdArg(args));
        // MLflow 2 requires datasets; MLflow 3 may log models alone.
        if (args.Get("datasets") == nullptr && args.Get("models") == nullptr) {
          return MissingParameter("datasets");
        }
        std::vector<tracking::DatasetInput> inputs;
        if (const json::Value* list = args.Get("datasets")) {
          if (!list->IsArray()) return InvalidParameter("datasets", *list);
          for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
            const json::Value& item = (*list)[i];
            std::string path = "datasets[" + std::to_string(i) + "]";
            if (!item.IsObject()) return InvalidParameter(path, item);
            tracking::DatasetInput input;
            if (auto tags = item.FindMember("tags"); tags != item.MemberEnd()) {
              ASSIGN_OR_RETURN(input.tags, KeyValueList(&tags->value, path + ".tags", false));
            }
            auto ds = item.FindMember("dataset");
            if (ds == item.MemberEnd() || !ds->value.IsObject()) {
              return MissingParameter(path + ".dataset");
            }
            auto field = [&](const char* name, std::string* out) -> Status {
              auto it = ds->value.FindMember(name);
              if (it == ds->value.MemberEnd() || it->value.IsNull()) return Status::Ok();
              ASSIGN_OR_RETURN(*out, RequestArgs::AsString(it->value, path + ".dataset." + name));
              return Status::Ok();
            };
            RETURN_IF_ERROR(field("name", &input.dataset.name));
            RETURN_IF_ERROR(field("digest", &input.dataset.digest));
            RETURN_IF_ERROR(field("source_type", &input.dataset.source_type));
            RETURN_IF_ERROR(field("source", &input.dataset.source));
            RETURN_IF_ERROR(field("schema", &input.dataset.schema));
            RETURN_IF_ERROR(field("profile", &input.dataset.profile));
            inputs.push_back(std::move(input));
          }
        }
        ASSIGN_OR_RETURN(auto models, RunModelLinks(args.Get("models"), "models", false));
        RETURN_IF_ERROR(t->LogInputs(run_id, inputs, models));
        return EmptyResponse();
      });

  // ------------------------------------------------------------- metric history
  AddMlflowRoute(surface, "GET", "metrics/get-history", RouteAccess::Run(auth::Level::kRead),
                 [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string run_id, RunIdArg(args));
                   ASSIGN_OR_RETURN(std::string key, args.RequiredString("metric_key"));
                   ASSIGN_OR_RETURN(std::optional<int64_t> max, args.OptionalInt("max_results"));
                   ASSIGN_OR_RETURN(std::string token, args.StringOr("page_token", ""));
                   MetricListWriter out(false, static_cast<size_t>(max.value_or(0)));
                   ASSIGN_OR_RETURN(std::string next_page_token,
                                    t->ReadMetricHistory(run_id, key, max.value_or(0), token,
                                                         [&](const auto& m) { out.Add(m); }));
                   return std::move(out).Finish(next_page_token);
                 });
  // The datasets an experiment's runs used (MLflow's UI).
  AddMlflowRoute(
      surface, "POST", "experiments/search-datasets", RouteAccess::Experiments(auth::Level::kRead),
      [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
        constexpr size_t kMaxExperiments = 20;
        ASSIGN_OR_RETURN(std::vector<std::string> ids, args.StringList("experiment_ids"));
        if (ids.empty()) {
          return InvalidArgument("SearchDatasets request must specify at least one experiment_id.");
        }
        if (ids.size() > kMaxExperiments) {
          return InvalidArgument("SearchDatasets request cannot specify more than " +
                                 std::to_string(kMaxExperiments) + " experiment_ids. Received " +
                                 std::to_string(ids.size()) + " experiment_ids.");
        }
        ASSIGN_OR_RETURN(std::vector<tracking::DatasetSummary> summaries, t->SearchDatasets(ids));
        return WriteJson([&](json::Writer& w) {
          w.Key("dataset_summaries");
          w.StartArray();
          for (const tracking::DatasetSummary& d : summaries) {
            w.StartObject();
            w.Key("experiment_id");
            json::WriteString(w, d.experiment_id);
            w.Key("name");
            json::WriteString(w, d.name);
            w.Key("digest");
            json::WriteString(w, d.digest);
            w.Key("context");
            if (d.context) {
              json::WriteString(w, *d.context);
            } else {
              w.Null();
            }
            w.EndObject();
          }
          w.EndArray();
        });
      });
  // The history of one metric across runs (MLflow's UI charts).
  AddMlflowRoute(
      surface, "GET", "metrics/get-history-bulk", RouteAccess::Runs(auth::Level::kRead, "run_id"),
      [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
        constexpr size_t kMaxRuns = 100;
        constexpr int64_t kMaxResults = 25000;
        ASSIGN_OR_RETURN(std::vector<std::string> run_ids, args.StringList("run_id"));
        if (run_ids.empty()) {
          return InvalidArgument("GetMetricHistoryBulk request must specify at least one run_id.");
        }
        if (run_ids.size() > kMaxRuns) {
          return InvalidArgument("GetMetricHistoryBulk request cannot specify more than " +
                                 std::to_string(kMaxRuns) + " run_ids. Received " +
                                 std::to_string(run_ids.size()) + " run_ids.");
        }
        if (args.Get("metric_key") == nullptr) {
          return InvalidArgument("GetMetricHistoryBulk request must specify a metric_key.");
        }
        ASSIGN_OR_RETURN(std::string key, args.RequiredString("metric_key"));
        ASSIGN_OR_RETURN(std::optional<int64_t> max, args.OptionalInt("max_results"));
        int64_t limit = std::clamp<int64_t>(max.value_or(kMaxResults), 0, kMaxResults);
        ASSIGN_OR_RETURN(auto metrics, t->GetMetricHistoryBulk(std::move(run_ids), key,
                                                               static_cast<size_t>(limit)));
        MetricListWriter out(true, metrics.size());
        for (const auto& m : metrics) out.Add(m);
        return std::move(out).Finish();
      });
  AddMlflowRoute(
      surface, "GET", "metrics/get-history-bulk-interval", RouteAccess::Runs(auth::Level::kRead),
      [t](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
        constexpr int64_t kMaxRuns = 100;
        constexpr int64_t kMaxResultsPerRun = 2500;
        ASSIGN_OR_RETURN(std::vector<std::string> run_ids, args.StringList("run_ids"));
        if (run_ids.empty()) return MissingParameter("run_ids");
        if (static_cast<int64_t>(run_ids.size()) > kMaxRuns) {
          return InvalidArgument("GetMetricHistoryBulkInterval request must specify at most " +
                                 std::to_string(kMaxRuns) + " run_ids. Received " +
                                 std::to_string(run_ids.size()) + " run_ids.");
        }
        ASSIGN_OR_RETURN(std::string key, args.RequiredString("metric_key"));
        ASSIGN_OR_RETURN(std::optional<int64_t> start, args.OptionalInt("start_step"));
        ASSIGN_OR_RETURN(std::optional<int64_t> end, args.OptionalInt("end_step"));
        if (start.has_value() != end.has_value()) {
          return InvalidArgument(
              "If either start step or end step are specified, both must be specified.");
        }
        if (start && end && *start > *end) {
          return InvalidArgument("end_step must be greater than start_step. Found start_step=" +
                                 std::to_string(*start) + " and end_step=" + std::to_string(*end) +
                                 ".");
        }
        ASSIGN_OR_RETURN(std::optional<int64_t> max, args.OptionalInt("max_results"));
        int64_t per_run = max.value_or(kMaxResultsPerRun);
        if (per_run < 1 || per_run > kMaxResultsPerRun) {
          return InvalidArgument("max_results must be between 1 and " +
                                 std::to_string(kMaxResultsPerRun) + ".");
        }
        ASSIGN_OR_RETURN(auto metrics,
                         t->GetMetricHistoryBulkInterval(run_ids, key, start, end, per_run));
        MetricListWriter out(true, metrics.size());
        for (const auto& m : metrics) out.Add(m);
        return std::move(out).Finish();
      });
}

}  // namespace cairn::mlflow
