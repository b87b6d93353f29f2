// RequestArgs: an MLflow request's arguments, from a JSON body (POST, PATCH,
// DELETE) or from the query string (GET), behind one typed accessor API.
//
// Accessors validate like MLflow's server and fail with its wording, naming
// the parameter: "Missing value for required parameter 'experiment_id'. See
// the API docs for more information about request parameters."
// Unknown fields are ignored. int64 fields accept numbers or numeric strings
// (protobuf's JSON mapping); doubles also accept "NaN", "Infinity", "-Infinity".
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "http/http_types.h"
#include "tracking/entities.h"

namespace cairn::mlflow {

class RequestArgs {
 public:
  // Errors: InvalidArgument for malformed JSON or a body that is not an object.
  static StatusOr<RequestArgs> FromRequest(const http::HttpRequest& request);

  RequestArgs(RequestArgs&&) = default;
  RequestArgs& operator=(RequestArgs&&) = default;

  bool Has(const char* name) const;
  StatusOr<std::string> RequiredString(const char* name) const;
  // Absent or null: nullopt.
  StatusOr<std::optional<std::string>> OptionalString(const char* name) const;
  // Absent: `fallback`.
  StatusOr<std::string> StringOr(const char* name, std::string fallback) const;
  StatusOr<std::optional<int64_t>> OptionalInt(const char* name) const;
  StatusOr<int64_t> RequiredInt(const char* name) const;
  StatusOr<std::optional<double>> OptionalDouble(const char* name) const;
  StatusOr<double> RequiredDouble(const char* name) const;
  // A repeated string field; absent is empty.
  StatusOr<std::vector<std::string>> StringList(const char* name) const;
  // The raw value (for nested messages), or nullptr if absent or null.
  const json::Value* Get(const char* name) const;

  // Validators for values nested inside messages; `path` names the field in
  // messages (e.g. "metrics[3].value").
  static StatusOr<std::string> AsString(const json::Value& v, const std::string& path);
  static StatusOr<int64_t> AsInt(const json::Value& v, const std::string& path);
  static StatusOr<double> AsDouble(const json::Value& v, const std::string& path);

 private:
  RequestArgs() = default;

  std::unique_ptr<json::Document> doc_;
};

// The run a request names: `run_id`, or `run_uuid` from older clients.
// Errors: the missing-parameter message for run_id when neither is set.
StatusOr<std::string> RunIdArg(const RequestArgs& args);

// A repeated {key, value} message field (params, tags); absent is empty.
// `field` names it in errors ("params[2].key").
StatusOr<std::vector<tracking::KeyValue>> KeyValueList(const json::Value* list,
                                                       const std::string& field,
                                                       bool value_required);

// A repeated {model_id, step} field (runs/outputs models, log-inputs models).
StatusOr<std::vector<tracking::RunModelLink>> RunModelLinks(const json::Value* list,
                                                            const std::string& field,
                                                            bool required);

// "Missing value for required parameter 'x'. See the API docs ..."
Status MissingParameter(const std::string& name);
// "Invalid value <v> for parameter 'x' supplied. Hint: Value was of type 't'. See ..."
// as MLflow 2's server words it (<v> as Python's str()), or, for a request
// from MLflow 3's client (RequestArgs::FromRequest reads its User-Agent on
// this thread), as MLflow 3's: <v> as compact JSON with sorted keys, then
// "supplied:  Hint: ...".
Status InvalidParameter(const std::string& name, const json::Value& value);
// Whether a User-Agent is MLflow's Python client of major version 3 or later.
bool IsMlflow3Client(std::string_view user_agent);

}  // namespace cairn::mlflow
