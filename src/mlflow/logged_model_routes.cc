// MLflow 3's LoggedModel endpoints and runs/outputs (spec:
// docs/research/mlflow3-logged-models.md, from MLflow's service.proto and
// handlers.py).
#include "core/json.h"
#include "mlflow/mlflow_json.h"
#include "mlflow/request_args.h"
#include "mlflow/routes.h"
#include "tracking/logged_model_service.h"

namespace cairn::mlflow {

using http::HttpRequest;
using http::HttpResponse;
using tracking::LoggedModelService;

namespace {

HttpResponse ModelResponse(const tracking::LoggedModel& model) {
  return WriteJson([&](json::Writer& w) {
    w.Key("model");
    WriteLoggedModel(w, model);
  });
}

// The model a request names: the path's {model_id}. MLflow's finalize and
// log-params read it from the body instead; clients send both, equal.
std::string ModelIdArg(const HttpRequest& request) {
  return std::string(request.PathParam("model_id"));
}

// The status of a finalize: an enum name or number, as protobuf's JSON
// mapping accepts.
StatusOr<tracking::LoggedModelStatus> StatusArg(const RequestArgs& args) {
  const json::Value* status = args.Get("status");
  if (status == nullptr || status->IsNull()) return MissingParameter("status");
  if (status->IsString()) {
    return tracking::ParseLoggedModelStatus(
        std::string_view(status->GetString(), status->GetStringLength()));
  }
  if (status->IsInt64()) {
    return tracking::ParseLoggedModelStatus(std::to_string(status->GetInt64()));
  }
  return InvalidParameter("status", *status);
}

// A list of objects whose string fields `read` fills in, for `datasets` and
// `order_by`.
template <typename T, typename Read>
StatusOr<std::vector<T>> ObjectList(const json::Value* list, const std::string& field, Read read) {
  std::vector<T> out;
  if (list == nullptr || list->IsNull()) return out;
  if (!list->IsArray()) return InvalidParameter(field, *list);
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    const json::Value& item = (*list)[i];
    std::string path = field + "[" + std::to_string(i) + "]";
    if (!item.IsObject()) return InvalidParameter(path, item);
    auto text = [&](const char* name, bool required, std::string* value) -> Status {
      auto it = item.FindMember(name);
      if (it == item.MemberEnd() || it->value.IsNull()) {
        return required ? MissingParameter(path + "." + name) : Status::Ok();
      }
      ASSIGN_OR_RETURN(*value, RequestArgs::AsString(it->value, path + "." + name));
      if (required && value->empty()) return MissingParameter(path + "." + name);
      return Status::Ok();
    };
    T value;
    RETURN_IF_ERROR(read(item, path, text, &value));
    out.push_back(std::move(value));
  }
  return out;
}

StatusOr<tracking::SearchLoggedModelsRequest> SearchRequest(const RequestArgs& args) {
  tracking::SearchLoggedModelsRequest req;
  if (!args.Has("experiment_ids")) return MissingParameter("experiment_ids");
  ASSIGN_OR_RETURN(req.experiment_ids, args.StringList("experiment_ids"));
  ASSIGN_OR_RETURN(req.filter, args.StringOr("filter", ""));
  ASSIGN_OR_RETURN(std::optional<int64_t> max, args.OptionalInt("max_results"));
  // Absent: the proto's default, 50. Zero: MLflow's handler passes None on
  // and its store pages by 100.
  req.max_results = !max.has_value() ? 50 : *max == 0 ? 100 : *max;
  ASSIGN_OR_RETURN(req.page_token, args.StringOr("page_token", ""));
  ASSIGN_OR_RETURN(req.datasets, ObjectList<tracking::DatasetRef>(
                                     args.Get("datasets"), "datasets",
                                     [](const json::Value&, const std::string&, auto& text,
                                        tracking::DatasetRef* d) -> Status {
                                       RETURN_IF_ERROR(text("dataset_name", true, &d->name));
                                       return text("dataset_digest", false, &d->digest);
                                     }));
  ASSIGN_OR_RETURN(req.order_by,
                   ObjectList<tracking::LoggedModelOrder>(
                       args.Get("order_by"), "order_by",
                       [](const json::Value& item, const std::string& path, auto& text,
                          tracking::LoggedModelOrder* o) -> Status {
                         RETURN_IF_ERROR(text("field_name", true, &o->field_name));
                         RETURN_IF_ERROR(text("dataset_name", false, &o->dataset_name));
                         RETURN_IF_ERROR(text("dataset_digest", false, &o->dataset_digest));
                         auto asc = item.FindMember("ascending");
                         if (asc != item.MemberEnd() && !asc->value.IsNull()) {
                           if (!asc->value.IsBool()) {
                             return InvalidParameter(path + ".ascending", asc->value);
                           }
                           o->ascending = asc->value.GetBool();
                         }
                         return Status::Ok();
                       }));
  return req;
}

}  // namespace

