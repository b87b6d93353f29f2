// Deployments: named endpoints, each serving one or more variants, each a
// model reference (models:/name/3, models:/name@alias, runs:/id/path, ...)
// with a traffic weight, or a shadow (deployment_spec.h). Kept in the
// metadata store, so they survive restarts; loaded into memory at start and
// on every change.
//
// A variant whose model cannot be loaded stays listed, not ready, with the
// reason, and takes no traffic; a change that fails to load leaves the
// previous model serving.
//
// Thread-safety: all methods are safe to call concurrently. Inference reads
// a snapshot (Find) that stays valid while held, across later changes.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/mutex.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "metrics/metrics.h"
#include "serving/batcher.h"
#include "serving/deployment_spec.h"
#include "serving/feature_source.h"
#include "serving/model_loader.h"
#include "serving/payload_log.h"
#include "serving/traffic.h"
#include "store/metadata_store.h"

namespace cairn::serving {

// Where a model reference points now.
struct ResolvedSource {
  std::string artifact_path;     // the model folder in the artifact store
  std::string registered_model;  // "" unless a registry URI
  std::string version;           // registry version, or ""
  // The reference can point elsewhere later (an alias, a stage, "latest"):
  // Refresh follows it.
  bool moving = false;
  // A registry version's files as registered (what its signature covers).
  std::string storage_location;
  // Instead of a folder: another server's v2 endpoint the variant fronts
  // (external/external_model.h).
  std::string endpoint;
};
using SourceResolver = std::function<StatusOr<ResolvedSource>(const std::string& model_uri)>;
// Loads the model folder `source.artifact_path` (checking it first as the
// server requires, e.g. its signature) for the deployment `spec` (whose
// engine settings, such as python, apply).
using FolderLoader =
    std::function<StatusOr<LoadedModel>(const ResolvedSource& source, const DeploymentSpec& spec)>;

// Prometheus series of one deployment and version, made when it loads so
// requests take no lock to count.
struct DeploymentMetrics {
  metrics::Counter* requests = nullptr;
  metrics::Counter* bad_input = nullptr;  // answered 4xx
  metrics::Counter* not_ready = nullptr;  // answered 503
  metrics::Counter* failed = nullptr;     // the model failed (5xx)
  metrics::Histogram* compute_seconds = nullptr;
  metrics::Histogram* queue_seconds = nullptr;  // waiting in the batch queue
  metrics::Histogram* batch_rows = nullptr;
};

// One variant as inference sees it (part of an immutable Deployment).
struct Variant {
  VariantSpec spec;
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
  // When that load failed (NowMicros): an external endpoint is tried again
  // kEndpointRetryMicros later (a folder's files do not change; an
  // endpoint may come back).
  int64_t failed_micros = 0;
  DeploymentMetrics metrics;  // all null without a metrics registry
  // Live figures, shared by every snapshot of this variant (never null).
  std::shared_ptr<VariantStats> stats = std::make_shared<VariantStats>();
  // Joins requests into batches when the deployment batches (null
  // otherwise); shared by the snapshots that serve the same model.
  std::shared_ptr<Batcher> batcher;

  bool ready() const { return model != nullptr; }
  // Takes live traffic now.
  bool live() const { return ready() && !spec.shadow && spec.weight > 0; }
};

// Where a deployment's canary rollout stands.
struct RolloutState {
  enum class Phase { kNone, kStepping, kWatching, kPromoted, kRolledBack };
  Phase phase = Phase::kNone;
  int step = -1;       // index into the policy's steps while stepping
  std::string reason;  // the last decision's
  int64_t changed_micros = 0;
  // Both variants' counts when the current step began: the judged window.
  TrafficCounts stable_start;
  TrafficCounts canary_start;
};
std::string_view RolloutPhaseName(RolloutState::Phase phase);

// One deployment as inference sees it: immutable.
struct Deployment : std::enable_shared_from_this<Deployment> {
  DeploymentSpec spec;
  std::string created_by;
  int64_t created_micros = 0;
  std::vector<Variant> variants;  // in spec order; the first is the stable one
  RolloutState rollout;
  // Unloaded by request (Triton's repository extension): no model held, not
  // reloaded by Refresh until Reload.
  bool unloaded = false;
  // Unloaded to stay within the memory budget: loaded again by its next
  // request (Deployments::Use).
  bool evicted = false;
  // When a request last used it (Env::NowMicros), shared by its snapshots:
  // the budget unloads the least recently used first.
  std::shared_ptr<std::atomic<int64_t>> last_used = std::make_shared<std::atomic<int64_t>>(0);

