#include "serving/tensor_json.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "core/json.h"

namespace cairn::serving {

namespace {

void AppendFloat(std::string& out, float v) {
  if (std::isnan(v)) {
    out += "NaN";  // as Python's json module writes it (KServe's Python servers do the same)
  } else if (std::isinf(v)) {
    out += v > 0 ? "Infinity" : "-Infinity";
  } else if (v == 0 && std::signbit(v)) {
    out += "-0.0";  // "-0" would read back as the integer 0
  } else {
    char buf[32];
    out.append(buf, std::to_chars(buf, buf + sizeof(buf), v).ptr);
  }
}

void AppendDouble(std::string& out, double v) {
  if (!std::isfinite(v)) {
    AppendFloat(out, static_cast<float>(v));
  } else {
    char buf[32];
    out.append(buf, std::to_chars(buf, buf + sizeof(buf), v).ptr);
  }
}

template <typename T>
T At(const std::string& data, size_t i) {
  T v;
  std::memcpy(&v, data.data() + i * sizeof(T), sizeof(T));
  return v;
}

}  // namespace

void AppendTensorData(std::string& out, const Tensor& t) {
  out += '[';
  const size_t n = t.Size();
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ',';
    switch (t.datatype) {
      case DataType::kBool:
        out += At<uint8_t>(t.data, i) ? "true" : "false";
        break;
      case DataType::kFp32:
        AppendFloat(out, At<float>(t.data, i));
        break;
      case DataType::kFp64:
        AppendDouble(out, At<double>(t.data, i));
        break;
      case DataType::kFp16:
        AppendFloat(out, t.FloatAt(i));
        break;
      case DataType::kBytes:
        json::AppendString(out, t.bytes[i]);
        break;
      case DataType::kUint64:
        out += std::to_string(At<uint64_t>(t.data, i));
        break;
      case DataType::kInt64:
        json::AppendInt(out, At<int64_t>(t.data, i));
        break;
      case DataType::kUint8:
        json::AppendInt(out, At<uint8_t>(t.data, i));
        break;
      case DataType::kUint16:
        json::AppendInt(out, At<uint16_t>(t.data, i));
        break;
      case DataType::kUint32:
        json::AppendInt(out, At<uint32_t>(t.data, i));
        break;
      case DataType::kInt8:
        json::AppendInt(out, At<int8_t>(t.data, i));
        break;
      case DataType::kInt16:
        json::AppendInt(out, At<int16_t>(t.data, i));
        break;
      case DataType::kInt32:
        json::AppendInt(out, At<int32_t>(t.data, i));
        break;
    }
  }
  out += ']';
}

void AppendTensorJson(std::string& out, const Tensor& t) {
  out += "{\"name\":";
  json::AppendString(out, t.name);
  out += ",\"datatype\":\"";
  out += DataTypeName(t.datatype);
  out += "\",\"shape\":[";
  for (size_t d = 0; d < t.shape.size(); ++d) {
    if (d) out += ',';
    json::AppendInt(out, t.shape[d]);
  }
  out += "],\"data\":";
  AppendTensorData(out, t);
  out += '}';
}

}  // namespace cairn::serving
