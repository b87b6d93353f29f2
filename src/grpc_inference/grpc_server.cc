#include "grpc_inference/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include <array>
#include <chrono>
#include <functional>
#include <utility>

#include "core/log.h"
#include "core/thread_pool.h"
#include "grpc_inference/grpc_tensors.h"
#include "grpc_inference/inference.grpc.pb.h"
#include "kserve/v2_routes.h"
#include "surface/deployment_access.h"

namespace cairn::grpc_inference {

namespace {

grpc::StatusCode GrpcCode(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return grpc::StatusCode::OK;
    case StatusCode::kInvalidArgument:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case StatusCode::kNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case StatusCode::kAlreadyExists:
      return grpc::StatusCode::ALREADY_EXISTS;
    case StatusCode::kFailedPrecondition:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case StatusCode::kPermissionDenied:
      return grpc::StatusCode::PERMISSION_DENIED;
    case StatusCode::kUnauthenticated:
      return grpc::StatusCode::UNAUTHENTICATED;
    case StatusCode::kResourceExhausted:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case StatusCode::kUnimplemented:
      return grpc::StatusCode::UNIMPLEMENTED;
    case StatusCode::kUnavailable:
      return grpc::StatusCode::UNAVAILABLE;
    case StatusCode::kInternal:
      return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::UNKNOWN;
}

// The address part of a gRPC peer ("ipv4:127.0.0.1:5000", "ipv6:[::1]:5000"),
// for the login throttle's per-address count.
std::string PeerAddress(const std::string& peer) {
  std::string_view p = peer;
  if (const size_t colon = p.find(':'); colon != std::string_view::npos) p.remove_prefix(colon + 1);
  if (const size_t port = p.rfind(':'); port != std::string_view::npos) p = p.substr(0, port);
  if (p.size() >= 2 && p.front() == '[' && p.back() == ']') p = p.substr(1, p.size() - 2);
  return std::string(p);
}

enum Method { kLive, kReady, kModelReady, kServerMetadata, kModelMetadata, kInfer, kMethods };
constexpr std::array<const char*, kMethods> kMethodNames = {
    "ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata", "ModelInfer"};
constexpr int kCodes = static_cast<int>(StatusCode::kInternal) + 1;

}  // namespace

class GrpcServer::Impl final : public inference::GRPCInferenceService::CallbackService {
 public:
  explicit Impl(GrpcServerOptions options) : options_(std::move(options)) {
    if (options_.env == nullptr) options_.env = Env::Default();
    if (options_.metrics == nullptr) return;
    for (int m = 0; m < kMethods; ++m) {
      for (int c = 0; c < kCodes; ++c) {
        calls_[m][c] = options_.metrics->GetCounter(
            "cairn_grpc_requests_total", "gRPC inference calls by method and outcome.",
            {{"method", kMethodNames[m]},
             {"code", std::string(StatusCodeName(static_cast<StatusCode>(c)))}});
      }
      seconds_[m] = options_.metrics->GetHistogram(
          "cairn_grpc_request_seconds", "gRPC inference calls' time to the answer.",
          {{"method", kMethodNames[m]}},
          {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1, 10});
    }
  }

