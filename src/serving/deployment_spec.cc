#include "serving/deployment_spec.h"

#include <cctype>
#include <set>

#include "core/json.h"

namespace cairn::serving {

namespace {

constexpr int64_t kMaxWeight = 1'000'000;

// Field readers that name the field and the expected type.
StatusOr<std::string> StringField(const json::Value& object, const char* key,
                                  const std::string& where, bool required) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || it->value.IsNull()) {
    if (required) return InvalidArgument(where + key + " is required");
    return std::string();
  }
  if (!it->value.IsString()) return InvalidArgument(where + key + " must be a string");
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

StatusOr<std::optional<int64_t>> IntField(const json::Value& object, const char* key,
                                          const std::string& where) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || it->value.IsNull()) return std::optional<int64_t>();
  if (!it->value.IsInt64()) return InvalidArgument(where + key + " must be an integer");
  return std::optional<int64_t>(it->value.GetInt64());
}

StatusOr<std::optional<double>> NumberField(const json::Value& object, const char* key,
                                            const std::string& where) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || it->value.IsNull()) return std::optional<double>();
  if (!it->value.IsNumber()) return InvalidArgument(where + key + " must be a number");
  return std::optional<double>(it->value.GetDouble());
}

StatusOr<VariantSpec> ParseVariant(const json::Value& v, size_t index) {
  const std::string where = "variants[" + std::to_string(index) + "].";
  if (!v.IsObject())
    return InvalidArgument("variants[" + std::to_string(index) + "] must be an object");
  VariantSpec variant;
  ASSIGN_OR_RETURN(variant.name, StringField(v, "name", where, true));
  ASSIGN_OR_RETURN(variant.model_uri, StringField(v, "model_uri", where, true));
  if (auto shadow = v.FindMember("shadow"); shadow != v.MemberEnd() && !shadow->value.IsNull()) {
    if (!shadow->value.IsBool()) return InvalidArgument(where + "shadow must be true or false");
    variant.shadow = shadow->value.GetBool();
  }
  ASSIGN_OR_RETURN(std::optional<int64_t> weight, IntField(v, "weight", where));
  // A live variant named without a weight takes traffic; a shadow takes none.
  variant.weight = weight.value_or(variant.shadow ? 0 : 100);
  ASSIGN_OR_RETURN(std::optional<int64_t> mirror, IntField(v, "mirror_percent", where));
  if (mirror) {
    if (*mirror < 0 || *mirror > 100) {
      return InvalidArgument(where + "mirror_percent must be 0-100, got " +
                             std::to_string(*mirror));
    }
    variant.mirror_percent = static_cast<int>(*mirror);
  }
  return variant;
}

StatusOr<RolloutPolicy> ParseRollout(const json::Value& r) {
  if (!r.IsObject()) return InvalidArgument("rollout must be an object");
  RolloutPolicy policy;
  if (auto steps = r.FindMember("steps"); steps != r.MemberEnd() && !steps->value.IsNull()) {
    if (!steps->value.IsArray()) return InvalidArgument("rollout.steps must be a list of percents");
    for (const json::Value& s : steps->value.GetArray()) {
      if (!s.IsInt()) return InvalidArgument("rollout.steps must be whole percents (1-100)");
      policy.steps.push_back(s.GetInt());
    }
  }
  ASSIGN_OR_RETURN(std::optional<int64_t> min_samples, IntField(r, "min_samples", "rollout."));
  if (min_samples) policy.min_samples = *min_samples;
  ASSIGN_OR_RETURN(std::optional<double> error_margin,
                   NumberField(r, "max_error_rate_increase", "rollout."));
  if (error_margin) policy.max_error_rate_increase = *error_margin;
  ASSIGN_OR_RETURN(std::optional<double> p99_margin,
                   NumberField(r, "max_p99_increase_ms", "rollout."));
  if (p99_margin) policy.max_p99_increase_ms = *p99_margin;
  return policy;
}

StatusOr<BatchingPolicy> ParseBatching(const json::Value& b) {
  if (!b.IsObject()) return InvalidArgument("batching must be an object");
  BatchingPolicy policy;
  for (const auto& [key, field] : {std::pair{"max_batch_rows", &policy.max_batch_rows},
                                   std::pair{"max_queue_delay_us", &policy.max_queue_delay_us},
                                   std::pair{"max_queue_requests", &policy.max_queue_requests},
                                   std::pair{"queue_timeout_ms", &policy.queue_timeout_ms}}) {
    ASSIGN_OR_RETURN(std::optional<int64_t> value, IntField(b, key, "batching."));
    if (value) *field = *value;
  }
  return policy;
}

