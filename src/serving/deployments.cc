#include "serving/deployments.h"

#include <algorithm>
#include <cmath>

#include "core/log.h"
#include "store/write_context.h"

namespace cairn::serving {

using store::SqlRows;
using store::SqlSession;

std::string_view RolloutPhaseName(RolloutState::Phase phase) {
  switch (phase) {
    case RolloutState::Phase::kNone:
      return "none";
    case RolloutState::Phase::kStepping:
      return "stepping";
    case RolloutState::Phase::kWatching:
      return "watching";
    case RolloutState::Phase::kPromoted:
      return "promoted";
    case RolloutState::Phase::kRolledBack:
      return "rolled_back";
  }
  return "?";
}

const Variant* Deployment::Find(const std::string& variant) const {
  for (const Variant& v : variants) {
    if (v.spec.name == variant) return &v;
  }
  return nullptr;
}

uint64_t Deployment::MemoryBytes() const {
  uint64_t bytes = 0;
  for (const Variant& v : variants) {
    if (v.ready()) bytes += v.model->MemoryBytes();
  }
  return bytes;
}

bool Deployment::ready() const {
  for (const Variant& v : variants) {
    if (v.live()) return true;
  }
  return false;
}

std::string Deployment::NotReadyReason() const {
  if (ready()) return "";
  std::string reasons;
  for (const Variant& v : variants) {
    if (v.spec.shadow || v.spec.weight == 0) continue;
    if (!reasons.empty()) reasons += "; ";
    if (variants.size() > 1) reasons += "variant '" + v.spec.name + "': ";
    reasons += v.reason;
  }
  return reasons;
}

Deployments::Deployments(store::MetadataStore* store, Env* env, SourceResolver resolve,
                         FolderLoader load, metrics::Registry* registry)
    : store_(store),
      env_(env),
      resolve_(std::move(resolve)),
      load_(std::move(load)),
      registry_(registry),
      request_id_prefix_(env->RandomHex(6) + "-") {
  if (registry_ != nullptr) {
    registry_->AddCollector([this] { CollectGauges(); });
    rollbacks_ = registry_->GetCounter(
        "cairn_serving_rollbacks_total",
        "Canaries rolled back automatically because they did worse than the stable variant");
    evictions_ = registry_->GetCounter(
        "cairn_serving_evictions_total",
        "Deployments unloaded to stay within the memory budget (--serving-memory-mb)");
    thrash_ = registry_->GetCounter(
        "cairn_serving_thrash_total",
        "Deployments loaded again within a minute of being unloaded for the memory budget: "
        "the budget is too small for the models in use");
  }
}

Deployments::~Deployments() {
  // Queued batches run (and may mirror to shadows) before the shadow worker stops.
  batch_scheduler_.reset();
  shadow_pool_.reset();
}

DeploymentMetrics Deployments::MetricsFor(const std::string& name, const std::string& variant,
                                          const std::string& version) const {
  DeploymentMetrics m;
  if (registry_ == nullptr) return m;
  metrics::Labels labels = {{"deployment", name}, {"variant", variant}, {"version", version}};
  m.requests = registry_->GetCounter("cairn_serving_requests_total",
                                     "Inference requests a deployment answered", labels);
  auto errors = [&](const char* reason) {
    metrics::Labels l = labels;
    l.emplace_back("reason", reason);
    return registry_->GetCounter(
        "cairn_serving_errors_total",
        "Inference requests that failed, by reason (bad_input, not_ready, model)", l);
  };
  m.bad_input = errors("bad_input");
  m.not_ready = errors("not_ready");
  m.failed = errors("model");
  m.compute_seconds = registry_->GetHistogram(
      "cairn_serving_compute_seconds", "Time the model took per request (seconds)", labels,
      {5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 0.025, 0.1, 1});
  m.queue_seconds = registry_->GetHistogram(
      "cairn_serving_queue_seconds", "Time a request waited in its deployment's batch queue",
      labels, {1e-6, 1e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.025, 0.1, 1});
  m.batch_rows = registry_->GetHistogram("cairn_serving_batch_rows", "Rows per model call", labels,
                                         {1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096});
  return m;
}

void Deployments::CollectGauges() {
  int loaded = 0;
  uint64_t total = 0;
  for (const auto& d : List()) {
    total += d->MemoryBytes();
    for (const Variant& v : d->variants) {
      if (!v.ready()) continue;
      ++loaded;
      registry_
          ->GetGauge("cairn_serving_model_bytes", "Bytes a deployment's loaded model holds",
                     {{"deployment", d->spec.name},
                      {"variant", v.spec.name},
                      {"version", v.source.version}})
          ->Set(static_cast<double>(v.model->MemoryBytes()));
    }
  }
  registry_->GetGauge("cairn_serving_loaded_models", "Variants with a model loaded")->Set(loaded);
  registry_->GetGauge("cairn_serving_memory_bytes", "Bytes all loaded models hold")
      ->Set(static_cast<double>(total));
  registry_
      ->GetGauge("cairn_serving_memory_budget_bytes",
                 "The loaded models' budget (--serving-memory-mb; 0: none)")
      ->Set(static_cast<double>(memory_budget_));
}

StatusOr<const Variant*> Deployments::Route(const Deployment& d, const RouteHints& hints) const {
  if (!hints.version.empty()) {
    std::string served;
    for (const Variant& v : d.variants) {
      if (v.spec.shadow || !v.ready()) continue;
      if (v.source.version == hints.version) return &v;
      if (!v.source.version.empty()) served += (served.empty() ? "" : ", ") + v.source.version;
    }
    return NotFound("deployment '" + d.spec.name + "' serves " +
                    (served.empty() ? std::string("no registry version") : "version " + served) +
                    ", not " + std::string(hints.version));
  }
  if (!hints.variant.empty()) {
    for (const Variant& v : d.variants) {
      if (v.spec.name == hints.variant && v.live()) return &v;
    }
  }
  int64_t weights[kMaxVariants];
  const size_t n = std::min(d.variants.size(), kMaxVariants);
  for (size_t i = 0; i < n; ++i) weights[i] = d.variants[i].live() ? d.variants[i].spec.weight : 0;
  const uint64_t draw = hints.sticky_key.empty() ? RandomDraw() : StickyDraw(hints.sticky_key);
  const int chosen = PickByWeight(std::span<const int64_t>(weights, n), draw);
  if (chosen < 0) {
    return Unavailable("deployment '" + d.spec.name + "' is not ready: " + d.NotReadyReason());
  }
  return &d.variants[static_cast<size_t>(chosen)];
}

std::string Deployments::NewRequestId() const {
  return request_id_prefix_ + std::to_string(request_ids_.fetch_add(1, std::memory_order_relaxed));
}

bool Deployments::Sampled(const Deployment& d) const {
  if (payload_log_ == nullptr || d.spec.log_percent <= 0) return false;
  if (d.spec.log_percent >= 100) return true;
  // Draws in millionths of the requests.
  return static_cast<double>(RandomDraw() % 100'000'000) < d.spec.log_percent * 1'000'000;
}

void Deployments::Log(const Deployment& d, const Variant& v, std::string_view request_id,
                      const Status& outcome, int64_t nanos, const std::vector<Tensor>& inputs,
                      const std::vector<Tensor>* outputs,
                      const std::vector<Tensor>* entities) const {
  PayloadView record;
  record.time_micros = env_->NowMicros();
  record.deployment = d.spec.name;
  record.variant = v.spec.name;
  record.model_version = v.source.version;
  record.request_id = request_id;
  record.shadow = v.spec.shadow;
  record.outcome = &outcome;
  record.latency_nanos = nanos;
  record.inputs = &inputs;
  record.outputs = outputs;
  record.entities = entities;
  payload_log_->Append(record);
}

void Deployments::Finish(const Deployment& d, const Variant& v, std::string_view request_id,
                         const std::vector<Tensor>& inputs,
                         const StatusOr<std::vector<Tensor>>& out, const BatchFacts& facts,
                         const std::vector<Tensor>* entities) const {
  const int64_t took = facts.queue_nanos + facts.compute_nanos;
  const bool bad_input = !out.ok() && out.status().code() == StatusCode::kInvalidArgument;
  // The caller's bad input says nothing about the model: rollouts judge the rest.
  if (!bad_input) v.stats->Record(took, !out.ok());
  if (v.metrics.requests != nullptr) {
    v.metrics.requests->Inc();
    v.metrics.compute_seconds->Observe(static_cast<double>(facts.compute_nanos) / 1e9);
    if (v.batcher != nullptr) {
      v.metrics.queue_seconds->Observe(static_cast<double>(facts.queue_nanos) / 1e9);
    }
    if (facts.first && facts.batch_rows > 0) {
      v.metrics.batch_rows->Observe(static_cast<double>(facts.batch_rows));
    }
    if (!out.ok()) {
      (bad_input                                         ? v.metrics.bad_input
       : out.status().code() == StatusCode::kUnavailable ? v.metrics.not_ready
                                                         : v.metrics.failed)
          ->Inc();
    }
  }
  const bool logged = Sampled(d);
  if (logged) {
    Log(d, v, request_id, out.status(), took, inputs, out.ok() ? &*out : nullptr, entities);
  }
  if (out.ok() && !v.spec.shadow) Mirror(d, v, inputs, *out, request_id, logged, entities);
}

void Deployments::Predict(std::shared_ptr<const Deployment> d, const Variant& v,
                          std::vector<Tensor> inputs, std::string request_id,
                          PredictDone done) const {
  if (!d->spec.features) {
    return RunModel(std::move(d), v, std::move(inputs), std::move(request_id), std::move(done));
  }
  if (feature_source_ == nullptr) {
    Status missing = FailedPrecondition("this server has no feature store for deployment '" +
                                        d->spec.name + "' to read features from");
    Refuse(*d, v, missing, request_id);
    return done(missing);
  }
  const FeatureEnrichment& spec = *d->spec.features;
  const std::vector<std::string>& columns = v.model->metadata().feature_names;
  // The request's own inputs go to the payload log beside the model's.
  std::shared_ptr<const std::vector<Tensor>> entities;
  if (payload_log_ != nullptr && d->spec.log_percent > 0) {
    entities = std::make_shared<const std::vector<Tensor>>(inputs);
  }
  feature_source_->Enrich(
      spec, columns, std::move(inputs),
      [this, d = std::move(d), &v, request_id = std::move(request_id), done = std::move(done),
       entities = std::move(entities)](StatusOr<std::vector<Tensor>> enriched) mutable {
        if (!enriched.ok()) {
          Refuse(*d, v, enriched.status(), request_id, entities.get());
          return done(enriched.status());
        }
        RunModel(std::move(d), v, std::move(*enriched), std::move(request_id), std::move(done),
                 std::move(entities));
      });
}

void Deployments::RunModel(std::shared_ptr<const Deployment> d, const Variant& v,
                           std::vector<Tensor> inputs, std::string request_id, PredictDone done,
                           std::shared_ptr<const std::vector<Tensor>> entities) const {
  if (v.batcher != nullptr) {
    v.batcher->Submit(std::move(inputs),
                      [this, d = std::move(d), &v, request_id = std::move(request_id),
                       done = std::move(done), entities = std::move(entities)](
                          const std::vector<Tensor>& given, StatusOr<std::vector<Tensor>> out,
                          const BatchFacts& facts) {
                        Finish(*d, v, request_id, given, out, facts, entities.get());
                        done(std::move(out));
                      });
    return;
  }
  auto run = [this, d = std::move(d), &v, inputs = std::move(inputs),
              request_id = std::move(request_id), done = std::move(done),
              entities = std::move(entities)]() {
    BatchFacts facts;
    facts.first = true;
    const int64_t start = env_->MonotonicNanos();
    StatusOr<std::vector<Tensor>> out = v.model->Predict(inputs);
    facts.compute_nanos = env_->MonotonicNanos() - start;
    facts.batch_rows = RowsOf(inputs);
    Finish(*d, v, request_id, inputs, out, facts, entities.get());
    done(std::move(out));
  };
  // A model that waits on a worker process runs off the IO thread.
  if (v.model->blocking() && batch_scheduler_ != nullptr) return batch_scheduler_->Post(run);
  run();
}

StatusOr<std::vector<Tensor>> Deployments::Predict(const Deployment& d, const Variant& v,
                                                   const std::vector<Tensor>& inputs,
                                                   std::string_view request_id) const {
  Mutex mu;
  CondVar answered(&mu);
  std::optional<StatusOr<std::vector<Tensor>>> answer;
  Predict(d.shared_from_this(), v, inputs, std::string(request_id),
          [&](StatusOr<std::vector<Tensor>> out) {
            MutexLock lock(&mu);
            answer = std::move(out);
            answered.Signal();
          });
  MutexLock lock(&mu);
  while (!answer) answered.Wait();
  return std::move(*answer);
}

StatusOr<std::vector<Tensor>> Deployments::Explain(const Variant& v,
                                                   const std::vector<Tensor>& inputs) const {
  const int64_t start = env_->MonotonicNanos();
  StatusOr<std::vector<Tensor>> out = v.model->Explain(inputs);
  if (v.metrics.requests != nullptr) {
    v.metrics.requests->Inc();
    v.metrics.compute_seconds->Observe(static_cast<double>(env_->MonotonicNanos() - start) / 1e9);
    if (!out.ok()) {
      (out.status().code() == StatusCode::kInvalidArgument ? v.metrics.bad_input : v.metrics.failed)
          ->Inc();
    }
  }
  return out;
}

namespace {

// Compares a shadow's first output with the live one's: elements compared,
// their summed absolute difference, and whether all agree (to float noise).
struct Comparison {
  bool equal = false;
  double abs_diff = 0;
  int64_t elements = 0;
};
Comparison Compare(const std::vector<Tensor>& live, const std::vector<Tensor>& shadow) {
  Comparison c;
  if (live.empty() || shadow.empty()) return c;
  const Tensor& a = live.front();
  const Tensor& b = shadow.front();
  if (a.shape != b.shape || (a.datatype == DataType::kBytes) != (b.datatype == DataType::kBytes)) {
    return c;
  }
  if (a.datatype == DataType::kBytes) {
    c.equal = a.bytes == b.bytes;
    return c;
  }
  const size_t n = std::min(a.Size(), b.Size());
  c.equal = a.Size() == b.Size();
  for (size_t i = 0; i < n; ++i) {
    const double x = a.FloatAt(i);
    const double y = b.FloatAt(i);
    const double diff = std::fabs(x - y);
    c.abs_diff += diff;
    if (diff > 1e-6 * std::max(1.0, std::fabs(x))) c.equal = false;
  }
  c.elements = static_cast<int64_t>(n);
  return c;
}

}  // namespace

void Deployments::Mirror(const Deployment& d, const Variant& live,
                         const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
                         std::string_view request_id, bool logged,
                         const std::vector<Tensor>* entities) const {
  if (shadow_pool_ == nullptr) return;
  // Copied once for every shadow, only when logged.
  std::shared_ptr<const std::vector<Tensor>> kept_entities =
      logged && entities != nullptr ? std::make_shared<const std::vector<Tensor>>(*entities)
                                    : nullptr;
  for (size_t i = 0; i < d.variants.size(); ++i) {
    const Variant& shadow = d.variants[i];
    if (!shadow.spec.shadow || !shadow.ready() || &shadow == &live) continue;
    if (PickByWeight(
            std::array<int64_t, 2>{shadow.spec.mirror_percent, 100 - shadow.spec.mirror_percent},
            RandomDraw()) != 0) {
      continue;
    }
    // Bounded: a slow shadow loses copies, never slows the live answer.
    if (shadow_queue_.fetch_add(1, std::memory_order_relaxed) >= kMaxShadowQueue) {
      shadow_queue_.fetch_sub(1, std::memory_order_relaxed);
      shadow.stats->RecordMirror(/*dropped=*/true);
      continue;
    }
    shadow.stats->RecordMirror(/*dropped=*/false);
    shadow_pool_->Post([this, keep = d.shared_from_this(), i, inputs, outputs, logged,
                        id = std::string(request_id), kept_entities] {
      const Variant& s = keep->variants[i];
      const int64_t start = env_->MonotonicNanos();
      StatusOr<std::vector<Tensor>> answer = s.model->Predict(inputs);
      const int64_t took = env_->MonotonicNanos() - start;
      s.stats->Record(took, !answer.ok());
      if (s.metrics.requests != nullptr) {
        s.metrics.requests->Inc();
        s.metrics.compute_seconds->Observe(static_cast<double>(took) / 1e9);
        if (!answer.ok()) s.metrics.failed->Inc();
      }
      if (logged) {
        Log(*keep, s, id, answer.status(), took, inputs, answer.ok() ? &*answer : nullptr,
            kept_entities.get());
      }
      if (answer.ok()) {
        Comparison c = Compare(outputs, *answer);
        s.stats->RecordComparison(false, c.equal, c.abs_diff, c.elements);
      } else {
        s.stats->RecordComparison(true, false, 0, 0);
      }
      shadow_queue_.fetch_sub(1, std::memory_order_relaxed);
    });
  }
}

void Deployments::Refuse(const Deployment& d, const Variant& v, const Status& why,
                         std::string_view request_id, const std::vector<Tensor>* entities) const {
  if (v.metrics.requests != nullptr) {
    v.metrics.requests->Inc();
    (why.code() == StatusCode::kUnavailable ? v.metrics.not_ready : v.metrics.bad_input)->Inc();
  }
  if (Sampled(d)) Log(d, v, request_id, why, 0, {}, nullptr, entities);
}

void Deployments::BeginRollout(Deployment& d, int64_t now) const {
  const RolloutPolicy& policy = *d.spec.rollout;
  RolloutState& r = d.rollout;
  if (!policy.steps.empty()) {
    d.spec.variants[0].weight = 100 - policy.steps[0];
    d.spec.variants[1].weight = policy.steps[0];
    d.variants[0].spec.weight = d.spec.variants[0].weight;
    d.variants[1].spec.weight = d.spec.variants[1].weight;
  }
  r.phase = policy.steps.empty() ? RolloutState::Phase::kWatching : RolloutState::Phase::kStepping;
  r.step = policy.steps.empty() ? -1 : 0;
  r.reason = "rollout of '" + d.variants[1].spec.name + "' started";
  r.changed_micros = now;
  r.stable_start = d.variants[0].stats->Snapshot();
  r.canary_start = d.variants[1].stats->Snapshot();
}

namespace {

// A rollout's state for a spec read back from the store: where its weights
// say it stood (the counts start again from zero).
RolloutState RolloutFromWeights(const DeploymentSpec& spec) {
  RolloutState state;
  if (!spec.rollout || spec.variants.size() < 2) return state;
  const int64_t canary = spec.variants[1].weight;
  const std::vector<int>& steps = spec.rollout->steps;
  if (canary == 0) {
    state.phase = RolloutState::Phase::kRolledBack;
    state.reason = "rolled back before the server restarted";
    return state;
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i] == canary && spec.variants[0].weight == 100 - canary) {
      state.phase = RolloutState::Phase::kStepping;
      state.step = static_cast<int>(i);
      return state;
    }
  }
  state.phase = RolloutState::Phase::kWatching;
  return state;
}

}  // namespace

