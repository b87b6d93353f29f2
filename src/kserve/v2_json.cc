#include "kserve/v2_json.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/json.h"
#include "serving/tensor_json.h"

namespace cairn::kserve {

using serving::DataType;
using serving::Tensor;

namespace {

// Shapes deeper than this are refused (no model here takes more dimensions).
constexpr size_t kMaxRank = 16;

template <typename T>
void Append(std::string* data, T v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  data->append(bytes, sizeof(T));
}

std::string Describe(const json::Value& v) {
  if (v.IsString())
    return "\"" + std::string(v.GetString(), std::min<size_t>(v.GetStringLength(), 40)) + "\"";
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  if (v.IsNull()) return "null";
  if (v.IsArray()) return "an array";
  if (v.IsObject()) return "an object";
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  return std::to_string(v.GetDouble());
}

template <typename T>
bool IntegerInRange(const json::Value& v, T* out) {
  if (v.IsInt64()) {
    int64_t i = v.GetInt64();
    if (i < static_cast<int64_t>(std::numeric_limits<T>::min())) return false;
    if (i >= 0 && static_cast<uint64_t>(i) > static_cast<uint64_t>(std::numeric_limits<T>::max()))
      return false;
    *out = static_cast<T>(i);
    return true;
  }
  if (v.IsUint64()) {
    uint64_t u = v.GetUint64();
    if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
    *out = static_cast<T>(u);
    return true;
  }
  return false;
}

// Appends one element of `tensor`'s datatype from `v`; false when `v` is not one.
bool AppendElement(const json::Value& v, Tensor* tensor) {
  switch (tensor->datatype) {
    case DataType::kBool:
      if (!v.IsBool()) return false;
      tensor->data.push_back(v.GetBool() ? 1 : 0);
      return true;
    case DataType::kFp32:
      if (!v.IsNumber()) return false;
      Append(&tensor->data, static_cast<float>(v.GetDouble()));
      return true;
    case DataType::kFp64:
      if (!v.IsNumber()) return false;
      Append(&tensor->data, v.GetDouble());
      return true;
    case DataType::kBytes:
      if (!v.IsString()) return false;
      tensor->bytes.emplace_back(v.GetString(), v.GetStringLength());
      return true;
    case DataType::kFp16:
      return false;
#define CAIRN_INTEGER_CASE(kind, type)        \
  case DataType::kind: {                      \
    type x;                                   \
    if (!IntegerInRange(v, &x)) return false; \
    Append(&tensor->data, x);                 \
    return true;                              \
  }
      CAIRN_INTEGER_CASE(kUint8, uint8_t)
      CAIRN_INTEGER_CASE(kUint16, uint16_t)
      CAIRN_INTEGER_CASE(kUint32, uint32_t)
      CAIRN_INTEGER_CASE(kUint64, uint64_t)
      CAIRN_INTEGER_CASE(kInt8, int8_t)
      CAIRN_INTEGER_CASE(kInt16, int16_t)
      CAIRN_INTEGER_CASE(kInt32, int32_t)
      CAIRN_INTEGER_CASE(kInt64, int64_t)
#undef CAIRN_INTEGER_CASE
  }
  return false;
}

// Flattens `data` (flat or nested) into `tensor`, row-major.
Status ReadData(const json::Value& data, const std::string& field, Tensor* tensor) {
  struct Frame {
    const json::Value* array;
    rapidjson::SizeType next;
  };
  std::vector<Frame> stack = {{&data, 0}};
  size_t element = 0;
  while (!stack.empty()) {
    Frame& top = stack.back();
    if (top.next == top.array->Size()) {
      stack.pop_back();
      continue;
    }
    const json::Value& v = (*top.array)[top.next++];
    if (v.IsArray()) {
      if (stack.size() >= kMaxRank)
        return InvalidArgument(field + ": nested deeper than " + std::to_string(kMaxRank));
      stack.push_back({&v, 0});
      continue;
    }
    if (!AppendElement(v, tensor)) {
      std::string expected =
          tensor->datatype == DataType::kFp16
              ? "FP16 data travels only in the binary tensor extension"
              : "expected " + std::string(serving::DataTypeName(tensor->datatype)) + " elements";
      return InvalidArgument(field + ": element " + std::to_string(element) + " is " + Describe(v) +
                             "; " + expected);
    }
    ++element;
  }
  return Status::Ok();
}

// The binary section of a request, consumed input by input.
struct BinarySection {
  std::string_view bytes;
  size_t used = 0;
};

// Fills `tensor` from `size` bytes of the binary section.
Status ReadBinary(BinarySection* section, int64_t size, const std::string& named, Tensor* tensor) {
  if (section == nullptr) {
    return InvalidArgument(named +
                           ": binary_data_size given, but the request has no "
                           "Inference-Header-Content-Length header (the binary tensor extension)");
  }
  if (size < 0 || static_cast<uint64_t>(size) > section->bytes.size() - section->used) {
    return InvalidArgument(named + ": binary_data_size " + std::to_string(size) + " exceeds the " +
                           std::to_string(section->bytes.size() - section->used) +
                           " binary bytes left");
  }
  std::string_view data = section->bytes.substr(section->used, static_cast<size_t>(size));
  section->used += static_cast<size_t>(size);
  return serving::ReadRawElements(data, named, tensor);
}

// One tensor of a request's "inputs" (or a response's "outputs": `list`).
Status ReadInput(const json::Value& in, size_t index, BinarySection* section, Tensor* tensor,
                 std::string_view list = "inputs") {
  const std::string field = std::string(list) + "[" + std::to_string(index) + "]";
  const char* role = list == "inputs" ? "input" : "output";
  if (!in.IsObject())
    return InvalidArgument(field + ": expected an object with name, shape, datatype and data");
  auto name = in.FindMember("name");
  if (name == in.MemberEnd() || !name->value.IsString())
    return InvalidArgument(field + ".name: a string is required");
  tensor->name.assign(name->value.GetString(), name->value.GetStringLength());
  const std::string named = std::string(role) + " '" + tensor->name + "'";
  auto datatype = in.FindMember("datatype");
  if (datatype == in.MemberEnd() || !datatype->value.IsString()) {
    return InvalidArgument(
        named + ": datatype is required (BOOL, INT8-64, UINT8-64, FP16, FP32, FP64, BYTES)");
  }
  std::optional<DataType> type = serving::ParseDataType(datatype->value.GetString());
  if (!type) {
    return InvalidArgument(named + ": datatype '" + std::string(datatype->value.GetString()) +
                           "' is not one of BOOL, INT8-64, UINT8-64, FP16, FP32, FP64, BYTES");
  }
  tensor->datatype = *type;
  auto shape = in.FindMember("shape");
  if (shape == in.MemberEnd() || !shape->value.IsArray()) {
    return InvalidArgument(named + ": shape is required, a list of dimensions");
  }
  if (shape->value.Size() > kMaxRank) return InvalidArgument(named + ": more than 16 dimensions");
  for (const json::Value& d : shape->value.GetArray()) {
    if (!d.IsInt64() || d.GetInt64() < 0)
      return InvalidArgument(named + ": shape dimensions must be integers >= 0");
    tensor->shape.push_back(d.GetInt64());
  }
  if (auto params = in.FindMember("parameters");
      params != in.MemberEnd() && params->value.IsObject()) {
    if (auto size = params->value.FindMember("binary_data_size");
        size != params->value.MemberEnd()) {
      if (!size->value.IsInt64())
        return InvalidArgument(named + ": binary_data_size must be an integer");
      if (in.HasMember("data"))
        return InvalidArgument(named + ": give data or binary_data_size, not both");
      RETURN_IF_ERROR(ReadBinary(section, size->value.GetInt64(), named, tensor));
      return serving::CheckShape(*tensor, role);
    }
  }
  auto data = in.FindMember("data");
  if (data == in.MemberEnd()) return InvalidArgument(named + ": data is required");
  if (data->value.IsArray()) {
    RETURN_IF_ERROR(ReadData(data->value, named, tensor));
  } else if (!AppendElement(data->value, tensor)) {
    return InvalidArgument(named + ": data must be a list of " +
                           std::string(serving::DataTypeName(*type)) + " elements");
  }
  return serving::CheckShape(*tensor, role);
}

}  // namespace

namespace {
// Splits `body` at the JSON's end when the binary extension is in use.
Status SplitBinary(std::string_view* body, std::optional<size_t> json_length,
                   BinarySection* binary) {
  if (!json_length) return Status::Ok();
  if (*json_length > body->size()) {
    return InvalidArgument("Inference-Header-Content-Length " + std::to_string(*json_length) +
                           " is more than the body's " + std::to_string(body->size()) + " bytes");
  }
  binary->bytes = body->substr(*json_length);
  *body = body->substr(0, *json_length);
  return Status::Ok();
}
}  // namespace

StatusOr<InferResponse> ParseInferResponse(std::string_view body,
                                           std::optional<size_t> json_length) {
  BinarySection binary;
  RETURN_IF_ERROR(SplitBinary(&body, json_length, &binary));
  json::Document doc;
  RETURN_IF_ERROR(json::Parse(body, &doc));
  if (!doc.IsObject()) return InvalidArgument("the answer must be a JSON object with 'outputs'");
  InferResponse response;
  if (auto version = doc.FindMember("model_version");
      version != doc.MemberEnd() && version->value.IsString()) {
    response.model_version = version->value.GetString();
  }
  auto outputs = doc.FindMember("outputs");
  if (outputs == doc.MemberEnd() || !outputs->value.IsArray()) {
    return InvalidArgument("outputs: a list of tensors is required");
  }
  response.outputs.resize(outputs->value.Size());
  for (rapidjson::SizeType i = 0; i < outputs->value.Size(); ++i) {
    RETURN_IF_ERROR(ReadInput(outputs->value[i], i, json_length ? &binary : nullptr,
                              &response.outputs[i], "outputs"));
  }
  return response;
}

StatusOr<InferRequest> ParseInferRequest(std::string_view body, std::optional<size_t> json_length) {
  BinarySection binary;
  RETURN_IF_ERROR(SplitBinary(&body, json_length, &binary));
  json::Document doc;
  RETURN_IF_ERROR(json::Parse(body, &doc));
  if (!doc.IsObject()) return InvalidArgument("the body must be a JSON object with 'inputs'");
  InferRequest request;
  if (auto id = doc.FindMember("id"); id != doc.MemberEnd()) {
    if (!id->value.IsString()) return InvalidArgument("id: must be a string");
    request.id = std::string(id->value.GetString(), id->value.GetStringLength());
  }
  if (auto params = doc.FindMember("parameters"); params != doc.MemberEnd()) {
    if (!params->value.IsObject()) return InvalidArgument("parameters: must be an object");
    if (auto b = params->value.FindMember("binary_data_output"); b != params->value.MemberEnd()) {
      request.binary_output = b->value.IsBool() && b->value.GetBool();
    }
    json::Buffer buffer;
    json::Writer writer(buffer);
    params->value.Accept(writer);
    request.parameters_json.assign(buffer.GetString(), buffer.GetSize());
  }
  auto inputs = doc.FindMember("inputs");
  if (inputs == doc.MemberEnd() || !inputs->value.IsArray() || inputs->value.Empty()) {
    return InvalidArgument("inputs: a non-empty list of tensors is required");
  }
  request.inputs.resize(inputs->value.Size());
  for (rapidjson::SizeType i = 0; i < inputs->value.Size(); ++i) {
    RETURN_IF_ERROR(
        ReadInput(inputs->value[i], i, json_length ? &binary : nullptr, &request.inputs[i]));
  }
  if (json_length && binary.used != binary.bytes.size()) {
    return InvalidArgument("the binary section holds " + std::to_string(binary.bytes.size()) +
                           " bytes, the inputs' binary_data_size add up to " +
                           std::to_string(binary.used));
  }
  if (auto outputs = doc.FindMember("outputs"); outputs != doc.MemberEnd()) {
    if (!outputs->value.IsArray())
      return InvalidArgument("outputs: must be a list of {\"name\": ...}");
    for (rapidjson::SizeType i = 0; i < outputs->value.Size(); ++i) {
      const json::Value& o = outputs->value[i];
      if (!o.IsObject() || !o.HasMember("name") || !o["name"].IsString()) {
        return InvalidArgument("outputs[" + std::to_string(i) + "].name: a string is required");
      }
      RequestedOutput wanted{o["name"].GetString()};
      if (o.HasMember("parameters") && o["parameters"].IsObject() &&
          o["parameters"].HasMember("binary_data")) {
        wanted.binary =
            o["parameters"]["binary_data"].IsBool() && o["parameters"]["binary_data"].GetBool();
      }
      request.outputs.push_back(std::move(wanted));
    }
  }
  return request;
}

BinaryResponse WriteBinaryInferResponse(std::string_view model_name, std::string_view model_version,
                                        const std::optional<std::string>& id,
                                        const std::vector<Tensor>& outputs,
                                        const std::vector<bool>& binary) {
  std::string out = "{\"model_name\":";
  json::AppendString(out, model_name);
  if (!model_version.empty()) {
    out += ",\"model_version\":";
    json::AppendString(out, model_version);
  }
  if (id) {
    out += ",\"id\":";
    json::AppendString(out, *id);
  }
  out += ",\"outputs\":[";
  std::string blob;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& t = outputs[i];
    if (i) out += ',';
    out += "{\"name\":";
    json::AppendString(out, t.name);
    out += ",\"datatype\":\"";
    out += serving::DataTypeName(t.datatype);
    out += "\",\"shape\":[";
    for (size_t d = 0; d < t.shape.size(); ++d) {
      if (d) out += ',';
      json::AppendInt(out, t.shape[d]);
    }
    out += ']';
    if (binary[i]) {
      const size_t before = blob.size();
      serving::AppendRawElements(blob, t);
      out += ",\"parameters\":{\"binary_data_size\":";
      json::AppendInt(out, static_cast<int64_t>(blob.size() - before));
      out += "}}";
    } else {
      out += ",\"data\":";
      serving::AppendTensorData(out, t);
      out += '}';
    }
  }
  out += "]}";
  BinaryResponse response;
  response.json_length = blob.empty() ? 0 : out.size();
  response.body = std::move(out);
  response.body += blob;
  return response;
}

std::string WriteInferResponse(std::string_view model_name, std::string_view model_version,
                               const std::optional<std::string>& id,
                               const std::vector<Tensor>& outputs) {
  return WriteBinaryInferResponse(model_name, model_version, id, outputs,
                                  std::vector<bool>(outputs.size(), false))
      .body;
}

}  // namespace cairn::kserve
