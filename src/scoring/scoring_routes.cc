#include "scoring/scoring_routes.h"

#include <set>

#include "core/json.h"
#include "http/system_routes.h"
#include "scoring/scoring_json.h"
#include "surface/deployment_access.h"

namespace cairn::scoring {

using http::HttpRequest;
using http::HttpResponse;

namespace {

class ScoringErrors : public http::ErrorFormat {
 public:
  std::string_view protocol() const override { return "mlflow-scoring"; }
  HttpResponse FromStatus(const Status& error) const override {
    const char* code = "INTERNAL_ERROR";
    int status = http::HttpStatusOf(error.code());
    switch (error.code()) {
      case StatusCode::kInvalidArgument:
        code = "BAD_REQUEST";
        break;
      case StatusCode::kNotFound:
        code = "RESOURCE_DOES_NOT_EXIST";
        break;
      case StatusCode::kUnavailable:
        code = "TEMPORARILY_UNAVAILABLE";
        break;
      case StatusCode::kPermissionDenied:
        code = "PERMISSION_DENIED";
        break;
      case StatusCode::kUnauthenticated:
        code = "UNAUTHENTICATED";
        break;
      case StatusCode::kResourceExhausted:
        code = "RESOURCE_EXHAUSTED";
        break;
      default:
        break;
    }
    std::string body = "{\"error_code\":\"";
    body += code;
    body += "\",\"message\":";
    json::AppendString(body, error.message());
    body += '}';
    return HttpResponse::Json(status, std::move(body));
  }
  HttpResponse Local(int http_status, http::LocalReason reason,
                     std::string_view message) const override {
    StatusCode code = StatusCode::kInvalidArgument;
    if (reason == http::LocalReason::kNoRoute || reason == http::LocalReason::kMissingFile)
      code = StatusCode::kNotFound;
    if (reason == http::LocalReason::kUnauthenticated) code = StatusCode::kUnauthenticated;
    if (reason == http::LocalReason::kForbidden) code = StatusCode::kPermissionDenied;
    if (reason == http::LocalReason::kInternal) code = StatusCode::kInternal;
    HttpResponse r = FromStatus(Status(code, std::string(message)));
    r.status = http_status;
    return r;
  }
};

HttpResponse Error(const Status& status) { return ScoringErrorFormat().FromStatus(status); }

std::string PythonList(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", '" : "'") + names[i] + "'";
  return out + "]";
}

// MLflow's schema check for column signatures: required columns present,
// numeric columns not given strings.
Status CheckSignature(const serving::Variant& d, const std::vector<serving::Tensor>& inputs) {
  std::vector<const serving::SignatureField*> columns;
  for (const serving::SignatureField& f : d.signature_inputs) {
    if (!f.name.empty() && f.type != "tensor") columns.push_back(&f);
  }
  if (columns.empty()) return Status::Ok();
  // Unnamed rows: only the width can be checked, as MLflow does.
  if (inputs.size() == 1 && inputs[0].shape.size() == 2) {
    if (static_cast<size_t>(inputs[0].shape[1]) < columns.size()) {
      return InvalidArgument("Model inference is missing inputs. The model signature declares " +
                             std::to_string(columns.size()) +
                             " inputs  but the provided value only has " +
                             std::to_string(inputs[0].shape[1]) + " inputs.");
    }
    return Status::Ok();
  }
  std::set<std::string> given;
  for (const serving::Tensor& t : inputs) given.insert(t.name);
  std::vector<std::string> missing, extra;
  std::set<std::string> declared;
  for (const serving::SignatureField* f : columns) {
    declared.insert(f->name);
    if (f->required && !given.contains(f->name)) missing.push_back(f->name);
  }
  for (const serving::Tensor& t : inputs) {
    if (!declared.contains(t.name)) extra.push_back(t.name);
  }
  if (!missing.empty()) {
    std::string message = "Model is missing inputs " + PythonList(missing) + ".";
    if (!extra.empty()) message += " Note that there were extra inputs: " + PythonList(extra);
    return InvalidArgument(message);
  }
  static const std::set<std::string> kNumeric = {"double", "float", "long", "integer", "boolean"};
  for (const serving::SignatureField* f : columns) {
    for (const serving::Tensor& t : inputs) {
      if (t.name == f->name && t.datatype == serving::DataType::kBytes &&
          kNumeric.contains(f->type)) {
        return InvalidArgument("Incompatible input types for column " + f->name +
                               ". Can not safely convert object to " +
                               (f->type == "double"  ? "float64"
                                : f->type == "float" ? "float32"
                                                     : f->type) +
                               ".");
      }
    }
  }
  return Status::Ok();
}

// Asynchronous: a deployment that batches answers when its batch has run.
void Invoke(serving::Deployments* deployments, auth::AccessPolicy* access, const std::string& name,
            HttpRequest& request, const http::Responder& respond) {
  auto target = surface::OpenDeployment(deployments, access, request, name);
  if (!target.ok()) return respond(Error(target.status()));
  const serving::Variant& variant = *target->variant;
  // Content type and charset as MLflow's server reads them.
  std::string_view content_type = request.Header("content-type");
  std::string_view mime = content_type.substr(0, content_type.find(';'));
  while (!mime.empty() && mime.back() == ' ') mime.remove_suffix(1);
  if (content_type.find("charset=") != std::string_view::npos &&
      content_type.find("charset=utf-8") == std::string_view::npos &&
      content_type.find("charset=UTF-8") == std::string_view::npos) {
    return respond(HttpResponse::Text(415, "The scoring server only supports UTF-8"));
  }
  StatusOr<ScoringRequest> parsed = InvalidArgument("unreachable");
  if (mime == "application/json") {
    parsed = ParseScoringJson(request.body);
  } else if (mime == "text/csv") {
    parsed = ParseScoringCsv(request.body);
  } else {
    return respond(
        HttpResponse::Text(415,
                           "This predictor only supports the following content types: Types: "
                           "['text/csv', 'application/json']. Got '" +
                               std::string(content_type) + "'."));
  }
  // With feature enrichment the request carries entity keys, not the
  // model's columns: the columns are assembled (and checked) after.
  if (parsed.ok() && !target->deployment->spec.features) {
    if (Status checked = CheckSignature(variant, parsed->inputs); !checked.ok()) parsed = checked;
  }
  if (!parsed.ok()) {
    deployments->Refuse(*target->deployment, variant, parsed.status(), target->request_id);
    return respond(Error(parsed.status()));
  }
  std::shared_ptr<const serving::Deployment> deployment = target->deployment;
  std::string request_id = target->request_id;
  deployments->Predict(
      std::move(deployment), variant, std::move(parsed->inputs), std::move(request_id),
      [target = std::move(*target), respond](StatusOr<std::vector<serving::Tensor>> outputs) {
        if (!outputs.ok()) return respond(Error(outputs.status()));
        HttpResponse r = HttpResponse::Json(200, WritePredictions(*outputs));
        surface::NameVariant(r, target);
        respond(std::move(r));
      });
}

// The deployment /invocations serves: the configured one, else the only one.
StatusOr<std::string> DefaultDeployment(serving::Deployments* deployments,
                                        const std::string& configured) {
  if (!configured.empty()) return configured;
  auto all = deployments->List();
  if (all.size() == 1) return all[0]->spec.name;
  std::string names;
  for (const auto& d : all) names += (names.empty() ? "" : ", ") + d->spec.name;
  return NotFound(
      all.empty()
          ? std::string("no deployment yet; create one with POST /api/cairn/v1/deployments")
          : "several deployments (" + names +
                "): POST to /deployments/NAME/invocations, or set --serving-default-deployment");
}

}  // namespace

