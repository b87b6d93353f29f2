#include "serving/tensor.h"

#include <array>
#include <cstring>
#include <limits>
#include <utility>

namespace cairn::serving {

namespace {
constexpr std::array<std::pair<DataType, std::string_view>, 13> kNames = {{
    {DataType::kBool, "BOOL"},
    {DataType::kUint8, "UINT8"},
    {DataType::kUint16, "UINT16"},
    {DataType::kUint32, "UINT32"},
    {DataType::kUint64, "UINT64"},
    {DataType::kInt8, "INT8"},
    {DataType::kInt16, "INT16"},
    {DataType::kInt32, "INT32"},
    {DataType::kInt64, "INT64"},
    {DataType::kFp16, "FP16"},
    {DataType::kFp32, "FP32"},
    {DataType::kFp64, "FP64"},
    {DataType::kBytes, "BYTES"},
}};

template <typename T>
T Load(const std::string& data, size_t i) {
  T v;
  std::memcpy(&v, data.data() + i * sizeof(T), sizeof(T));
  return v;
}

// IEEE half to float (only the binary form carries FP16).
float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h >> 15) << 31;
  const uint32_t exponent = (h >> 10) & 0x1f;
  const uint32_t mantissa = h & 0x3ff;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      uint32_t m = mantissa;
      do {
        ++e;
        m <<= 1;
      } while ((m & 0x400) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (m & 0x3ff) << 13;
    }
  } else if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | mantissa << 13;
  } else {
    bits = sign | (exponent + 127 - 15) << 23 | mantissa << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
}  // namespace

std::string_view DataTypeName(DataType type) {
  for (const auto& [t, name] : kNames) {
    if (t == type) return name;
  }
  return "BYTES";
}

std::optional<DataType> ParseDataType(std::string_view name) {
  for (const auto& [t, n] : kNames) {
    if (n == name) return t;
  }
  return std::nullopt;
}

size_t ElementSize(DataType type) {
  switch (type) {
    case DataType::kBool:
    case DataType::kUint8:
    case DataType::kInt8:
      return 1;
    case DataType::kUint16:
    case DataType::kInt16:
    case DataType::kFp16:
      return 2;
    case DataType::kUint32:
    case DataType::kInt32:
    case DataType::kFp32:
      return 4;
    case DataType::kUint64:
    case DataType::kInt64:
    case DataType::kFp64:
      return 8;
    case DataType::kBytes:
      return 0;
  }
  return 0;
}

std::optional<size_t> Tensor::ElementCount() const {
  size_t count = 1;
  for (int64_t d : shape) {
    if (d < 0) return std::nullopt;
    if (d != 0 && count > std::numeric_limits<size_t>::max() / static_cast<size_t>(d))
      return std::nullopt;
    count *= static_cast<size_t>(d);
  }
  return count;
}

float Tensor::FloatAt(size_t i) const {
  switch (datatype) {
    case DataType::kBool:
    case DataType::kUint8:
      return static_cast<float>(Load<uint8_t>(data, i));
    case DataType::kInt8:
      return static_cast<float>(Load<int8_t>(data, i));
    case DataType::kUint16:
      return static_cast<float>(Load<uint16_t>(data, i));
    case DataType::kInt16:
      return static_cast<float>(Load<int16_t>(data, i));
    case DataType::kUint32:
      return static_cast<float>(Load<uint32_t>(data, i));
    case DataType::kInt32:
      return static_cast<float>(Load<int32_t>(data, i));
    case DataType::kUint64:
      return static_cast<float>(Load<uint64_t>(data, i));
    case DataType::kInt64:
      return static_cast<float>(Load<int64_t>(data, i));
    case DataType::kFp16:
      return HalfToFloat(Load<uint16_t>(data, i));
    case DataType::kFp32:
      return Load<float>(data, i);
    case DataType::kFp64:
      return static_cast<float>(Load<double>(data, i));
    case DataType::kBytes:
      return std::numeric_limits<float>::quiet_NaN();
  }
  return std::numeric_limits<float>::quiet_NaN();
}

Tensor Fp32Tensor(std::string name, std::vector<int64_t> shape, const std::vector<float>& values) {
  Tensor t;
  t.name = std::move(name);
  t.datatype = DataType::kFp32;
  t.shape = std::move(shape);
  t.data.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  return t;
}

Status CheckShape(const Tensor& tensor, std::string_view role) {
  std::string shape = "[";
  for (size_t i = 0; i < tensor.shape.size(); ++i) {
    if (i > 0) shape += ", ";
    shape += std::to_string(tensor.shape[i]);
  }
  shape += "]";
  std::optional<size_t> count = tensor.ElementCount();
  if (!count) {
    return InvalidArgument(std::string(role) + " '" + tensor.name + "': shape " + shape +
                           " has a negative or too large dimension");
  }
  if (tensor.datatype != DataType::kBytes &&
      tensor.data.size() % ElementSize(tensor.datatype) != 0) {
    return InvalidArgument(std::string(role) + " '" + tensor.name + "': " +
                           std::to_string(tensor.data.size()) + " bytes is not a whole number of " +
                           std::string(DataTypeName(tensor.datatype)) + " elements");
  }
  if (tensor.Size() != *count) {
    return InvalidArgument(std::string(role) + " '" + tensor.name + "': shape " + shape +
                           " holds " + std::to_string(*count) + " elements, data has " +
                           std::to_string(tensor.Size()));
  }
  return Status::Ok();
}

void AppendRawElements(std::string& out, const Tensor& tensor) {
  if (tensor.datatype != DataType::kBytes) {
    out += tensor.data;
    return;
  }
  for (const std::string& e : tensor.bytes) {
    const auto n = static_cast<uint32_t>(e.size());
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    out += e;
  }
}

Status ReadRawElements(std::string_view raw, std::string_view named, Tensor* tensor) {
  if (tensor->datatype != DataType::kBytes) {
    tensor->data.assign(raw);
    return Status::Ok();
  }
  while (!raw.empty()) {
    if (raw.size() < 4) {
      return InvalidArgument(std::string(named) + ": a BYTES element's 4-byte length is cut off");
    }
    uint32_t n = 0;
    for (int i = 3; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(raw[static_cast<size_t>(i)]);
    raw.remove_prefix(4);
    if (n > raw.size()) {
      return InvalidArgument(std::string(named) + ": a BYTES element of " + std::to_string(n) +
                             " bytes exceeds the " + std::to_string(raw.size()) + " left");
    }
    tensor->bytes.emplace_back(raw.substr(0, n));
    raw.remove_prefix(n);
  }
  return Status::Ok();
}

}  // namespace cairn::serving
