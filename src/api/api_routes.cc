#include "api/api_routes.h"

#include "auth/http_authenticator.h"
#include "core/json.h"
#include "mlflow/mlflow_json.h"
#include "mlflow/request_args.h"

namespace cairn::api {

using http::HttpRequest;
using http::HttpResponse;

namespace {

// An admin-only handler: `fn(args)` runs once the sender is known to be an admin.
template <typename Fn>
http::Handler AdminOnly(auth::AccessPolicy* access, Fn fn) {
  return [access, fn = std::move(fn)](HttpRequest& request) -> HttpResponse {
    if (access != nullptr) {
      Status allowed = access->RequireRole(auth::IdentityOf(request), auth::Role::kAdmin);
      if (!allowed.ok()) return mlflow::ErrorResponse(allowed);
    }
    auto args = mlflow::RequestArgs::FromRequest(request);
    if (!args.ok()) return mlflow::ErrorResponse(args.status());
    StatusOr<HttpResponse> response = fn(*args);
    return response.ok() ? std::move(response).value() : mlflow::ErrorResponse(response.status());
  };
}

void Field(json::Writer& w, const char* key, std::string_view value) {
  w.Key(key);
  json::WriteString(w, value);
}

// A handler for any authenticated user; `fn(args, request)` checks the rest.
template <typename Fn>
http::Handler Handler(Fn fn) {
  return [fn = std::move(fn)](HttpRequest& request) -> HttpResponse {
    auto args = mlflow::RequestArgs::FromRequest(request);
    if (!args.ok()) return mlflow::ErrorResponse(args.status());
    StatusOr<HttpResponse> response = fn(*args, request);
    return response.ok() ? std::move(response).value() : mlflow::ErrorResponse(response.status());
  };
}

Status RequireModel(auth::AccessPolicy* access, const HttpRequest& request,
                    const std::string& model, auth::Level level) {
  if (access == nullptr) return Status::Ok();
  return access->Require(auth::IdentityOf(request), auth::ResourceKind::kRegisteredModel, model,
                         level);
}

// Records the request in the audit log with the change it makes.
std::shared_ptr<const store::WriteContext> Audited(const HttpRequest& request,
                                                   const std::string& model) {
  return surface::RequestAuditContext(request, "registered_model " + model, request.body);
}

void WritePromotion(json::Writer& w, const governance::PromotionRequest& q,
                    const governance::Evaluation* evaluation) {
  w.StartObject();
  w.Key("id");
  w.Int64(q.id);
  Field(w, "name", q.model);
  Field(w, "version", std::to_string(q.version));
  Field(w, "target", q.target);
  Field(w, "requested_by", q.requested_by);
  w.Key("created_ms");
  w.Int64(q.created_ms);
  Field(w, "status", q.status);
  w.Key("decisions");
  w.StartArray();
  for (const auto& d : q.decisions) {
    w.StartObject();
    Field(w, "user", d.user);
    Field(w, "decision", d.approve ? "approve" : "reject");
    Field(w, "comment", d.comment);
    w.Key("time_ms");
    w.Int64(d.time_ms);
    w.EndObject();
  }
  w.EndArray();
  if (evaluation != nullptr) {
    w.Key("evaluation");
    w.StartObject();
    Field(w, "policy", evaluation->policy);
    w.Key("gates");
    w.StartArray();
    for (const auto& [gate, result] : evaluation->gates) {
      w.StartObject();
      Field(w, "gate", gate);
      w.Key("passed");
      w.Bool(result.passed);
      Field(w, "explanation", result.explanation);
      w.EndObject();
    }
    w.EndArray();
    w.Key("approvals_needed");
    w.Int(evaluation->approvals_needed);
    w.Key("approvals");
    w.Int(evaluation->approvals);
    w.Key("missing");
    w.StartArray();
    for (const auto& m : evaluation->missing) json::WriteString(w, m);
    w.EndArray();
    w.EndObject();
  }
  w.EndObject();
}

// Gate explanations show only the metrics of runs the sender may read.
registry::RunVisibility RunsReadableBy(auth::AccessPolicy* access, const HttpRequest& request) {
  if (access == nullptr) return nullptr;
  return [access, who = auth::IdentityOf(request)](const std::string& run_id) {
    return access->Require(who, auth::ResourceKind::kRun, run_id, auth::Level::kRead).ok();
  };
}

// A lineage graph shows only what the sender may read.
lineage::Viewer ViewerOf(auth::AccessPolicy* access, const HttpRequest& request) {
  lineage::Viewer viewer;
  if (access == nullptr) return viewer;
  auth::Identity who = auth::IdentityOf(request);
  viewer.may_read_experiment = [access, who](const std::string& id) {
    return access->Require(who, auth::ResourceKind::kExperiment, id, auth::Level::kRead).ok();
  };
  viewer.may_read_model = [access, who](const std::string& name) {
    return access->Require(who, auth::ResourceKind::kRegisteredModel, name, auth::Level::kRead)
        .ok();
  };
  return viewer;
}

HttpResponse PromotionResponse(governance::PromotionService* promotions,
                               const governance::PromotionRequest& q,
                               const registry::RunVisibility& may_read_run) {
  auto evaluation = promotions->Evaluate(q, may_read_run);
  return mlflow::WriteJson([&](json::Writer& w) {
    w.Key("promotion");
    WritePromotion(w, q, evaluation.ok() ? &*evaluation : nullptr);
  });
}

}  // namespace

void RegisterApiRoutes(const surface::Surface& surface, audit::AuditLog* audit,
                       governance::PromotionService* promotions, lineage::LineageService* lineage) {
  http::Router* router = &surface.router();
  surface.ClaimPrefix("/api/cairn/");
  http::RouteOptions options;
  options.access = "role admin";
  surface.Add("GET", "/api/cairn/v1/routes",
              AdminOnly(surface.access(),
                        [router](const mlflow::RequestArgs&) -> StatusOr<HttpResponse> {
                          return mlflow::WriteJson([&](json::Writer& w) {
                            w.Key("routes");
                            w.StartArray();
                            for (const http::Route* route : router->routes()) {
                              w.StartObject();
                              w.Key("method");
                              json::WriteString(w, route->method);
                              w.Key("path");
                              json::WriteString(w, route->pattern);
                              w.Key("public");
                              w.Bool(route->options.is_public);
                              w.Key("access");
                              json::WriteString(w, route->options.access);
                              // Whose error shape its refusals take ("" for
                              // the listener's default).
                              w.Key("protocol");
                              json::WriteString(w, route->options.errors != nullptr
                                                       ? route->options.errors->protocol()
                                                       : "");
                              w.EndObject();
                            }
                            w.EndArray();
                          });
                        }),
              options);

  surface.Add("GET", "/api/cairn/v1/audit",
              AdminOnly(surface.access(),
                        [audit](const mlflow::RequestArgs& args) -> StatusOr<HttpResponse> {
                          ASSIGN_OR_RETURN(std::optional<int64_t> after, args.OptionalInt("after"));
                          ASSIGN_OR_RETURN(std::optional<int64_t> limit, args.OptionalInt("limit"));
                          ASSIGN_OR_RETURN(auto entries,
                                           audit->List(after.value_or(0), limit.value_or(1000)));
                          return mlflow::WriteJson([&](json::Writer& w) {
                            w.Key("entries");
                            w.StartArray();
                            for (const audit::Entry& e : entries) {
                              w.StartObject();
                              w.Key("seq");
                              w.Int64(e.seq);
                              w.Key("time_ms");
                              w.Int64(e.time_ms);
                              Field(w, "user", e.user);
                              Field(w, "action", e.action);
                              Field(w, "target", e.target);
                              Field(w, "request", e.request);
                              Field(w, "before", e.before);
                              Field(w, "after", e.after);
                              Field(w, "prev_hash", e.prev_hash);
                              Field(w, "hash", e.hash);
                              w.EndObject();
                            }
                            w.EndArray();
                          });
                        }),
              options);

  surface.Add("GET", "/api/cairn/v1/audit/verify",
              AdminOnly(surface.access(),
                        [audit](const mlflow::RequestArgs&) -> StatusOr<HttpResponse> {
                          ASSIGN_OR_RETURN(audit::VerifyReport report, audit->Verify());
                          return mlflow::WriteJson([&](json::Writer& w) {
                            w.Key("entries");
                            w.Int64(report.entries);
                            Field(w, "head_hash", report.head_hash);
                            w.Key("problems");
                            w.StartArray();
                            for (const std::string& p : report.problems) json::WriteString(w, p);
                            w.EndArray();
                          });
                        }),
              options);

  auth::AccessPolicy* access = surface.access();
  http::RouteOptions model_edit, model_read, approver;
  model_edit.access = "registered_model edit";
  model_read.access = "registered_model read";
  approver.access = "role approver, registered_model read";
  surface.Add("POST", "/api/cairn/v1/promotions",
              Handler([access, promotions](const mlflow::RequestArgs& args,
                                           HttpRequest& request) -> StatusOr<HttpResponse> {
                ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
                RETURN_IF_ERROR(RequireModel(access, request, name, auth::Level::kEdit));
                ASSIGN_OR_RETURN(int64_t version, args.RequiredInt("version"));
                ASSIGN_OR_RETURN(std::string stage, args.StringOr("stage", ""));
                ASSIGN_OR_RETURN(std::string alias, args.StringOr("alias", ""));
                // "remove": true asks to give the stage or alias up.
                bool remove = false;
                if (const json::Value* r = args.Get("remove")) {
                  if (!r->IsBool()) return InvalidArgument("'remove' must be true or false.");
                  remove = r->GetBool();
                }
                store::ScopedWriteContext audited(Audited(request, name));
                ASSIGN_OR_RETURN(
                    auto q, promotions->Request(name, version, stage, alias, request.user, remove));
                return PromotionResponse(promotions, q, RunsReadableBy(access, request));
              }),
              model_edit);
  surface.Add("GET", "/api/cairn/v1/promotions",
              Handler([access, promotions](const mlflow::RequestArgs& args,
                                           HttpRequest& request) -> StatusOr<HttpResponse> {
                ASSIGN_OR_RETURN(std::string name, args.RequiredString("name"));
                RETURN_IF_ERROR(RequireModel(access, request, name, auth::Level::kRead));
                ASSIGN_OR_RETURN(auto list, promotions->List(name));
                return mlflow::WriteJson([&](json::Writer& w) {
                  w.Key("promotions");
                  w.StartArray();
                  for (const auto& q : list) WritePromotion(w, q, nullptr);
                  w.EndArray();
                });
              }),
              model_read);
  auto request_id = [](const HttpRequest& request) -> StatusOr<int64_t> {
    std::string text(request.PathParam("request_id"));
    char* end = nullptr;
    int64_t id = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || end == nullptr || *end != '\0') {
      return InvalidArgument("Promotion request ids are integers, not '" + text + "'.");
    }
    return id;
  };
  surface.Add(
      "GET", "/api/cairn/v1/promotions/{request_id}",
      Handler([access, promotions, request_id](const mlflow::RequestArgs&,
                                               HttpRequest& request) -> StatusOr<HttpResponse> {
        ASSIGN_OR_RETURN(int64_t id, request_id(request));
        ASSIGN_OR_RETURN(auto q, promotions->Get(id));
        RETURN_IF_ERROR(RequireModel(access, request, q.model, auth::Level::kRead));
        return PromotionResponse(promotions, q, RunsReadableBy(access, request));
      }),
      model_read);
  for (bool approve : {true, false}) {
    surface.Add(
        "POST",
        std::string("/api/cairn/v1/promotions/{request_id}/") + (approve ? "approve" : "reject"),
        Handler([access, promotions, request_id, approve](
                    const mlflow::RequestArgs& args,
                    HttpRequest& request) -> StatusOr<HttpResponse> {
          ASSIGN_OR_RETURN(int64_t id, request_id(request));
          ASSIGN_OR_RETURN(auto q, promotions->Get(id));
          if (access != nullptr) {
            RETURN_IF_ERROR(access->RequireRole(auth::IdentityOf(request), auth::Role::kApprover));
          }
          RETURN_IF_ERROR(RequireModel(access, request, q.model, auth::Level::kRead));
          ASSIGN_OR_RETURN(std::string comment, args.StringOr("comment", ""));
          store::ScopedWriteContext audited(Audited(request, q.model));
          ASSIGN_OR_RETURN(auto decided, promotions->Decide(id, request.user, approve, comment));
          return PromotionResponse(promotions, decided, RunsReadableBy(access, request));
        }),
        approver);
  }

