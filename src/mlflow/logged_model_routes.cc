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

StatusOr<std::vector<tracking::RunModelLink>> ModelLinks(const json::Value* list,
                                                         const std::string& field) {
  std::vector<tracking::RunModelLink> out;
  if (list == nullptr || list->IsNull()) return MissingParameter(field);
  if (!list->IsArray()) return InvalidParameter(field, *list);
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    const json::Value& item = (*list)[i];
    std::string path = field + "[" + std::to_string(i) + "]";
    if (!item.IsObject()) return InvalidParameter(path, item);
    auto id = item.FindMember("model_id");
    if (id == item.MemberEnd() || id->value.IsNull()) return MissingParameter(path + ".model_id");
    tracking::RunModelLink link;
    ASSIGN_OR_RETURN(link.model_id, RequestArgs::AsString(id->value, path + ".model_id"));
    if (link.model_id.empty()) return MissingParameter(path + ".model_id");
    auto step = item.FindMember("step");
    if (step != item.MemberEnd() && !step->value.IsNull()) {
      ASSIGN_OR_RETURN(link.step, RequestArgs::AsInt(step->value, path + ".step"));
    }
    out.push_back(std::move(link));
  }
  return out;
}

}  // namespace

void RegisterLoggedModelRoutes(http::Router& router, LoggedModelService& service) {
  LoggedModelService* s = &service;

  AddMlflowRoute(router, "POST", "logged-models",
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

  AddMlflowRoute(router, "GET", "logged-models/{model_id}",
                 [s](const RequestArgs&, HttpRequest& request) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(tracking::LoggedModel model, s->Get(ModelIdArg(request)));
                   return ModelResponse(model);
                 });

  AddMlflowRoute(router, "PATCH", "logged-models/{model_id}",
                 [s](const RequestArgs& args, HttpRequest& request) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(tracking::LoggedModelStatus status, StatusArg(args));
                   ASSIGN_OR_RETURN(tracking::LoggedModel model,
                                    s->Finalize(ModelIdArg(request), status));
                   return ModelResponse(model);
                 });

  AddMlflowRoute(router, "DELETE", "logged-models/{model_id}",
                 [s](const RequestArgs&, HttpRequest& request) -> StatusOr<HttpResponse> {
                   RETURN_IF_ERROR(s->Delete(ModelIdArg(request)));
                   return EmptyResponse();
                 });

  AddMlflowRoute(router, "PATCH", "logged-models/{model_id}/tags",
                 [s](const RequestArgs& args, HttpRequest& request) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(auto tags, KeyValueList(args.Get("tags"), "tags", true));
                   RETURN_IF_ERROR(s->SetTags(ModelIdArg(request), tags));
                   return EmptyResponse();
                 });

  AddMlflowRoute(router, "DELETE", "logged-models/{model_id}/tags/{tag_key}",
                 [s](const RequestArgs&, HttpRequest& request) -> StatusOr<HttpResponse> {
                   RETURN_IF_ERROR(s->DeleteTag(ModelIdArg(request),
                                                std::string(request.PathParam("tag_key"))));
                   return EmptyResponse();
                 });

  AddMlflowRoute(router, "POST", "logged-models/{model_id}/params",
                 [s](const RequestArgs& args, HttpRequest& request) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(auto params, KeyValueList(args.Get("params"), "params", true));
                   RETURN_IF_ERROR(s->LogParams(ModelIdArg(request), params));
                   return EmptyResponse();
                 });

  AddMlflowRoute(router, "POST", "runs/outputs",
                 [s](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string run_id, RunIdArg(args));
                   ASSIGN_OR_RETURN(auto models, ModelLinks(args.Get("models"), "models"));
                   RETURN_IF_ERROR(s->LogOutputs(run_id, models));
                   return EmptyResponse();
                 });
}

}  // namespace cairn::mlflow
