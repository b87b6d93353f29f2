#include "serving/deployments.h"

#include "core/log.h"

namespace cairn::serving {

using store::SqlRows;
using store::SqlSession;

Status CheckDeploymentName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 63 && name[0] >= 'a' && name[0] <= 'z';
  for (char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (!ok) {
    return InvalidArgument("deployment name '" + name +
                           "' must be 1-63 characters of a-z, 0-9 and '-', starting with a letter");
  }
  return Status::Ok();
}

Deployments::Deployments(store::MetadataStore* store, Env* env, SourceResolver resolve,
                         FolderLoader load, metrics::Registry* registry)
    : store_(store),
      env_(env),
      resolve_(std::move(resolve)),
      load_(std::move(load)),
      registry_(registry) {
  if (registry_ != nullptr) registry_->AddCollector([this] { CollectGauges(); });
}

DeploymentMetrics Deployments::MetricsFor(const std::string& name,
                                          const std::string& version) const {
  DeploymentMetrics m;
  if (registry_ == nullptr) return m;
  metrics::Labels labels = {{"deployment", name}, {"version", version}};
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
  m.batch_rows = registry_->GetHistogram("cairn_serving_batch_rows", "Rows per model call", labels,
                                         {1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096});
  return m;
}

void Deployments::CollectGauges() {
  int loaded = 0;
  for (const auto& d : List()) {
    if (!d->ready()) continue;
    ++loaded;
    registry_
        ->GetGauge("cairn_serving_model_bytes", "Bytes a deployment's loaded model holds",
                   {{"deployment", d->spec.name}, {"version", d->source.version}})
        ->Set(static_cast<double>(d->model->MemoryBytes()));
  }
  registry_->GetGauge("cairn_serving_loaded_models", "Deployments with a model loaded")
      ->Set(loaded);
}

StatusOr<std::vector<Tensor>> Deployments::Predict(const Deployment& d,
                                                   const std::vector<Tensor>& inputs) const {
  const int64_t start = env_->MonotonicNanos();
  StatusOr<std::vector<Tensor>> out = d.model->Predict(inputs);
  const int64_t took = env_->MonotonicNanos() - start;
  if (d.metrics.requests != nullptr) {
    d.metrics.requests->Inc();
    d.metrics.compute_seconds->Observe(static_cast<double>(took) / 1e9);
    if (out.ok() && !out->empty() && !out->front().shape.empty()) {
      d.metrics.batch_rows->Observe(static_cast<double>(out->front().shape[0]));
    }
    if (!out.ok()) {
      (out.status().code() == StatusCode::kInvalidArgument ? d.metrics.bad_input : d.metrics.failed)
          ->Inc();
    }
  }
  return out;
}

void Deployments::CountRefusal(const Deployment& d, const Status& why) {
  if (d.metrics.requests == nullptr) return;
  d.metrics.requests->Inc();
  (why.code() == StatusCode::kUnavailable ? d.metrics.not_ready : d.metrics.bad_input)->Inc();
}

Status Deployments::Init() {
  std::vector<store::Migration> migrations = {store::DdlMigration(1, "serving deployments", R"sql(
CREATE TABLE serving_deployments (
  name TEXT PRIMARY KEY,
  model_uri TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_time BIGINT NOT NULL
);
)sql")};
  RETURN_IF_ERROR(store_->Migrate("serving", migrations));
  struct Row {
    DeploymentSpec spec;
    std::string created_by;
    int64_t created = 0;
  };
  std::vector<Row> rows;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows r, db.Query("SELECT name, model_uri, created_by, created_time FROM "
                                         "serving_deployments ORDER BY name"));
    for (size_t i = 0; i < r.size(); ++i) {
      rows.push_back({{r.Text(i, 0), r.Text(i, 1)}, r.Text(i, 2), r.Int(i, 3)});
    }
    return Status::Ok();
  }));
  for (Row& row : rows) {
    Status error;
    auto deployment = Load(row.spec, row.created_by, row.created, &error);
    MutexLock lock(&mu_);
    deployments_[row.spec.name] = std::move(deployment);
  }
  return Status::Ok();
}

