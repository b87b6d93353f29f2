#include "api/deployment_routes.h"

#include <functional>
#include <map>

#include "auth/http_authenticator.h"
#include "core/json.h"
#include "external/external_model.h"
#include "mlflow/mlflow_json.h"
#include "registry/model_uri.h"
#include "store/write_context.h"
#include "surface/deployment_access.h"

namespace cairn::api {

using http::HttpRequest;
using http::HttpResponse;

namespace {

// The live figures of a variant since it was deployed.
void WriteTraffic(json::Writer& w, const serving::Variant& v) {
  const serving::TrafficCounts c = v.stats->Snapshot();
  json::WriteKey(w, "traffic");
  w.StartObject();
  json::WriteKey(w, "requests");
  w.Int64(c.requests);
  json::WriteKey(w, "errors");
  w.Int64(c.errors);
  json::WriteKey(w, "error_rate");
  w.Double(c.ErrorRate());
  json::WriteKey(w, "p50_ms");
  w.Double(c.LatencyQuantileMs(0.5));
  json::WriteKey(w, "p99_ms");
  w.Double(c.LatencyQuantileMs(0.99));
  w.EndObject();
  if (!v.spec.shadow) return;
  // The shadow report: how its answers compare with the live ones.
  json::WriteKey(w, "shadow_report");
  w.StartObject();
  json::WriteKey(w, "mirrored");
  w.Int64(c.mirrored - c.dropped);
  json::WriteKey(w, "dropped");
  w.Int64(c.dropped);
  json::WriteKey(w, "compared");
  w.Int64(c.compared);
  json::WriteKey(w, "failed");
  w.Int64(c.shadow_failed);
  json::WriteKey(w, "agreement_rate");
  w.Double(c.compared ? static_cast<double>(c.agreed) / static_cast<double>(c.compared) : 0);
  json::WriteKey(w, "mean_abs_diff");
  w.Double(c.diff_elements ? c.abs_diff_sum / static_cast<double>(c.diff_elements) : 0);
  w.EndObject();
}

// What a variant serves: the loaded model's facts, or why there is none.
void WriteServed(json::Writer& w, const serving::Variant& v) {
  if (!v.reason.empty()) {
    json::WriteKey(w, "reason");
    json::WriteString(w, v.reason);
  }
  if (v.ready()) {
    json::WriteKey(w, "flavor");
    json::WriteString(w, v.flavor);
    json::WriteKey(w, "platform");
    json::WriteString(w, v.model->metadata().platform);
    if (!v.source.registered_model.empty()) {
      json::WriteKey(w, "registered_model");
      json::WriteString(w, v.source.registered_model);
      json::WriteKey(w, "version");
      json::WriteString(w, v.source.version);
    }
    json::WriteKey(w, "memory_bytes");
    w.Uint64(v.model->MemoryBytes());
    json::WriteKey(w, "loaded_time");
    w.Int64(v.loaded_micros / 1000);
  }
  if (v.batcher != nullptr) {
    json::WriteKey(w, "batch_queue");
    w.Int64(v.batcher->queued());
  }
  if (!v.failed_reason.empty()) {
    json::WriteKey(w, "last_load_error");
    json::WriteString(w, v.failed_reason);
  }
}

void WriteRollout(json::Writer& w, const serving::Deployment& d) {
  if (d.rollout.phase == serving::RolloutState::Phase::kNone) return;
  json::WriteKey(w, "rollout");
  w.StartObject();
  json::WriteKey(w, "phase");
  json::WriteString(w, serving::RolloutPhaseName(d.rollout.phase));
  if (d.spec.rollout && d.spec.variants.size() >= 2) {
    const serving::RolloutPolicy& p = *d.spec.rollout;
    json::WriteKey(w, "canary");
    json::WriteString(w, d.spec.variants[1].name);
    json::WriteKey(w, "canary_percent");
    w.Int64(d.spec.variants[1].weight * 100 /
            std::max<int64_t>(1, d.spec.variants[0].weight + d.spec.variants[1].weight));
    json::WriteKey(w, "steps");
    w.StartArray();
    for (int s : p.steps) w.Int(s);
    w.EndArray();
    json::WriteKey(w, "min_samples");
    w.Int64(p.min_samples);
    json::WriteKey(w, "max_error_rate_increase");
    w.Double(p.max_error_rate_increase);
    json::WriteKey(w, "max_p99_increase_ms");
    w.Double(p.max_p99_increase_ms);
  }
  json::WriteKey(w, "reason");
  json::WriteString(w, d.rollout.reason);
  json::WriteKey(w, "changed_time");
  w.Int64(d.rollout.changed_micros / 1000);
  w.EndObject();
}

void WriteDeployment(json::Writer& w, const serving::Deployment& d) {
  w.StartObject();
  json::WriteKey(w, "name");
  json::WriteString(w, d.spec.name);
  // The stable variant's facts at the top, as for a one-model deployment.
  const serving::Variant& primary = d.primary();
  json::WriteKey(w, "model_uri");
  json::WriteString(w, primary.spec.model_uri);
  json::WriteKey(w, "ready");
  w.Bool(d.ready());
  if (d.spec.pinned) {
    json::WriteKey(w, "pinned");
    w.Bool(true);
  }
  if (d.evicted) {
    json::WriteKey(w, "evicted");
    w.Bool(true);
  }
  WriteServed(w, primary);
  json::WriteKey(w, "variants");
  w.StartArray();
  for (const serving::Variant& v : d.variants) {
    w.StartObject();
    json::WriteKey(w, "name");
    json::WriteString(w, v.spec.name);
    json::WriteKey(w, "model_uri");
    json::WriteString(w, v.spec.model_uri);
    json::WriteKey(w, "weight");
    w.Int64(v.spec.weight);
    json::WriteKey(w, "shadow");
    w.Bool(v.spec.shadow);
    if (v.spec.shadow) {
      json::WriteKey(w, "mirror_percent");
      w.Int(v.spec.mirror_percent);
    }
    json::WriteKey(w, "ready");
    w.Bool(v.ready());
    WriteServed(w, v);
    WriteTraffic(w, v);
    w.EndObject();
  }
  w.EndArray();
  if (!d.spec.follow.empty()) {
    json::WriteKey(w, "follow");
    json::WriteString(w, d.spec.follow);
  }
  if (!d.spec.sticky_header.empty()) {
    json::WriteKey(w, "sticky_header");
    json::WriteString(w, d.spec.sticky_header);
  }
  if (d.spec.features) {
    json::WriteKey(w, "features");
    const std::string features = serving::FeatureEnrichmentJson(*d.spec.features);
    w.RawValue(features.data(), features.size(), rapidjson::kObjectType);
  }
  if (d.spec.batching) {
    json::WriteKey(w, "batching");
    const std::string batching = serving::BatchingPolicyJson(*d.spec.batching);
    w.RawValue(batching.data(), batching.size(), rapidjson::kObjectType);
  }
  WriteRollout(w, d);
  json::WriteKey(w, "created_by");
  json::WriteString(w, d.created_by);
  json::WriteKey(w, "created_time");
  w.Int64(d.created_micros / 1000);
  json::WriteKey(w, "endpoints");
  w.StartObject();
  json::WriteKey(w, "v2_infer");
  json::WriteString(w, "/v2/models/" + d.spec.name + "/infer");
  json::WriteKey(w, "v1_predict");
  json::WriteString(w, "/v1/models/" + d.spec.name + ":predict");
  json::WriteKey(w, "invocations");
  json::WriteString(w, "/deployments/" + d.spec.name + "/invocations");
  w.EndObject();
  w.EndObject();
}

HttpResponse One(const serving::Deployment& d) {
  json::Buffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  json::WriteKey(w, "deployment");
  WriteDeployment(w, d);
  w.EndObject();
  return HttpResponse::Json(200, std::string(buffer.GetString(), buffer.GetSize()));
}

bool MayRead(auth::AccessPolicy* access, const HttpRequest& request, const serving::Deployment& d) {
  return surface::RequireDeploymentRead(access, request, d).ok();
}

}  // namespace

void RegisterDeploymentRoutes(const surface::Surface& surface, serving::Deployments* deployments) {
  auth::AccessPolicy* access = surface.access();
  http::RouteOptions change;
  change.access = "role editor, read on every model the variants name";
  const http::RouteOptions change_options = change;
  surface.Add(
      "POST", "/api/cairn/v1/deployments",
      [deployments, access](HttpRequest& request) -> HttpResponse {
        if (Status allowed = surface::RequireDeploymentChange(access, request, nullptr);
            !allowed.ok()) {
          return mlflow::ErrorResponse(allowed);
        }
        auto spec = serving::ParseDeploymentSpec(request.body);
        if (!spec.ok()) return mlflow::ErrorResponse(spec.status());
        std::vector<std::string> references;
        for (const serving::VariantSpec& v : spec->variants) references.push_back(v.model_uri);
        if (!spec->follow.empty()) references.push_back(spec->follow);
        for (const std::string& reference : references) {
          // Variants may also front another server's v2 endpoint; a
          // followed reference is always the registry's.
          const bool endpoint =
              reference != spec->follow && external::IsExternalEndpoint(reference);
          if (!registry::IsModelUri(reference) && !endpoint) {
            return mlflow::ErrorResponse(InvalidArgument(
                "model_uri '" + reference +
                "' is not a model reference: use models:/NAME/VERSION, "
                "models:/NAME@ALIAS, models:/NAME/STAGE, models:/MODEL_ID, runs:/RUN_ID/PATH, "
                "or a v2 endpoint http://HOST:PORT/v2/models/NAME"));
          }
          if (Status readable = surface::RequireModelUriRead(access, request, reference);
              !readable.ok()) {
            return mlflow::ErrorResponse(readable);
          }
        }
        const std::string& name = spec->name;
        // The deployment's row commits with its audit entry (store/write_context.h).
        store::ScopedWriteContext audited(
            surface::RequestAuditContext(request, "deployment " + name, request.body));
        auto deployed = deployments->Deploy(*spec, request.user);
        if (!deployed.ok()) return mlflow::ErrorResponse(deployed.status());
        return One(**deployed);
      },
      change);
  http::RouteOptions list;
  list.json_body = false;
  list.access = "any user (results filtered)";
  surface.Add(
      "GET", "/api/cairn/v1/deployments",
      [deployments, access](HttpRequest& request) -> HttpResponse {
        json::Buffer buffer;
        json::Writer w(buffer);
        w.StartObject();
        json::WriteKey(w, "deployments");
        w.StartArray();
        for (const auto& d : deployments->List()) {
          if (MayRead(access, request, *d)) WriteDeployment(w, *d);
        }
        w.EndArray();
        w.EndObject();
        return HttpResponse::Json(200, std::string(buffer.GetString(), buffer.GetSize()));
      },
      list);
  http::RouteOptions read;
  read.json_body = false;
  read.access = "read on every model the variants name";
  surface.Add(
      "GET", "/api/cairn/v1/deployments/{name}",
      [deployments, access](HttpRequest& request) -> HttpResponse {
        auto d = deployments->Find(std::string(request.PathParam("name")));
        if (d == nullptr) {
          return mlflow::ErrorResponse(
              NotFound("no deployment named '" + std::string(request.PathParam("name")) + "'"));
        }
        if (Status readable = surface::RequireDeploymentRead(access, request, *d); !readable.ok()) {
          return mlflow::ErrorResponse(readable);
        }
        return One(*d);
      },
      read);
  http::RouteOptions remove = read;
  remove.access = "role editor, read on every model the variants name";
  surface.Add(
      "DELETE", "/api/cairn/v1/deployments/{name}",
      [deployments, access](HttpRequest& request) -> HttpResponse {
        const std::string name(request.PathParam("name"));
        if (Status allowed =
                surface::RequireDeploymentChange(access, request, deployments->Find(name).get());
            !allowed.ok()) {
          return mlflow::ErrorResponse(allowed);
        }
        store::ScopedWriteContext audited(
            surface::RequestAuditContext(request, "deployment " + name, ""));
        Status removed = deployments->Remove(name);
        if (!removed.ok()) return mlflow::ErrorResponse(removed);
        return HttpResponse::Json(200, "{}");
      },
      remove);

  // Traffic changes on a deployment (no model loads): each checked like a
  // deploy, audited, and in effect from the next request.
  using TrafficChange = std::function<StatusOr<std::shared_ptr<const serving::Deployment>>(
      const std::string& name, const json::Document& body)>;
  auto traffic_route = [&](const char* verb, const TrafficChange& apply) {
    surface.Add(
        "POST", std::string("/api/cairn/v1/deployments/{name}/") + verb,
        [deployments, access, apply, verb](HttpRequest& request) -> HttpResponse {
          const std::string name(request.PathParam("name"));
          auto d = deployments->Find(name);
          if (Status allowed = surface::RequireDeploymentChange(access, request, d.get());
              !allowed.ok()) {
            return mlflow::ErrorResponse(allowed);
          }
          if (d == nullptr) {
            return mlflow::ErrorResponse(NotFound("no deployment named '" + name + "'"));
          }
          json::Document body;
          if (Status parsed = json::Parse(request.body.empty() ? "{}" : request.body, &body);
              !parsed.ok()) {
            return mlflow::ErrorResponse(parsed);
          }
          if (!body.IsObject()) {
            return mlflow::ErrorResponse(InvalidArgument("the body must be a JSON object"));
          }
          store::ScopedWriteContext audited(surface::RequestAuditContext(
              request, "deployment " + name + " " + verb, request.body));
          auto changed = apply(name, body);
          if (!changed.ok()) return mlflow::ErrorResponse(changed.status());
          return One(**changed);
        },
        change_options);
  };
  traffic_route("traffic",
                [deployments](const std::string& name, const json::Document& body)
                    -> StatusOr<std::shared_ptr<const serving::Deployment>> {
                  auto weights = body.FindMember("weights");
                  if (weights == body.MemberEnd() || !weights->value.IsObject()) {
                    return InvalidArgument(
                        "weights is required: an object of variant names to weights, e.g. "
                        "{\"weights\": {\"stable\": 90, \"canary\": 10}}");
                  }
                  std::map<std::string, int64_t> wanted;
                  for (const auto& m : weights->value.GetObject()) {
                    const std::string variant(m.name.GetString(), m.name.GetStringLength());
                    if (!m.value.IsInt64()) {
                      return InvalidArgument("weights." + variant + " must be a whole number");
                    }
                    wanted[variant] = m.value.GetInt64();
                  }
                  return deployments->SetWeights(name, wanted);
                });
  traffic_route(
      "promote",
      [deployments](const std::string& name, const json::Document& body)
          -> StatusOr<std::shared_ptr<const serving::Deployment>> {
        auto variant = body.FindMember("variant");
        if (variant == body.MemberEnd() || !variant->value.IsString()) {
          return InvalidArgument("variant is required: the name of the variant to promote");
        }
        return deployments->Promote(name, variant->value.GetString());
      });
  traffic_route("rollback",
                [deployments](const std::string& name, const json::Document& body)
                    -> StatusOr<std::shared_ptr<const serving::Deployment>> {
                  std::string reason = "rolled back by hand";
                  if (auto r = body.FindMember("reason");
                      r != body.MemberEnd() && r->value.IsString()) {
                    reason = r->value.GetString();
                  }
                  return deployments->RollBack(name, reason);
                });
}

}  // namespace cairn::api
