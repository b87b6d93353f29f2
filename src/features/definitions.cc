#include "features/definitions.h"

#include <charconv>

#include "core/strings.h"

namespace cairn::features {
namespace {

struct TypeName {
  std::string_view name;
  ValueType type;
};

// Feast's names first: ValueTypeName returns the first match.
constexpr TypeName kTypeNames[] = {
    {"Int32", ValueType::kInt32},     {"Int64", ValueType::kInt64},
    {"Float32", ValueType::kFloat32}, {"Float64", ValueType::kFloat64},
    {"String", ValueType::kString},   {"Bytes", ValueType::kBytes},
    {"Bool", ValueType::kBool},       {"UnixTimestamp", ValueType::kUnixTimestamp},
    {"int", ValueType::kInt64},       {"integer", ValueType::kInt64},
    {"long", ValueType::kInt64},      {"float", ValueType::kFloat32},
    {"double", ValueType::kFloat64},  {"str", ValueType::kString},
    {"boolean", ValueType::kBool},    {"timestamp", ValueType::kUnixTimestamp},
};

template <typename T>
const T* FindByName(const std::vector<T>& items, std::string_view name) {
  for (const T& item : items) {
    if (item.name == name) return &item;
  }
  return nullptr;
}

}  // namespace

std::string_view ValueTypeName(ValueType type) {
  for (const TypeName& t : kTypeNames) {
    if (t.type == type) return t.name;
  }
  return "String";
}

StatusOr<ValueType> ParseValueType(std::string_view name) {
  for (const TypeName& t : kTypeNames) {
    if (EqualsIgnoreCase(t.name, name)) return t.type;
  }
  return InvalidArgument("unknown value type '" + std::string(name) +
                         "'; expected one of Int32, Int64, Float32, Float64, String, Bytes, "
                         "Bool, UnixTimestamp");
}

StatusOr<int64_t> ParseDurationSeconds(std::string_view text) {
  Status bad = InvalidArgument("'" + std::string(text) +
                               "' is not a duration; expected a number of seconds or a number "
                               "with a unit s, m, h, d or w (e.g. 3600, 90m, 1d; 0 = unbounded)");
  if (text.empty()) return bad;
  int64_t unit = 1;
  std::string_view digits = text;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    case 'w':
      unit = 7 * 86400;
      break;
    default:
      unit = 0;
  }
  if (unit != 0) {
    digits.remove_suffix(1);
  } else {
    unit = 1;
  }
  int64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value < 0 ||
      value > INT64_MAX / unit / 1'000'000) {
    return bad;
  }
  return value * unit;
}

std::string FormatDuration(int64_t seconds) {
  if (seconds == 0) return "0";
  struct Unit {
    int64_t seconds;
    char suffix;
  };
  for (Unit u : {Unit{7 * 86400, 'w'}, Unit{86400, 'd'}, Unit{3600, 'h'}, Unit{60, 'm'}}) {
    if (seconds % u.seconds == 0) return std::to_string(seconds / u.seconds) + u.suffix;
  }
  return std::to_string(seconds) + "s";
}

std::string_view SourceKindName(SourceKind kind) {
  switch (kind) {
    case SourceKind::kFile:
      return "file";
    case SourceKind::kSql:
      return "sql";
    case SourceKind::kPush:
      return "push";
  }
  return "file";
}

const Field* FeatureView::FindFeature(std::string_view feature) const {
  return FindByName(schema, feature);
}

const Entity* FeatureRepo::FindEntity(std::string_view name) const {
  return FindByName(entities, name);
}
const Source* FeatureRepo::FindSource(std::string_view name) const {
  return FindByName(sources, name);
}
const FeatureView* FeatureRepo::FindFeatureView(std::string_view name) const {
  return FindByName(feature_views, name);
}
const OnDemandFeatureView* FeatureRepo::FindOnDemandFeatureView(std::string_view name) const {
  return FindByName(on_demand_feature_views, name);
}
const FeatureService* FeatureRepo::FindFeatureService(std::string_view name) const {
  return FindByName(feature_services, name);
}

}  // namespace cairn::features
