#include "external/external_model.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "core/json.h"
#include "http/client.h"
#include "kserve/v2_json.h"
#include "serving/tensor_json.h"

namespace cairn::external {

using serving::Tensor;

namespace {

constexpr char kForm[] = "http://HOST[:PORT]/v2/models/NAME[/versions/VERSION]";

// The "error" of a v2 error answer, else the start of the body.
std::string ErrorText(const std::string& body) {
  json::Document doc;
  if (json::Parse(body, &doc).ok() && doc.IsObject()) {
    auto error = doc.FindMember("error");
    if (error != doc.MemberEnd() && error->value.IsString()) return error->value.GetString();
  }
  return body.substr(0, 300);
}

StatusOr<std::vector<serving::TensorSpec>> ReadSpecs(const json::Document& doc, const char* key) {
  std::vector<serving::TensorSpec> specs;
  auto list = doc.FindMember(key);
  if (list == doc.MemberEnd()) return specs;
  if (!list->value.IsArray()) return InvalidArgument(std::string(key) + " is not a list");
  for (const json::Value& t : list->value.GetArray()) {
    if (!t.IsObject() || !t.HasMember("name") || !t["name"].IsString() ||
        !t.HasMember("datatype") || !t["datatype"].IsString()) {
      return InvalidArgument(std::string(key) + ": each needs a name and a datatype");
    }
    serving::TensorSpec spec;
    spec.name = t["name"].GetString();
    std::optional<serving::DataType> type = serving::ParseDataType(t["datatype"].GetString());
    if (!type) return InvalidArgument(std::string(key) + ": unknown datatype");
    spec.datatype = *type;
    if (t.HasMember("shape") && t["shape"].IsArray()) {
      for (const json::Value& d : t["shape"].GetArray()) {
        if (!d.IsInt64()) return InvalidArgument(std::string(key) + ": shape is not integers");
        spec.shape.push_back(d.GetInt64());
      }
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

class ExternalModel : public serving::ServedModel {
 public:
  ExternalModel(std::string url, http::HttpAddress address, serving::ModelMetadata metadata,
                ExternalOptions options)
      : url_(std::move(url)),
        target_(address.base_path + "/infer"),
        calls_(std::make_unique<http::ClientPool>(std::move(address),
                                                  static_cast<size_t>(options.concurrency))),
        metadata_(std::move(metadata)),
        options_(options) {}

  const serving::ModelMetadata& metadata() const override { return metadata_; }

  StatusOr<std::vector<Tensor>> Predict(const std::vector<Tensor>& inputs) const override {
    http::ClientRequest request;
    request.method = "POST";
    request.target = target_;
    request.headers.emplace_back("Content-Type", "application/json");
    request.timeout = options_.timeout;
    request.max_response_bytes = 256u << 20;
    request.body = "{\"inputs\":[";
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (i > 0) request.body += ',';
      serving::AppendTensorJson(request.body, inputs[i]);
    }
    request.body += "]}";
    StatusOr<http::ClientResponse> answer = calls_->Fetch(request);
    if (!answer.ok()) {
      return Unavailable("the external endpoint " + url_ +
                         " did not answer: " + answer.status().message());
    }
    if (answer->status == 400) {
      return InvalidArgument("the external endpoint " + url_ +
                             " refused the input: " + ErrorText(answer->body));
    }
    if (answer->status != 200) {
      return Unavailable("the external endpoint " + url_ + " answered " +
                         std::to_string(answer->status) + ": " + ErrorText(answer->body));
    }
    StatusOr<kserve::InferResponse> parsed = kserve::ParseInferResponse(answer->body);
    if (!parsed.ok()) {
      // Not the caller's input: the endpoint answered something else.
      return Unavailable("the external endpoint " + url_ +
                         " answered no v2 infer response: " + parsed.status().message());
    }
    return std::move(parsed->outputs);
  }

  size_t MemoryBytes() const override { return sizeof(*this) + url_.size(); }
  bool blocking() const override { return true; }
  int concurrency() const override { return options_.concurrency; }

 private:
  std::string url_;
  std::string target_;
  // Keep-alive connections to the endpoint, one per call in flight.
  std::unique_ptr<http::ClientPool> calls_;
  serving::ModelMetadata metadata_;
  ExternalOptions options_;
};

StatusOr<http::HttpAddress> ParseEndpoint(const std::string& url) {
  if (url.rfind("https://", 0) == 0) {
    return InvalidArgument("external endpoint '" + url +
                           "': https is not spoken here; reach it through a TLS proxy on this "
                           "machine (http://127.0.0.1:PORT/...)");
  }
  StatusOr<http::HttpAddress> address = http::HttpAddress::Parse(url);
  if (!address.ok()) {
    return InvalidArgument("external endpoint '" + url + "': expected " + kForm);
  }
  // /v2/models/NAME or /v2/models/NAME/versions/VERSION
  std::vector<std::string_view> parts;
  std::string_view path = address->base_path;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const size_t end = std::min(path.find('/'), path.size());
    parts.push_back(path.substr(0, end));
    path.remove_prefix(end);
  }
  const bool named = parts.size() >= 3 && parts[0] == "v2" && parts[1] == "models";
  const bool versioned = parts.size() == 5 && parts[3] == "versions";
  if (!named || (parts.size() != 3 && !versioned) ||
      address->base_path.find('?') != std::string::npos) {
    return InvalidArgument("external endpoint '" + url + "': expected " + kForm);
  }
  return address;
}

}  // namespace

bool IsExternalEndpoint(std::string_view model_uri) {
  return model_uri.rfind("http://", 0) == 0 || model_uri.rfind("https://", 0) == 0;
}

StatusOr<std::string> EndpointHost(const std::string& url) {
  ASSIGN_OR_RETURN(http::HttpAddress address, ParseEndpoint(url));
  return address.host;
}

StatusOr<std::unique_ptr<serving::ServedModel>> ConnectExternalModel(
    const std::string& url, const ExternalOptions& options) {
  ASSIGN_OR_RETURN(http::HttpAddress address, ParseEndpoint(url));
  http::ClientRequest request;
  request.target = address.base_path;
  // Loads also run on the server's refresher (retrying an endpoint that was
  // down): a host that drops packets must not hold it for long.
  request.timeout = std::min(options.timeout, std::chrono::milliseconds(5'000));
  StatusOr<http::ClientResponse> answer = http::Fetch(address, request);
  if (!answer.ok()) {
    return Unavailable("the external endpoint " + url +
                       " did not answer its model metadata: " + answer.status().message());
  }
  if (answer->status != 200) {
    return Unavailable("the external endpoint " + url + " answered " +
                       std::to_string(answer->status) +
                       " to its model metadata: " + ErrorText(answer->body));
  }
  json::Document doc;
  Status parsed = json::Parse(answer->body, &doc);
  serving::ModelMetadata metadata;
  if (parsed.ok() && doc.IsObject()) {
    auto platform = doc.FindMember("platform");
    metadata.platform = platform != doc.MemberEnd() && platform->value.IsString() &&
                                platform->value.GetStringLength() > 0
                            ? platform->value.GetString()
                            : "external";
    StatusOr<std::vector<serving::TensorSpec>> inputs = ReadSpecs(doc, "inputs");
    StatusOr<std::vector<serving::TensorSpec>> outputs = ReadSpecs(doc, "outputs");
    parsed = !inputs.ok() ? inputs.status() : outputs.status();
    if (parsed.ok()) {
      metadata.inputs = std::move(*inputs);
      metadata.outputs = std::move(*outputs);
    }
  } else if (parsed.ok()) {
    parsed = InvalidArgument("not a JSON object");
  }
  if (!parsed.ok()) {
    return Unavailable("the external endpoint " + url +
                       " answered no v2 model metadata: " + parsed.message());
  }
  return std::unique_ptr<serving::ServedModel>(
      new ExternalModel(url, std::move(address), std::move(metadata), options));
}

}  // namespace cairn::external