StatusOr<std::vector<StoredDeployment>> ReadStoredDeployments(store::MetadataStore* store) {
  std::vector<store::Migration> migrations = {
      store::DdlMigration(1, "serving deployments", R"sql(
CREATE TABLE serving_deployments (
  name TEXT PRIMARY KEY,
  model_uri TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_time BIGINT NOT NULL
);
)sql"),
      // The whole spec (variants, weights, rollout) as its JSON form;
      // model_uri stays the first variant's, for readers of the table.
      store::DdlMigration(2, "deployment variants", R"sql(
ALTER TABLE serving_deployments ADD COLUMN spec TEXT NOT NULL DEFAULT ''
)sql")};
  RETURN_IF_ERROR(store->Migrate("serving", migrations));
  std::vector<StoredDeployment> out;
  RETURN_IF_ERROR(store->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows r, db.Query("SELECT name, model_uri, created_by, created_time, spec "
                                         "FROM serving_deployments ORDER BY name"));
    for (size_t i = 0; i < r.size(); ++i) {
      StoredDeployment d;
      d.created_by = r.Text(i, 2);
      d.created_micros = r.Int(i, 3);
      const std::string& spec = r.Text(i, 4);
      StatusOr<DeploymentSpec> parsed = spec.empty()
                                            ? DeploymentSpec::Single(r.Text(i, 0), r.Text(i, 1))
                                            : ParseDeploymentSpec(spec);
      if (parsed.ok()) {
        d.spec = std::move(*parsed);
      } else {
        // Written by a newer Cairn, or edited by hand: listed, never served.
        d.spec = DeploymentSpec::Single(r.Text(i, 0), r.Text(i, 1));
        d.spec_error = parsed.status();
      }
      out.push_back(std::move(d));
    }
    return Status::Ok();
  }));
  return out;
}