std::shared_ptr<const Deployment> Deployments::Load(const DeploymentSpec& spec,
                                                    std::string created_by, int64_t created_micros,
                                                    Status* error) const {
  auto d = std::make_shared<Deployment>();
  d->spec = spec;
  d->created_by = std::move(created_by);
  d->created_micros = created_micros;
  StatusOr<ResolvedSource> source = resolve_(spec.model_uri);
  if (!source.ok()) {
    *error = source.status();
    d->reason = source.status().message();
    return d;
  }
  StatusOr<LoadedModel> loaded = load_(source->artifact_path);
  if (!loaded.ok()) {
    *error = loaded.status();
    d->reason = loaded.status().message();
    return d;
  }
  d->source = std::move(*source);
  d->model = std::move(loaded->model);
  d->flavor = loaded->flavor;
  d->signature_inputs = loaded->mlmodel.inputs;
  d->metrics = MetricsFor(spec.name, d->source.version);
  d->loaded_micros = env_->NowMicros();
  *error = Status::Ok();
  return d;
}

StatusOr<std::shared_ptr<const Deployment>> Deployments::Deploy(const DeploymentSpec& spec,
                                                                const std::string& user) {
  RETURN_IF_ERROR(CheckDeploymentName(spec.name));
  if (spec.model_uri.empty()) {
    return InvalidArgument(
        "model_uri is required: a model reference such as models:/NAME/1, "
        "models:/NAME@ALIAS or runs:/RUN_ID/model");
  }
  MutexLock change(&change_mu_);
  const int64_t now = env_->NowMicros();
  Status error;
  std::shared_ptr<const Deployment> deployment = Load(spec, user, now, &error);
  RETURN_IF_ERROR(error);
  RETURN_IF_ERROR(store_->Write([&](SqlSession& db) -> Status {
    return db
        .Execute(
            "INSERT INTO serving_deployments (name, model_uri, created_by, created_time) VALUES "
            "(?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET model_uri = excluded.model_uri, "
            "created_by = excluded.created_by, created_time = excluded.created_time",
            {spec.name, spec.model_uri, user, now})
        .status();
  }));
  MutexLock lock(&mu_);
  deployments_[spec.name] = deployment;
  return deployment;
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

int Deployments::Refresh() {
  int switched = 0;
  for (const std::shared_ptr<const Deployment>& d : List()) {
    if (d->ready() && !d->source.moving) continue;
    StatusOr<ResolvedSource> source = resolve_(d->spec.model_uri);
    if (!source.ok()) continue;  // the reference is gone for now; keep what serves
    const bool same =
        source->artifact_path == d->source.artifact_path && source->version == d->source.version;
    if ((d->ready() && same) || source->artifact_path == d->failed_path) continue;
    StatusOr<LoadedModel> loaded = load_(source->artifact_path);
    MutexLock change(&change_mu_);
    if (Find(d->spec.name) != d) continue;  // redeployed or removed meanwhile
    auto next = std::make_shared<Deployment>(*d);
    if (!loaded.ok()) {
      next->failed_path = source->artifact_path;
      next->failed_reason =
          (source->version.empty() ? source->artifact_path : "version " + source->version) +
          " did not load: " + loaded.status().message();
      if (!d->ready()) next->reason = next->failed_reason;
      LogWarn("a deployment's model did not load; the previous one keeps serving",
              {{"deployment", d->spec.name}, {"error", next->failed_reason}});
    } else {
      next->source = std::move(*source);
      next->model = std::move(loaded->model);
      next->flavor = loaded->flavor;
      next->signature_inputs = loaded->mlmodel.inputs;
      next->metrics = MetricsFor(next->spec.name, next->source.version);
      next->reason.clear();
      next->failed_path.clear();
      next->failed_reason.clear();
      next->loaded_micros = env_->NowMicros();
      LogInfo("a deployment switched models", {{"deployment", d->spec.name},
                                               {"model_uri", d->spec.model_uri},
                                               {"version", next->source.version}});
      ++switched;
    }
    MutexLock lock(&mu_);
    deployments_[d->spec.name] = std::move(next);
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
