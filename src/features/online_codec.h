// How feature rows are laid out in the online store, shared by every writer
// (materialization, push, write-to-online-store) and the feature server, so
// a key written offline is the key a request looks up.
//
// Entity key: the view's join keys in order, each as a tag and its value:
// integers (Int32, Int64) as 'i' + 8 bytes little-endian, so 7 sent as JSON
// matches 7 read from Parquet whatever the width; strings 's' and bytes 'b'
// with a 4-byte length first, so multi-key values cannot run together.
// Values: one tagged value per feature of the view, in schema order.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"
#include "features/definitions.h"

namespace cairn::features {

// A feature value as served: null, integer (also Bool and UnixTimestamp,
// microseconds), double, or string (String and Bytes).
using FeatureValue = std::variant<std::monostate, int64_t, double, std::string>;

// Appends one join-key value to an entity key. Errors: InvalidArgument when
// `type` cannot be a join key (only integers, strings and bytes can).
Status AppendKeyInt(ValueType type, int64_t value, std::string* key);
Status AppendKeyString(ValueType type, std::string_view value, std::string* key);

void AppendValue(const FeatureValue& value, std::string* out);
// The same encodings, for writers that hold typed columns rather than values.
void AppendNullValue(std::string* out);
void AppendIntValue(int64_t value, std::string* out);
void AppendDoubleValue(double value, std::string* out);
void AppendStringValue(std::string_view value, std::string* out);

// Decodes the values a record holds. Errors: Internal when damaged.
StatusOr<std::vector<FeatureValue>> DecodeValues(std::string_view encoded);
// The same, appending to `out` (a caller decoding many records reuses it).
Status DecodeValues(std::string_view in, std::vector<FeatureValue>* out);

}  // namespace cairn::features