  Status Start() {
    ASSIGN_OR_RETURN(pool_,
                     ThreadPool::Start(options_.env, options_.blocking_threads, "grpc-worker"));
    const std::string host = options_.host.find(':') != std::string::npos && options_.host[0] != '['
                                 ? "[" + options_.host + "]"
                                 : options_.host;
    const std::string address = host + ":" + std::to_string(options_.port);
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port_);
    builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
    builder.SetMaxSendMessageSize(-1);
    // Bounds what many clients at once can make the server hold.
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 256);
    grpc::ResourceQuota quota("cairn-grpc");
    quota.Resize(size_t{1} << 30);
    builder.SetResourceQuota(quota);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      server_.reset();
      return Unavailable("cannot listen for gRPC on " + address +
                         " (--serving-grpc-port): is the port taken, or the host not this "
                         "machine's?");
    }
    return Status::Ok();
  }

  void Shutdown(int drain_seconds) {
    if (server_ == nullptr) return;
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(drain_seconds));
    server_->Wait();
    server_.reset();
    pool_.reset();  // after the calls it runs were answered
  }

  int port() const { return port_; }

  // --- the protocol's calls ---

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* ctx,
                                       const inference::ServerLiveRequest*,
                                       inference::ServerLiveResponse* response) override {
    response->set_live(true);
    return Answered(ctx, kLive, Now(), Status::Ok());
  }

  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* ctx,
                                        const inference::ServerReadyRequest*,
                                        inference::ServerReadyResponse* response) override {
    response->set_ready(true);
    return Answered(ctx, kReady, Now(), Status::Ok());
  }

  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* ctx,
                                           const inference::ServerMetadataRequest*,
                                           inference::ServerMetadataResponse* response) override {
    response->set_name("cairn");
    response->set_version(kserve::kServerVersion);
    return Answered(ctx, kServerMetadata, Now(), Status::Ok());
  }

  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* ctx,
                                       const inference::ModelReadyRequest* request,
                                       inference::ModelReadyResponse* response) override {
    return Admit(ctx, kModelReady, [this, request, response](const http::HttpRequest& caller) {
      ASSIGN_OR_RETURN(bool ready,
                       surface::DeploymentReady(options_.deployments, options_.access, caller,
                                                request->name(), request->version()));
      response->set_ready(ready);
      return Status::Ok();
    });
  }

  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* ctx,
                                          const inference::ModelMetadataRequest* request,
                                          inference::ModelMetadataResponse* response) override {
    return Admit(ctx, kModelMetadata, [this, request, response](const http::HttpRequest& caller) {
      ASSIGN_OR_RETURN(surface::InferenceTarget target,
                       surface::OpenDeployment(options_.deployments, options_.access, caller,
                                               request->name(), request->version()));
      const serving::ModelMetadata& meta = target.variant->model->metadata();
      response->set_name(target.deployment->spec.name);
      for (std::string& v : surface::ServedVersions(*target.deployment)) {
        response->add_versions(std::move(v));
      }
      response->set_platform(meta.platform);
      auto add = [](const std::vector<serving::TensorSpec>& specs, auto* list) {
        for (const serving::TensorSpec& spec : specs) {
          auto* t = list->Add();
          t->set_name(spec.name);
          t->set_datatype(std::string(serving::DataTypeName(spec.datatype)));
          for (int64_t d : spec.shape) t->add_shape(d);
        }
      };
      add(meta.inputs, response->mutable_inputs());
      add(meta.outputs, response->mutable_outputs());
      return Status::Ok();
    });
  }

  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* ctx,
                                       const inference::ModelInferRequest* request,
                                       inference::ModelInferResponse* response) override {
    const int64_t start = Now();
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    Begin(ctx, reactor, kInfer, start, [=, this](const http::HttpRequest& caller) {
      Infer(ctx, reactor, caller, request, response, start);
    });
    return reactor;
  }

 private:
  int64_t Now() const { return options_.env->MonotonicNanos(); }

  void Count(Method method, int64_t start, const Status& status) {
    if (options_.metrics == nullptr) return;
    calls_[method][static_cast<int>(status.code())]->Inc();
    seconds_[method]->Observe(static_cast<double>(Now() - start) / 1e9);
  }

  void Finish(grpc::ServerUnaryReactor* reactor, Method method, int64_t start,
              const Status& status) {
    Count(method, start, status);
    reactor->Finish(status.ok() ? grpc::Status::OK
                                : grpc::Status(GrpcCode(status.code()), status.message()));
  }

  grpc::ServerUnaryReactor* Answered(grpc::CallbackServerContext* ctx, Method method, int64_t start,
                                     const Status& status) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    Finish(reactor, method, start, status);
    return reactor;
  }

  // A call answered by `work`'s status once its caller is known.
  grpc::ServerUnaryReactor* Admit(grpc::CallbackServerContext* ctx, Method method,
                                  std::function<Status(const http::HttpRequest&)> work) {
    const int64_t start = Now();
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    Begin(ctx, reactor, method, start,
          [this, reactor, method, start, work = std::move(work)](const http::HttpRequest& caller) {
            Finish(reactor, method, start, work(caller));
          });
    return reactor;
  }

  // Authenticates the call's caller as the HTTP listeners do, then runs
  // `next` with it: here when nothing blocks (no users), else on the pool
  // (password checks hash; grants are read from the store). A caller who
  // is refused is answered here.
  void Begin(grpc::CallbackServerContext* ctx, grpc::ServerUnaryReactor* reactor, Method method,
             int64_t start, std::function<void(const http::HttpRequest&)> next) {
    auto caller = std::make_shared<http::HttpRequest>();
    caller->method = "POST";
    caller->path = caller->target =
        std::string("/inference.GRPCInferenceService/") + kMethodNames[method];
    for (const auto& [key, value] : ctx->client_metadata()) {
      caller->headers.emplace_back(std::string(key.data(), key.size()),
                                   std::string(value.data(), value.size()));
    }
    caller->remote_address = PeerAddress(ctx->peer());
    if (options_.authenticator == nullptr) return next(*caller);
    Status refused;
    switch (options_.authenticator->AuthenticateFast(*caller, &refused)) {
      case http::Authenticator::Result::kRejected:
        return Finish(reactor, method, start, refused);
      case http::Authenticator::Result::kAuthenticated:
        if (caller->user.empty()) return next(*caller);
        pool_->Post([caller, next = std::move(next)] { next(*caller); });
        return;
      case http::Authenticator::Result::kNeedsBlocking:
        pool_->Post([this, caller, reactor, method, start, next = std::move(next)] {
          Status known = options_.authenticator->AuthenticateBlocking(*caller);
          if (!known.ok()) return Finish(reactor, method, start, known);
          next(*caller);
        });
        return;
    }
  }

  void Infer(grpc::CallbackServerContext* ctx, grpc::ServerUnaryReactor* reactor,
             const http::HttpRequest& caller, const inference::ModelInferRequest* request,
             inference::ModelInferResponse* response, int64_t start) {
    serving::Deployments* deployments = options_.deployments;
    StatusOr<surface::InferenceTarget> target = surface::OpenDeployment(
        deployments, options_.access, caller, request->model_name(), request->model_version());
    if (!target.ok()) return Finish(reactor, kInfer, start, target.status());
    StatusOr<DecodedInferRequest> decoded = DecodeInferRequest(*request);
    if (!decoded.ok()) {
      deployments->Refuse(*target->deployment, *target->variant, decoded.status(),
                          target->request_id);
      return Finish(reactor, kInfer, start, decoded.status());
    }
    // The request's own id names it when no metadata did.
    if (!target->request_id_given && !request->id().empty() && request->id().size() <= 256) {
      target->request_id = request->id();
    }
    ctx->AddInitialMetadata(std::string(surface::kVariantHeader), target->variant->spec.name);
    if (!target->variant->source.version.empty()) {
      ctx->AddInitialMetadata("x-cairn-model-version", target->variant->source.version);
    }
    ctx->AddInitialMetadata("x-request-id", target->request_id);
    response->set_model_name(target->deployment->spec.name);
    response->set_model_version(target->variant->source.version);
    response->set_id(request->id());
    if (decoded->explain) {
      StatusOr<std::vector<serving::Tensor>> contributions =
          deployments->Explain(*target->variant, decoded->inputs);
      if (!contributions.ok()) return Finish(reactor, kInfer, start, contributions.status());
      return Finish(reactor, kInfer, start,
                    EncodeInferResponse(std::move(*contributions), decoded->outputs, response));
    }
    std::shared_ptr<const serving::Deployment> deployment = target->deployment;
    deployments->Predict(std::move(deployment), *target->variant, std::move(decoded->inputs),
                         std::move(target->request_id),
                         [this, reactor, response, start, wanted = std::move(decoded->outputs)](
                             StatusOr<std::vector<serving::Tensor>> outputs) {
                           if (!outputs.ok())
                             return Finish(reactor, kInfer, start, outputs.status());
                           Finish(reactor, kInfer, start,
                                  EncodeInferResponse(std::move(*outputs), wanted, response));
                         });
  }

  GrpcServerOptions options_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::array<std::array<metrics::Counter*, kCodes>, kMethods> calls_{};
  std::array<metrics::Histogram*, kMethods> seconds_{};
};

StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(GrpcServerOptions options) {
  if (options.deployments == nullptr) return InvalidArgument("the gRPC server needs deployments");
  if (options.port < 0 || options.port > 65535) {
    return InvalidArgument("--serving-grpc-port " + std::to_string(options.port) +
                           " is not a port; use 1-65535, or 0 for a free one");
  }
  if (options.blocking_threads < 1) options.blocking_threads = 1;
  auto impl = std::make_unique<Impl>(std::move(options));
  RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(impl)));
}

GrpcServer::GrpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GrpcServer::~GrpcServer() { Shutdown(); }

int GrpcServer::port() const { return impl_->port(); }

void GrpcServer::Shutdown(int drain_seconds) { impl_->Shutdown(drain_seconds); }

}  // namespace cairn::grpc_inference
