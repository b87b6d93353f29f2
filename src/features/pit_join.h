// The point-in-time join at the heart of training-set retrieval: for each
// entity row (join keys + event timestamp) pick the feature row Feast would
// pick, so training sees only what was known at that moment.
//
// The rule, for an entity row at time t: among the feature rows with equal
// join keys and t - ttl <= row.ts <= t (both ends inclusive; ttl 0 means no
// lower bound), the one with the greatest event timestamp, ties broken by
// the greatest created timestamp, then by the later row. Rows with a null key
// or timestamp never match; with a created cutoff, rows created after it are
// invisible (a backfill cannot leak into a training set built as of before it).
//
// Keys compare by value, column by column, so multi-key rows cannot collide
// the way string-concatenated ids can.
//
// Thread-safety: a pure function; it runs its own worker threads.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/status.h"
#include "offline/table.h"

namespace cairn::features {

struct PitJoinInput {
  // Pairwise the same storage (integer or string); as many entity as feature keys.
  std::vector<const offline::Column*> entity_keys;
  const offline::Column* entity_ts = nullptr;  // microseconds
  std::vector<const offline::Column*> feature_keys;
  const offline::Column* feature_ts = nullptr;
  const offline::Column* feature_created = nullptr;  // optional
};

struct PitJoinOptions {
  int64_t ttl_micros = 0;  // 0: unbounded
  std::optional<int64_t> created_cutoff_micros;
  int threads = 2;
};

// Returns, per entity row, the index of the chosen feature row, or -1.
// Errors: InvalidArgument when key columns do not pair up.
StatusOr<std::vector<int64_t>> PointInTimeJoin(const PitJoinInput& input,
                                               const PitJoinOptions& options);

}  // namespace cairn::features
