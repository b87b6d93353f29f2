// MLflow's model registry endpoints (spec: docs/research/mlflow-model-registry.md,
// from MLflow's model_registry.proto and handlers.py). Names, versions and
// aliases travel in the query string (GET) or the JSON body (everything
// else, DELETE included), never in the path.
#include <algorithm>
#include <optional>

#include "artifacts/artifact_store.h"
#include "auth/http_authenticator.h"
#include "core/json.h"
#include "core/log.h"
#include "mlflow/mlflow_json.h"
#include "mlflow/request_args.h"
#include "mlflow/routes.h"
#include "registry/registry_service.h"

namespace cairn::mlflow {

using http::HttpRequest;
using http::HttpResponse;
using registry::RegistryService;

namespace {

HttpResponse RegisteredModelResponse(const registry::RegisteredModel& model) {
  return WriteJson([&](json::Writer& w) {
    w.Key("registered_model");
    WriteRegisteredModel(w, model);
  });
}

HttpResponse VersionResponse(const registry::ModelVersion& version) {
  return WriteJson([&](json::Writer& w) {
    w.Key("model_version");
    WriteModelVersion(w, version);
  });
}

HttpResponse VersionListResponse(const std::vector<registry::ModelVersion>& versions,
                                 const std::string& next_page_token = "") {
  return WriteJson([&](json::Writer& w) {
    if (!versions.empty()) {
      w.Key("model_versions");
      w.StartArray();
      for (const auto& v : versions) WriteModelVersion(w, v);
      w.EndArray();
    }
    if (!next_page_token.empty()) {
      w.Key("next_page_token");
      json::WriteString(w, next_page_token);
    }
  });
}

// `version` is a string in MLflow's protos; a number is accepted too.
StatusOr<std::string> VersionArg(const RequestArgs& args) {
  const json::Value* v = args.Get("version");
  if (v != nullptr && v->IsInt64()) return std::to_string(v->GetInt64());
  return args.RequiredString("version");
}

// A description is set when the field is present ("" included), cleared
// when absent, as MLflow's handlers do.
StatusOr<std::optional<std::string>> DescriptionArg(const RequestArgs& args) {
  return args.OptionalString("description");
}

StatusOr<registry::SearchRequest> SearchArgs(const RequestArgs& args, int64_t default_max) {
  registry::SearchRequest req;
  ASSIGN_OR_RETURN(req.filter, args.StringOr("filter", ""));
  ASSIGN_OR_RETURN(std::optional<int64_t> max, args.OptionalInt("max_results"));
  req.max_results = max.value_or(default_max);
  ASSIGN_OR_RETURN(req.order_by, args.StringList("order_by"));
  ASSIGN_OR_RETURN(req.page_token, args.StringOr("page_token", ""));
  return req;
}

StatusOr<tracking::KeyValue> TagArgs(const RequestArgs& args) {
  tracking::KeyValue tag;
  ASSIGN_OR_RETURN(tag.key, args.RequiredString("key"));
  ASSIGN_OR_RETURN(tag.value, args.StringOr("value", ""));  // MLflow stores a missing value as "".
  return tag;
}

// Signs a just-registered version when a key exists. The version stands
// either way: a version whose files this server does not hold (s3://) or a
// failed signature stays unsigned, which verification then reports.
void SignNewVersion(RegistryService* registry, signing::ModelSigner* signer,
                    const registry::ModelVersion& version) {
  if (signer == nullptr || !signer->CanSign()) return;
  auto key = registry->ModelKey(version.name);
  if (!key.ok()) return;
  auto signed_digest = signer->Sign(*key, version.version, version.storage_location);
  if (!signed_digest.ok()) {
    LogWarn("model version left unsigned", {{"model", version.name},
                                            {"version", version.version},
                                            {"reason", signed_digest.status().message()}});
  }
}

// When signatures are required, a version is handed out only if its files
// match what was signed at registration.
Status CheckSignature(RegistryService* registry, signing::ModelSigner* signer,
                      const std::string& name, const std::string& version_text,
                      const std::string& uri) {
  if (signer == nullptr || !signer->require_signed()) return Status::Ok();
  ASSIGN_OR_RETURN(auto version, registry->GetModelVersion(name, version_text));
  ASSIGN_OR_RETURN(int64_t key, registry->ModelKey(name));
  ASSIGN_OR_RETURN(signing::Verification check, signer->Verify(key, version.version, uri));
  if (check.ok) return Status::Ok();
  std::string problems;
  for (const std::string& p : check.problems) problems += (problems.empty() ? "" : "; ") + p;
  return PermissionDenied("Model " + name + " version " + std::to_string(version.version) +
                          " may not be loaded: " + problems +
                          ". This server requires signed models (--require-signed-models).");
}

// Who asks for a stage or alias change: the promotion gate counts approvals
// for them and shows them only the metrics of runs they may read.
registry::Caller CallerOf(const surface::Surface& surface, const HttpRequest& request) {
  registry::Caller caller;
  caller.user = request.user;
  if (surface.access() != nullptr) {
    auth::AccessPolicy* access = surface.access();
    caller.may_read_run = [access, who = auth::IdentityOf(request)](const std::string& run_id) {
      return access->Require(who, auth::ResourceKind::kRun, run_id, auth::Level::kRead).ok();
    };
  }
  return caller;
}

// Registering a version from a source links the caller's model to it:
// lineage, gates and downloads then show it. So the caller must be able to
// read the source: the run (runs:/, run_id), the logged model (models:/m-,
// model_id), the registered model (models:/<name>/...), or the experiment
// whose proxied artifacts an mlflow-artifacts: URI names. Other schemes are
// locations this server does not hold. Errors: PermissionDenied naming the
// source and the grant it needs.
Status CheckSourceReadable(const surface::Surface& surface, const HttpRequest& request,
                           const registry::CreateModelVersionRequest& req) {
  if (surface.access() == nullptr) return Status::Ok();
  auth::AccessPolicy& access = *surface.access();
  auth::Identity who = auth::IdentityOf(request);
  auto need = [&](auth::ResourceKind kind, const std::string& id, const std::string& what) {
    Status allowed = access.Require(who, kind, id, auth::Level::kRead);
    if (allowed.ok()) return allowed;
    return PermissionDenied("Registering a model version from " + what +
                            " needs read access to it, which user '" + who.user +
                            "' lacks: ask its owner or an admin for a read grant (" +
                            allowed.message() + ")");
  };
  bool is_prompt = std::any_of(req.tags.begin(), req.tags.end(), [](const tracking::KeyValue& t) {
    return t.key == "mlflow.prompt.is_prompt";
  });
  if (!is_prompt && registry::IsModelUri(req.source)) {
    // A malformed URI is the registry's to report.
    auto uri = registry::ParseModelUri(req.source);
    if (uri.ok()) {
      switch (uri->kind) {
        case registry::ModelUri::Kind::kRun:
          RETURN_IF_ERROR(need(auth::ResourceKind::kRun, uri->run_id, "'" + req.source + "'"));
          break;
        case registry::ModelUri::Kind::kLoggedModel:
          RETURN_IF_ERROR(
              need(auth::ResourceKind::kLoggedModel, uri->model_id, "'" + req.source + "'"));
          break;
        default:
          RETURN_IF_ERROR(
              need(auth::ResourceKind::kRegisteredModel, uri->name, "'" + req.source + "'"));
          break;
      }
    }
  } else if (!is_prompt && req.source.rfind("mlflow-artifacts:", 0) == 0) {
    auto path = artifacts::ServedArtifactPath(req.source);
    if (path.ok()) {
      std::string experiment = path->substr(0, path->find('/'));
      if (experiment.empty()) {
        // The artifact root spans every experiment.
        Status admin = access.RequireRole(who, auth::Role::kAdmin);
        if (!admin.ok()) {
          return PermissionDenied("Registering a model version from '" + req.source +
                                  "' (the whole artifact root) needs the admin role; register "
                                  "the run's or logged model's own folder instead.");
        }
      } else {
        RETURN_IF_ERROR(need(auth::ResourceKind::kExperiment, experiment,
                             "'" + req.source + "' (experiment " + experiment + ")"));
      }
    }
  }
  if (!req.run_id.empty()) {
    RETURN_IF_ERROR(need(auth::ResourceKind::kRun, req.run_id, "run_id '" + req.run_id + "'"));
  }
  if (!req.model_id.empty()) {
    RETURN_IF_ERROR(
        need(auth::ResourceKind::kLoggedModel, req.model_id, "model_id '" + req.model_id + "'"));
  }
  return Status::Ok();
}

}  // namespace

void RegisterRegistryRoutes(const surface::Surface& surface, RegistryService& service,
                            signing::ModelSigner* signer) {
  RegistryService* s = &service;

  // --- Registered models -------------------------------------------------------
  AddMlflowRoute(surface, "POST", "registered-models/create",
                 RouteAccess::Role(auth::Role::kEditor),
                 [s](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
                   ASSIGN_OR_RETURN(auto description, args.OptionalString("description"));
                   ASSIGN_OR_RETURN(auto tags, KeyValueList(args.Get("tags"), "tags", false));
                   ASSIGN_OR_RETURN(auto model, s->CreateRegisteredModel(name, description, tags));
                   return RegisteredModelResponse(model);
                 });

  AddMlflowRoute(surface, "GET", "registered-models/get", RouteAccess::Model(auth::Level::kRead),
                 [s](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
                   ASSIGN_OR_RETURN(auto model, s->GetRegisteredModel(name));
                   return RegisteredModelResponse(model);
                 });

  AddMlflowRoute(
      surface, "POST", "registered-models/rename", RouteAccess::Model(auth::Level::kEdit),
      [s, surface](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
        ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
        ASSIGN_OR_RETURN(std::string new_name, args.RequiredString("new_name"));
        ASSIGN_OR_RETURN(auto model, s->RenameRegisteredModel(name, new_name));
        // Grants follow the model. A separate commit: if it fails the
        // rename stands and the client is told to redo the grants.
        if (surface.access() != nullptr) {
          Status moved = surface.access()->RenameResource(auth::ResourceKind::kRegisteredModel,
                                                          name, new_name);
          if (!moved.ok()) {
            return Unavailable("Renamed, but moving its access grants failed (" + moved.message() +
                               "); re-grant them with `cairn "
                               "users grant --model " +
                               new_name + "`.");
          }
        }
        return RegisteredModelResponse(model);
      });

  AddMlflowRoute(surface, "PATCH", "registered-models/update",
                 RouteAccess::Model(auth::Level::kEdit),
                 [s](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
                   ASSIGN_OR_RETURN(auto description, DescriptionArg(args));
                   ASSIGN_OR_RETURN(auto model, s->UpdateRegisteredModel(name, description));
                   return RegisteredModelResponse(model);
                 });

  AddMlflowRoute(surface, "DELETE", "registered-models/delete",
                 RouteAccess::Model(auth::Level::kManage),
                 [s](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
                   RETURN_IF_ERROR(s->DeleteRegisteredModel(name));
                   return EmptyResponse();
                 });

  AddMlflowRoute(
      surface, "GET", "registered-models/search", RouteAccess::Search(),
      [s, surface](const RequestArgs& args, HttpRequest& request) -> StatusOr<HttpResponse> {
        ASSIGN_OR_RETURN(auto req, SearchArgs(args, 100));
        ASSIGN_OR_RETURN(req.hidden,
                         Unreadable(surface, request, auth::ResourceKind::kRegisteredModel));
        ASSIGN_OR_RETURN(auto page, s->SearchRegisteredModels(req));
        return WriteJson([&](json::Writer& w) {
          if (!page.models.empty()) {
            w.Key("registered_models");
            w.StartArray();
            for (const auto& m : page.models) WriteRegisteredModel(w, m);
            w.EndArray();
          }
          if (!page.next_page_token.empty()) {
            w.Key("next_page_token");
            json::WriteString(w, page.next_page_token);
          }
        });
      });

  MlflowHandler latest = [s](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
    ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
    ASSIGN_OR_RETURN(auto stages, args.StringList("stages"));
    ASSIGN_OR_RETURN(auto versions, s->GetLatestVersions(name, stages));
    return VersionListResponse(versions);
  };
  AddMlflowRoute(surface, "POST", "registered-models/get-latest-versions",
                 RouteAccess::Model(auth::Level::kRead), latest);
  AddMlflowRoute(surface, "GET", "registered-models/get-latest-versions",
                 RouteAccess::Model(auth::Level::kRead), latest);

  AddMlflowRoute(surface, "POST", "registered-models/set-tag",
                 RouteAccess::Model(auth::Level::kEdit),
                 [s](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
                   ASSIGN_OR_RETURN(auto tag, TagArgs(args));
                   RETURN_IF_ERROR(s->SetRegisteredModelTag(name, tag));
                   return EmptyResponse();
                 });

  AddMlflowRoute(surface, "DELETE", "registered-models/delete-tag",
                 RouteAccess::Model(auth::Level::kEdit),
                 [s](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
                   ASSIGN_OR_RETURN(std::string key, args.RequiredString("key"));
                   RETURN_IF_ERROR(s->DeleteRegisteredModelTag(name, key));
                   return EmptyResponse();
                 });

  // --- Aliases ---------------------------------------------------------------------
  AddMlflowRoute(
      surface, "POST", "registered-models/alias", RouteAccess::Model(auth::Level::kEdit),
      [s, surface](const RequestArgs& args, HttpRequest& request) -> StatusOr<HttpResponse> {
        ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
        ASSIGN_OR_RETURN(std::string alias, args.RequiredString("alias"));
        ASSIGN_OR_RETURN(std::string version, VersionArg(args));
        RETURN_IF_ERROR(s->SetAlias(name, alias, version, CallerOf(surface, request)));
        return EmptyResponse();
      });

  AddMlflowRoute(surface, "DELETE", "registered-models/alias",
                 RouteAccess::Model(auth::Level::kEdit),
                 [s](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
                   ASSIGN_OR_RETURN(std::string alias, args.RequiredString("alias"));
                   RETURN_IF_ERROR(s->DeleteAlias(name, alias));
                   return EmptyResponse();
                 });

  AddMlflowRoute(surface, "GET", "registered-models/alias", RouteAccess::Model(auth::Level::kRead),
                 [s](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
                   ASSIGN_OR_RETURN(std::string alias, args.RequiredString("alias"));
                   ASSIGN_OR_RETURN(auto version, s->GetVersionByAlias(name, alias));
                   return VersionResponse(version);
                 });

  // --- Model versions ----------------------------------------------------------------
  AddMlflowRoute(surface, "POST", "model-versions/create", RouteAccess::Model(auth::Level::kEdit),
                 [s, signer, surface](const RequestArgs& args,
                                      HttpRequest& request) -> StatusOr<HttpResponse> {
                   registry::CreateModelVersionRequest req;
                   ASSIGN_OR_RETURN(req.name, args.RequiredString("name"));
                   ASSIGN_OR_RETURN(req.source, args.RequiredString("source"));
                   ASSIGN_OR_RETURN(req.run_id, args.StringOr("run_id", ""));
                   ASSIGN_OR_RETURN(req.tags, KeyValueList(args.Get("tags"), "tags", false));
                   ASSIGN_OR_RETURN(req.run_link, args.StringOr("run_link", ""));
                   ASSIGN_OR_RETURN(req.description, args.OptionalString("description"));
                   ASSIGN_OR_RETURN(req.model_id, args.StringOr("model_id", ""));
                   RETURN_IF_ERROR(CheckSourceReadable(surface, request, req));
                   ASSIGN_OR_RETURN(auto version, s->CreateModelVersion(req));
                   SignNewVersion(s, signer, version);
                   return VersionResponse(version);
                 });

  AddMlflowRoute(surface, "GET", "model-versions/get", RouteAccess::Model(auth::Level::kRead),
                 [s](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
                   ASSIGN_OR_RETURN(std::string version, VersionArg(args));
                   ASSIGN_OR_RETURN(auto found, s->GetModelVersion(name, version));
                   return VersionResponse(found);
                 });

  AddMlflowRoute(surface, "PATCH", "model-versions/update", RouteAccess::Model(auth::Level::kEdit),
                 [s](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
                   ASSIGN_OR_RETURN(std::string version, VersionArg(args));
                   ASSIGN_OR_RETURN(auto description, DescriptionArg(args));
                   ASSIGN_OR_RETURN(auto updated,
                                    s->UpdateModelVersion(name, version, description));
                   return VersionResponse(updated);
                 });

  AddMlflowRoute(surface, "DELETE", "model-versions/delete",
                 RouteAccess::Model(auth::Level::kManage),
                 [s](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
                   ASSIGN_OR_RETURN(std::string version, VersionArg(args));
                   RETURN_IF_ERROR(s->DeleteModelVersion(name, version));
                   return EmptyResponse();
                 });

  AddMlflowRoute(
      surface, "POST", "model-versions/transition-stage", RouteAccess::Model(auth::Level::kEdit),
      [s, surface](const RequestArgs& args, HttpRequest& request) -> StatusOr<HttpResponse> {
        ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
        ASSIGN_OR_RETURN(std::string version, VersionArg(args));
        ASSIGN_OR_RETURN(std::string stage, args.RequiredString("stage"));
        bool archive = false;
        if (const json::Value* a = args.Get("archive_existing_versions")) {
          if (a->IsBool()) {
            archive = a->GetBool();
          } else if (a->IsString() && (std::string_view(a->GetString()) == "true" ||
                                       std::string_view(a->GetString()) == "false")) {
            archive = std::string_view(a->GetString()) == "true";  // GET-style
          } else {
            return InvalidParameter("archive_existing_versions", *a);
          }
        }
        ASSIGN_OR_RETURN(auto moved, s->TransitionStage(name, version, stage, archive,
                                                        CallerOf(surface, request)));
        return VersionResponse(moved);
      });

  AddMlflowRoute(surface, "GET", "model-versions/get-download-uri",
                 RouteAccess::Model(auth::Level::kRead),
                 [s, signer](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
                   ASSIGN_OR_RETURN(std::string version, VersionArg(args));
                   ASSIGN_OR_RETURN(std::string uri, s->GetDownloadUri(name, version));
                   RETURN_IF_ERROR(CheckSignature(s, signer, name, version, uri));
                   return WriteJson([&](json::Writer& w) {
                     w.Key("artifact_uri");
                     json::WriteString(w, uri);
                   });
                 });

  AddMlflowRoute(
      surface, "GET", "model-versions/search", RouteAccess::Search(),
      [s, surface](const RequestArgs& args, HttpRequest& request) -> StatusOr<HttpResponse> {
        ASSIGN_OR_RETURN(auto req, SearchArgs(args, registry::kMaxModelVersionSearchResults));
        ASSIGN_OR_RETURN(req.hidden,
                         Unreadable(surface, request, auth::ResourceKind::kRegisteredModel));
        ASSIGN_OR_RETURN(auto page, s->SearchModelVersions(req));
        return VersionListResponse(page.versions, page.next_page_token);
      });

  AddMlflowRoute(surface, "POST", "model-versions/set-tag", RouteAccess::Model(auth::Level::kEdit),
                 [s](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
                   ASSIGN_OR_RETURN(std::string version, VersionArg(args));
                   ASSIGN_OR_RETURN(auto tag, TagArgs(args));
                   RETURN_IF_ERROR(s->SetModelVersionTag(name, version, tag));
                   return EmptyResponse();
                 });

  AddMlflowRoute(surface, "DELETE", "model-versions/delete-tag",
                 RouteAccess::Model(auth::Level::kEdit),
                 [s](const RequestArgs& args, HttpRequest&) -> StatusOr<HttpResponse> {
                   ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
                   ASSIGN_OR_RETURN(std::string version, VersionArg(args));
                   ASSIGN_OR_RETURN(std::string key, args.RequiredString("key"));
                   RETURN_IF_ERROR(s->DeleteModelVersionTag(name, version, key));
                   return EmptyResponse();
                 });
}

}  // namespace cairn::mlflow