Status Deployments::Init() {
  ASSIGN_OR_RETURN(std::vector<StoredDeployment> rows, ReadStoredDeployments(store_));
  StatusOr<std::unique_ptr<BatchScheduler>> scheduler = BatchScheduler::Start(env_, kBatchThreads);
  if (scheduler.ok()) {
    batch_scheduler_ = std::move(*scheduler);
  } else {
    LogWarn("no batch threads: deployments answer request by request, without batching",
            {{"error", scheduler.status().message()}});
  }
  for (StoredDeployment& row : rows) {
    Status error;
    std::shared_ptr<Deployment> deployment =
        LoadDeployment(row.spec, row.created_by, row.created_micros, nullptr, &error);
    if (row.spec_error.ok()) {
      deployment->rollout = RolloutFromWeights(row.spec);
    } else {
      for (Variant& v : deployment->variants) {
        v.model.reset();
        v.reason = "the stored spec does not read: " + row.spec_error.message();
      }
    }
    const uint64_t bytes = deployment->MemoryBytes();
    Publish(std::move(deployment));
    MutexLock change(&change_mu_);
    if (Status room = MakeRoom(bytes, row.spec.name); !room.ok()) {
      LogWarn("the stored deployments do not fit the memory budget", {{"error", room.message()}});
    }
  }
  StatusOr<std::unique_ptr<ThreadPool>> pool = ThreadPool::Start(env_, 1, "shadow");
  if (pool.ok()) {
    shadow_pool_ = std::move(*pool);
  } else {
    LogWarn("no shadow worker: shadow variants will see no traffic",
            {{"error", pool.status().message()}});
  }
  return Status::Ok();
}

