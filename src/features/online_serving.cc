#include "features/online_serving.h"

#include <atomic>
#include <chrono>
#include <map>

#include "features/historical.h"
#include "features/materialize.h"
#include "features/offline_source.h"

namespace cairn::features {
namespace {

constexpr int64_t kRecheckMicros = 100'000;
constexpr int64_t kMicrosPerSecond = 1'000'000;

bool IsIntegerKey(ValueType type) { return type == ValueType::kInt32 || type == ValueType::kInt64; }

// Fills the columns of `name`'s requested features from the fetched source
// columns (a value not PRESENT reads as null) and the request's fields.
Status ComputeOnDemand(const CompiledOnDemand& compiled, const std::string& name,
                       const std::vector<ResolvedFeature>& all, const OnlineRequest& request,
                       size_t rows, std::vector<OnlineColumn>* columns) {
  std::vector<bool> needed = NeededInputs(compiled, all, name);
  std::vector<const OnlineColumn*> fetched(compiled.inputs.size(), nullptr);
  std::vector<const std::vector<EntityValue>*> fields(compiled.inputs.size(), nullptr);
  for (size_t k = 0; k < compiled.inputs.size(); ++k) {
    const OnDemandInput& input = compiled.inputs[k];
    if (!needed[k]) continue;
    if (input.from_request) {
      for (const auto& [field, values] : request.entities) {
        if (field == input.feature) fields[k] = &values;
      }
      if (fields[k] == nullptr) {
        return InvalidArgument("entities: missing '" + input.feature +
                               "', a request field of on-demand feature view '" + name + "'");
      }
      continue;
    }
    for (size_t i = 0; i < all.size(); ++i) {
      if (!all[i].on_demand && all[i].view == input.view && all[i].feature == input.feature) {
        fetched[k] = &(*columns)[i];
      }
    }
  }
  std::vector<std::pair<size_t, size_t>> requested = RequestedOnDemand(compiled, all, name);
  for (const auto& [i, f] : requested) {
    (*columns)[i] =
        OnlineColumn{.name = all[i].output_name, .type = compiled.view->features[f].field.type};
  }
  std::vector<ExprValue> values(compiled.inputs.size());
  for (size_t row = 0; row < rows; ++row) {
    for (size_t k = 0; k < compiled.inputs.size(); ++k) {
      if (!needed[k]) continue;
      if (fields[k] != nullptr) {
        const EntityValue& v = (*fields[k])[row];
        ExprValue raw;
        if (const int64_t* i = std::get_if<int64_t>(&v)) {
          raw = *i;
        } else if (const double* d = std::get_if<double>(&v)) {
          raw = *d;
        } else if (const bool* b = std::get_if<bool>(&v)) {
          raw = *b;
        } else {
          raw = std::get<std::string>(v);
        }
        values[k] = AsDeclared(raw, compiled.inputs[k].type);
      } else {
        const OnlineColumn& c = *fetched[k];
        values[k] = c.statuses[row] == FeatureStatus::kPresent
                        ? ToExprValue(c.values[row], compiled.inputs[k].type)
                        : ExprValue();
      }
    }
    for (const auto& [i, f] : requested) {
      OnlineColumn& out = (*columns)[i];
      FeatureValue v = compiled.Evaluate(f, values);
      out.statuses.push_back(std::holds_alternative<std::monostate>(v) ? FeatureStatus::kNullValue
                                                                       : FeatureStatus::kPresent);
      out.values.push_back(std::move(v));
      out.event_micros.push_back(0);
    }
  }
  return Status::Ok();
}

}  // namespace

struct ServingPlan {
  std::vector<ResolvedFeature> all;  // the requested features, then hidden on-demand inputs
  size_t requested = 0;              // how many of `all` are output
  std::map<std::string, CompiledOnDemand> on_demand;
  struct ViewRead {
    const FeatureView* view;
    std::string table;
    std::vector<Field> keys;
    std::vector<size_t> indexes;    // of the view's features in `all`
    std::vector<size_t> positions;  // of those features in the view's stored values
    int64_t ttl_micros;
  };
  std::vector<ViewRead> reads;  // one store read per view
};

std::string_view FeatureStatusName(FeatureStatus status) {
  switch (status) {
    case FeatureStatus::kPresent:
      return "PRESENT";
    case FeatureStatus::kNullValue:
      return "NULL_VALUE";
    case FeatureStatus::kNotFound:
      return "NOT_FOUND";
    case FeatureStatus::kOutsideMaxAge:
      return "OUTSIDE_MAX_AGE";
  }
  return "INVALID";
}

OnlineServing::OnlineServing(FeatureRegistry* registry, online::OnlineStore* store, Env* env,
                             std::string project)
    : registry_(registry), store_(store), env_(env), project_(std::move(project)) {}

OnlineServing::~OnlineServing() {
  refresher_.reset();  // Before the members its callback reads.
}

void OnlineServing::StartRefresher() {
  if (refresher_running_.exchange(true)) return;
  // Requests report errors themselves; the refresher only keeps trying.
  Refresh(env_->NowMicros()).status().IgnoreError();
  refresher_ = env_->StartRepeating(kRecheckMicros,
                                    [this] { Refresh(env_->NowMicros()).status().IgnoreError(); });
}

StatusOr<std::shared_ptr<const FeatureRepo>> OnlineServing::Definitions() {
  int64_t now = env_->NowMicros();
  {
    MutexLock lock(&mu_);
    bool fresh = refresher_running_ || now - checked_at_micros_ < kRecheckMicros;
    if (repo_ != nullptr && fresh) return repo_;
  }
  return Refresh(now);
}

StatusOr<std::shared_ptr<const FeatureRepo>> OnlineServing::Refresh(int64_t now) {
  // One caller checks the registry; the others go on with the definitions
  // they have rather than queue behind a database read.
  std::unique_lock<std::mutex> refreshing(refresh_mu_, std::try_to_lock);
  std::shared_ptr<const FeatureRepo> current;
  int64_t current_version = 0;
  {
    MutexLock lock(&mu_);
    current = repo_;
    current_version = repo_version_;
  }
  if (!refreshing.owns_lock()) {
    if (current != nullptr) return current;
    refreshing.lock();  // nothing to serve yet: wait for the first load
    MutexLock lock(&mu_);
    if (repo_ != nullptr) return repo_;
  }
  auto keep = [&](const Status& failed) -> StatusOr<std::shared_ptr<const FeatureRepo>> {
    if (current == nullptr) return failed;
    MutexLock lock(&mu_);
    checked_at_micros_ = now;  // retried at the next check, not by every request
    return current;
  };
  std::string project = project_;
  if (project.empty()) {
    StatusOr<std::vector<std::string>> projects = registry_->Projects();
    if (!projects.ok()) return keep(projects.status());
    if (projects->size() != 1) {
      return keep(NotFound(
          projects->empty() ? "no feature project is applied; run `cairn features apply --repo DIR`"
                            : "several feature projects are applied; start the server with "
                              "--feature-project to choose the one it serves"));
    }
    project = projects->front();
  }
  StatusOr<int64_t> version = registry_->CurrentVersion(project);
  if (!version.ok()) return keep(version.status());
  if (current == nullptr || *version != current_version || current->project != project) {
    StatusOr<FeatureRepo> repo = registry_->Load(project, *version);
    if (!repo.ok()) return keep(repo.status());
    current = std::make_shared<const FeatureRepo>(std::move(*repo));
  }
  MutexLock lock(&mu_);
  repo_ = current;
  repo_version_ = *version;
  checked_at_micros_ = now;
  return repo_;
}

StatusOr<std::shared_ptr<const ServingPlan>> OnlineServing::PlanFor(
    const std::shared_ptr<const FeatureRepo>& repo, const OnlineRequest& request) {
  std::string signature = request.service;
  signature += request.full_feature_names ? "\1" : "\2";
  for (const std::string& f : request.features) {
    signature += f;
    signature += '\0';
  }
  {
    MutexLock lock(&plans_mu_);
    if (plans_repo_ == repo) {
      auto it = plans_.find(signature);
      if (it != plans_.end()) return it->second;
    }
  }
  auto plan = std::make_shared<ServingPlan>();
  ASSIGN_OR_RETURN(plan->all, ResolveFeatures(*repo, request.features, request.service,
                                              request.full_feature_names));
  plan->requested = plan->all.size();
  // On-demand features read source features that may not be requested:
  // those are read too, as hidden columns.
  ASSIGN_OR_RETURN(plan->on_demand, PlanOnDemand(*repo, &plan->all));
  std::map<std::string, std::vector<size_t>> by_view;
  for (size_t i = 0; i < plan->all.size(); ++i) {
    if (!plan->all[i].on_demand) by_view[plan->all[i].view].push_back(i);
  }
  for (auto& [view_name, indexes] : by_view) {
    const FeatureView* view = repo->FindFeatureView(view_name);
    ServingPlan::ViewRead read{.view = view,
                               .table = OnlineTable(repo->project, *view),
                               .keys = JoinKeys(*repo, *view),
                               .indexes = std::move(indexes),
                               .positions = {},
                               .ttl_micros = view->ttl_seconds * kMicrosPerSecond};
    for (size_t i : read.indexes) {
      size_t p = 0;
      while (view->schema[p].name != plan->all[i].feature) ++p;
      read.positions.push_back(p);
    }
    plan->reads.push_back(std::move(read));
  }
  MutexLock lock(&plans_mu_);
  if (plans_repo_ != repo) {
    plans_.clear();  // plans of older definitions are never used again
    plans_repo_ = repo;
  }
  // Bounded: a client sending ever new feature lists cannot grow it forever.
  constexpr size_t kMaxPlans = 1024;
  if (plans_.size() >= kMaxPlans) plans_.clear();
  plans_.emplace(std::move(signature), plan);
  return std::shared_ptr<const ServingPlan>(std::move(plan));
}

// A request between its store reads and its response.
struct OnlineServing::Prepared {
  std::shared_ptr<const FeatureRepo> repo;  // keeps plan->reads' views alive
  std::shared_ptr<const ServingPlan> plan;
  size_t rows = 0;
  std::vector<std::vector<std::string>> keys;  // per plan->reads: one store key per row
  std::vector<std::vector<std::optional<online::OnlineRecord>>> records;  // per plan->reads
};

StatusOr<OnlineServing::Prepared> OnlineServing::Prepare(const OnlineRequest& request) {
  Prepared prepared;
  ASSIGN_OR_RETURN(prepared.repo, Definitions());
  ASSIGN_OR_RETURN(prepared.plan, PlanFor(prepared.repo, request));
  size_t rows = request.entities.empty() ? 0 : request.entities.front().second.size();
  for (const auto& [name, values] : request.entities) {
    if (values.size() != rows) {
      return InvalidArgument("entities: every entity must have the same number of values ('" +
                             request.entities.front().first + "' has " + std::to_string(rows) +
                             ", '" + name + "' has " + std::to_string(values.size()) + ")");
    }
  }
  if (request.entities.empty()) {
    return InvalidArgument("entities: expected a map of join keys to lists of values");
  }
  prepared.rows = rows;
  for (const ServingPlan::ViewRead& read : prepared.plan->reads) {
    std::vector<const std::vector<EntityValue>*> key_values;
    for (const Field& key : read.keys) {
      const std::vector<EntityValue>* found = nullptr;
      for (const auto& [name, values] : request.entities) {
        if (name == key.name) found = &values;
      }
      if (found == nullptr) {
        return InvalidArgument("entities: missing '" + key.name +
                               "', a join key of feature view '" + read.view->name + "'");
      }
      key_values.push_back(found);
    }
    std::vector<std::string> store_keys(rows);
    for (size_t row = 0; row < rows; ++row) {
      for (size_t k = 0; k < read.keys.size(); ++k) {
        const Field& key = read.keys[k];
        const EntityValue& v = (*key_values[k])[row];
        bool integer = std::holds_alternative<int64_t>(v);
        bool text = std::holds_alternative<std::string>(v);
        if (integer != IsIntegerKey(key.type) || (!integer && !text)) {
          return InvalidArgument("entities: '" + key.name + "' must be " +
                                 (IsIntegerKey(key.type) ? "an integer" : "a string") +
                                 " (its entity declares " + std::string(ValueTypeName(key.type)) +
                                 ")");
        }
        RETURN_IF_ERROR(
            integer ? AppendKeyInt(key.type, std::get<int64_t>(v), &store_keys[row])
                    : AppendKeyString(key.type, std::get<std::string>(v), &store_keys[row]));
      }
    }
    prepared.keys.push_back(std::move(store_keys));
  }
  prepared.records.resize(prepared.plan->reads.size());
  return prepared;
}

StatusOr<OnlineResponse> OnlineServing::Assemble(const OnlineRequest& request,
                                                 const Prepared& prepared) {
  const ServingPlan& plan = *prepared.plan;
  const std::vector<ResolvedFeature>& all = plan.all;
  size_t rows = prepared.rows;
  OnlineResponse response;
  response.columns.reserve(request.entities.size() + plan.requested);
  for (const auto& [name, values] : request.entities) {
    OnlineColumn column{.name = name};
    column.type = !values.empty() && std::holds_alternative<std::string>(values[0])
                      ? ValueType::kString
                      : ValueType::kInt64;
    for (const EntityValue& v : values) {
      if (const int64_t* i = std::get_if<int64_t>(&v)) {
        column.values.emplace_back(*i);
      } else if (const double* d = std::get_if<double>(&v)) {
        column.values.emplace_back(*d);
        column.type = ValueType::kFloat64;
      } else if (const bool* b = std::get_if<bool>(&v)) {
        column.values.emplace_back(int64_t{*b});
        column.type = ValueType::kBool;
      } else {
        column.values.emplace_back(std::get<std::string>(v));
      }
    }
    column.statuses.assign(rows, FeatureStatus::kPresent);
    column.event_micros.assign(rows, 0);
    response.columns.push_back(std::move(column));
  }

  std::vector<OnlineColumn> feature_columns(all.size());
  int64_t now = env_->NowMicros();
  std::vector<FeatureValue> stored;
  for (size_t r = 0; r < plan.reads.size(); ++r) {
    const ServingPlan::ViewRead& read = plan.reads[r];
    const std::vector<std::optional<online::OnlineRecord>>& records = prepared.records[r];
    const std::vector<size_t>& indexes = read.indexes;
    const std::vector<size_t>& positions = read.positions;
    for (size_t j = 0; j < indexes.size(); ++j) {
      OnlineColumn& column = feature_columns[indexes[j]];
      column.name = all[indexes[j]].output_name;
      column.type = read.view->schema[positions[j]].type;
      column.values.reserve(rows);
      column.statuses.reserve(rows);
      column.event_micros.reserve(rows);
    }
    for (size_t row = 0; row < rows; ++row) {
      const std::optional<online::OnlineRecord>& record = records[row];
      stored.clear();
      if (record.has_value()) RETURN_IF_ERROR(DecodeValues(record->values, &stored));
      bool stale =
          record.has_value() && read.ttl_micros > 0 && record->event_micros < now - read.ttl_micros;
      for (size_t j = 0; j < indexes.size(); ++j) {
        OnlineColumn& column = feature_columns[indexes[j]];
        if (!record.has_value()) {
          column.values.emplace_back(std::monostate{});
          column.statuses.push_back(FeatureStatus::kNotFound);
          column.event_micros.push_back(0);
          continue;
        }
        column.event_micros.push_back(record->event_micros);
        static const FeatureValue kMissing;
        const FeatureValue& value = positions[j] < stored.size() ? stored[positions[j]] : kMissing;
        if (stale) {
          column.values.emplace_back(std::monostate{});
          column.statuses.push_back(FeatureStatus::kOutsideMaxAge);
        } else if (std::holds_alternative<std::monostate>(value)) {
          column.values.emplace_back(std::monostate{});
          column.statuses.push_back(FeatureStatus::kNullValue);
        } else {
          column.values.push_back(value);
          column.statuses.push_back(FeatureStatus::kPresent);
        }
      }
    }
  }
  for (const auto& [name, compiled] : plan.on_demand) {
    RETURN_IF_ERROR(ComputeOnDemand(compiled, name, all, request, rows, &feature_columns));
  }
  for (size_t i = 0; i < plan.requested; ++i) {
    response.columns.push_back(std::move(feature_columns[i]));
  }
  return response;
}

StatusOr<OnlineResponse> OnlineServing::GetOnlineFeatures(const OnlineRequest& request) {
  ASSIGN_OR_RETURN(Prepared prepared, Prepare(request));
  for (size_t r = 0; r < prepared.plan->reads.size(); ++r) {
    RETURN_IF_ERROR(
        store_->Read(prepared.plan->reads[r].table, prepared.keys[r], &prepared.records[r]));
  }
  return Assemble(request, prepared);
}

void OnlineServing::GetOnlineFeaturesAsync(std::shared_ptr<const OnlineRequest> request,
                                           OnlineDone done) {
  StatusOr<Prepared> prepared = Prepare(*request);
  if (!prepared.ok()) return done(prepared.status());
  size_t reads = prepared->plan->reads.size();
  if (reads == 0) return done(Assemble(*request, *prepared));
  // The last read to finish assembles the response, on its thread.
  struct Gather {
    std::shared_ptr<const OnlineRequest> request;
    OnlineDone done;
    Prepared prepared;
    std::atomic<size_t> left;
    Mutex mu;
    Status failed GUARDED_BY(mu) = Status::Ok();  // the first read error
  };
  auto gather = std::make_shared<Gather>();
  gather->request = std::move(request);
  gather->done = std::move(done);
  gather->prepared = std::move(*prepared);
  gather->left = reads;
  for (size_t r = 0; r < reads; ++r) {
    store_->ReadAsync(
        gather->prepared.plan->reads[r].table, std::move(gather->prepared.keys[r]),
        [this, gather, r](Status status, std::vector<std::optional<online::OnlineRecord>> records) {
          if (!status.ok()) {
            MutexLock lock(&gather->mu);
            if (gather->failed.ok()) gather->failed = std::move(status);
          }
          gather->prepared.records[r] = std::move(records);
          if (gather->left.fetch_sub(1) != 1) return;
          Status failed;
          {
            MutexLock lock(&gather->mu);
            failed = gather->failed;
          }
          if (!failed.ok()) return gather->done(failed);
          gather->done(Assemble(*gather->request, gather->prepared));
        });
  }
}

}  // namespace cairn::features
