// Deployments: named endpoints, each serving a model reference
// (models:/name/3, models:/name@alias, runs:/id/path, ...). Kept in the
// metadata store, so they survive restarts; loaded into memory at start and
// on every change.
//
// A deployment whose model cannot be loaded stays listed, not ready, with
// the reason; a change that fails to load leaves the previous model serving.
//
// Thread-safety: all methods are safe to call concurrently. Inference reads
// a snapshot (Find) that stays valid while held, across later changes.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/mutex.h"
#include "core/status.h"
#include "metrics/metrics.h"
#include "serving/model_loader.h"
#include "store/metadata_store.h"

namespace cairn::serving {

struct DeploymentSpec {
  std::string name;
  std::string model_uri;
};

// Where a model reference points now.
struct ResolvedSource {
  std::string artifact_path;     // the model folder in the artifact store
  std::string registered_model;  // "" unless a registry URI
  std::string version;           // registry version, or ""
  // The reference can point elsewhere later (an alias, a stage, "latest"):
  // Refresh follows it.
  bool moving = false;
};
using SourceResolver = std::function<StatusOr<ResolvedSource>(const std::string& model_uri)>;
using FolderLoader = std::function<StatusOr<LoadedModel>(const std::string& artifact_path)>;

// Prometheus series of one deployment and version, made when it loads so
// requests take no lock to count.
struct DeploymentMetrics {
  metrics::Counter* requests = nullptr;
  metrics::Counter* bad_input = nullptr;  // answered 4xx
  metrics::Counter* not_ready = nullptr;  // answered 503
  metrics::Counter* failed = nullptr;     // the model failed (5xx)
  metrics::Histogram* compute_seconds = nullptr;
  metrics::Histogram* batch_rows = nullptr;
};

// One deployment as inference sees it: immutable.
struct Deployment {
  DeploymentSpec spec;
  std::string created_by;
  int64_t created_micros = 0;
  ResolvedSource source;                     // what is served (when ready)
  std::shared_ptr<const ServedModel> model;  // null when not ready
  std::string flavor;
  std::vector<SignatureField> signature_inputs;  // the MLflow signature's inputs, if any
  std::string reason;                            // why not ready; "" when ready
  int64_t loaded_micros = 0;
  // The last version the reference moved to that failed to load (the model
  // above keeps serving), and why; "" when none.
  std::string failed_path;
  std::string failed_reason;
  DeploymentMetrics metrics;  // all null without a metrics registry

  bool ready() const { return model != nullptr; }
};

class Deployments {
 public:
  // `registry` (may be null) gets the per-deployment series and gauges.
  Deployments(store::MetadataStore* store, Env* env, SourceResolver resolve, FolderLoader load,
              metrics::Registry* registry = nullptr);

  // Creates the table and loads every stored deployment (failures are kept
  // as not ready, with the reason). Errors: the store's.
  Status Init();

  // Creates or replaces `spec.name`. The model is loaded first: InvalidArgument
  // for a bad name or URI, NotFound / Unimplemented / InvalidArgument from
  // resolving and loading; nothing is stored then, and an existing deployment
  // keeps serving what it served.
  StatusOr<std::shared_ptr<const Deployment>> Deploy(const DeploymentSpec& spec,
                                                     const std::string& user);

  // Errors: NotFound naming the deployment.
  Status Remove(const std::string& name);

  // Re-resolves the deployments that follow a moving reference or are not
  // ready, and loads what changed, off the request path: requests go on with
  // the model they have until the new one has loaded, then switch. A version
  // that fails to load leaves the previous one serving, with the reason in
  // failed_reason (tried again only when the reference moves again).
  // Returns how many deployments switched models.
  int Refresh();

  // Runs `d`'s model on `inputs`, counting the request, its outcome and its
  // compute time in `d`'s series. REQUIRES: d.ready().
  StatusOr<std::vector<Tensor>> Predict(const Deployment& d,
                                        const std::vector<Tensor>& inputs) const;
  // Counts a request the protocol refused before the model ran (bad body:
  // InvalidArgument; not ready: Unavailable).
  static void CountRefusal(const Deployment& d, const Status& why);

  // The deployment, or null.
  std::shared_ptr<const Deployment> Find(const std::string& name) const;
  std::vector<std::shared_ptr<const Deployment>> List() const;

 private:
  std::shared_ptr<const Deployment> Load(const DeploymentSpec& spec, std::string created_by,
                                         int64_t created_micros, Status* error) const;
  DeploymentMetrics MetricsFor(const std::string& name, const std::string& version) const;
  void CollectGauges();

  store::MetadataStore* store_;
  Env* env_;
  SourceResolver resolve_;
  FolderLoader load_;
  metrics::Registry* registry_;
  mutable Mutex mu_;
  std::map<std::string, std::shared_ptr<const Deployment>> deployments_ GUARDED_BY(mu_);
  Mutex change_mu_;  // one change at a time (load, store, publish), without blocking Find
};

// Deployment names: 1-63 characters of [a-z0-9-], starting with a letter
// (they appear in URLs and, on Kubernetes later, in object names).
Status CheckDeploymentName(const std::string& name);

}  // namespace cairn::serving