void Deployments::Install(Variant& v, const std::string& deployment, ResolvedSource source,
                          LoadedModel loaded) const {
  v.source = std::move(source);
  v.model = std::move(loaded.model);
  v.flavor = loaded.flavor;
  v.signature_inputs = loaded.mlmodel.inputs;
  v.metrics = MetricsFor(deployment, v.spec.name, v.source.version);
  v.reason.clear();
  v.failed_path.clear();
  v.failed_reason.clear();
  v.loaded_micros = env_->NowMicros();
}

namespace {
// A change the server makes on its own (a rollout step, a followed
// reference moving), audited like a user's, as user "cairn".
std::shared_ptr<store::WriteContext> SystemChange(std::string action, const std::string& deployment,
                                                  std::string why) {
  auto context = std::make_shared<store::WriteContext>();
  context->user = "cairn";
  context->action = std::move(action);
  context->target = "deployment " + deployment;
  context->request = std::move(why);
  return context;
}
}  // namespace

Variant Deployments::LoadVariant(const DeploymentSpec& deployment, const VariantSpec& spec,
                                 const Deployment* previous, Status* error) const {
  Variant v;
  v.spec = spec;
  StatusOr<ResolvedSource> source = resolve_(spec.model_uri);
  if (!source.ok()) {
    *error = source.status();
    v.reason = source.status().message();
    return v;
  }
  // The same files already loaded under this variant: keep them (and the
  // live figures), so a redeploy that changes weights loads nothing.
  if (const Variant* was = previous ? previous->Find(spec.name) : nullptr;
      was != nullptr && was->ready() && was->spec.model_uri == spec.model_uri &&
      previous->spec.python == deployment.python &&
      was->source.artifact_path == source->artifact_path &&
      was->source.version == source->version) {
    Variant kept = *was;
    kept.spec = spec;
    *error = Status::Ok();
    return kept;
  }
  StatusOr<LoadedModel> loaded = load_(*source, deployment);
  if (!loaded.ok()) {
    *error = loaded.status();
    v.reason = loaded.status().message();
    return v;
  }
  Install(v, deployment.name, std::move(*source), std::move(*loaded));
  *error = Status::Ok();
  return v;
}

