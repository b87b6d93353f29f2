// Training sets over HTTP: the same point-in-time retrieval as `cairn
// features historical` (features/historical.h), for notebooks and pipelines
// that talk to the server rather than run the CLI beside its data.
//
//   POST /api/cairn/v1/features/historical
//   {"features": ["view:feature", ...] | "feature_service": "name",
//    "full_feature_names": false,
//    "entities": {"driver_id": [...], "event_timestamp": [...], "label": [...]}
//      | "entities_path": "server-side .parquet or .csv",
//    "out_path": "server-side .parquet or .csv" (optional),
//    "timestamp_column": "event_timestamp", "as_of_created": "RFC 3339",
//    "registry_version": N (optional; the latest applied when absent)}
//
// `entities` is column-wise, as Feast's entity DataFrame and /push's df;
// times are RFC 3339 text or Unix seconds. The answer keeps every entity
// row, in order:
//   {"row_count": N, "columns": [{"name", "type"}, ...],
//    "data": {"driver_id": [...], ..., "conv_rate": [...]}}
// column-wise again (pandas.DataFrame(body["data"]) is the training set;
// times as RFC 3339 text, missing features as null); with `out_path`, the
// file is written instead and the answer carries "out_path" and no "data".
//
// Reading or writing server-side files needs the editor role (with users);
// inline entities need any signed-in user. At most two training sets are
// built at once (each uses every core and memory in proportion to its
// rows); further requests wait their turn. Errors as the other feature
// routes (feast_json.h), naming the field or the feature.
#pragma once

#include "feast/feast_routes.h"

namespace cairn::feast {

void RegisterTrainingSetRoute(mlflow::Surface& surface, const FeastDependencies& deps);

}  // namespace cairn::feast
