// Input validation shared by every tracking entry point, with MLflow's limits
// and wording (clients and their users see these messages).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
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
inline constexpr size_t kMaxTagValueLength = 8000;
inline constexpr size_t kMaxEntityKeyLength = 250;
inline constexpr size_t kMaxExperimentTagValueLength = 5000;
inline constexpr size_t kMaxExperimentNameLength = 500;
inline constexpr int64_t kMaxSearchResults = 50000;

// The byte offset of the first byte of `text` that is not part of a
// well-formed UTF-8 sequence (overlong forms, surrogates and code points
// past U+10FFFF are ill-formed), or nullopt when all of it is UTF-8.
std::optional<size_t> FindInvalidUtf8(std::string_view text);
// Code points in `text`, which must be valid UTF-8 (MLflow's limits count
// characters, not bytes).
size_t Utf8Length(std::string_view text);
// At most `max_chars` code points of `text`, cut at a character boundary.
std::string_view Utf8Prefix(std::string_view text, size_t max_chars);

// `kind` is "metric", "parameter" or "tag": validates MLflow's name rules
// (characters, no path escapes, length). `allow_colon`: MLflow 3's registry
// also accepts ':' in tag keys.
Status ValidateKeyName(std::string_view kind, std::string_view name, bool allow_colon = false);
// "Param value 'x...' had length 7000, which exceeded length limit of 6000";
// lengths in characters, as MLflow counts them.
Status ValidateLength(std::string_view entity, size_t limit, std::string_view value);
// A param's or tag's key and value, as MLflow checks them.
Status ValidateParam(const KeyValue& param);
Status ValidateTag(const KeyValue& tag);
Status ValidateBatchLimit(std::string_view entity, size_t limit, size_t count);
// Errors: "Invalid experiment name: ''"; "'name' exceeds the maximum length
// of 500 characters" (MLflow's wording).
Status ValidateExperimentName(std::string_view name);
Status ValidateRunId(std::string_view run_id);

}  // namespace cairn::tracking
