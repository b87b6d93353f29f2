#include "kserve/v2_routes.h"

#include <charconv>
#include <cmath>

#include "auth/http_authenticator.h"
#include "core/json.h"
#include "kserve/v2_json.h"
#include "scoring/scoring_json.h"
#include "store/write_context.h"
#include "surface/deployment_access.h"

namespace cairn::kserve {

using http::HttpRequest;
using http::HttpResponse;
using serving::Deployment;

namespace {

HttpResponse Error(const Status& status) {
  return http::PlainErrorFormat::Get().FromStatus(status);
}

// The deployment named in the path, routed to the variant that answers.
StatusOr<surface::InferenceTarget> Open(serving::Deployments* deployments,
                                        auth::AccessPolicy* access, const HttpRequest& request) {
  return surface::OpenDeployment(deployments, access, request,
                                 std::string(request.PathParam("name")),
                                 request.PathParam("version"));
}

void AppendSpecs(std::string& out, const std::vector<serving::TensorSpec>& specs) {
  out += '[';
  for (size_t i = 0; i < specs.size(); ++i) {
    if (i) out += ',';
    out += "{\"name\":";
    json::AppendString(out, specs[i].name);
    out += ",\"datatype\":\"";
    out += serving::DataTypeName(specs[i].datatype);
    out += "\",\"shape\":[";
    for (size_t d = 0; d < specs[i].shape.size(); ++d) {
      if (d) out += ',';
      json::AppendInt(out, specs[i].shape[d]);
    }
    out += "]}";
  }
  out += ']';
}

// Request parameters "pred_contribs": true (XGBoost's name) or "explain":
// true ask for per-feature contributions instead of predictions.
StatusOr<bool> WantsExplanation(const std::string& parameters_json) {
  if (parameters_json.empty()) return false;
  json::Document doc;
  RETURN_IF_ERROR(json::Parse(parameters_json, &doc));
  bool wanted = false;
  for (const char* key : {"pred_contribs", "explain"}) {
    auto it = doc.IsObject() ? doc.FindMember(key) : doc.MemberEnd();
    if (doc.IsObject() && it != doc.MemberEnd()) {
      if (!it->value.IsBool()) {
        return InvalidArgument(std::string("parameters.") + key + " must be true or false");
      }
      wanted = wanted || it->value.GetBool();
    }
  }
  return wanted;
}

// KServe v1's explain answer: each row's contributions by feature, bias last.
std::string WriteExplanations(const serving::Tensor& t,
                              const std::vector<std::string>& feature_names) {
  std::string out = "{\"explanations\":";
  const size_t columns = t.shape.empty() ? 0 : static_cast<size_t>(t.shape.back());
  const size_t inner = t.shape.size() == 3 ? static_cast<size_t>(t.shape[1]) : 1;
  const size_t rows = t.shape.empty() ? 0 : static_cast<size_t>(t.shape[0]);
  out += '[';
  for (size_t r = 0; r < rows; ++r) {
    if (r) out += ',';
    if (t.shape.size() == 3) out += '[';
    for (size_t g = 0; g < inner; ++g) {
      if (g) out += ',';
      out += '[';
      for (size_t c = 0; c < columns; ++c) {
        if (c) out += ',';
        const float v = t.FloatAt((r * inner + g) * columns + c);
        if (std::isfinite(v)) {
          char buf[32];  // float's shortest form, as the v2 outputs write it
          out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
        } else {
          json::AppendDouble(out, v);
        }
      }
      out += ']';
    }
    if (t.shape.size() == 3) out += ']';
  }
  out += "],\"feature_names\":[";
  for (size_t c = 0; c + 1 < columns; ++c) {
    if (c) out += ',';
    json::AppendString(out, c < feature_names.size() ? feature_names[c] : "f" + std::to_string(c));
  }
  out += columns > 1 ? ",\"bias\"]}" : "\"bias\"]}";
  return out;
}

HttpResponse ModelMetadata(serving::Deployments* deployments, auth::AccessPolicy* access,
                           HttpRequest& request) {
  auto target = Open(deployments, access, request);
  if (!target.ok()) return Error(target.status());
  const Deployment& d = *target->deployment;
  const serving::ModelMetadata& meta = target->variant->model->metadata();
  std::string out = "{\"name\":";
  json::AppendString(out, d.spec.name);
  out += ",\"versions\":[";
  bool first = true;
  for (const std::string& version : surface::ServedVersions(d)) {
    if (!first) out += ',';
    first = false;
    json::AppendString(out, version);
  }
  out += "],\"platform\":";
  json::AppendString(out, meta.platform);
  out += ",\"inputs\":";
  AppendSpecs(out, meta.inputs);
  out += ",\"outputs\":";
  AppendSpecs(out, meta.outputs);
  out += '}';
  HttpResponse r = HttpResponse::Json(200, std::move(out));
  surface::NameVariant(r, *target);
  return r;
}

// Ready when a variant can answer (the one serving the URL's version, if it
// names one).
HttpResponse ModelReady(serving::Deployments* deployments, auth::AccessPolicy* access,
                        HttpRequest& request) {
  const std::string name(request.PathParam("name"));
  StatusOr<bool> ready =
      surface::DeploymentReady(deployments, access, request, name, request.PathParam("version"));
  if (!ready.ok()) return Error(ready.status());
  std::string out = "{\"name\":";
  json::AppendString(out, name);
  out += *ready ? ",\"ready\":true}" : ",\"ready\":false}";
  return HttpResponse::Json(*ready ? 200 : 503, std::move(out));
}

// The answer to an infer request: the outputs it asked for, in JSON or
// the binary extension.
HttpResponse InferAnswer(const surface::InferenceTarget& target, const InferRequest& request,
                         StatusOr<std::vector<serving::Tensor>> outputs) {
  if (!outputs.ok()) return Error(outputs.status());
  std::vector<bool> binary(outputs->size(), request.binary_output);
  if (!request.outputs.empty()) {
    std::vector<serving::Tensor> chosen;
    binary.clear();
    for (const RequestedOutput& wanted : request.outputs) {
      auto it = std::find_if(outputs->begin(), outputs->end(),
                             [&](const serving::Tensor& t) { return t.name == wanted.name; });
      if (it == outputs->end()) {
        std::string names;
        for (const serving::Tensor& t : *outputs)
          names += (names.empty() ? "'" : ", '") + t.name + "'";
        return Error(InvalidArgument("requested output '" + wanted.name +
                                     "' is not one of this model's: " + names));
      }
      chosen.push_back(std::move(*it));
      binary.push_back(wanted.binary || request.binary_output);
    }
    *outputs = std::move(chosen);
  }
  BinaryResponse response = WriteBinaryInferResponse(
      target.deployment->spec.name, target.variant->source.version, request.id, *outputs, binary);
  HttpResponse r = response.json_length == 0 ? HttpResponse::Json(200, std::move(response.body))
                                             : HttpResponse::Text(200, std::move(response.body),
                                                                  "application/octet-stream");
  if (response.json_length != 0) {
    r.headers.emplace_back("Inference-Header-Content-Length", std::to_string(response.json_length));
  }
  surface::NameVariant(r, target);
  return r;
}

// Asynchronous: a deployment that batches answers when its batch has run.
void Infer(serving::Deployments* deployments, auth::AccessPolicy* access, HttpRequest& request,
           const http::Responder& respond) {
  auto target = Open(deployments, access, request);
  if (!target.ok()) return respond(Error(target.status()));
  const serving::Variant& variant = *target->variant;
  std::optional<size_t> json_length;
  if (std::string_view header = request.Header("inference-header-content-length");
      !header.empty()) {
    size_t n = 0;
    auto [p, ec] = std::from_chars(header.data(), header.data() + header.size(), n);
    if (ec != std::errc() || p != header.data() + header.size()) {
      return respond(Error(InvalidArgument("Inference-Header-Content-Length '" +
                                           std::string(header) + "' is not a length")));
    }
    json_length = n;
  }
  StatusOr<InferRequest> parsed = ParseInferRequest(request.body, json_length);
  if (!parsed.ok()) {
    deployments->Refuse(*target->deployment, variant, parsed.status(), target->request_id);
    return respond(Error(parsed.status()));
  }
  // The body's id names the request when no header did.
  if (!target->request_id_given && parsed->id && !parsed->id->empty()) {
    target->request_id = *parsed->id;
  }
  StatusOr<bool> explain = WantsExplanation(parsed->parameters_json);
  if (!explain.ok()) return respond(Error(explain.status()));
  if (*explain) {
    return respond(InferAnswer(*target, *parsed, deployments->Explain(variant, parsed->inputs)));
  }
  std::vector<serving::Tensor> inputs = std::move(parsed->inputs);
  std::shared_ptr<const Deployment> deployment = target->deployment;
  std::string request_id = target->request_id;
  deployments->Predict(std::move(deployment), variant, std::move(inputs), std::move(request_id),
                       [target = std::move(*target), parsed = std::move(*parsed),
                        respond](StatusOr<std::vector<serving::Tensor>> outputs) {
                         respond(InferAnswer(target, parsed, std::move(outputs)));
                       });
}

void V1Predict(serving::Deployments* deployments, auth::AccessPolicy* access, HttpRequest& request,
               const http::Responder& respond) {
  // "{name}:predict" arrives as one path segment.
  std::string segment(request.PathParam("name"));
  const size_t colon = segment.rfind(':');
  const std::string verb = colon == std::string::npos ? "" : segment.substr(colon + 1);
  for (auto& [key, value] : request.path_params) {
    if (key == "name") value = segment.substr(0, colon);
  }
  auto target = Open(deployments, access, request);
  if (!target.ok()) return respond(Error(target.status()));
  if (verb != "predict" && verb != "explain") {
    return respond(
        Error(NotFound("POST /v1/models/NAME:predict or :explain; got '" + segment + "'")));
  }
  json::Document doc;
  if (Status parsed = json::Parse(request.body, &doc); !parsed.ok()) {
    return respond(Error(parsed));
  }
  if (!doc.IsObject() || (!doc.HasMember("instances") && !doc.HasMember("inputs"))) {
    return respond(
        Error(InvalidArgument("the body must be {\"instances\": [...]} (or {\"inputs\": [...]})")));
  }
  // The same TF-serving forms MLflow's instances/inputs take.
  StatusOr<scoring::ScoringRequest> parsed = scoring::ParseScoringJson(request.body);
  if (!parsed.ok()) {
    deployments->Refuse(*target->deployment, *target->variant, parsed.status(), target->request_id);
    return respond(Error(parsed.status()));
  }
  if (verb == "explain") {
    StatusOr<std::vector<serving::Tensor>> contributions =
        deployments->Explain(*target->variant, parsed->inputs);
    if (!contributions.ok()) return respond(Error(contributions.status()));
    HttpResponse r = HttpResponse::Json(
        200, WriteExplanations(contributions->front(),
                               target->variant->model->metadata().feature_names));
    surface::NameVariant(r, *target);
    return respond(std::move(r));
  }
  std::shared_ptr<const Deployment> deployment = target->deployment;
  const serving::Variant& variant = *target->variant;
  std::string request_id = target->request_id;
  deployments->Predict(
      std::move(deployment), variant, std::move(parsed->inputs), std::move(request_id),
      [target = std::move(*target), respond](StatusOr<std::vector<serving::Tensor>> outputs) {
        if (!outputs.ok()) return respond(Error(outputs.status()));
        HttpResponse r = HttpResponse::Json(200, scoring::WritePredictions(*outputs));
        surface::NameVariant(r, target);
        respond(std::move(r));
      });
}

}  // namespace

void RegisterV1Routes(const surface::Surface& surface, serving::Deployments* deployments) {
  auth::AccessPolicy* access = surface.access();
  http::RouteOptions list;
  list.json_body = false;
  list.access = "any user (results filtered)";
  surface.Add(
      "GET", "/v1/models",
      [deployments, access](HttpRequest& request) {
        std::string out = "{\"models\":[";
        bool first = true;
        for (const auto& d : deployments->List()) {
          if (!surface::RequireDeploymentRead(access, request, *d).ok()) continue;
          if (!first) out += ',';
          first = false;
          json::AppendString(out, d->spec.name);
        }
        out += "]}";
        return HttpResponse::Json(200, std::move(out));
      },
      list);
  http::RouteOptions read;
  read.json_body = false;
  read.access = "registered model read";
  surface.Add(
      "GET", "/v1/models/{name}",
      [deployments, access](HttpRequest& r) { return ModelReady(deployments, access, r); }, read);
  http::RouteOptions predict = read;
  predict.execution = http::Execution::kInlineWhenOpen;
  surface.AddAsync(
      "POST", "/v1/models/{name}",
      [deployments, access](HttpRequest& r, const http::Responder& respond) {
        V1Predict(deployments, access, r, respond);
      },
      predict);
  surface.ClaimPrefix("/v1/");
}

// Triton's model repository extension, over the registry: the repository
// is the deployments; loading a name that is no deployment yet deploys the
// registered model of that name (its latest version).
void RegisterRepositoryRoutes(const surface::Surface& surface, serving::Deployments* deployments) {
  auth::AccessPolicy* access = surface.access();
  http::RouteOptions index;
  index.access = "any user (results filtered)";
  index.json_body = false;
  surface.Add(
      "POST", "/v2/repository/index",
      [deployments, access](HttpRequest& request) {
        bool ready_only = false;
        if (!request.body.empty()) {
          json::Document body;
          if (Status parsed = json::Parse(request.body, &body); !parsed.ok()) return Error(parsed);
          if (body.IsObject() && body.HasMember("ready") && body["ready"].IsBool()) {
            ready_only = body["ready"].GetBool();
          }
        }
        std::string out = "[";
        for (const auto& d : deployments->List()) {
          if (!surface::RequireDeploymentRead(access, request, *d).ok()) continue;
          if (ready_only && !d->ready()) continue;
          if (out.size() > 1) out += ',';
          out += "{\"name\":";
          json::AppendString(out, d->spec.name);
          out += ",\"version\":";
          json::AppendString(out, d->primary().source.version);
          out += d->ready() ? ",\"state\":\"READY\"" : ",\"state\":\"UNAVAILABLE\"";
          out += ",\"reason\":";
          json::AppendString(out, d->NotReadyReason());
          out += '}';
        }
        out += ']';
        return HttpResponse::Json(200, std::move(out));
      },
      index);
  http::RouteOptions control;
  control.access = "role editor, read on every model the deployment names";
  control.json_body = false;  // tritonclient posts {} or a config with its own content type
  surface.Add(
      "POST", "/v2/repository/models/{name}/load",
      [deployments, access](HttpRequest& request) {
        const std::string name(request.PathParam("name"));
        std::shared_ptr<const Deployment> d = deployments->Find(name);
        if (Status allowed = surface::RequireDeploymentChange(access, request, d.get());
            !allowed.ok()) {
          return Error(allowed);
        }
        if (d == nullptr) {
          const std::string uri = "models:/" + name + "/latest";
          if (Status readable = surface::RequireModelUriRead(access, request, uri); !readable.ok())
            return Error(readable);
          store::ScopedWriteContext audited(
              surface::RequestAuditContext(request, "deployment " + name, uri));
          auto made = deployments->Deploy(serving::DeploymentSpec::Single(name, uri), request.user);
          if (!made.ok()) return Error(made.status());
          return HttpResponse::Json(200, "{}");
        }
        auto loaded = deployments->Reload(name);
        if (!loaded.ok()) return Error(loaded.status());
        return HttpResponse::Json(200, "{}");
      },
      control);
  surface.Add(
      "POST", "/v2/repository/models/{name}/unload",
      [deployments, access](HttpRequest& request) {
        const std::string name(request.PathParam("name"));
        std::shared_ptr<const Deployment> d = deployments->Find(name);
        if (Status allowed = surface::RequireDeploymentChange(access, request, d.get());
            !allowed.ok()) {
          return Error(allowed);
        }
        if (d == nullptr) return Error(NotFound("no deployment named '" + name + "'"));
        if (Status unloaded = deployments->Unload(name); !unloaded.ok()) return Error(unloaded);
        return HttpResponse::Json(200, "{}");
      },
      control);
}

void RegisterV2Routes(const surface::Surface& surface, serving::Deployments* deployments) {
  auth::AccessPolicy* access = surface.access();
  http::RouteOptions open;
  open.is_public = true;
  open.execution = http::Execution::kInline;
  surface.Add(
      "GET", "/v2/health/live",
      [](HttpRequest&) { return HttpResponse::Json(200, R"({"live":true})"); }, open);
  surface.Add(
      "GET", "/v2/health/ready",
      [](HttpRequest&) { return HttpResponse::Json(200, R"({"ready":true})"); }, open);
  surface.Add(
      "GET", "/v2",
      [](HttpRequest&) {
        return HttpResponse::Json(
            200, std::string(R"({"name":"cairn","version":")") + kServerVersion +
                     R"(","extensions":["binary_tensor_data","model_repository"]})");
      },
      open);
  // Without users nothing here blocks (native models answer in microseconds),
  // so inference runs on the IO thread; with users, access checks may read
  // the store, so it runs on the worker pool.
  http::RouteOptions infer;
  infer.execution = http::Execution::kInlineWhenOpen;
  infer.access = "registered model read";
  // KServe's own examples post JSON with curl's default content type, and the
  // binary extension posts application/octet-stream; inference changes no
  // state, so the cross-site content-type check has nothing to protect here.
  infer.json_body = false;
  http::RouteOptions read = infer;
  read.json_body = false;
  for (const char* prefix : {"/v2/models/{name}", "/v2/models/{name}/versions/{version}"}) {
    const std::string p = prefix;
    surface.Add(
        "GET", p,
        [deployments, access](HttpRequest& r) { return ModelMetadata(deployments, access, r); },
        read);
    surface.Add(
        "GET", p + "/ready",
        [deployments, access](HttpRequest& r) { return ModelReady(deployments, access, r); }, read);
    surface.AddAsync(
        "POST", p + "/infer",
        [deployments, access](HttpRequest& r, const http::Responder& respond) {
          Infer(deployments, access, r, respond);
        },
        infer);
  }
  RegisterRepositoryRoutes(surface, deployments);
  surface.ClaimPrefix("/v2/");
}

}  // namespace cairn::kserve