  const Variant& primary() const { return variants.front(); }
  // Bytes its loaded models hold.
  uint64_t MemoryBytes() const;
  const Variant* Find(const std::string& variant) const;
  // Some live variant can answer.
  bool ready() const;
  // Why no variant can answer ("" when one can).
  std::string NotReadyReason() const;
};

// How a request asks to be routed (all optional).
struct RouteHints {
  std::string_view version;     // the registry version it wants (v2 /versions/V)
  std::string_view variant;     // the variant an earlier answer named (x-cairn-variant)
  std::string_view sticky_key;  // the value of the deployment's sticky header
};

// A deployment as stored: its spec (the one-variant form for rows written
// before variants existed), who made it and when.
struct StoredDeployment {
  DeploymentSpec spec;
  std::string created_by;
  int64_t created_micros = 0;
  Status spec_error;  // a stored spec that does not read (spec then holds the row's model_uri)
};
// Creates the table if needed and reads every stored deployment, by name.
// Errors: the store's.
StatusOr<std::vector<StoredDeployment>> ReadStoredDeployments(store::MetadataStore* store);

class Deployments {
 public:
  // `registry` (may be null) gets the per-deployment series and gauges.
  Deployments(store::MetadataStore* store, Env* env, SourceResolver resolve, FolderLoader load,
              metrics::Registry* registry = nullptr);
  ~Deployments();

  // Creates the table, loads every stored deployment (failures are kept as
  // not ready, with the reason) and starts the shadow worker. Errors: the
  // store's.
  Status Init();

  // Creates or replaces `spec.name`. Every variant's model is loaded first
  // (a variant whose reference and files did not change keeps its loaded
  // model): InvalidArgument for a bad spec, NotFound / Unimplemented /
  // InvalidArgument from resolving and loading, naming the variant; nothing
  // is stored then, and an existing deployment keeps serving what it served.
  StatusOr<std::shared_ptr<const Deployment>> Deploy(const DeploymentSpec& given,
                                                     const std::string& user);

  // Errors: NotFound naming the deployment.
  Status Remove(const std::string& name);

  // Traffic changes: stored, audited by the caller's write context, and in
  // effect from the next request; no model loads, no request dropped.
  // New weights for the variants named (others keep theirs). Errors:
  // NotFound; InvalidArgument for an unknown variant, a shadow, or weights
  // that leave no live variant with traffic.
  StatusOr<std::shared_ptr<const Deployment>> SetWeights(
      const std::string& name, const std::map<std::string, int64_t>& weights);
  // `variant` takes all the traffic and becomes the stable variant; the
  // other live variants are removed (shadows stay). A rollout in progress
  // ends as promoted.
  StatusOr<std::shared_ptr<const Deployment>> Promote(const std::string& name,
                                                      const std::string& variant);
  // All traffic back to the stable (first) variant; a rollout in progress
  // ends as rolled back, with `reason`.
  StatusOr<std::shared_ptr<const Deployment>> RollBack(const std::string& name,
                                                       const std::string& reason);

  // Triton's repository extension. Unload drops every variant's model
  // (requests get 503 naming the reason) until Reload loads them again from
  // their references. Neither is stored: a restart loads every deployment.
  // Errors: NotFound; Reload as Deploy's loading.
  Status Unload(const std::string& name);
  StatusOr<std::shared_ptr<const Deployment>> Reload(const std::string& name);

  // Re-resolves the variants that follow a moving reference or are not
  // ready, and loads what changed, off the request path: requests go on with
  // the model they have until the new one has loaded, then switch. A version
  // that fails to load leaves the previous one serving, with the reason in
  // failed_reason (tried again only when the reference moves again).
  // Returns how many variants switched models.
  int Refresh();

  // Moves every rollout on by its policy (JudgeCanary): the next step,
  // promotion after the last, or roll back with an alert. Changes are stored
  // and audited as the system's. Returns how many deployments changed.
  int JudgeRollouts();