std::shared_ptr<Deployment> Deployments::LoadDeployment(const DeploymentSpec& spec,
                                                        std::string created_by,
                                                        int64_t created_micros,
                                                        const Deployment* previous,
                                                        Status* error) const {
  auto d = std::make_shared<Deployment>();
  d->spec = spec;
  d->created_by = std::move(created_by);
  d->created_micros = created_micros;
  *error = Status::Ok();
  for (const VariantSpec& vs : spec.variants) {
    Status variant_error;
    d->variants.push_back(LoadVariant(spec, vs, previous, &variant_error));
    if (!variant_error.ok() && error->ok()) {
      *error = spec.variants.size() == 1
                   ? variant_error
                   : Status(variant_error.code(),
                            "variant '" + vs.name + "': " + variant_error.message());
    }
  }
  return d;
}

Status Deployments::CheckEnrichment(const Deployment& d) const {
  if (!d.spec.features) return Status::Ok();
  if (feature_source_ == nullptr) {
    return FailedPrecondition(
        "deployment '" + d.spec.name +
        "' asks for feature enrichment, but this server has no feature store");
  }
  RETURN_IF_ERROR(feature_source_->CheckService(d.spec.features->service));
  for (const Variant& v : d.variants) {
    if (v.ready() && v.model->metadata().feature_names.empty()) {
      return InvalidArgument(
          "variant '" + v.spec.name +
          "': feature enrichment gives a model its inputs by name, and this model names none "
          "(log it with a signature naming its columns)");
    }
  }
  return Status::Ok();
}

StatusOr<std::shared_ptr<const Deployment>> Deployments::Deploy(const DeploymentSpec& given,
                                                                const std::string& user) {
  RETURN_IF_ERROR(CheckDeploymentSpec(given));
  DeploymentSpec spec = given;
  MutexLock change(&change_mu_);
  const int64_t now = env_->NowMicros();
  if (!spec.follow.empty() && spec.variants.empty()) {
    // Serve the version the reference names now, pinned: its next version
    // is rolled out when it moves.
    ASSIGN_OR_RETURN(ResolvedSource now_source, resolve_(spec.follow));
    if (now_source.registered_model.empty() || now_source.version.empty()) {
      return InvalidArgument("follow '" + spec.follow +
                             "' must name registry versions: models:/NAME@ALIAS, "
                             "models:/NAME/STAGE or models:/NAME/latest");
    }
    spec.variants.push_back(
        {"primary", "models:/" + now_source.registered_model + "/" + now_source.version, 100});
  }
  Status error;
  std::shared_ptr<const Deployment> previous = Find(spec.name);
  std::shared_ptr<Deployment> deployment = LoadDeployment(spec, user, now, previous.get(), &error);
  RETURN_IF_ERROR(error);
  RETURN_IF_ERROR(CheckEnrichment(*deployment));
  if (previous != nullptr) deployment->last_used = previous->last_used;
  deployment->last_used->store(now, std::memory_order_relaxed);
  RETURN_IF_ERROR(MakeRoom(deployment->MemoryBytes(), spec.name));
  // A rollout starts at its first step whatever weights were given.
  if (spec.rollout && spec.variants.size() >= 2) {
    BeginRollout(*deployment, now);
    spec = deployment->spec;
  }
  const std::string spec_json = DeploymentSpecJson(spec);
  RETURN_IF_ERROR(store_->Write([&](SqlSession& db) -> Status {
    return db
        .Execute(
            "INSERT INTO serving_deployments (name, model_uri, created_by, created_time, spec) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET model_uri = "
            "excluded.model_uri, created_by = excluded.created_by, created_time = "
            "excluded.created_time, spec = excluded.spec",
            {spec.name, spec.variants[0].model_uri, user, now, spec_json})
        .status();
  }));
  Publish(deployment);
  return std::shared_ptr<const Deployment>(deployment);
}

Status Deployments::Remove(const std::string& name) {
  MutexLock change(&change_mu_);
  {
    MutexLock lock(&mu_);
    if (!deployments_.contains(name)) return NotFound("no deployment named '" + name + "'");
  }
  RETURN_IF_ERROR(store_->Write([&](SqlSession& db) -> Status {
    return db.Execute("DELETE FROM serving_deployments WHERE name = ?", {name}).status();
  }));
  MutexLock lock(&mu_);
  deployments_.erase(name);
  return Status::Ok();
}

void Deployments::Publish(std::shared_ptr<Deployment> next) {
  for (Variant& v : next->variants) {
    const std::optional<BatchingPolicy>& policy = next->spec.batching;
    if (!policy || !v.ready() || v.spec.shadow || batch_scheduler_ == nullptr) {
      v.batcher.reset();
    } else if (v.batcher == nullptr || v.batcher->model() != v.model.get() ||
               !(v.batcher->policy() == *policy)) {
      // Requests queued in a batcher replaced here are still answered by it.
      v.batcher =
          std::make_shared<Batcher>(*policy, v.model, batch_scheduler_.get(), env_,
                                    /*run_inline=*/!v.model->blocking(), v.model->concurrency());
    }
  }
  MutexLock lock(&mu_);
  deployments_[next->spec.name] = std::move(next);
}

Status Deployments::StoreAndPublish(std::shared_ptr<Deployment> next) {
  const std::string spec_json = DeploymentSpecJson(next->spec);
  RETURN_IF_ERROR(store_->Write([&](SqlSession& db) -> Status {
    return db
        .Execute("UPDATE serving_deployments SET model_uri = ?, spec = ? WHERE name = ?",
                 {next->spec.variants[0].model_uri, spec_json, next->spec.name})
        .status();
  }));
  Publish(std::move(next));
  return Status::Ok();
}

StatusOr<std::shared_ptr<const Deployment>> Deployments::ChangeTraffic(
    const std::string& name, const std::function<Status(Deployment&)>& change) {
  MutexLock lock(&change_mu_);
  std::shared_ptr<const Deployment> current = Find(name);
  if (current == nullptr) return NotFound("no deployment named '" + name + "'");
  auto next = std::make_shared<Deployment>(*current);
  RETURN_IF_ERROR(change(*next));
  for (Variant& v : next->variants) v.spec = *next->spec.Find(v.spec.name);
  RETURN_IF_ERROR(CheckDeploymentSpec(next->spec));
  RETURN_IF_ERROR(StoreAndPublish(next));
  return std::shared_ptr<const Deployment>(next);
}

