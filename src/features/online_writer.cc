#include "features/online_writer.h"

#include <cmath>

#include "core/time_format.h"
#include "features/materialize.h"
#include "features/offline_source.h"
#include "features/online_codec.h"

namespace cairn::features {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;

std::string Where(const std::string& column, size_t row, const std::string& field = "df") {
  return field + "." + column + "[" + std::to_string(row) + "]";
}

}  // namespace

StatusOr<int64_t> FrameTime(const FrameValue& v, const std::string& column, size_t row,
                            const std::string& field) {
  if (const std::string* s = std::get_if<std::string>(&v)) {
    StatusOr<int64_t> parsed = ParseTimestampMicros(*s);
    if (!parsed.ok()) {
      return InvalidArgument(Where(column, row, field) + ": " + parsed.status().message());
    }
    return *parsed;
  }
  // Unix seconds, within the years text timestamps can name (1 to 9999):
  // beyond, the microseconds overflow (1e300 became year -290308, INT64_MIN
  // became 1970).
  constexpr int64_t kFirstSecond = -62'135'596'800;  // 0001-01-01T00:00:00Z
  constexpr int64_t kLastSecond = 253'402'300'799;   // 9999-12-31T23:59:59Z
  auto out_of_range = [&] {
    return InvalidArgument(Where(column, row, field) +
                           ": out of range; Unix seconds must lie between " +
                           std::to_string(kFirstSecond) + " and " + std::to_string(kLastSecond) +
                           " (years 1 to 9999)");
  };
  if (const int64_t* i = std::get_if<int64_t>(&v)) {
    if (*i < kFirstSecond || *i > kLastSecond) return out_of_range();
    return *i * kMicrosPerSecond;
  }
  if (const double* d = std::get_if<double>(&v)) {
    // Written so that NaN fails too.
    if (!(*d >= static_cast<double>(kFirstSecond) && *d <= static_cast<double>(kLastSecond) + 1)) {
      return out_of_range();
    }
    return static_cast<int64_t>(std::llround(*d * kMicrosPerSecond));
  }
  return InvalidArgument(Where(column, row, field) +
                         ": expected a timestamp (text or Unix seconds)");
}

StatusOr<FeatureValue> FrameFeatureValue(const FrameValue& v, ValueType type,
                                         const std::string& column, size_t row) {
  if (std::holds_alternative<std::monostate>(v)) return FeatureValue{};
  auto wrong = [&](const char* expected) {
    return InvalidArgument(Where(column, row) + ": expected " + expected + " for a " +
                           std::string(ValueTypeName(type)) + " feature");
  };
  switch (type) {
    case ValueType::kInt32:
    case ValueType::kInt64:
      if (const int64_t* i = std::get_if<int64_t>(&v)) return FeatureValue{*i};
      return wrong("an integer");
    case ValueType::kFloat32:
    case ValueType::kFloat64:
      if (const double* d = std::get_if<double>(&v)) {
        return FeatureValue{
            type == ValueType::kFloat32 ? static_cast<double>(static_cast<float>(*d)) : *d};
      }
      if (const int64_t* i = std::get_if<int64_t>(&v)) return FeatureValue{static_cast<double>(*i)};
      return wrong("a number");
    case ValueType::kString:
    case ValueType::kBytes:
      if (const std::string* s = std::get_if<std::string>(&v)) return FeatureValue{*s};
      return wrong("a string");
    case ValueType::kBool:
      if (const bool* b = std::get_if<bool>(&v)) return FeatureValue{static_cast<int64_t>(*b)};
      return wrong("true or false");
    case ValueType::kUnixTimestamp: {
      ASSIGN_OR_RETURN(int64_t micros, FrameTime(v, column, row));
      return FeatureValue{micros};
    }
  }
  return wrong("a value");
}

StatusOr<size_t> Frame::Rows() const {
  size_t rows = columns.empty() ? 0 : columns.front().second.size();
  for (const auto& [name, values] : columns) {
    if (values.size() != rows) {
      return InvalidArgument(field + ": every column must have the same length ('" +
                             columns.front().first + "' has " + std::to_string(rows) + ", '" +
                             name + "' has " + std::to_string(values.size()) + ")");
    }
  }
  return rows;
}

const std::vector<FrameValue>* Frame::Find(const std::string& name) const {
  for (const auto& [column, values] : columns) {
    if (column == name) return &values;
  }
  return nullptr;
}

StatusOr<online::WriteCounts> WriteFrame(const FeatureRepo& repo, const FeatureView& view,
                                         const Frame& frame, online::OnlineStore& store) {
  ASSIGN_OR_RETURN(size_t rows, frame.Rows());
  std::vector<Field> keys = JoinKeys(repo, view);
  std::vector<const std::vector<FrameValue>*> key_columns;
  for (const Field& key : keys) {
    const std::vector<FrameValue>* column = frame.Find(key.name);
    if (column == nullptr) {
      return InvalidArgument("df: missing column '" + key.name + "', a join key of feature view '" +
                             view.name + "'");
    }
    key_columns.push_back(column);
  }
  std::string ts_name = TimestampColumn(repo, view);
  const std::vector<FrameValue>* ts = frame.Find(ts_name);
  if (ts == nullptr) {
    return InvalidArgument("df: missing column '" + ts_name +
                           "', the event timestamp of feature "
                           "view '" +
                           view.name + "'");
  }
  std::string created_name = CreatedColumn(repo, view);
  const std::vector<FrameValue>* created =
      created_name.empty() ? nullptr : frame.Find(created_name);

  std::vector<std::string> store_keys(rows);
  std::vector<online::OnlineRecord> records(rows);
  std::vector<std::string> stored(rows);
  for (size_t row = 0; row < rows; ++row) {
    for (size_t k = 0; k < keys.size(); ++k) {
      const FrameValue& v = (*key_columns[k])[row];
      const int64_t* i = std::get_if<int64_t>(&v);
      const std::string* s = std::get_if<std::string>(&v);
      if (i != nullptr &&
          (keys[k].type == ValueType::kInt32 || keys[k].type == ValueType::kInt64)) {
        RETURN_IF_ERROR(AppendKeyInt(keys[k].type, *i, &store_keys[row]));
      } else if (s != nullptr &&
                 (keys[k].type == ValueType::kString || keys[k].type == ValueType::kBytes)) {
        RETURN_IF_ERROR(AppendKeyString(keys[k].type, *s, &store_keys[row]));
      } else {
        return InvalidArgument(Where(keys[k].name, row) + ": expected " +
                               std::string(ValueTypeName(keys[k].type)));
      }
    }
    ASSIGN_OR_RETURN(records[row].event_micros, FrameTime((*ts)[row], ts_name, row));
    if (created != nullptr && !std::holds_alternative<std::monostate>((*created)[row])) {
      ASSIGN_OR_RETURN(records[row].created_micros, FrameTime((*created)[row], created_name, row));
    }
    for (const Field& f : view.schema) {
      const std::vector<FrameValue>* column = frame.Find(f.name);
      FeatureValue value;
      if (column != nullptr) {
        ASSIGN_OR_RETURN(value, FrameFeatureValue((*column)[row], f.type, f.name, row));
      }
      AppendValue(value, &records[row].values);
    }
  }
  std::vector<online::OnlineWrite> writes;
  writes.reserve(rows);
  for (size_t row = 0; row < rows; ++row) {
    stored[row] = online::EncodeStored(records[row]);
    writes.push_back({store_keys[row], stored[row]});
  }
  return store.Write(OnlineTable(repo.project, view), writes);
}

}  // namespace cairn::features
