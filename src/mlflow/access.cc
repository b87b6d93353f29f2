#include "mlflow/access.h"

#include "audit/audit_log.h"
#include "auth/http_authenticator.h"
#include "mlflow/request_args.h"
#include "registry/registry_service.h"

namespace cairn::mlflow {

using auth::Level;
using auth::ResourceKind;

RouteAccess RouteAccess::Role(auth::Role role) {
  RouteAccess a;
  a.kind = Kind::kRole;
  a.role = role;
  return a;
}

RouteAccess RouteAccess::Experiment(Level level, std::string field) {
  return {Kind::kExperiment, level, auth::Role::kViewer, std::move(field)};
}
RouteAccess RouteAccess::ExperimentName(Level level) {
  return {Kind::kExperimentName, level, auth::Role::kViewer, "experiment_name"};
}
RouteAccess RouteAccess::Experiments(Level level) {
  return {Kind::kExperimentList, level, auth::Role::kViewer, "experiment_ids"};
}
RouteAccess RouteAccess::Run(Level level) {
  return {Kind::kRun, level, auth::Role::kViewer, "run_id"};
}
RouteAccess RouteAccess::Runs(Level level, std::string field) {
  return {Kind::kRunList, level, auth::Role::kViewer, std::move(field)};
}
RouteAccess RouteAccess::LoggedModel(Level level) {
  return {Kind::kLoggedModel, level, auth::Role::kViewer, "model_id"};
}
RouteAccess RouteAccess::Model(Level level) {
  return {Kind::kRegisteredModel, level, auth::Role::kViewer, "name"};
}
RouteAccess RouteAccess::Search() { return {}; }

std::string RouteAccess::Describe() const {
  std::string level_name(auth::LevelName(level));
  switch (kind) {
    case Kind::kRole:
      return "role " + std::string(auth::RoleName(role));
    case Kind::kExperiment:
    case Kind::kExperimentName:
    case Kind::kExperimentList:
      return "experiment " + level_name;
    case Kind::kRun:
    case Kind::kRunList:
    case Kind::kLoggedModel:
      return "experiment " + level_name + " (via its " +
             (kind == Kind::kLoggedModel ? "logged model" : "run") + ")";
    case Kind::kRegisteredModel:
      return "registered_model " + level_name;
    case Kind::kSearch:
      return "any user (results filtered)";
  }
  return "";
}

Status CheckAccess(const surface::Surface& surface, const RouteAccess& rule,
                   const RequestArgs& args, const http::HttpRequest& request) {
  if (surface.access() == nullptr) return Status::Ok();
  auth::AccessPolicy& policy = *surface.access();
  auth::Identity who = auth::IdentityOf(request);
  switch (rule.kind) {
    case RouteAccess::Kind::kRole:
      return policy.RequireRole(who, rule.role);
    case RouteAccess::Kind::kSearch:
      return Status::Ok();
    case RouteAccess::Kind::kExperiment: {
      ASSIGN_OR_RETURN(std::string id, args.RequiredString(rule.field.c_str()));
      return policy.Require(who, ResourceKind::kExperiment, id, rule.level);
    }
    case RouteAccess::Kind::kExperimentName: {
      ASSIGN_OR_RETURN(std::string name, args.RequiredString(rule.field.c_str()));
      return policy.Require(who, ResourceKind::kExperimentName, name, rule.level);
    }
    case RouteAccess::Kind::kExperimentList:
    case RouteAccess::Kind::kRunList: {
      ASSIGN_OR_RETURN(auto ids, args.StringList(rule.field.c_str()));
      ResourceKind kind =
          rule.kind == RouteAccess::Kind::kRunList ? ResourceKind::kRun : ResourceKind::kExperiment;
      for (const std::string& id : ids) RETURN_IF_ERROR(policy.Require(who, kind, id, rule.level));
      return Status::Ok();
    }
    case RouteAccess::Kind::kRun: {
      ASSIGN_OR_RETURN(std::string run_id, RunIdArg(args));
      return policy.Require(who, ResourceKind::kRun, run_id, rule.level);
    }
    case RouteAccess::Kind::kLoggedModel:
      return policy.Require(who, ResourceKind::kLoggedModel,
                            std::string(request.PathParam(rule.field)), rule.level);
    case RouteAccess::Kind::kRegisteredModel: {
      ASSIGN_OR_RETURN(std::string name, args.RequiredString(rule.field.c_str()));
      return policy.Require(who, ResourceKind::kRegisteredModel, name, rule.level);
    }
  }
  return Status::Ok();
}

std::shared_ptr<const store::WriteContext> AuditContext(const RouteAccess& rule,
                                                        const RequestArgs& args,
                                                        const http::HttpRequest& request) {
  bool changes = request.method != "GET" &&
                 (rule.kind == RouteAccess::Kind::kRole || rule.level >= Level::kEdit);
  if (!changes) return nullptr;
  auto context = surface::RequestAuditContext(
      request, "", request.method == "GET" ? request.query : request.body);
  std::string id;
  switch (rule.kind) {
    case RouteAccess::Kind::kRun:
      id = RunIdArg(args).value_or("");
      context->target = "run " + id;
      break;
    case RouteAccess::Kind::kLoggedModel:
      context->target = "logged_model " + std::string(request.PathParam(rule.field));
      break;
    case RouteAccess::Kind::kExperiment:
      context->target = "experiment " + args.StringOr(rule.field.c_str(), "").value_or("");
      break;
    case RouteAccess::Kind::kRegisteredModel: {
      std::string name = args.StringOr(rule.field.c_str(), "").value_or("");
      context->target = "registered_model " + name;
      context->snapshot = [name](store::SqlSession& db) {
        return registry::DescribeModelState(db, name);
      };
      break;
    }
    default:
      context->target = args.StringOr("name", "").value_or("");
      break;
  }
  return context;
}

StatusOr<std::vector<std::string>> Unreadable(const surface::Surface& surface,
                                              const http::HttpRequest& request,
                                              auth::ResourceKind kind) {
  if (surface.access() == nullptr) return std::vector<std::string>{};
  return surface.access()->Unreadable(auth::IdentityOf(request), kind);
}

}  // namespace cairn::mlflow
