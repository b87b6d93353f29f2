// Training sets over HTTP: the same point-in-time retrieval as `cairn
// features historical` (features/historical.h), for notebooks and pipelines
// that talk to the server rather than run the CLI beside its data.
//
//   POST /api/cairn/v1/features/historical
//   {"features": ["view:feature", ...] | "feature_service": "name",
//    "full_feature_names": false,
//    "entities": {"driver_id": [...], "event_timestamp": [...], "label": [...]}
//      | "entities_path": ".parquet or .csv under the training data root",
//    "out_path": ".parquet or .csv under the training data root" (optional),
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
// Server-side files are off by default: only with --training-data-root DIR
// may entities_path and out_path name files, and only under DIR (relative to
// it, or absolute inside it; symlinks and ".." resolved as the OS would, so
// nothing leads out). A path outside is refused the same way whether or not
// it exists, and answers show paths relative to DIR. The server refuses a
// root that overlaps its data, store, policies, keys or artifacts folders, so no
// request can overwrite the server's own state. Outputs are written to a
// fresh file renamed into place (never through a symlink), and audited.
// Reading or writing server-side files needs the editor role (with users);
// inline entities need any signed-in user. At most two training sets are
// built at once (each uses every core and memory in proportion to its
// rows); further requests wait their turn. A route of Cairn's own API:
// errors in the shape of `cairn_api`'s format, naming the field or the
// feature.
#pragma once

#include "feast/feast_routes.h"

namespace cairn::feast {

void RegisterTrainingSetRoute(const surface::Surface& cairn_api, const FeastDependencies& deps);

}  // namespace cairn::feast
