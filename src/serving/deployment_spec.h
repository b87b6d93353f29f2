// What a deployment is asked to serve: one or more variants (model
// references with traffic weights, or shadows that see a copy of the
// traffic), how requests stick to a variant, and how a canary is rolled out.
// The same JSON form is the API's body and the stored row, so a deployment
// reloads after a restart exactly as it was last changed (weights moved by a
// rollout included).
//
//   {"name": "churn",
//    "variants": [{"name": "stable", "model_uri": "models:/churn/1", "weight": 90},
//                 {"name": "canary", "model_uri": "models:/churn/2", "weight": 10},
//                 {"name": "next", "model_uri": "models:/churn/3", "shadow": true,
//                  "mirror_percent": 50}],
//    "sticky_header": "x-user-id", "log_percent": 100,
//    "rollout": {"steps": [10, 50, 100], "min_samples": 200,
//                "max_error_rate_increase": 0.01, "max_p99_increase_ms": 50},
//    "batching": {"max_batch_rows": 64, "max_queue_delay_us": 200,
//                 "max_queue_requests": 1024, "queue_timeout_ms": 1000},
//    "python": {"interpreter": "/usr/bin/python3", "path": ["/opt/mlflow"],
//               "workers": 2, "timeout_ms": 30000},
//    "features": {"service": "driver_activity", "missing": "default",
//                 "defaults": {"conv_rate": 0.5}}}
//
// {"name": ..., "model_uri": ...} is the one-variant shorthand (a variant
// named "primary" with all the traffic).
//
// {"name": ..., "follow": "models:/churn@champion", "rollout": {...}} serves
// the version the reference names now, pinned, and when the reference moves
// to a new version, rolls it out as a canary by the policy (registry-driven
// rollouts). The stored spec keeps `follow` beside the variants it has now.
//
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace cairn::serving {

inline constexpr size_t kMaxVariants = 16;

struct VariantSpec {
  std::string name;
  std::string model_uri;
  // Share of live traffic, relative to the other live variants' weights.
  int64_t weight = 0;
  // A shadow answers no one: it gets a copy of `mirror_percent` of the
  // requests the live variants answered, and its answers are compared.
  bool shadow = false;
  int mirror_percent = 100;
};

// A canary rollout between the first variant (stable) and the second
// (canary): the canary's weight walks through `steps` (percent of traffic),
// each step held until the canary has answered `min_samples` requests
// without being judged worse than stable; the last step (100) promotes it.
// Judged worse (error rate above stable's by more than the margin, with
// significance; or p99 latency above stable's by more than the margin): the
// canary goes to weight 0 and the rollout stops, with the reason.
struct RolloutPolicy {
  std::vector<int> steps;  // strictly increasing, 1-100; empty: only watch for rollback
  int64_t min_samples = 100;
  double max_error_rate_increase = 0.01;  // absolute, 0-1
  double max_p99_increase_ms = 50;        // 0: latency not judged
};

// Dynamic batching (Triton's dynamic batcher): requests waiting for the
// model are joined along their first dimension into one call of at most
// `max_batch_rows` rows, and the answers split back per request. A request
// waits at most `max_queue_delay_us` for others to join (0: none when the
// model is idle; requests arriving while it runs form the next batch).
// Beyond `max_queue_requests` waiting, or after `queue_timeout_ms` in the
// queue, a request is answered 503.
struct BatchingPolicy {
  int64_t max_batch_rows = 64;
  int64_t max_queue_delay_us = 0;
  int64_t max_queue_requests = 1024;
  int64_t queue_timeout_ms = 1000;

  bool operator==(const BatchingPolicy&) const = default;
};

// How python_function models (sklearn, custom) run: a pool of `workers`
// processes of `interpreter` (one the server allows: --serving-python) with
// `path` first on PYTHONPATH (where the user's MLflow and its dependencies
// are). A call waits at most `timeout_ms` for a worker and its answer.
struct PythonSettings {
  std::string interpreter;
  std::vector<std::string> path;
  int workers = 2;
  int64_t timeout_ms = 30'000;

  bool operator==(const PythonSettings&) const = default;
};

// Feature enrichment: requests carry entity keys (and request-time fields);
// the server reads the feature service's features from the online store,
// computes its on-demand features, and gives the model one column per
// input it names, in its order (a column is a feature of the service, else
// a request input of that name). A feature with no value (no record, null,
// older than its view's ttl) fails the request when `fail_on_missing`,
// else takes `defaults[name]`, or NaN (a missing value to tree models).
struct FeatureEnrichment {
  std::string service;
  bool fail_on_missing = true;
  std::map<std::string, double> defaults;

  bool operator==(const FeatureEnrichment&) const = default;
};

struct DeploymentSpec {
  std::string name;
  std::vector<VariantSpec> variants;
  // Requests carrying this header stay on one variant for a given value;
  // "" routes each request independently. A request may also send back the
  // x-cairn-variant header an earlier answer carried.
  std::string sticky_header;
  std::optional<RolloutPolicy> rollout;
  // A moving registry reference (alias, stage, latest) whose new versions
  // are rolled out as canaries; "" for none.
  std::string follow;
  // Share of requests written to the payload log (0-100; 0: none).
  double log_percent = 0;
  // Absent: every request calls the model on its own.
  std::optional<BatchingPolicy> batching;
  // Absent: the server's first allowed interpreter, its path, 2 workers.
  std::optional<PythonSettings> python;
  // Absent: requests carry the model's inputs themselves.
  std::optional<FeatureEnrichment> features;
  // Never unloaded to stay within the server's memory budget.
  bool pinned = false;

  // The one-variant form.
  static DeploymentSpec Single(std::string name, std::string model_uri);
  // The variant named `variant`, or null.
  const VariantSpec* Find(const std::string& variant) const;
  VariantSpec* Find(const std::string& variant);
};

// The checks every spec passes before anything loads: names (deployment
// and variants: 1-63 of [a-z0-9-], starting with a letter; variants unique),
// a model reference per variant, weights 0-1,000,000, at least one live
// variant with weight, mirror_percent 0-100, a rollout's two live
// variants and steps, and batching's bounds. InvalidArgument names the field.
Status CheckDeploymentSpec(const DeploymentSpec& spec);

// The JSON form above. Parse errors name the field and what was expected.
StatusOr<DeploymentSpec> ParseDeploymentSpec(std::string_view text);
std::string DeploymentSpecJson(const DeploymentSpec& spec);
// The "batching" and "features" objects of that form.
std::string BatchingPolicyJson(const BatchingPolicy& policy);
std::string FeatureEnrichmentJson(const FeatureEnrichment& features);

// Deployment and variant names: 1-63 characters of [a-z0-9-], starting with
// a letter (they appear in URLs, headers and, on Kubernetes later, in object
// names). `what` names the field in the error.
Status CheckDeploymentName(const std::string& name, std::string_view what = "deployment name");

}  // namespace cairn::serving
