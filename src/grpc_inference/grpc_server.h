// The Open Inference Protocol v2 over gRPC (KServe's grpc_predict_v2,
// Triton's GRPCInferenceService): server liveness, readiness and metadata,
// model readiness and metadata, and ModelInfer, over Cairn's deployments,
// on a port of its own (Triton's default is 8001). tritonclient.grpc and
// KServe's gRPC clients use it unchanged.
//
// The same callers and grants as the HTTP protocols: credentials in the
// "authorization" metadata (Basic or Bearer), checked by the server's
// Authenticator; model calls need read on every model the deployment
// serves (surface/deployment_access.h). Errors carry the gRPC status that
// matches (INVALID_ARGUMENT naming the input, NOT_FOUND, PERMISSION_DENIED,
// UNAUTHENTICATED, UNAVAILABLE) and the same messages as the HTTP answers.
// The x-cairn-variant and x-request-id of an answer travel as metadata.
//
// Heavy gRPC headers stay in the .cc files: including this one costs
// nothing.
//
// Thread-safety: Start and Shutdown on one thread; the calls run on gRPC's
// threads and, when a check may block, on the server's own pool.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "auth/access_policy.h"
#include "core/env.h"
#include "core/status.h"
#include "http/authenticator.h"
#include "metrics/metrics.h"
#include "serving/deployments.h"

namespace cairn::grpc_inference {

struct GrpcServerOptions {
  std::string host = "127.0.0.1";
  int port = 8001;  // 0 picks a free one
  // The largest request message (its tensors); larger ones are refused
  // with RESOURCE_EXHAUSTED before they are read whole.
  int max_message_bytes = 64 << 20;
  // Threads for calls whose checks may block (password hashing, grants
  // read from the store).
  int blocking_threads = 8;
  serving::Deployments* deployments = nullptr;   // required; outlives the server
  http::Authenticator* authenticator = nullptr;  // null: no authentication
  auth::AccessPolicy* access = nullptr;          // null: every caller may read
  metrics::Registry* metrics = nullptr;          // null: no metrics
  Env* env = nullptr;                            // null: Env::Default()
};

class GrpcServer {
 public:
  // Errors: Unavailable when the address cannot be bound (naming it and
  // the setting), InvalidArgument for options out of range.
  static StatusOr<std::unique_ptr<GrpcServer>> Start(GrpcServerOptions options);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // The port bound (the one picked when options.port was 0).
  int port() const;

  // Stops taking calls, lets those in flight finish for up to
  // `drain_seconds`, then cancels the rest. Idempotent.
  void Shutdown(int drain_seconds = 30);

  class Impl;

 private:
  explicit GrpcServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::grpc_inference
