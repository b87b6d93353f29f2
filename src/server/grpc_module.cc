// The gRPC inference module: the Open Inference Protocol v2 over gRPC on
// --serving-grpc-port, over the deployments the serving module runs, with
// the main listener's authentication and grants.
#include "grpc_inference/grpc_server.h"
#include "http/authenticator.h"
#include "server/modules.h"
#include "serving/deployments.h"

namespace cairn::server {
namespace {

class GrpcInferenceModule : public Module {
 public:
  std::string_view name() const override { return "grpc-inference"; }

  void DeclareSettings(ServerConfig* config, config::Settings* settings) override {
    settings->Add("serving_grpc_port", &config->serving_grpc_port,
                  "Port of the gRPC inference protocol (KServe v2 / Triton's "
                  "GRPCInferenceService; 0 picks a free one); default: off");
  }

  Status Start(ServerContext& context) override {
    const ServerConfig& config = context.config();
    if (config.serving_grpc_port == -1) return Status::Ok();
    grpc_inference::GrpcServerOptions options;
    options.host = config.host;
    options.port = config.serving_grpc_port;
    ASSIGN_OR_RETURN(options.deployments, context.Get<serving::Deployments>());
    ASSIGN_OR_RETURN(options.access, context.Get<auth::AccessPolicy>());
    options.authenticator = context.Find<http::Authenticator>();
    options.metrics = &context.metrics();
    options.env = context.env();
    auto server = grpc_inference::GrpcServer::Start(options);
    if (!server.ok()) {
      // A port out of range is a setting to fix; a port taken is too.
      return InvalidArgument(server.status().message());
    }
    server_ = std::move(*server);
    context.AddStartupFact("grpc", config.host + ":" + std::to_string(server_->port()));
    return Status::Ok();
  }

  void Stop() override {
    if (server_) server_->Shutdown();
  }

 private:
  std::unique_ptr<grpc_inference::GrpcServer> server_;
};

}  // namespace

std::unique_ptr<Module> NewGrpcInferenceModule() { return std::make_unique<GrpcInferenceModule>(); }

}  // namespace cairn::server
