// A served model that is another server's Open Inference Protocol v2 REST
// endpoint (a running MLServer, KServe or Triton, or another Cairn): a
// deployment variant that Cairn fronts without running it, so rollouts,
// shadows, batching, metrics and the payload log apply to it exactly as to a
// model Cairn runs.
//
// A variant names one with its URL as the model reference:
//   {"name": "canary", "model_uri": "http://10.0.0.7:8080/v2/models/churn"}
// (optionally .../versions/V). Loading reads the endpoint's model metadata
// (GET on the URL), so a deploy fails at once, naming the URL, when nothing
// answers there; each request POSTs URL/infer in the JSON form. The
// endpoint's 400 answers are the caller's bad input (400 here too, with its
// message); anything else it answers, or no answer, is 503 naming the URL.
// Plain http:// (TLS belongs to a proxy beside the server).
//
// Thread-safety: Predict may run concurrently (one connection per call).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "serving/served_model.h"

namespace cairn::external {

struct ExternalOptions {
  std::chrono::milliseconds timeout{30'000};  // per call, connection included
  int concurrency = 16;                       // calls in flight at once
};

// Whether `model_uri` names an external endpoint (http:// or https://).
bool IsExternalEndpoint(std::string_view model_uri);

// The host an endpoint URL names, for the server's allow-list. Errors:
// InvalidArgument naming the URL and the form expected.
StatusOr<std::string> EndpointHost(const std::string& url);

// Errors: InvalidArgument for a URL not of the form above (https:// says
// to use a proxy); Unavailable naming the URL when its metadata cannot be
// read.
StatusOr<std::unique_ptr<serving::ServedModel>> ConnectExternalModel(
    const std::string& url, const ExternalOptions& options = {});

}  // namespace cairn::external