  // The variant to answer a request: the one serving `hints.version` if
  // given; else the one named by `hints.variant` if it is live; else by
  // weight, drawn from the sticky key when there is one. Errors: NotFound
  // for a version no variant serves; Unavailable when no variant is ready.
  StatusOr<const Variant*> Route(const Deployment& d, const RouteHints& hints) const;

  // Runs `v`'s model on `inputs` (in a batch with other requests when the
  // deployment batches), counting the request, its outcome, its queue and
  // compute time, mirrors the request to `d`'s shadows (off the request
  // path), and writes it to the payload log when sampled. `done` gets the
  // answer exactly once, possibly before this returns, possibly on a batch
  // thread. Unavailable when the batch queue is full or the request waited
  // too long. REQUIRES: v.ready(), v is one of d's variants.
  using PredictDone = std::function<void(StatusOr<std::vector<Tensor>> outputs)>;
  void Predict(std::shared_ptr<const Deployment> d, const Variant& v, std::vector<Tensor> inputs,
               std::string request_id, PredictDone done) const;
  // The same, waiting for the answer.
  StatusOr<std::vector<Tensor>> Predict(const Deployment& d, const Variant& v,
                                        const std::vector<Tensor>& inputs,
                                        std::string_view request_id = {}) const;
  // Per-feature contributions from `v`'s model (ServedModel::Explain),
  // counted as a request of `v`; not mirrored or logged.
  StatusOr<std::vector<Tensor>> Explain(const Variant& v, const std::vector<Tensor>& inputs) const;
  // Counts (and logs, when sampled) a request the protocol refused before
  // the model ran (bad body: InvalidArgument; not ready: Unavailable).
  // `entities`: an enriched request's own inputs, logged with it.
  void Refuse(const Deployment& d, const Variant& v, const Status& why,
              std::string_view request_id = {},
              const std::vector<Tensor>* entities = nullptr) const;

  // Where sampled requests are written (not owned; null: nowhere). Set
  // before requests arrive.
  void SetPayloadLog(PayloadLog* log) { payload_log_ = log; }
  // Where deployments with feature enrichment read features (not owned;
  // null: such deployments are refused). Set before Init.
  void SetFeatureSource(FeatureSource* source) { feature_source_ = source; }
  // An id for a request that brought none: unique in this process, cheap.
  std::string NewRequestId() const;

  // The deployment, or null.
  std::shared_ptr<const Deployment> Find(const std::string& name) const;
  // `found` (from Find), about to answer a request: marked used, and when
  // the memory budget had unloaded it, loaded again first (counted as
  // thrash when that is within a minute of its unloading); returns the
  // snapshot to use (null when it was removed meanwhile). Errors: as
  // Deploy's loading, or ResourceExhausted when it does not fit.
  StatusOr<std::shared_ptr<const Deployment>> Use(std::shared_ptr<const Deployment> found);

  // Multi-model serving within `bytes` of loaded models (0: no budget):
  // past it, loading a model unloads the least recently used deployments
  // that are not pinned. Set before Init.
  void SetMemoryBudget(uint64_t bytes) { memory_budget_ = bytes; }
  std::vector<std::shared_ptr<const Deployment>> List() const;

