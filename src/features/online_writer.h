// Writes rows sent in a request (Feast's /push and /write-to-online-store
// `df`: a map of column name to a list of values) into the online store, for
// one feature view, under the store's rule (an older row never overwrites a
// newer one).
//
// The frame must hold the view's join keys and its source's timestamp field
// (timestamps as RFC 3339 / ISO 8601 text or Unix seconds); features it
// lacks are stored as null, and other columns are ignored. When the frame
// holds several rows of one entity, the latest wins, as in materialization.
//
// Thread-safety: pure function over its arguments; the store is thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/status.h"
#include "features/definitions.h"
#include "features/online_codec.h"
#include "online/online_store.h"

namespace cairn::features {

using FrameValue = std::variant<std::monostate, int64_t, double, std::string, bool>;

struct Frame {
  std::vector<std::pair<std::string, std::vector<FrameValue>>> columns;
  // Where the frame came from, for messages ("df" is Feast's field).
  std::string field = "df";
  const std::vector<FrameValue>* Find(const std::string& name) const;
  // The number of rows. Errors: InvalidArgument naming two columns of
  // unequal length.
  StatusOr<size_t> Rows() const;
};

// A frame value as a time (microseconds): RFC 3339 / ISO 8601 text or Unix
// seconds. Errors: InvalidArgument naming field.column[row].
StatusOr<int64_t> FrameTime(const FrameValue& v, const std::string& column, size_t row,
                            const std::string& field = "df");
// A frame value as a feature value of `type` (null stays null). Errors:
// InvalidArgument naming df.column[row] and the type expected.
StatusOr<FeatureValue> FrameFeatureValue(const FrameValue& v, ValueType type,
                                         const std::string& column, size_t row);

// Errors: InvalidArgument naming the column and row for a missing join key
// or timestamp column, columns of unequal length, or a value of the wrong
// type; the store's error when the write fails (nothing of this call is
// then half-applied on LMDB; on Redis, batches already acknowledged stay).
StatusOr<online::WriteCounts> WriteFrame(const FeatureRepo& repo, const FeatureView& view,
                                         const Frame& frame, online::OnlineStore& store);

}  // namespace cairn::features
