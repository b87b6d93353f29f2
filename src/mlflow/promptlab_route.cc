// MLflow 2's prompt engineering UI records each evaluated prompt as a run:
// runs/create-promptlab-run creates it with its parameters and tags, stores
// a "promptlab" model (MLmodel, parameters.yaml, requirements.txt) and the
// evaluation table the UI shows, and finishes it. The files follow MLflow's
// layout so that MLflow's UI and clients read them as MLflow's server wrote
// them.
#include <future>
#include <string>
#include <vector>

#include "auth/http_authenticator.h"
#include "core/env.h"
#include "core/json.h"
#include "core/time_format.h"
#include "mlflow/mlflow_json.h"
#include "mlflow/request_args.h"
#include "mlflow/routes.h"

namespace cairn::mlflow {
namespace {

using http::HttpRequest;
using http::HttpResponse;

// A request member the prompt lab requires, as MLflow checks it: present and
// not empty (Python's truthiness).
StatusOr<const json::Value*> Required(const RequestArgs& args, const char* name) {
  const json::Value* v = args.Get(name);
  bool empty = v == nullptr || (v->IsString() && v->GetStringLength() == 0) ||
               (v->IsArray() && v->Empty()) || (v->IsObject() && v->ObjectEmpty()) ||
               (v->IsBool() && !v->GetBool()) || (v->IsNumber() && v->GetDouble() == 0);
  if (empty) {
    return InvalidArgument(std::string("CreatePromptlabRun request must specify ") + name + ".");
  }
  return v;
}

// A scalar as Python's str() shows it ("0.1", "100", "True").
std::string Text(const json::Value& v) {
  if (v.IsString()) return {v.GetString(), v.GetStringLength()};
  if (v.IsBool()) return v.GetBool() ? "True" : "False";
  if (v.IsNull()) return "None";
  json::Buffer buffer;
  json::Writer w(buffer);
  v.Accept(w);
  return {buffer.GetString(), buffer.GetSize()};
}

// [{key, value}, ...] as parameters; absent is empty.
StatusOr<std::vector<tracking::KeyValue>> Parameters(const RequestArgs& args, const char* name) {
  std::vector<tracking::KeyValue> out;
  const json::Value* list = args.Get(name);
  if (list == nullptr) return out;
  if (!list->IsArray()) return InvalidParameter(name, *list);
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    const json::Value& item = (*list)[i];
    std::string path = std::string(name) + "[" + std::to_string(i) + "]";
    if (!item.IsObject()) return InvalidParameter(path, item);
    auto key = item.FindMember("key");
    if (key == item.MemberEnd() || !key->value.IsString()) return MissingParameter(path + ".key");
    auto value = item.FindMember("value");
    out.push_back(
        {Text(key->value), value == item.MemberEnd() ? std::string("None") : Text(value->value)});
  }
  return out;
}

std::string StringArg(const json::Value* v) { return v == nullptr ? std::string() : Text(*v); }

// A YAML scalar in double quotes (any text is safe in it).
std::string YamlString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[(c >> 4) & 0xf];
      out += kHex[c & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string YamlMap(const std::vector<tracking::KeyValue>& entries, const std::string& indent) {
  if (entries.empty()) return " {}\n";
  std::string out = "\n";
  for (const auto& kv : entries) {
    out += indent + YamlString(kv.key) + ": " + YamlString(kv.value) + "\n";
  }
  return out;
}

struct PromptlabRequest {
  std::string experiment_id;
  std::string run_name;
  std::vector<tracking::KeyValue> tags;
  std::string prompt_template;
  std::vector<tracking::KeyValue> prompt_parameters;
  std::string model_route;
  std::vector<tracking::KeyValue> model_parameters;
  std::string model_input;
  std::string model_output;
  std::vector<tracking::KeyValue> model_output_parameters;
  std::string mlflow_version;
  std::string user_id;
  std::optional<int64_t> start_time;
};

// In MLflow's order of checks, so the first missing field is the one named.
StatusOr<PromptlabRequest> Parse(const RequestArgs& args) {
  PromptlabRequest r;
  ASSIGN_OR_RETURN(const json::Value* experiment, Required(args, "experiment_id"));
  r.experiment_id = Text(*experiment);
  r.run_name = StringArg(args.Get("run_name"));
  ASSIGN_OR_RETURN(r.tags, KeyValueList(args.Get("tags"), "tags", false));
  ASSIGN_OR_RETURN(const json::Value* templ, Required(args, "prompt_template"));
  r.prompt_template = Text(*templ);
  RETURN_IF_ERROR(Required(args, "prompt_parameters").status());
  ASSIGN_OR_RETURN(r.prompt_parameters, Parameters(args, "prompt_parameters"));
  ASSIGN_OR_RETURN(const json::Value* route, Required(args, "model_route"));
  r.model_route = Text(*route);
  ASSIGN_OR_RETURN(r.model_parameters, Parameters(args, "model_parameters"));
  ASSIGN_OR_RETURN(const json::Value* input, Required(args, "model_input"));
  r.model_input = Text(*input);
  r.model_output = StringArg(args.Get("model_output"));
  ASSIGN_OR_RETURN(r.model_output_parameters, Parameters(args, "model_output_parameters"));
  ASSIGN_OR_RETURN(const json::Value* version, Required(args, "mlflow_version"));
  r.mlflow_version = Text(*version);
  const json::Value* user = args.Get("user_id");
  r.user_id = user == nullptr ? "unknown" : Text(*user);
  ASSIGN_OR_RETURN(r.start_time, args.OptionalInt("start_time"));
  return r;
}

// eval_results_table.json: one row of the prompt's parameters, the prompt,
// the output and the output's parameters.
std::string EvalResultsTable(const PromptlabRequest& r) {
  json::Buffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  w.Key("columns");
  w.StartArray();
  for (const auto& p : r.prompt_parameters) json::WriteString(w, p.key);
  json::WriteString(w, "prompt");
  json::WriteString(w, "output");
  for (const auto& p : r.model_output_parameters) json::WriteString(w, p.key);
  w.EndArray();
  w.Key("data");
  w.StartArray();
  w.StartArray();
  for (const auto& p : r.prompt_parameters) json::WriteString(w, p.value);
  json::WriteString(w, r.model_input);
  json::WriteString(w, r.model_output);
  for (const auto& p : r.model_output_parameters) json::WriteString(w, p.value);
  w.EndArray();
  w.EndArray();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::string MlModel(const PromptlabRequest& r, const std::string& run_id,
                    const std::string& created) {
  std::string inputs;
  for (const auto& p : r.prompt_parameters) {
    if (!inputs.empty()) inputs += ", ";
    json::Buffer name;
    json::Writer w(name);
    json::WriteString(w, p.key);
    inputs += R"({"type": "string", "name": )" + std::string(name.GetString(), name.GetSize()) +
              R"(, "required": true})";
  }
  return "artifact_path: model\n"
         "flavors:\n"
         "  python_function:\n"
         "    env:\n"
         "      conda: conda.yaml\n"
         "      virtualenv: python_env.yaml\n"
         "    loader_module: mlflow.promptlab\n"
         "    parameters_path: parameters.yaml\n"
         "mlflow_version: " +
         YamlString(r.mlflow_version) +
         "\n"
         "run_id: " +
         run_id +
         "\n"
         "signature:\n"
         "  inputs: " +
         YamlString("[" + inputs + "]") +
         "\n"
         "  outputs: " +
         YamlString("[{\"type\": \"string\", \"name\": \"output\", \"required\": true}]") +
         "\n"
         "utc_time_created: " +
         YamlString(created) + "\n";
}

std::string ModelHistoryEntry(const std::string& run_id, const std::string& created) {
  json::Buffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  w.Key("run_id");
  json::WriteString(w, run_id);
  w.Key("artifact_path");
  json::WriteString(w, "model");
  w.Key("utc_time_created");
  json::WriteString(w, created);
  w.Key("flavors");
  w.StartObject();
  w.Key("python_function");
  w.StartObject();
  w.Key("loader_module");
  json::WriteString(w, "mlflow.promptlab");
  w.Key("parameters_path");
  json::WriteString(w, "parameters.yaml");
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

// Writes the run's parameters, tags, model and evaluation table. Any error
// leaves the run FAILED, as MLflow does.
Status Record(tracking::TrackingService& t, artifacts::ArtifactStore& store,
              const PromptlabRequest& r, const tracking::Run& run) {
  const std::string& run_id = run.info.run_id;
  tracking::LogBatchRequest batch;
  batch.run_id = run_id;
  batch.params = r.model_parameters;
  batch.params.push_back({"model_route", r.model_route});
  batch.params.push_back({"prompt_template", r.prompt_template});
  batch.tags.push_back(
      {"mlflow.loggedArtifacts", R"([{"path": "eval_results_table.json", "type": "table"}])"});
  batch.tags.push_back({"mlflow.runSourceType", "PROMPT_ENGINEERING"});
  std::promise<Status> logged;
  t.LogBatchAsync(std::move(batch), [&logged](Status s) { logged.set_value(std::move(s)); });
  RETURN_IF_ERROR(logged.get_future().get());

  std::string created = FormatRfc3339(Env::Default()->NowMicros());
  RETURN_IF_ERROR(t.LogModel(run_id, ModelHistoryEntry(run_id, created)));
  ASSIGN_OR_RETURN(std::string root, artifacts::ServedArtifactPath(run.info.artifact_uri));
  std::string parameters = "model_parameters:" + YamlMap(r.model_parameters, "  ") +
                           "model_route: " + YamlString(r.model_route) +
                           "\nprompt_parameters:" + YamlMap(r.prompt_parameters, "  ") +
                           "prompt_template: " + YamlString(r.prompt_template) + "\n";
  std::string requirements = "mlflow[gateway]==" + r.mlflow_version;
  std::string conda = "channels:\n- conda-forge\ndependencies:\n- pip\n- pip:\n  - " +
                      YamlString(requirements) + "\nname: mlflow-env\n";
  std::string python_env = "build_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n";
  for (const auto& [name, contents] : std::vector<std::pair<std::string, std::string>>{
           {"model/MLmodel", MlModel(r, run_id, created)},
           {"model/parameters.yaml", parameters},
           {"model/requirements.txt", requirements},
           {"model/conda.yaml", conda},
           {"model/python_env.yaml", python_env},
           {"eval_results_table.json", EvalResultsTable(r)}}) {
    RETURN_IF_ERROR(store.PutBytes(root + "/" + name, contents));
  }
  return Status::Ok();
}

}  // namespace

void RegisterPromptlabRoute(const surface::Surface& surface, tracking::TrackingService& tracking,
                            artifacts::ArtifactStore& store) {
  tracking::TrackingService* t = &tracking;
  artifacts::ArtifactStore* a = &store;
  // Edit on the experiment, checked once the request is known to name one
  // (so a request without one gets MLflow's message for it).
  AddMlflowRoute(
      surface, "POST", "runs/create-promptlab-run", RouteAccess::Role(auth::Role::kEditor),
      [t, a, surface](const RequestArgs& args, HttpRequest& request) -> StatusOr<HttpResponse> {
        ASSIGN_OR_RETURN(PromptlabRequest r, Parse(args));
        if (surface.access() != nullptr) {
          RETURN_IF_ERROR(surface.access()->Require(auth::IdentityOf(request),
                                                    auth::ResourceKind::kExperiment,
                                                    r.experiment_id, auth::Level::kEdit));
        }
        tracking::CreateRunRequest create;
        create.experiment_id = r.experiment_id;
        create.user_id = r.user_id;
        create.start_time = r.start_time;
        create.tags = r.tags;
        create.run_name = r.run_name;
        ASSIGN_OR_RETURN(tracking::Run run, t->CreateRun(create));
        Status recorded = Record(*t, *a, r, run);
        tracking::UpdateRunRequest finish;
        finish.run_id = run.info.run_id;
        finish.status = recorded.ok() ? "FINISHED" : "FAILED";
        finish.end_time = Env::Default()->NowMillis();
        RETURN_IF_ERROR(t->UpdateRun(finish).status());
        ASSIGN_OR_RETURN(run, t->GetRun(run.info.run_id));
        return WriteJson([&](json::Writer& w) {
          w.Key("run");
          WriteRun(w, run);
        });
      });
}

}  // namespace cairn::mlflow