Status CheckBatching(const BatchingPolicy& policy) {
  auto within = [](const char* key, int64_t value, int64_t low, int64_t high,
                   const char* unit) -> Status {
    if (value >= low && value <= high) return Status::Ok();
    return InvalidArgument("batching." + std::string(key) + " must be " + std::to_string(low) +
                           "-" + std::to_string(high) + unit + ", got " + std::to_string(value));
  };
  RETURN_IF_ERROR(within("max_batch_rows", policy.max_batch_rows, 1, 65536, " rows"));
  RETURN_IF_ERROR(
      within("max_queue_delay_us", policy.max_queue_delay_us, 0, 1'000'000, " microseconds"));
  RETURN_IF_ERROR(within("max_queue_requests", policy.max_queue_requests, 1, 100'000, ""));
  RETURN_IF_ERROR(within("queue_timeout_ms", policy.queue_timeout_ms, 1, 600'000, " milliseconds"));
  if (policy.queue_timeout_ms * 1000 <= policy.max_queue_delay_us) {
    return InvalidArgument("batching.queue_timeout_ms (" + std::to_string(policy.queue_timeout_ms) +
                           " ms) must be longer than max_queue_delay_us (" +
                           std::to_string(policy.max_queue_delay_us) +
                           " us): requests would time out waiting");
  }
  return Status::Ok();
}

StatusOr<PythonSettings> ParsePython(const json::Value& p) {
  if (!p.IsObject()) return InvalidArgument("python must be an object");
  PythonSettings settings;
  ASSIGN_OR_RETURN(settings.interpreter, StringField(p, "interpreter", "python.", false));
  if (auto path = p.FindMember("path"); path != p.MemberEnd() && !path->value.IsNull()) {
    if (!path->value.IsArray()) return InvalidArgument("python.path must be a list of folders");
    for (const json::Value& entry : path->value.GetArray()) {
      if (!entry.IsString()) return InvalidArgument("python.path must be a list of folders");
      settings.path.emplace_back(entry.GetString(), entry.GetStringLength());
    }
  }
  ASSIGN_OR_RETURN(std::optional<int64_t> workers, IntField(p, "workers", "python."));
  if (workers) {
    if (*workers < 1 || *workers > 64) {
      return InvalidArgument("python.workers must be 1-64, got " + std::to_string(*workers));
    }
    settings.workers = static_cast<int>(*workers);
  }
  ASSIGN_OR_RETURN(std::optional<int64_t> timeout, IntField(p, "timeout_ms", "python."));
  if (timeout) {
    if (*timeout < 1 || *timeout > 3'600'000) {
      return InvalidArgument("python.timeout_ms must be 1-3600000, got " +
                             std::to_string(*timeout));
    }
    settings.timeout_ms = *timeout;
  }
  for (const std::string& folder : settings.path) {
    if (folder.empty() || folder.find(':') != std::string::npos) {
      return InvalidArgument("python.path entries must be folders without ':', got '" + folder +
                             "'");
    }
  }
  return settings;
}

StatusOr<FeatureEnrichment> ParseFeatures(const json::Value& f) {
  if (!f.IsObject()) return InvalidArgument("features must be an object");
  FeatureEnrichment e;
  ASSIGN_OR_RETURN(e.service, StringField(f, "service", "features.", true));
  ASSIGN_OR_RETURN(std::string missing, StringField(f, "missing", "features.", false));
  if (!missing.empty() && missing != "fail" && missing != "default") {
    return InvalidArgument("features.missing must be \"fail\" or \"default\", got '" + missing +
                           "'");
  }
  e.fail_on_missing = missing != "default";
  if (auto defaults = f.FindMember("defaults");
      defaults != f.MemberEnd() && !defaults->value.IsNull()) {
    if (!defaults->value.IsObject()) {
      return InvalidArgument("features.defaults must map feature names to numbers");
    }
    for (const auto& member : defaults->value.GetObject()) {
      if (!member.value.IsNumber()) {
        return InvalidArgument("features.defaults." + std::string(member.name.GetString()) +
                               " must be a number");
      }
      e.defaults[std::string(member.name.GetString(), member.name.GetStringLength())] =
          member.value.GetDouble();
    }
  }
  return e;
}

Status CheckRollout(const DeploymentSpec& spec, const RolloutPolicy& policy) {
  int live = 0;
  for (const VariantSpec& v : spec.variants) live += v.shadow ? 0 : 1;
  // Following a reference, the canary appears when it moves (and the
  // first variant when it is deployed).
  const bool following = !spec.follow.empty() && live <= 2;
  const bool placed = (spec.variants.empty() || !spec.variants[0].shadow) &&
                      (spec.variants.size() < 2 || !spec.variants[1].shadow);
  if (!((live == 2 || following) && placed)) {
    return InvalidArgument(
        "rollout needs exactly two live variants, the stable one first and the canary second (or "
        "follow, whose new versions become the canary); "
        "deployment '" +
        spec.name + "' has " + std::to_string(live));
  }
  int previous = 0;
  for (int step : policy.steps) {
    if (step <= previous || step > 100) {
      return InvalidArgument("rollout.steps must be increasing percents in 1-100, got " +
                             std::to_string(step) + " after " + std::to_string(previous));
    }
    previous = step;
  }
  if (policy.min_samples < 1 || policy.min_samples > 100'000'000) {
    return InvalidArgument("rollout.min_samples must be 1-100000000, got " +
                           std::to_string(policy.min_samples));
  }
  if (!(policy.max_error_rate_increase >= 0 && policy.max_error_rate_increase <= 1)) {
    return InvalidArgument("rollout.max_error_rate_increase must be 0-1 (a share of requests)");
  }
  if (!(policy.max_p99_increase_ms >= 0 && policy.max_p99_increase_ms <= 3'600'000)) {
    return InvalidArgument("rollout.max_p99_increase_ms must be 0 (off) to 3600000");
  }
  return Status::Ok();
}

}  // namespace

Status CheckDeploymentName(const std::string& name, std::string_view what) {
  bool ok = !name.empty() && name.size() <= 63 && name[0] >= 'a' && name[0] <= 'z';
  for (char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (!ok) {
    return InvalidArgument(std::string(what) + " '" + name +
                           "' must be 1-63 characters of a-z, 0-9 and '-', starting with a letter");
  }
  return Status::Ok();
}

DeploymentSpec DeploymentSpec::Single(std::string name, std::string model_uri) {
  DeploymentSpec spec;
  spec.name = std::move(name);
  spec.variants.push_back({"primary", std::move(model_uri), 100});
  return spec;
}

const VariantSpec* DeploymentSpec::Find(const std::string& variant) const {
  for (const VariantSpec& v : variants) {
    if (v.name == variant) return &v;
  }
  return nullptr;
}

VariantSpec* DeploymentSpec::Find(const std::string& variant) {
  return const_cast<VariantSpec*>(std::as_const(*this).Find(variant));
}

Status CheckDeploymentSpec(const DeploymentSpec& spec) {
  RETURN_IF_ERROR(CheckDeploymentName(spec.name));
  if (!(spec.log_percent >= 0 && spec.log_percent <= 100)) {
    return InvalidArgument("log_percent must be 0-100 (the share of requests logged)");
  }
  // A followed reference gives the first variant when deployed.
  if (spec.variants.empty() && spec.follow.empty()) {
    return InvalidArgument(
        "model_uri, variants or follow is required: a model reference such as models:/NAME/1, "
        "models:/NAME@ALIAS or runs:/RUN_ID/model");
  }
  if (spec.variants.size() > kMaxVariants) {
    return InvalidArgument("a deployment has at most " + std::to_string(kMaxVariants) +
                           " variants, got " + std::to_string(spec.variants.size()));
  }
  std::set<std::string> names;
  int64_t live_weight = 0;
  for (size_t i = 0; i < spec.variants.size(); ++i) {
    const VariantSpec& v = spec.variants[i];
    const std::string where = "variants[" + std::to_string(i) + "]";
    RETURN_IF_ERROR(CheckDeploymentName(v.name, where + ".name"));
    if (!names.insert(v.name).second) {
      return InvalidArgument(where + ".name '" + v.name + "' is used twice");
    }
    if (v.model_uri.empty()) {
      return InvalidArgument(where +
                             ".model_uri is required: a model reference such as "
                             "models:/NAME/1, models:/NAME@ALIAS or runs:/RUN_ID/model");
    }
    if (v.weight < 0 || v.weight > kMaxWeight) {
      return InvalidArgument(where + ".weight must be 0-" + std::to_string(kMaxWeight) + ", got " +
                             std::to_string(v.weight));
    }
    if (v.shadow && v.weight != 0) {
      return InvalidArgument(where + " is a shadow: it takes mirror_percent, not a weight");
    }
    if (v.mirror_percent < 0 || v.mirror_percent > 100) {
      return InvalidArgument(where + ".mirror_percent must be 0-100");
    }
    if (!v.shadow) live_weight += v.weight;
  }
  if (live_weight == 0 && !spec.variants.empty()) {
    return InvalidArgument(
        "no live variant has a weight: at least one variant that is not a shadow needs weight > 0");
  }
  if (!spec.sticky_header.empty()) {
    for (char c : spec.sticky_header) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_')) {
        return InvalidArgument("sticky_header '" + spec.sticky_header +
                               "' is not a header name (letters, digits, '-' and '_')");
      }
    }
  }
  if (spec.rollout) RETURN_IF_ERROR(CheckRollout(spec, *spec.rollout));
  if (spec.batching) RETURN_IF_ERROR(CheckBatching(*spec.batching));
  return Status::Ok();
}

StatusOr<DeploymentSpec> ParseDeploymentSpec(std::string_view text) {
  json::Document doc;
  RETURN_IF_ERROR(json::Parse(text, &doc));
  if (!doc.IsObject()) return InvalidArgument("the body must be a JSON object");
  DeploymentSpec spec;
  ASSIGN_OR_RETURN(spec.name, StringField(doc, "name", "", true));
  ASSIGN_OR_RETURN(std::string model_uri, StringField(doc, "model_uri", "", false));
  auto variants = doc.FindMember("variants");
  const bool has_variants = variants != doc.MemberEnd() && !variants->value.IsNull();
  if (!model_uri.empty() && has_variants) {
    return InvalidArgument("give model_uri (one model) or variants, not both");
  }
  if (!model_uri.empty()) spec.variants.push_back({"primary", model_uri, 100});
  if (has_variants) {
    if (!variants->value.IsArray()) return InvalidArgument("variants must be a list");
    size_t i = 0;
    for (const json::Value& v : variants->value.GetArray()) {
      ASSIGN_OR_RETURN(VariantSpec variant, ParseVariant(v, i++));
      spec.variants.push_back(std::move(variant));
    }
  }
  ASSIGN_OR_RETURN(spec.follow, StringField(doc, "follow", "", false));
  if (!spec.follow.empty() && !model_uri.empty()) {
    return InvalidArgument(
        "give model_uri (a fixed model) or follow (a reference whose new versions roll out), not "
        "both");
  }
  ASSIGN_OR_RETURN(spec.sticky_header, StringField(doc, "sticky_header", "", false));
  // Header names are case-insensitive; requests are read by lower-case name.
  for (char& c : spec.sticky_header)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  ASSIGN_OR_RETURN(std::optional<double> log_percent, NumberField(doc, "log_percent", ""));
  spec.log_percent = log_percent.value_or(0);
  if (auto rollout = doc.FindMember("rollout");
      rollout != doc.MemberEnd() && !rollout->value.IsNull()) {
    ASSIGN_OR_RETURN(spec.rollout, ParseRollout(rollout->value));
  }
  if (auto python = doc.FindMember("python");
      python != doc.MemberEnd() && !python->value.IsNull()) {
    ASSIGN_OR_RETURN(spec.python, ParsePython(python->value));
  }
  if (auto pinned = doc.FindMember("pinned");
      pinned != doc.MemberEnd() && !pinned->value.IsNull()) {
    if (!pinned->value.IsBool()) return InvalidArgument("pinned must be true or false");
    spec.pinned = pinned->value.GetBool();
  }
  if (auto features = doc.FindMember("features");
      features != doc.MemberEnd() && !features->value.IsNull()) {
    ASSIGN_OR_RETURN(spec.features, ParseFeatures(features->value));
  }
  if (auto batching = doc.FindMember("batching");
      batching != doc.MemberEnd() && !batching->value.IsNull()) {
    ASSIGN_OR_RETURN(spec.batching, ParseBatching(batching->value));
  }
  RETURN_IF_ERROR(CheckDeploymentSpec(spec));
  return spec;
}

std::string BatchingPolicyJson(const BatchingPolicy& policy) {
  return "{\"max_batch_rows\":" + std::to_string(policy.max_batch_rows) +
         ",\"max_queue_delay_us\":" + std::to_string(policy.max_queue_delay_us) +
         ",\"max_queue_requests\":" + std::to_string(policy.max_queue_requests) +
         ",\"queue_timeout_ms\":" + std::to_string(policy.queue_timeout_ms) + "}";
}

std::string FeatureEnrichmentJson(const FeatureEnrichment& features) {
  json::Buffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  json::WriteKey(w, "service");
  json::WriteString(w, features.service);
  json::WriteKey(w, "missing");
  json::WriteString(w, features.fail_on_missing ? "fail" : "default");
  if (!features.defaults.empty()) {
    json::WriteKey(w, "defaults");
    w.StartObject();
    for (const auto& [name, value] : features.defaults) {
      json::WriteKey(w, name);
      w.Double(value);
    }
    w.EndObject();
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string DeploymentSpecJson(const DeploymentSpec& spec) {
  json::Buffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  json::WriteKey(w, "name");
  json::WriteString(w, spec.name);
  json::WriteKey(w, "variants");
  w.StartArray();
  for (const VariantSpec& v : spec.variants) {
    w.StartObject();
    json::WriteKey(w, "name");
    json::WriteString(w, v.name);
    json::WriteKey(w, "model_uri");
    json::WriteString(w, v.model_uri);
    json::WriteKey(w, "weight");
    w.Int64(v.weight);
    if (v.shadow) {
      json::WriteKey(w, "shadow");
      w.Bool(true);
      json::WriteKey(w, "mirror_percent");
      w.Int(v.mirror_percent);
    }
    w.EndObject();
  }
  w.EndArray();
  if (!spec.sticky_header.empty()) {
    json::WriteKey(w, "sticky_header");
    json::WriteString(w, spec.sticky_header);
  }
  if (!spec.follow.empty()) {
    json::WriteKey(w, "follow");
    json::WriteString(w, spec.follow);
  }
  if (spec.log_percent > 0) {
    json::WriteKey(w, "log_percent");
    w.Double(spec.log_percent);
  }
  if (spec.rollout) {
    json::WriteKey(w, "rollout");
    w.StartObject();
    json::WriteKey(w, "steps");
    w.StartArray();
    for (int s : spec.rollout->steps) w.Int(s);
    w.EndArray();
    json::WriteKey(w, "min_samples");
    w.Int64(spec.rollout->min_samples);
    json::WriteKey(w, "max_error_rate_increase");
    w.Double(spec.rollout->max_error_rate_increase);
    json::WriteKey(w, "max_p99_increase_ms");
    w.Double(spec.rollout->max_p99_increase_ms);
    w.EndObject();
  }
  if (spec.python) {
    json::WriteKey(w, "python");
    w.StartObject();
    json::WriteKey(w, "interpreter");
    json::WriteString(w, spec.python->interpreter);
    json::WriteKey(w, "path");
    w.StartArray();
    for (const std::string& folder : spec.python->path) json::WriteString(w, folder);
    w.EndArray();
    json::WriteKey(w, "workers");
    w.Int(spec.python->workers);
    json::WriteKey(w, "timeout_ms");
    w.Int64(spec.python->timeout_ms);
    w.EndObject();
  }
  if (spec.pinned) {
    json::WriteKey(w, "pinned");
    w.Bool(true);
  }
  if (spec.features) {
    json::WriteKey(w, "features");
    const std::string features = FeatureEnrichmentJson(*spec.features);
    w.RawValue(features.data(), features.size(), rapidjson::kObjectType);
  }
  if (spec.batching) {
    json::WriteKey(w, "batching");
    const std::string batching = BatchingPolicyJson(*spec.batching);
    w.RawValue(batching.data(), batching.size(), rapidjson::kObjectType);
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace cairn::serving