void RegisterLoggedModelRoutes(const surface::Surface& surface, LoggedModelService& service) {
  LoggedModelService* s = &service;

  AddMlflowRoute(surface, "POST", "logged-models", RouteAccess::Experiment(auth::Level::kEdit),
                 [s](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   tracking::CreateLoggedModelRequest req;
                   ASSIGN_OR_RETURN(req.experiment_id, args.RequiredString("experiment_id"));
                   ASSIGN_OR_RETURN(req.name, args.StringOr("name", ""));
                   ASSIGN_OR_RETURN(req.model_type, args.StringOr("model_type", ""));
                   ASSIGN_OR_RETURN(req.source_run_id, args.StringOr("source_run_id", ""));
                   ASSIGN_OR_RETURN(req.params, KeyValueList(args.Get("params"), "params", true));
                   ASSIGN_OR_RETURN(req.tags, KeyValueList(args.Get("tags"), "tags", true));
                   ASSIGN_OR_RETURN(tracking::LoggedModel model, s->Create(req));
                   return ModelResponse(model);
                 });

  // Registered before logged-models/{model_id}: "search" is not a model id.
  AddMlflowRoute(surface, "POST", "logged-models/search",
                 RouteAccess::Experiments(auth::Level::kRead),
                 [s](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(tracking::SearchLoggedModelsRequest req, SearchRequest(args));
                   ASSIGN_OR_RETURN(tracking::LoggedModelPage page, s->Search(req));
                   return WriteJson([&](json::Writer& w) {
                     w.Key("models");
                     w.StartArray();
                     for (const auto& model : page.models) WriteLoggedModel(w, model);
                     w.EndArray();
                     if (!page.next_page_token.empty()) {
                       w.Key("next_page_token");
                       json::WriteString(w, page.next_page_token);
                     }
                   });
                 });

  AddMlflowRoute(surface, "GET", "logged-models/{model_id}",
                 RouteAccess::LoggedModel(auth::Level::kRead),
                 [s](const RequestArgs&, HttpRequest& request) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(tracking::LoggedModel model, s->Get(ModelIdArg(request)));
                   return ModelResponse(model);
                 });

  AddMlflowRoute(
      surface, "PATCH", "logged-models/{model_id}", RouteAccess::LoggedModel(auth::Level::kEdit),
      [s](const RequestArgs& args, HttpRequest& request) -> StatusOr<HttpResponse> {
        ASSIGN_OR_RETURN(tracking::LoggedModelStatus status, StatusArg(args));
        ASSIGN_OR_RETURN(tracking::LoggedModel model, s->Finalize(ModelIdArg(request), status));
        return ModelResponse(model);
      });

  AddMlflowRoute(surface, "DELETE", "logged-models/{model_id}",
                 RouteAccess::LoggedModel(auth::Level::kEdit),
                 [s](const RequestArgs&, HttpRequest& request) -> StatusOr<HttpResponse> {
                   RETURN_IF_ERROR(s->Delete(ModelIdArg(request)));
                   return EmptyResponse();
                 });

  AddMlflowRoute(surface, "PATCH", "logged-models/{model_id}/tags",
                 RouteAccess::LoggedModel(auth::Level::kEdit),
                 [s](const RequestArgs& args, HttpRequest& request) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(auto tags, KeyValueList(args.Get("tags"), "tags", true));
                   RETURN_IF_ERROR(s->SetTags(ModelIdArg(request), tags));
                   return EmptyResponse();
                 });

  AddMlflowRoute(surface, "DELETE", "logged-models/{model_id}/tags/{tag_key}",
                 RouteAccess::LoggedModel(auth::Level::kEdit),
                 [s](const RequestArgs&, HttpRequest& request) -> StatusOr<HttpResponse> {
                   RETURN_IF_ERROR(s->DeleteTag(ModelIdArg(request),
                                                std::string(request.PathParam("tag_key"))));
                   return EmptyResponse();
                 });

  AddMlflowRoute(surface, "POST", "logged-models/{model_id}/params",
                 RouteAccess::LoggedModel(auth::Level::kEdit),
                 [s](const RequestArgs& args, HttpRequest& request) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(auto params, KeyValueList(args.Get("params"), "params", true));
                   RETURN_IF_ERROR(s->LogParams(ModelIdArg(request), params));
                   return EmptyResponse();
                 });

  AddMlflowRoute(surface, "POST", "runs/outputs", RouteAccess::Run(auth::Level::kEdit),
                 [s](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string run_id, RunIdArg(args));
                   ASSIGN_OR_RETURN(auto models, RunModelLinks(args.Get("models"), "models", true));
                   RETURN_IF_ERROR(s->LogOutputs(run_id, models));
                   return EmptyResponse();
                 });
}

}  // namespace cairn::mlflow