const http::ErrorFormat& ScoringErrorFormat() {
  static const ScoringErrors* format = new ScoringErrors();
  return *format;
}

void RegisterScoringRoutes(const surface::Surface& surface, serving::Deployments* deployments,
                           const std::string& default_deployment) {
  auth::AccessPolicy* access = surface.access();
  http::RouteOptions open;
  open.is_public = true;
  open.execution = http::Execution::kInline;
  auto ping = [](HttpRequest&) { return HttpResponse::Json(200, "\n"); };
  surface.Add("GET", "/ping", ping, open);
  surface.Add("GET", "/health", ping, open);
  surface.Add(
      "GET", "/version",
      [](HttpRequest&) { return HttpResponse::Text(200, http::kMlflowCompatibleVersion); }, open);
  http::RouteOptions invoke;
  invoke.access = "registered model read";
  invoke.json_body = false;  // JSON or CSV; a prediction changes nothing
  invoke.execution = http::Execution::kInlineWhenOpen;
  surface.AddAsync(
      "POST", "/invocations",
      [deployments, access, default_deployment](HttpRequest& request,
                                                const http::Responder& respond) {
        StatusOr<std::string> name = DefaultDeployment(deployments, default_deployment);
        if (!name.ok()) return respond(Error(name.status()));
        Invoke(deployments, access, *name, request, respond);
      },
      invoke);
  surface.AddAsync(
      "POST", "/deployments/{name}/invocations",
      [deployments, access](HttpRequest& request, const http::Responder& respond) {
        Invoke(deployments, access, std::string(request.PathParam("name")), request, respond);
      },
      invoke);
}

}  // namespace cairn::scoring
