// Tensors as the inference protocols carry them (Open Inference Protocol v2,
// KServe v1, MLflow scoring): a name, a datatype, a shape and the elements.
// Protocol codecs (src/kserve, src/mlflow scoring) decode into these and
// models read them; nothing here knows a wire format.
//
// Numeric elements are kept as little-endian bytes, so the binary tensor
// extension's buffers are used as they arrive; BYTES elements as strings.
//
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cairn::serving {

enum class DataType {
  kBool,
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFp16,
  kFp32,
  kFp64,
  kBytes
};

// "BOOL", "UINT8", ..., "FP32", "BYTES": the v2 protocol's names.
std::string_view DataTypeName(DataType type);
std::optional<DataType> ParseDataType(std::string_view name);
// Bytes per element; 0 for BYTES (variable length).
size_t ElementSize(DataType type);

struct Tensor {
  std::string name;
  DataType datatype = DataType::kFp32;
  std::vector<int64_t> shape;
  std::string data;                // numeric elements, little-endian, packed
  std::vector<std::string> bytes;  // BYTES elements

  // Elements the shape holds; nullopt when a dimension is negative or the
  // product overflows.
  std::optional<size_t> ElementCount() const;
  size_t Size() const {
    return datatype == DataType::kBytes ? bytes.size() : data.size() / ElementSize(datatype);
  }

  // Element i as a float (as XGBoost's DMatrix reads numbers: doubles
  // rounded to float, integers converted, BOOL as 0/1).
  // REQUIRES: numeric datatype, i < Size().
  float FloatAt(size_t i) const;
};

// A tensor of `shape` holding `values` as FP32.
Tensor Fp32Tensor(std::string name, std::vector<int64_t> shape, const std::vector<float>& values);

// Checks that the data holds exactly what the shape says. InvalidArgument
// names the tensor, e.g. "input 'x': shape [2, 3] holds 6 elements, data has 5".
Status CheckShape(const Tensor& tensor, std::string_view role);

// The raw form of a tensor's elements, as the binary tensor extension and
// the gRPC protocol's raw contents carry them: numbers packed little-endian
// (BOOL one byte), BYTES elements each a 4-byte little-endian length and
// the bytes.
void AppendRawElements(std::string& out, const Tensor& tensor);
// Fills tensor->data (or ->bytes, for BYTES) from `raw`, in that form.
// InvalidArgument naming `named` when a BYTES element is cut off.
Status ReadRawElements(std::string_view raw, std::string_view named, Tensor* tensor);

}  // namespace cairn::serving