  surface.Add("GET", "/api/cairn/v1/lineage",
              Handler([access, lineage](const mlflow::RequestArgs& args,
                                        HttpRequest& request) -> StatusOr<HttpResponse> {
                ASSIGN_OR_RETURN(std::string uri, args.RequiredString("uri"));
                ASSIGN_OR_RETURN(registry::ModelUri parsed, registry::ParseModelUri(uri));
                if (parsed.kind == registry::ModelUri::Kind::kLoggedModel) {
                  if (access != nullptr) {
                    RETURN_IF_ERROR(access->Require(auth::IdentityOf(request),
                                                    auth::ResourceKind::kLoggedModel,
                                                    parsed.model_id, auth::Level::kRead));
                  }
                } else if (parsed.name.empty()) {
                  return InvalidArgument(
                      "Lineage starts from a model: use models:/<name>/<version>, @<alias>, "
                      "/<stage> or models:/m-<id>.");
                } else {
                  RETURN_IF_ERROR(RequireModel(access, request, parsed.name, auth::Level::kRead));
                }
                ASSIGN_OR_RETURN(lineage::Graph graph,
                                 lineage->ForModel(uri, ViewerOf(access, request)));
                return mlflow::WriteJson([&](json::Writer& w) {
                  Field(w, "root", graph.root);
                  w.Key("nodes");
                  w.StartArray();
                  for (const auto& n : graph.nodes) {
                    w.StartObject();
                    Field(w, "id", n.id);
                    Field(w, "kind", n.kind);
                    Field(w, "label", n.label);
                    w.Key("attributes");
                    w.StartObject();
                    for (const auto& [k, v] : n.attributes) {
                      json::WriteKey(w, k);
                      json::WriteString(w, v);
                    }
                    w.EndObject();
                    w.EndObject();
                  }
                  w.EndArray();
                  w.Key("edges");
                  w.StartArray();
                  for (const auto& e : graph.edges) {
                    w.StartObject();
                    Field(w, "from", e.from);
                    Field(w, "to", e.to);
                    Field(w, "relation", e.relation);
                    w.EndObject();
                  }
                  w.EndArray();
                });
              }),
              model_read);
}

}  // namespace cairn::api