StatusOr<std::shared_ptr<const Deployment>> Deployments::SetWeights(
    const std::string& name, const std::map<std::string, int64_t>& weights) {
  return ChangeTraffic(name, [&](Deployment& d) -> Status {
    for (const auto& [variant, weight] : weights) {
      VariantSpec* v = d.spec.Find(variant);
      if (v == nullptr) {
        return InvalidArgument("deployment '" + name + "' has no variant '" + variant + "'");
      }
      if (v->shadow) {
        return InvalidArgument("variant '" + variant +
                               "' is a shadow: it takes no traffic; promote it instead");
      }
      v->weight = weight;
    }
    if (d.rollout.phase == RolloutState::Phase::kStepping) {
      // Weights set by hand end the automatic steps; rollback still watches.
      d.rollout.phase = RolloutState::Phase::kWatching;
      d.rollout.reason = "weights set by hand";
      d.rollout.changed_micros = env_->NowMicros();
    }
    return Status::Ok();
  });
}

StatusOr<std::shared_ptr<const Deployment>> Deployments::Promote(const std::string& name,
                                                                 const std::string& variant) {
  return ChangeTraffic(name, [&](Deployment& d) -> Status {
    const Variant* chosen = d.Find(variant);
    if (chosen == nullptr) {
      return InvalidArgument("deployment '" + name + "' has no variant '" + variant + "'");
    }
    if (!chosen->ready()) {
      return FailedPrecondition("variant '" + variant + "' is not ready (" + chosen->reason +
                                "); it cannot take the traffic");
    }
    std::vector<Variant> kept;
    kept.push_back(*chosen);
    kept.back().spec.shadow = false;
    kept.back().spec.weight = 100;
    if (!d.spec.follow.empty() && kept.back().spec.name != d.variants[0].spec.name) {
      // Following a reference, the stable variant keeps its name; the next
      // version is the canary again.
      kept.back().spec.name = d.variants[0].spec.name;
      kept.back().metrics = MetricsFor(name, kept.back().spec.name, kept.back().source.version);
    }
    for (const Variant& v : d.variants) {
      if (v.spec.shadow && v.spec.name != variant) kept.push_back(v);
    }
    d.variants = std::move(kept);
    d.spec.variants.clear();
    for (const Variant& v : d.variants) d.spec.variants.push_back(v.spec);
    if (d.spec.rollout) {
      // A followed reference keeps its policy for its next version.
      if (d.spec.follow.empty()) d.spec.rollout.reset();
      d.rollout.phase = RolloutState::Phase::kPromoted;
      d.rollout.reason = "variant '" + variant + "' promoted";
      d.rollout.changed_micros = env_->NowMicros();
    }
    return Status::Ok();
  });
}

StatusOr<std::shared_ptr<const Deployment>> Deployments::RollBack(const std::string& name,
                                                                  const std::string& reason) {
  return ChangeTraffic(name, [&](Deployment& d) -> Status {
    if (!d.variants[0].ready()) {
      return FailedPrecondition("the stable variant '" + d.variants[0].spec.name +
                                "' is not ready (" + d.variants[0].reason +
                                "); nothing to roll back to");
    }
    for (size_t i = 0; i < d.spec.variants.size(); ++i) {
      VariantSpec& v = d.spec.variants[i];
      if (!v.shadow) v.weight = i == 0 ? 100 : 0;
    }
    if (d.spec.rollout) {
      d.rollout.phase = RolloutState::Phase::kRolledBack;
      d.rollout.reason = reason;
      d.rollout.changed_micros = env_->NowMicros();
    }
    return Status::Ok();
  });
}

int Deployments::JudgeRollouts() {
  int changed = 0;
  for (const std::shared_ptr<const Deployment>& d : List()) {
    if (!d->spec.rollout || d->variants.size() < 2) continue;
    const RolloutState::Phase phase = d->rollout.phase;
    if (phase != RolloutState::Phase::kStepping && phase != RolloutState::Phase::kWatching)
      continue;
    const Variant& stable = d->variants[0];
    const Variant& canary = d->variants[1];
    if (!stable.ready() || !canary.ready()) continue;
    const RolloutPolicy& policy = *d->spec.rollout;
    const std::string name = d->spec.name;
    // Applies `change` unless the deployment changed since it was judged.
    auto apply = [&](const std::function<void(Deployment&)>& change) {
      auto result = ChangeTraffic(name, [&](Deployment& next) -> Status {
        if (next.created_micros != d->created_micros || next.rollout.phase != phase ||
            next.rollout.step != d->rollout.step) {
          return FailedPrecondition("changed meanwhile");
        }
        change(next);
        next.rollout.changed_micros = env_->NowMicros();
        next.rollout.stable_start = next.variants[0].stats->Snapshot();
        next.rollout.canary_start = next.variants[1].stats->Snapshot();
        return Status::Ok();
      });
      if (result.ok()) ++changed;
      if (!result.ok() && result.status().code() != StatusCode::kFailedPrecondition) {
        LogWarn("a rollout decision could not be applied",
                {{"deployment", name}, {"error", result.status().message()}});
      }
      return result.ok();
    };
    auto to_step = [&](Deployment& next, int step) {
      const int percent = policy.steps[static_cast<size_t>(step)];
      next.spec.variants[0].weight = 100 - percent;
      next.spec.variants[1].weight = percent;
      next.rollout.phase = RolloutState::Phase::kStepping;
      next.rollout.step = step;
    };
    auto audited = [&](const std::string& action, const std::string& why) {
      return SystemChange(action, name, why);
    };
    Judgement j = JudgeCanary(policy, stable.stats->Snapshot().Minus(d->rollout.stable_start),
                              canary.stats->Snapshot().Minus(d->rollout.canary_start));
    if (j.decision == RolloutDecision::kRollBack) {
      store::ScopedWriteContext audit(audited("rollout roll back", j.reason));
      if (apply([&](Deployment& next) {
            next.spec.variants[0].weight = 100;
            next.spec.variants[1].weight = 0;
            next.rollout.phase = RolloutState::Phase::kRolledBack;
            next.rollout.reason = j.reason;
          })) {
        if (rollbacks_ != nullptr) rollbacks_->Inc();
        LogError("ALERT: canary rolled back",
                 {{"deployment", name}, {"canary", canary.spec.name}, {"reason", j.reason}});
      }
      continue;
    }
    if (j.decision != RolloutDecision::kAdvance || phase != RolloutState::Phase::kStepping)
      continue;
    const int next_step = d->rollout.step + 1;
    if (next_step < static_cast<int>(policy.steps.size())) {
      store::ScopedWriteContext audit(audited("rollout step", j.reason));
      if (apply([&](Deployment& next) {
            to_step(next, next_step);
            next.rollout.reason = j.reason;
          })) {
        LogInfo("canary moved to its next step",
                {{"deployment", name},
                 {"canary", canary.spec.name},
                 {"percent", std::to_string(policy.steps[static_cast<size_t>(next_step)])}});
      }
    } else if (policy.steps.back() == 100) {
      store::ScopedWriteContext audit(audited("rollout promote", j.reason));
      const std::string canary_name = canary.spec.name;
      if (Promote(name, canary_name).ok()) {
        ++changed;
        LogInfo("canary promoted", {{"deployment", name}, {"canary", canary_name}});
      }
    }
  }
  return changed;
}

