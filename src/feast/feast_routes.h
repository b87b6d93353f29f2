// Feast's feature server HTTP API on the Cairn server, so Feast's clients
// and anything written against `feast serve` work unchanged:
//   POST /get-online-features   {features | feature_service, entities, full_feature_names}
//        -> {"metadata": {"feature_names": [...]}, "results": [{values, statuses,
//            event_timestamps}, ...]}, column by column: join keys, then features
//   POST /write-to-online-store {feature_view_name, df}
//   POST /push                  {push_source_name, df, to: online | offline | online_and_offline}
//   POST /materialize           {start_ts, end_ts, feature_views?}
//   POST /materialize-incremental {end_ts, feature_views?}
// (GET /health is the server's own.) Writes answer `null` with 200, as Feast.
// Beside Feast's API, Cairn's own:
//   POST /api/cairn/v1/features/historical: training sets (training_set_route.h)
//   GET /api/cairn/v1/features/stats?view=V (any user): the view's latest
//       statistics (features/feature_stats.h); without `view`, every view's.
// Errors: 4xx/5xx with {"error_code", "message", "detail"}: `detail` as
// FastAPI (Feast's server) words it, error_code/message as the rest of Cairn.
// With users, reading features needs any signed-in user; writing and
// materializing need the editor role. Every write is audited (who, which
// route, which view or source, the request, bounded), before it is made.
#pragma once

#include <functional>
#include <memory>

#include "audit/audit_log.h"
#include "features/feature_registry.h"
#include "features/feature_stats.h"
#include "features/online_serving.h"
#include "offline/engine.h"
#include "online/online_store.h"
#include "surface/surface.h"

namespace cairn::feast {

struct FeastDependencies {
  features::OnlineServing* serving;
  features::FeatureRegistry* registry;
  online::OnlineStore* store;
  // Opens an offline engine for a materialization (one per request).
  std::function<StatusOr<std::unique_ptr<offline::Engine>>()> open_engine;
  // Materializations save their statistics here; the stats route reads them.
  features::FeatureStatsStore* stats;
  Env* env;
  // Where offline pushes are kept (features::PushedRowsRoot of --data-dir).
  std::string pushed_root;
  // Training sets answered as JSON hold at most this many cells
  // (ServerConfig::training_set_json_max_cells).
  uint64_t training_set_json_max_cells = 0;
  // The only folder whose files training-set requests may read
  // (entities_path) and write (out_path), canonical; empty: none, and such
  // requests are refused (ServerConfig::training_data_root).
  std::string training_data_root;
  // Records the writes that do not go through the metadata store (online
  // store writes, pushes, materializations, training-set files); required.
  audit::AuditLog* audit = nullptr;
};

// Feast's feature server routes, answered in Feast's error shape
// (ErrorFormat in feast_json.h) whatever `shared`'s; and the feature store's
// routes of Cairn's own API (/api/cairn/v1/features/...), answered in
// `shared`'s. Everything in `deps` must outlive the server.
void RegisterFeastRoutes(const surface::Surface& shared, const FeastDependencies& deps);

}  // namespace cairn::feast
