// Input validation shared by every tracking entry point, with MLflow's limits
// and wording (clients and their users see these messages).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"
#include "tracking/entities.h"

namespace cairn::tracking {

inline constexpr size_t kMaxParamsTagsPerBatch = 100;
inline constexpr size_t kMaxMetricsPerBatch = 1000;
inline constexpr size_t kMaxEntitiesPerBatch = 1000;
inline constexpr size_t kMaxBatchRequestBytes = 1000000;
inline constexpr size_t kMaxParamValueLength = 6000;
inline constexpr size_t kMaxTagValueLength = 5000;
inline constexpr size_t kMaxEntityKeyLength = 250;
inline constexpr size_t kMaxExperimentTagValueLength = 5000;
inline constexpr int64_t kMaxSearchResults = 50000;

// `kind` is "metric", "parameter" or "tag": validates MLflow's name rules
// (characters, no path escapes, length). `allow_colon`: MLflow 3's registry
// also accepts ':' in tag keys.
Status ValidateKeyName(std::string_view kind, std::string_view name, bool allow_colon = false);
// "Param value 'x...' had length 7000, which exceeded length limit of 6000".
Status ValidateLength(std::string_view entity, size_t limit, std::string_view value);
// A param's or tag's key and value, as MLflow checks them.
Status ValidateParam(const KeyValue& param);
Status ValidateTag(const KeyValue& tag);
Status ValidateBatchLimit(std::string_view entity, size_t limit, size_t count);
Status ValidateExperimentName(std::string_view name);
Status ValidateRunId(std::string_view run_id);

}  // namespace cairn::tracking