Status Deployments::Unload(const std::string& name) {
  MutexLock change(&change_mu_);
  std::shared_ptr<const Deployment> current = Find(name);
  if (current == nullptr) return NotFound("no deployment named '" + name + "'");
  auto next = std::make_shared<Deployment>(*current);
  next->unloaded = true;
  for (Variant& v : next->variants) {
    v.model.reset();
    v.reason = "unloaded by request; POST /v2/repository/models/" + name + "/load loads it again";
  }
  LogInfo("a deployment was unloaded", {{"deployment", name}});
  Publish(std::move(next));
  return Status::Ok();
}

StatusOr<std::shared_ptr<Deployment>> Deployments::LoadAgain(const Deployment& current) {
  Status error;
  std::shared_ptr<Deployment> next =
      LoadDeployment(current.spec, current.created_by, current.created_micros, nullptr, &error);
  RETURN_IF_ERROR(error);
  RETURN_IF_ERROR(MakeRoom(next->MemoryBytes(), current.spec.name));
  next->rollout = current.rollout;
  next->last_used = current.last_used;
  // Fresh models count afresh: a rollout's window starts now.
  if (next->variants.size() >= 2) {
    next->rollout.stable_start = next->variants[0].stats->Snapshot();
    next->rollout.canary_start = next->variants[1].stats->Snapshot();
  }
  return next;
}

StatusOr<std::shared_ptr<const Deployment>> Deployments::Reload(const std::string& name) {
  MutexLock change(&change_mu_);
  std::shared_ptr<const Deployment> current = Find(name);
  if (current == nullptr) return NotFound("no deployment named '" + name + "'");
  ASSIGN_OR_RETURN(std::shared_ptr<Deployment> next, LoadAgain(*current));
  LogInfo("a deployment was loaded again", {{"deployment", name}});
  Publish(next);
  return std::shared_ptr<const Deployment>(next);
}

StatusOr<std::shared_ptr<const Deployment>> Deployments::Use(
    std::shared_ptr<const Deployment> found) {
  found->last_used->store(env_->NowMicros(), std::memory_order_relaxed);
  if (!found->evicted) return found;
  const std::string name = found->spec.name;
  MutexLock change(&change_mu_);
  std::shared_ptr<const Deployment> d = Find(name);
  d = Find(name);
  if (d == nullptr || !d->evicted) return d;  // gone, or loaded by another request meanwhile
  const int64_t now = env_->NowMicros();
  if (auto it = evicted_at_.find(name); it != evicted_at_.end() && now - it->second < 60'000'000) {
    if (thrash_ != nullptr) thrash_->Inc();
    LogWarn(
        "a deployment unloaded for the memory budget was needed again within a minute: "
        "raise --serving-memory-mb or pin the deployments in use",
        {{"deployment", name}, {"budget_bytes", std::to_string(memory_budget_)}});
  }
  ASSIGN_OR_RETURN(std::shared_ptr<Deployment> next, LoadAgain(*d));
  Publish(next);
  return std::shared_ptr<const Deployment>(next);
}

Status Deployments::MakeRoom(uint64_t needed, const std::string& except) {
  if (memory_budget_ == 0) return Status::Ok();
  uint64_t total = 0;
  std::vector<std::shared_ptr<const Deployment>> candidates;
  for (const std::shared_ptr<const Deployment>& d : List()) {
    if (d->spec.name == except) continue;
    const uint64_t bytes = d->MemoryBytes();
    total += bytes;
    if (!d->spec.pinned && bytes > 0) candidates.push_back(d);
  }
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return a->last_used->load(std::memory_order_relaxed) <
           b->last_used->load(std::memory_order_relaxed);
  });
  for (const std::shared_ptr<const Deployment>& d : candidates) {
    if (total + needed <= memory_budget_) break;
    auto next = std::make_shared<Deployment>(*d);
    next->evicted = true;
    for (Variant& v : next->variants) {
      v.model.reset();
      v.reason =
          "unloaded to stay within the memory budget (--serving-memory-mb); it loads "
          "again on its next request";
    }
    total -= d->MemoryBytes();
    evicted_at_[d->spec.name] = env_->NowMicros();
    if (evictions_ != nullptr) evictions_->Inc();
    LogInfo("a deployment was unloaded for the memory budget",
            {{"deployment", d->spec.name}, {"for", except}});
    Publish(std::move(next));
  }
  if (total + needed > memory_budget_) {
    return ResourceExhausted("deployment '" + except + "' needs " + std::to_string(needed) +
                             " bytes and the memory budget (--serving-memory-mb, " +
                             std::to_string(memory_budget_ >> 20) + " MiB) has " +
                             std::to_string(total >= memory_budget_ ? 0 : memory_budget_ - total) +
                             " left beside the pinned models; unpin some, or raise the budget");
  }
  return Status::Ok();
}

