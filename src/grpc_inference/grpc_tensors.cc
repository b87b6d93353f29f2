#include "grpc_inference/grpc_tensors.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <utility>

namespace cairn::grpc_inference {

using serving::DataType;
using serving::Tensor;

namespace {

using Contents = inference::InferTensorContents;

// The typed field each datatype travels in (FP16 has none).
std::string_view FieldFor(DataType type) {
  switch (type) {
    case DataType::kBool:
      return "bool_contents";
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32:
      return "int_contents";
    case DataType::kInt64:
      return "int64_contents";
    case DataType::kUint8:
    case DataType::kUint16:
    case DataType::kUint32:
      return "uint_contents";
    case DataType::kUint64:
      return "uint64_contents";
    case DataType::kFp32:
      return "fp32_contents";
    case DataType::kFp64:
      return "fp64_contents";
    case DataType::kBytes:
      return "bytes_contents";
    default:
      return "";
  }
}

// Every typed field with its element count.
std::array<std::pair<std::string_view, int>, 8> FieldCounts(const Contents& c) {
  return {{{"bool_contents", c.bool_contents_size()},
           {"int_contents", c.int_contents_size()},
           {"int64_contents", c.int64_contents_size()},
           {"uint_contents", c.uint_contents_size()},
           {"uint64_contents", c.uint64_contents_size()},
           {"fp32_contents", c.fp32_contents_size()},
           {"fp64_contents", c.fp64_contents_size()},
           {"bytes_contents", c.bytes_contents_size()}}};
}

// Packs `values` as T, each checked to fit.
template <typename T, typename Repeated>
Status Pack(const Repeated& values, const std::string& named, Tensor* tensor) {
  tensor->data.resize(static_cast<size_t>(values.size()) * sizeof(T));
  char* out = tensor->data.data();
  for (int i = 0; i < values.size(); ++i) {
    const auto v = values.Get(i);
    using V = std::decay_t<decltype(v)>;
    if constexpr (std::is_integral_v<T> && std::is_integral_v<V> && !std::is_same_v<V, bool>) {
      if (!std::in_range<T>(v)) {
        return InvalidArgument(named + ": element " + std::to_string(i) + " is " +
                               std::to_string(v) + ", outside " +
                               std::string(DataTypeName(tensor->datatype)));
      }
    }
    const T packed = static_cast<T>(v);
    std::memcpy(out + static_cast<size_t>(i) * sizeof(T), &packed, sizeof(T));
  }
  return Status::Ok();
}

Status ReadTyped(const Contents& c, const std::string& named, Tensor* tensor) {
  const std::string_view field = FieldFor(tensor->datatype);
  if (field.empty()) {
    return InvalidArgument(named + ": " + std::string(DataTypeName(tensor->datatype)) +
                           " has no typed contents; send it in raw_input_contents");
  }
  for (const auto& [other, count] : FieldCounts(c)) {
    if (count > 0 && other != field) {
      return InvalidArgument(named + ": datatype " + std::string(DataTypeName(tensor->datatype)) +
                             " takes its elements in contents." + std::string(field) + ", not " +
                             std::string(other));
    }
  }
  switch (tensor->datatype) {
    case DataType::kBool:
      return Pack<uint8_t>(c.bool_contents(), named, tensor);
    case DataType::kInt8:
      return Pack<int8_t>(c.int_contents(), named, tensor);
    case DataType::kInt16:
      return Pack<int16_t>(c.int_contents(), named, tensor);
    case DataType::kInt32:
      return Pack<int32_t>(c.int_contents(), named, tensor);
    case DataType::kInt64:
      return Pack<int64_t>(c.int64_contents(), named, tensor);
    case DataType::kUint8:
      return Pack<uint8_t>(c.uint_contents(), named, tensor);
    case DataType::kUint16:
      return Pack<uint16_t>(c.uint_contents(), named, tensor);
    case DataType::kUint32:
      return Pack<uint32_t>(c.uint_contents(), named, tensor);
    case DataType::kUint64:
      return Pack<uint64_t>(c.uint64_contents(), named, tensor);
    case DataType::kFp32:
      return Pack<float>(c.fp32_contents(), named, tensor);
    case DataType::kFp64:
      return Pack<double>(c.fp64_contents(), named, tensor);
    case DataType::kBytes:
      tensor->bytes.assign(c.bytes_contents().begin(), c.bytes_contents().end());
      return Status::Ok();
    default:
      return InvalidArgument(named + ": unsupported datatype");
  }
}

// A bool parameter of `parameters`, if set. Errors: set to another kind.
template <typename Map>
StatusOr<bool> BoolParameter(const Map& parameters, const std::string& key) {
  auto it = parameters.find(key);
  if (it == parameters.end()) return false;
  if (it->second.parameter_choice_case() != inference::InferParameter::kBoolParam) {
    return InvalidArgument("parameters." + key + " must be bool_param true or false");
  }
  return it->second.bool_param();
}

}  // namespace

StatusOr<DecodedInferRequest> DecodeInferRequest(const inference::ModelInferRequest& request) {
  DecodedInferRequest decoded;
  if (request.inputs_size() == 0) {
    return InvalidArgument("inputs: at least one input tensor is required");
  }
  const bool raw = request.raw_input_contents_size() > 0;
  if (raw && request.raw_input_contents_size() != request.inputs_size()) {
    return InvalidArgument("raw_input_contents has " +
                           std::to_string(request.raw_input_contents_size()) + " entries for " +
                           std::to_string(request.inputs_size()) +
                           " inputs; send one per input, in order, or none");
  }
  decoded.inputs.reserve(static_cast<size_t>(request.inputs_size()));
  for (int i = 0; i < request.inputs_size(); ++i) {
    const auto& in = request.inputs(i);
    std::string named = "inputs[" + std::to_string(i) + "]";
    if (in.name().empty()) return InvalidArgument(named + ".name: a name is required");
    named += " '" + in.name() + "'";
    Tensor tensor;
    tensor.name = in.name();
    std::optional<DataType> type = serving::ParseDataType(in.datatype());
    if (!type) {
      return InvalidArgument(named + ".datatype: '" + in.datatype() +
                             "' is not one of BOOL, INT8-64, UINT8-64, FP16, FP32, FP64, BYTES");
    }
    tensor.datatype = *type;
    tensor.shape.assign(in.shape().begin(), in.shape().end());
    if (raw) {
      if (in.has_contents()) {
        return InvalidArgument(named +
                               ": has contents while the request uses raw_input_contents; use "
                               "one or the other for every input");
      }
      RETURN_IF_ERROR(ReadRawElements(request.raw_input_contents(i), named, &tensor));
    } else {
      RETURN_IF_ERROR(ReadTyped(in.contents(), named, &tensor));
    }
    RETURN_IF_ERROR(serving::CheckShape(tensor, "input"));
    decoded.inputs.push_back(std::move(tensor));
  }
  for (const auto& wanted : request.outputs()) decoded.outputs.push_back(wanted.name());
  for (const char* key : {"pred_contribs", "explain"}) {
    ASSIGN_OR_RETURN(bool wanted, BoolParameter(request.parameters(), key));
    decoded.explain = decoded.explain || wanted;
  }
  return decoded;
}

Status EncodeInferResponse(std::vector<Tensor> outputs, const std::vector<std::string>& wanted,
                           inference::ModelInferResponse* response) {
  if (!wanted.empty()) {
    std::vector<Tensor> chosen;
    for (const std::string& name : wanted) {
      auto it = std::find_if(outputs.begin(), outputs.end(),
                             [&](const Tensor& t) { return t.name == name; });
      if (it == outputs.end()) {
        std::string names;
        for (const Tensor& t : outputs) names += (names.empty() ? "'" : ", '") + t.name + "'";
        return InvalidArgument("requested output '" + name +
                               "' is not one of this model's: " + names);
      }
      chosen.push_back(std::move(*it));
    }
    outputs = std::move(chosen);
  }
  for (Tensor& t : outputs) {
    auto* out = response->add_outputs();
    out->set_name(t.name);
    out->set_datatype(std::string(serving::DataTypeName(t.datatype)));
    for (int64_t d : t.shape) out->add_shape(d);
    std::string* raw = response->add_raw_output_contents();
    if (t.datatype == DataType::kBytes) {
      serving::AppendRawElements(*raw, t);
    } else {
      *raw = std::move(t.data);
    }
  }
  return Status::Ok();
}

}  // namespace cairn::grpc_inference
