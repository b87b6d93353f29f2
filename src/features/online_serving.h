// OnlineServing: answers get-online-features from the online store, with the
// feature definitions of one project kept current: the registry version is
// checked at most every 100 ms and definitions reload when it moved, so
// `cairn features apply` reaches a running server within a tenth of a second
// (Feast's registry cache holds them for ten minutes by default).
//
// Statuses per value: PRESENT; NULL_VALUE for a stored null; NOT_FOUND when
// the entity has no record; OUTSIDE_MAX_AGE when the record is older than
// the view's ttl (then the value is null: a stale value is not served).
//
// Thread-safety: safe to call concurrently. Callers never queue behind a
// registry read: while one checks, the others serve the definitions in hand.
#pragma once

#include <atomic>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/env.h"
#include "core/mutex.h"
#include "core/status.h"
#include "features/definitions.h"
#include "features/feature_registry.h"
#include "features/online_codec.h"
#include "online/online_store.h"

namespace cairn::features {

enum class FeatureStatus { kPresent, kNullValue, kNotFound, kOutsideMaxAge };
std::string_view FeatureStatusName(FeatureStatus status);  // "PRESENT", ...

// A value of the request's `entities` map: a join key (integer or string) or
// a request field of an on-demand view (which may also be a number or a
// boolean).
using EntityValue = std::variant<int64_t, std::string, double, bool>;

struct OnlineRequest {
  std::vector<std::string> features;  // "view:feature" (or "view" for all)
  std::string service;
  bool full_feature_names = false;
  // Join key -> one value per requested row, in request order.
  std::vector<std::pair<std::string, std::vector<EntityValue>>> entities;
};

// A column's per-row lists. Most requests ask for one entity: keeping one
// row inline spares three allocations per column (30 of a 1 x 10 request's
// ~110, a tenth of its CPU).
template <typename T>
using RowList = boost::container::small_vector<T, 1>;

struct OnlineColumn {
  std::string name;
  ValueType type = ValueType::kString;
  RowList<FeatureValue> values;
  RowList<FeatureStatus> statuses;
  RowList<int64_t> event_micros;  // 0 where there is no record
};

// Join-key columns first (request order), then features in request order.
struct OnlineResponse {
  std::vector<OnlineColumn> columns;
};

struct ServingPlan;  // what a request's feature list resolves to (online_serving.cc)

class OnlineServing {
 public:
  // `project` empty: the only project applied (checked at each reload).
  OnlineServing(FeatureRegistry* registry, online::OnlineStore* store, Env* env,
                std::string project);
  ~OnlineServing();

  // Reads the registry now, then every 100 ms on the Env's clock (a timer,
  // Env::StartRepeating), so requests never read the metadata store
  // themselves (they may then run on a server's IO threads). Without it,
  // callers recheck at most every 100 ms.
  void StartRefresher();

  // Errors: NotFound for an unknown view, feature or service, or when no
  // project is applied; InvalidArgument for entity columns of unequal
  // length, a missing join key (named, with the view needing it) or a value
  // of the wrong type; Unavailable when the online store fails.
  StatusOr<OnlineResponse> GetOnlineFeatures(const OnlineRequest& request);

  // The same without blocking on the store: `done` gets the answer on the
  // store's thread (OnlineStore::ReadAsync) or before this returns.
  using OnlineDone = std::function<void(StatusOr<OnlineResponse>)>;
  void GetOnlineFeaturesAsync(std::shared_ptr<const OnlineRequest> request, OnlineDone done);

  // The definitions in use (reloaded when the registry moved).
  StatusOr<std::shared_ptr<const FeatureRepo>> Definitions();

 private:
  FeatureRegistry* registry_;
  online::OnlineStore* store_;
  Env* env_;
  std::string project_;

  // Reads the registry and swaps in new definitions when it moved. A failed
  // read keeps the definitions in hand (and answers with them) when there are any.
  StatusOr<std::shared_ptr<const FeatureRepo>> Refresh(int64_t now);

  // The plan of `request`'s features under `repo`, built once per feature
  // list and definitions version: resolving names, compiling on-demand views
  // and naming tables cost more than the store read they lead to.
  StatusOr<std::shared_ptr<const ServingPlan>> PlanFor(
      const std::shared_ptr<const FeatureRepo>& repo, const OnlineRequest& request);

  // A request is served in two steps around its store reads: Prepare
  // validates it and builds the store keys, Assemble builds the response.
  struct Prepared;
  StatusOr<Prepared> Prepare(const OnlineRequest& request);
  StatusOr<OnlineResponse> Assemble(const OnlineRequest& request, const Prepared& prepared);

  // Held by the one caller reading the registry; guards no member (a
  // plain std::mutex: it is taken with try_lock).
  std::mutex refresh_mu_;
  // Re-reads the registry every kRecheckMicros on the Env's clock.
  std::unique_ptr<Timer> refresher_;
  std::atomic<bool> refresher_running_{false};
  Mutex mu_;
  std::shared_ptr<const FeatureRepo> repo_ GUARDED_BY(mu_);
  int64_t repo_version_ GUARDED_BY(mu_) = 0;
  int64_t checked_at_micros_ GUARDED_BY(mu_) = 0;
  Mutex plans_mu_;
  // plans_ are plans of plans_repo_.
  std::shared_ptr<const FeatureRepo> plans_repo_ GUARDED_BY(plans_mu_);
  std::unordered_map<std::string, std::shared_ptr<const ServingPlan>> plans_ GUARDED_BY(plans_mu_);
};

}  // namespace cairn::features