int Deployments::FollowMovedReferences() {
  int started = 0;
  for (const std::shared_ptr<const Deployment>& d : List()) {
    if (d->spec.follow.empty() || d->variants.empty() || d->unloaded || d->evicted) continue;
    StatusOr<ResolvedSource> source = resolve_(d->spec.follow);
    if (!source.ok() || source->version.empty()) continue;  // gone for now: keep serving
    bool served = false;
    for (const Variant& v : d->variants) {
      served = served || (!v.spec.shadow && v.ready() &&
                          v.source.registered_model == source->registered_model &&
                          v.source.version == source->version);
    }
    if (served || source->artifact_path == d->variants[0].failed_path) continue;
    StatusOr<LoadedModel> loaded = load_(*source, d->spec);  // off the change lock
    MutexLock change(&change_mu_);
    if (Find(d->spec.name) != d) continue;  // changed meanwhile; the next refresh sees it
    if (loaded.ok()) {                      // the new version adds a model: room first
      if (Status room = MakeRoom(d->MemoryBytes() + loaded->model->MemoryBytes(), d->spec.name);
          !room.ok()) {
        loaded = StatusOr<LoadedModel>(room);
      }
    }
    auto next = std::make_shared<Deployment>(*d);
    Variant& stable = next->variants[0];
    if (!loaded.ok()) {
      stable.failed_path = source->artifact_path;
      stable.failed_reason = "version " + source->version + " of " + d->spec.follow +
                             " did not load: " + loaded.status().message();
      LogWarn(
          "a followed reference moved to a version that did not load; the previous one "
          "keeps serving",
          {{"deployment", d->spec.name}, {"error", stable.failed_reason}});
      Publish(std::move(next));
      continue;
    }
    stable.failed_path.clear();
    stable.failed_reason.clear();
    // With a policy the new version is the canary; without one it takes
    // over under the stable variant's name.
    Variant canary;
    canary.spec = {
        next->spec.rollout ? (stable.spec.name == "canary" ? "next" : "canary") : stable.spec.name,
        "models:/" + source->registered_model + "/" + source->version,
        next->spec.rollout ? 0 : 100};
    const std::string version = source->version;
    source->moving = false;
    Install(canary, d->spec.name, std::move(*source), std::move(*loaded));
    // The stable variant stays; an earlier canary (rolled back, or replaced
    // by this newer version mid-rollout) goes; shadows stay.
    std::vector<Variant> variants = {stable};
    if (next->spec.rollout) {
      variants.push_back(std::move(canary));
    } else {
      variants[0] = std::move(canary);
    }
    for (size_t i = 1; i < next->variants.size(); ++i) {
      if (next->variants[i].spec.shadow) variants.push_back(next->variants[i]);
    }
    next->variants = std::move(variants);
    next->spec.variants.clear();
    for (const Variant& v : next->variants) next->spec.variants.push_back(v.spec);
    if (next->spec.rollout) BeginRollout(*next, env_->NowMicros());
    store::ScopedWriteContext audit(
        SystemChange(next->spec.rollout ? "rollout start" : "deployment switch", d->spec.name,
                     d->spec.follow + " moved to version " + version));
    if (Status stored = StoreAndPublish(next); !stored.ok()) {
      LogWarn("a followed reference moved but the deployment could not be stored",
              {{"deployment", d->spec.name}, {"error", stored.message()}});
      continue;
    }
    LogInfo(next->spec.rollout ? "a followed reference moved: rolling out its new version"
                               : "a followed reference moved: serving its new version",
            {{"deployment", d->spec.name}, {"follow", d->spec.follow}, {"version", version}});
    ++started;
  }
  return started;
}

namespace {
// What a source loads from: its folder, or the external endpoint.
const std::string& SourceKey(const ResolvedSource& source) {
  return source.endpoint.empty() ? source.artifact_path : source.endpoint;
}
constexpr int64_t kEndpointRetryMicros = 5'000'000;
}  // namespace

int Deployments::Refresh() {
  int switched = FollowMovedReferences();
  for (const std::shared_ptr<const Deployment>& d : List()) {
    if (d->unloaded || d->evicted) continue;
    // Load outside the change lock: requests and other changes go on.
    std::vector<std::pair<size_t, StatusOr<LoadedModel>>> loads;
    std::vector<ResolvedSource> sources;
    for (size_t i = 0; i < d->variants.size(); ++i) {
      const Variant& v = d->variants[i];
      if (v.ready() && !v.source.moving) continue;
      StatusOr<ResolvedSource> source = resolve_(v.spec.model_uri);
      if (!source.ok()) continue;  // the reference is gone for now; keep what serves
      const bool same =
          SourceKey(*source) == SourceKey(v.source) && source->version == v.source.version;
      if (v.ready() && same) continue;
      if (SourceKey(*source) == v.failed_path &&
          (source->endpoint.empty() ||
           env_->NowMicros() - v.failed_micros < kEndpointRetryMicros)) {
        continue;
      }
      loads.emplace_back(i, load_(*source, d->spec));
      sources.push_back(std::move(*source));
    }
    if (loads.empty()) continue;
    MutexLock change(&change_mu_);
    if (Find(d->spec.name) != d) continue;  // changed meanwhile; the next refresh sees it
    // New models need room first; without it they count as not loaded
    // (not tried again until the reference moves again).
    uint64_t adding = 0;
    for (const auto& [i, loaded] : loads) adding += loaded.ok() ? loaded->model->MemoryBytes() : 0;
    if (adding > 0) {
      if (Status room = MakeRoom(d->MemoryBytes() + adding, d->spec.name); !room.ok()) {
        for (auto& [i, loaded] : loads) {
          if (loaded.ok()) loaded = StatusOr<LoadedModel>(room);
        }
      }
    }
    auto next = std::make_shared<Deployment>(*d);
    for (size_t k = 0; k < loads.size(); ++k) {
      Variant& v = next->variants[loads[k].first];
      StatusOr<LoadedModel>& loaded = loads[k].second;
      ResolvedSource& source = sources[k];
      if (!loaded.ok()) {
        v.failed_path = SourceKey(source);
        v.failed_micros = env_->NowMicros();
        v.failed_reason =
            (source.version.empty() ? SourceKey(source) : "version " + source.version) +
            " did not load: " + loaded.status().message();
        if (!v.ready()) v.reason = v.failed_reason;
        LogWarn(
            "a deployment's model did not load; the previous one keeps serving",
            {{"deployment", d->spec.name}, {"variant", v.spec.name}, {"error", v.failed_reason}});
        continue;
      }
      Install(v, next->spec.name, std::move(source), std::move(*loaded));
      LogInfo("a deployment switched models", {{"deployment", d->spec.name},
                                               {"variant", v.spec.name},
                                               {"model_uri", v.spec.model_uri},
                                               {"version", v.source.version}});
      ++switched;
    }
    Publish(std::move(next));
  }
  return switched;
}

std::shared_ptr<const Deployment> Deployments::Find(const std::string& name) const {
  MutexLock lock(&mu_);
  auto it = deployments_.find(name);
  return it == deployments_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const Deployment>> Deployments::List() const {
  MutexLock lock(&mu_);
  std::vector<std::shared_ptr<const Deployment>> out;
  for (const auto& [name, d] : deployments_) out.push_back(d);
  return out;
}

}  // namespace cairn::serving
