#include "features/online_codec.h"

#include <cstring>

namespace cairn::features {
namespace {

template <typename T>
void AppendRaw(const T& v, std::string* out) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

template <typename T>
bool ReadRaw(std::string_view* in, T* v) {
  if (in->size() < sizeof(T)) return false;
  std::memcpy(v, in->data(), sizeof(T));
  in->remove_prefix(sizeof(T));
  return true;
}

// A tag and 8 raw bytes, appended at once (materialization writes millions).
template <typename T>
void AppendTagged(char tag, T value, std::string* out) {
  char bytes[1 + sizeof(T)];
  bytes[0] = tag;
  std::memcpy(bytes + 1, &value, sizeof(T));
  out->append(bytes, sizeof(bytes));
}

}  // namespace

Status AppendKeyInt(ValueType type, int64_t value, std::string* key) {
  if (type != ValueType::kInt32 && type != ValueType::kInt64) {
    return InvalidArgument("join keys of type " + std::string(ValueTypeName(type)) +
                           " are not supported; use Int64, Int32, String or Bytes");
  }
  *key += 'i';
  AppendRaw(value, key);
  return Status::Ok();
}

Status AppendKeyString(ValueType type, std::string_view value, std::string* key) {
  if (type != ValueType::kString && type != ValueType::kBytes) {
    return InvalidArgument("join keys of type " + std::string(ValueTypeName(type)) +
                           " are not supported; use Int64, Int32, String or Bytes");
  }
  *key += type == ValueType::kString ? 's' : 'b';
  AppendRaw(static_cast<uint32_t>(value.size()), key);
  key->append(value);
  return Status::Ok();
}

void AppendNullValue(std::string* out) { *out += 'n'; }

void AppendIntValue(int64_t value, std::string* out) { AppendTagged('i', value, out); }

void AppendDoubleValue(double value, std::string* out) { AppendTagged('d', value, out); }

void AppendStringValue(std::string_view value, std::string* out) {
  AppendTagged('s', static_cast<uint32_t>(value.size()), out);
  out->append(value);
}

void AppendValue(const FeatureValue& value, std::string* out) {
  if (std::holds_alternative<std::monostate>(value)) {
    AppendNullValue(out);
  } else if (const int64_t* i = std::get_if<int64_t>(&value)) {
    AppendIntValue(*i, out);
  } else if (const double* d = std::get_if<double>(&value)) {
    AppendDoubleValue(*d, out);
  } else {
    AppendStringValue(std::get<std::string>(value), out);
  }
}

Status DecodeValues(std::string_view in, std::vector<FeatureValue>* out) {
  auto damaged = [] { return Internal("online store values are damaged; rematerialize the view"); };
  while (!in.empty()) {
    char tag = in.front();
    in.remove_prefix(1);
    switch (tag) {
      case 'n':
        out->emplace_back(std::monostate{});
        break;
      case 'i': {
        int64_t v;
        if (!ReadRaw(&in, &v)) return damaged();
        out->emplace_back(v);
        break;
      }
      case 'd': {
        double v;
        if (!ReadRaw(&in, &v)) return damaged();
        out->emplace_back(v);
        break;
      }
      case 's': {
        uint32_t n;
        if (!ReadRaw(&in, &n) || in.size() < n) return damaged();
        out->emplace_back(std::string(in.substr(0, n)));
        in.remove_prefix(n);
        break;
      }
      default:
        return damaged();
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<FeatureValue>> DecodeValues(std::string_view encoded) {
  std::vector<FeatureValue> out;
  RETURN_IF_ERROR(DecodeValues(encoded, &out));
  return out;
}

}  // namespace cairn::features
