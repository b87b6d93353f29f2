// MLflow's gateway-proxy: the web UI's prompt lab calls a deployments
// server (MLflow's AI gateway or any server speaking its routes) through
// the tracking server. With no target configured it answers as an empty
// gateway, as MLflow does. Requests go only to the configured host; the
// caller chooses the path below it.
#include <string>

#include "http/client.h"
#include "mlflow/mlflow_json.h"
#include "mlflow/request_args.h"
#include "mlflow/routes.h"

namespace cairn::mlflow {

using http::HttpRequest;
using http::HttpResponse;

StatusOr<GatewayTarget> ParseGatewayTarget(const std::string& uri) {
  GatewayTarget target;
  target.uri = uri;
  if (uri.empty()) return target;
  StatusOr<http::HttpAddress> address = http::HttpAddress::Parse(uri);
  if (!address.ok()) {
    return InvalidArgument("deployments_target: " + address.status().message());
  }
  target.address = std::move(*address);
  return target;
}

void RegisterGatewayProxyRoute(const surface::Surface& surface, const GatewayTarget& target) {
  for (const char* method : {"GET", "POST"}) {
    // Calls cost money at the provider behind the gateway: posting takes
    // an editor, as logging a run does; any signed-in user may list.
    bool get = std::string(method) == "GET";
    AddMlflowRoute(
        surface, method, "gateway-proxy",
        get ? RouteAccess::Search() : RouteAccess::Role(auth::Role::kEditor),
        [target, method = std::string(method)](const RequestArgs& args,
                                               HttpRequest&) -> StatusOr<HttpResponse> {
          if (target.uri.empty()) {
            return WriteJson([](json::Writer& w) {  // no gateway: an empty one
              w.Key("endpoints");
              w.StartArray();
              w.EndArray();
            });
          }
          const json::Value* path_value = args.Get("gateway_path");
          std::string path;
          if (path_value != nullptr) {
            ASSIGN_OR_RETURN(path, RequestArgs::AsString(*path_value, "gateway_path"));
          }
          if (path.empty()) {
            return InvalidArgument("Deployments proxy request must specify a gateway_path.");
          }
          http::ClientRequest call;
          call.method = method;
          call.target = target.address.base_path + "/" + path;
          if (const json::Value* data = args.Get("json_data")) {
            json::Buffer buffer;
            json::Writer w(buffer);
            data->Accept(w);
            call.body.assign(buffer.GetString(), buffer.GetSize());
            call.headers.emplace_back("Content-Type", "application/json");
          }
          StatusOr<http::ClientResponse> answered = http::Fetch(target.address, call);
          if (!answered.ok()) {
            return Status(answered.status().code(),
                          "Deployments proxy request failed: " + answered.status().message() +
                              " (is the deployments server at deployments_target running?)");
          }
          http::ClientResponse& answer = *answered;
          if (answer.status != 200) {
            return InvalidArgument("Deployments proxy request failed with error code " +
                                   std::to_string(answer.status) +
                                   ". Error message: " + answer.body);
          }
          HttpResponse response;
          response.content_type = "application/json";
          response.body = std::move(answer.body);
          return response;
        });
  }
}

}  // namespace cairn::mlflow