 private:
  // Puts a freshly loaded model into `v` (named as it will serve): its
  // source, engine facts and series; clears any earlier failure.
  void Install(Variant& v, const std::string& deployment, ResolvedSource source,
               LoadedModel loaded) const;
  Variant LoadVariant(const DeploymentSpec& deployment, const VariantSpec& spec,
                      const Deployment* previous, Status* error) const;
  std::shared_ptr<Deployment> LoadDeployment(const DeploymentSpec& spec, std::string created_by,
                                             int64_t created_micros, const Deployment* previous,
                                             Status* error) const;
  DeploymentMetrics MetricsFor(const std::string& name, const std::string& variant,
                               const std::string& version) const;
  void CollectGauges();
  // Puts `d` (two live variants, a rollout policy) at its rollout's start:
  // the first step's weights (or watching, without steps), counts from now.
  void BeginRollout(Deployment& d, int64_t now) const;
  // For deployments that follow a reference: when it has moved to a version
  // no variant serves, loads it and makes it the canary. Returns how many
  // canaries started.
  int FollowMovedReferences();
  // Unloads least recently used deployments (not pinned, not `except`)
  // until `needed` more bytes fit the budget. Errors: ResourceExhausted
  // naming the budget when they cannot. REQUIRES: change_mu_ held.
  Status MakeRoom(uint64_t needed, const std::string& except) REQUIRES(change_mu_);
  // Loads `current` again from its spec (Reload, and Use after eviction).
  StatusOr<std::shared_ptr<Deployment>> LoadAgain(const Deployment& current) REQUIRES(change_mu_);
  // Stores `next`'s spec and publishes it. REQUIRES: change_mu_ held.
  Status StoreAndPublish(std::shared_ptr<Deployment> next) REQUIRES(change_mu_);
  // A traffic change on the current deployment `name`, by `change`.
  StatusOr<std::shared_ptr<const Deployment>> ChangeTraffic(
      const std::string& name, const std::function<Status(Deployment&)>& change);
  void Mirror(const Deployment& d, const Variant& live, const std::vector<Tensor>& inputs,
              const std::vector<Tensor>& outputs, std::string_view request_id, bool logged,
              const std::vector<Tensor>* entities) const;
  // Predict once the model's inputs are complete (after enrichment).
  // `entities`: the request's own inputs when they were enriched (logged
  // with the payload), else null.
  void RunModel(std::shared_ptr<const Deployment> d, const Variant& v, std::vector<Tensor> inputs,
                std::string request_id, PredictDone done,
                std::shared_ptr<const std::vector<Tensor>> entities = nullptr) const;
  // A deployment's feature enrichment can run: the service exists and
  // every live variant's model names its inputs. Errors: FailedPrecondition
  // without a feature store; NotFound; InvalidArgument naming the variant.
  Status CheckEnrichment(const Deployment& d) const;
  // Accounts for one answered request: counts, live figures, payload log,
  // shadows.
  void Finish(const Deployment& d, const Variant& v, std::string_view request_id,
              const std::vector<Tensor>& inputs, const StatusOr<std::vector<Tensor>>& out,
              const BatchFacts& facts, const std::vector<Tensor>* entities = nullptr) const;
  // Publishes `next` as the deployment of its name, with batchers made for
  // the variants whose model or batching changed.
  void Publish(std::shared_ptr<Deployment> next);
  bool Sampled(const Deployment& d) const;
  void Log(const Deployment& d, const Variant& v, std::string_view request_id,
           const Status& outcome, int64_t nanos, const std::vector<Tensor>& inputs,
           const std::vector<Tensor>* outputs, const std::vector<Tensor>* entities = nullptr) const;

  store::MetadataStore* store_;
  Env* env_;
  SourceResolver resolve_;
  FolderLoader load_;
  metrics::Registry* registry_;
  metrics::Counter* rollbacks_ = nullptr;
  metrics::Counter* evictions_ = nullptr;
  metrics::Counter* thrash_ = nullptr;
  uint64_t memory_budget_ = 0;
  PayloadLog* payload_log_ = nullptr;
  FeatureSource* feature_source_ = nullptr;
  const std::string request_id_prefix_;
  mutable std::atomic<uint64_t> request_ids_{0};
  mutable Mutex mu_;
  std::map<std::string, std::shared_ptr<const Deployment>> deployments_ GUARDED_BY(mu_);
  Mutex change_mu_;  // one change at a time (load, store, publish), without blocking Find
  // When each deployment was last unloaded for the budget (thrash: loaded
  // again soon after).
  std::map<std::string, int64_t> evicted_at_ GUARDED_BY(change_mu_);
  // Shadow requests waiting or running; beyond kMaxShadowQueue they are dropped.
  static constexpr int kMaxShadowQueue = 256;
  mutable std::atomic<int> shadow_queue_{0};
  std::unique_ptr<ThreadPool> shadow_pool_;  // stops (and joins) before the batches
  // Threads for batches off the request path and for models that wait on
  // worker processes (most of the time they wait, not compute).
  static constexpr int kBatchThreads = 32;
  // Runs batches whose delay ended; last: stops first, answering every
  // queued request.
  std::unique_ptr<BatchScheduler> batch_scheduler_;
};

}  // namespace cairn::serving
