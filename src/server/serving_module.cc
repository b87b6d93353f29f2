// The serving module: deployments of the models users register, served over
// KServe's v2 inference protocol on the main listener and, with
// --serving-port, on a listener of its own.
#include <algorithm>
#include <memory>

#include "api/deployment_routes.h"
#include "artifacts/artifact_store.h"
#include "auth/access_policy.h"
#include "core/strings.h"
#include "enrichment/online_feature_source.h"
#include "external/external_model.h"
#include "http/error_format.h"
#include "kserve/v2_routes.h"
#include "lineage/lineage_service.h"
#include "mlflow/mlflow_json.h"
#include "registry/model_uri.h"
#include "registry/registry_service.h"
#include "scoring/scoring_routes.h"
#include "server/modules.h"
#include "server/serving_lineage.h"
#include "serving/deployments.h"
#include "serving/model_loader.h"
#include "serving/payload_log.h"
#include "signing/model_signer.h"

namespace cairn::server {
namespace {

// Loads a model folder; with --require-signed-models, only a registry
// version whose files match its signature (what `cairn models verify`
// checks), so an alias moved to an unsigned or tampered version never
// serves.
StatusOr<serving::LoadedModel> VerifiedLoad(artifacts::ArtifactStore& artifacts, Env* env,
                                            registry::RegistryService* registry,
                                            signing::ModelSigner* signer,
                                            const serving::ResolvedSource& source,
                                            const serving::LoadOptions& options) {
  if (signer != nullptr && signer->require_signed()) {
    if (source.registered_model.empty()) {
      return PermissionDenied(
          "this server requires signed models (--require-signed-models): only registered, "
          "signed model versions are served, not " +
          source.artifact_path);
    }
    const std::string uri = "models:/" + source.registered_model + "/" + source.version;
    ASSIGN_OR_RETURN(int64_t key, registry->ModelKey(source.registered_model));
    ASSIGN_OR_RETURN(signing::Verification check,
                     signer->Verify(key, std::stoll(source.version), source.storage_location));
    if (!check.ok) {
      std::string problems;
      for (const std::string& p : check.problems) problems += (problems.empty() ? "" : "; ") + p;
      return PermissionDenied(uri + " does not verify: " + problems +
                              " (check it with `cairn models verify " + uri +
                              "`); this server requires signed models (--require-signed-models)");
    }
  }
  return serving::LoadModelFolder(artifacts, source.artifact_path, env, options);
}

// The non-empty, trimmed pieces of `text` between `separator`s.
std::vector<std::string> Pieces(std::string_view text, char separator) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t end = std::min(text.find(separator), text.size());
    std::string_view piece = Trim(text.substr(0, end));
    if (!piece.empty()) out.emplace_back(piece);
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return out;
}

// What a deployment's python_function models run with: its own settings,
// filled from the server's defaults, with an interpreter the server allows.
serving::LoadOptions PythonOptions(const ServerConfig& config,
                                   const serving::DeploymentSpec& spec) {
  serving::LoadOptions options;
  options.copy_dir = config.data_dir + "/serving";
  const std::vector<std::string> allowed = Pieces(config.serving_python, ',');
  if (allowed.empty()) {
    options.python_refused =
        "python_function models (sklearn, custom) run in Python workers, which this server does "
        "not start: start it with --serving-python /usr/bin/python3 (and --serving-python-path "
        "naming where MLflow is), knowing that a model's own code then runs as the server's user";
    return options;
  }
  serving::PythonSettings settings = spec.python.value_or(serving::PythonSettings{});
  if (settings.interpreter.empty()) settings.interpreter = allowed.front();
  if (std::find(allowed.begin(), allowed.end(), settings.interpreter) == allowed.end()) {
    std::string list;
    for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
    options.python_refused = "python.interpreter '" + settings.interpreter +
                             "' is not one this server allows (--serving-python): " + list;
    return options;
  }
  if (!spec.python || spec.python->path.empty()) {
    settings.path = Pieces(config.serving_python_path, ':');
  }
  options.python = std::move(settings);
  return options;
}

// A variant fronting another server's v2 endpoint, on a host the server
// may call (--serving-external-hosts).
StatusOr<serving::ResolvedSource> ExternalSource(const std::string& uri,
                                                 const std::vector<std::string>& allowed) {
  ASSIGN_OR_RETURN(std::string host, external::EndpointHost(uri));
  if (std::find(allowed.begin(), allowed.end(), host) == allowed.end()) {
    std::string list;
    for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return FailedPrecondition("external endpoint " + uri + ": this server calls only the hosts " +
                              "in --serving-external-hosts (" +
                              (list.empty() ? std::string("none") : list) + "); add '" + host +
                              "' there to front it");
  }
  serving::ResolvedSource source;
  source.endpoint = uri;
  return source;
}

StatusOr<serving::LoadedModel> LoadExternal(signing::ModelSigner* signer,
                                            const serving::ResolvedSource& source) {
  if (signer != nullptr && signer->require_signed()) {
    return PermissionDenied(
        "this server requires signed models (--require-signed-models): the "
        "external endpoint " +
        source.endpoint + " is not a signed model version");
  }
  serving::LoadedModel loaded;
  ASSIGN_OR_RETURN(loaded.model, external::ConnectExternalModel(source.endpoint));
  loaded.flavor = "external";
  return loaded;
}

class ServingModule : public Module {
 public:
  std::string_view name() const override { return "serving"; }

  void DeclareSettings(ServerConfig* config, config::Settings* settings) override {
    settings->Add("serving_port", &config->serving_port,
                  "Port of the inference listener (KServe v2; 0 picks a free one); default: "
                  "inference only on the main listener");
    settings->Add(
        "serving_default_deployment", &config->serving_default_deployment,
        "The deployment MLflow's /invocations serves on the serving port (default: the only one)");
    settings->Add("payload_log_dir", &config->payload_log_dir,
                  "Folder of the payload log (deployments with log_percent > 0); default: "
                  "<data_dir>/payloads");
    settings->Add("payload_log_file_mb", &config->payload_log_file_mb,
                  "Size at which a payload log file is closed and a new one started (MiB)");
    settings->Add("payload_log_files", &config->payload_log_files,
                  "Payload log files kept; the oldest are removed beyond this");
    settings->Add("payload_log_sink", &config->payload_log_sink,
                  "http:// address that also gets each logged request and response as "
                  "CloudEvents (KServe's payload logger format)");
    settings->Add("serving_python", &config->serving_python,
                  "Python interpreters deployments may serve python_function models (sklearn, "
                  "custom) with, comma-separated, the first the default; empty: refused. Such "
                  "models run their own code as this server's user");
    settings->Add("serving_memory_mb", &config->serving_memory_mb,
                  "Memory for loaded models (MiB; 0: no limit): past it the least recently used "
                  "deployments that are not pinned unload, and load again on their next request");
    settings->Add("serving_external_hosts", &config->serving_external_hosts,
                  "Hosts whose Open Inference Protocol v2 endpoints deployments may front as "
                  "variants (model_uri http://HOST:PORT/v2/models/NAME), comma-separated; empty: "
                  "none (the server then calls nothing a deployer names)");
    settings->Add("serving_python_path", &config->serving_python_path,
                  "Folders first on the Python workers' PYTHONPATH (':'-separated) when a "
                  "deployment names none: where MLflow and the models' libraries are");
  }

  Status Start(ServerContext& context) override {
    const ServerConfig& config = context.config();
    ASSIGN_OR_RETURN(store::MetadataStore * store, context.Get<store::MetadataStore>());
    ASSIGN_OR_RETURN(registry::RegistryService * registry,
                     context.Get<registry::RegistryService>());
    ASSIGN_OR_RETURN(artifacts::ArtifactStore * artifacts, context.Get<artifacts::ArtifactStore>());
    ASSIGN_OR_RETURN(auth::AccessPolicy * access, context.Get<auth::AccessPolicy>());
    Env* env = context.env();
    if (config.serving_port < -1 || config.serving_port > 65535) {
      return InvalidArgument("--serving-port " + std::to_string(config.serving_port) +
                             " is not a port; use 1-65535, 0 for a free one, or leave it unset");
    }

    const std::vector<std::string> external_hosts = Pieces(config.serving_external_hosts, ',');
    auto resolve = [registry,
                    external_hosts](const std::string& uri) -> StatusOr<serving::ResolvedSource> {
      if (external::IsExternalEndpoint(uri)) return ExternalSource(uri, external_hosts);
      ASSIGN_OR_RETURN(registry::ResolvedModel resolved, registry->ResolveModelUri(uri));
      StatusOr<std::string> path = artifacts::ServedArtifactPath(resolved.artifact_uri);
      if (!path.ok()) {
        return InvalidArgument(
            "the files of " + uri + " are at " + resolved.artifact_uri +
            ", outside this server's artifact store; serving reads models from the "
            "artifact store (--artifacts)");
      }
      serving::ResolvedSource source;
      source.artifact_path = *path;
      StatusOr<registry::ModelUri> parsed = registry::ParseModelUri(uri);
      using Kind = registry::ModelUri::Kind;
      source.moving =
          parsed.ok() && (parsed->kind == Kind::kAlias || parsed->kind == Kind::kStage ||
                          parsed->kind == Kind::kLatest);
      if (resolved.version) {
        source.registered_model = resolved.version->name;
        source.version = std::to_string(resolved.version->version);
        source.storage_location = resolved.version->storage_location;
      }
      return source;
    };
    signing::ModelSigner* signer = context.Find<signing::ModelSigner>();
    auto load = [artifacts, env, registry, signer, config](
                    const serving::ResolvedSource& source,
                    const serving::DeploymentSpec& spec) -> StatusOr<serving::LoadedModel> {
      if (!source.endpoint.empty()) return LoadExternal(signer, source);
      return VerifiedLoad(*artifacts, env, registry, signer, source, PythonOptions(config, spec));
    };
    deployments_ =
        std::make_unique<serving::Deployments>(store, env, resolve, load, &context.metrics());
    serving::PayloadLogOptions log_options;
    log_options.dir =
        config.payload_log_dir.empty() ? config.data_dir + "/payloads" : config.payload_log_dir;
    log_options.max_file_bytes = config.payload_log_file_mb << 20;
    log_options.max_files = static_cast<int>(std::min<uint64_t>(config.payload_log_files, 100000));
    log_options.cloudevents_url = config.payload_log_sink;
    auto payload_log = serving::PayloadLog::Open(env, log_options, &context.metrics());
    RETURN_IF_ERROR(Named("payload log", payload_log.status()));
    payload_log_ = std::move(*payload_log);
    deployments_->SetPayloadLog(payload_log_.get());
    deployments_->SetMemoryBudget(config.serving_memory_mb << 20);
    // Feature enrichment reads the feature store's online serving in
    // process, when the server has one.
    if (auto* online = context.Find<features::OnlineServing>(); online != nullptr) {
      feature_source_ = std::make_unique<enrichment::OnlineFeatureSource>(online);
      deployments_->SetFeatureSource(feature_source_.get());
    }
    RETURN_IF_ERROR(Named("deployments", deployments_->Init()));
    context.Provide<serving::Deployments>(deployments_.get());

    surface::Surface api(context.router(), access, mlflow::ErrorFormat::Get());
    api::RegisterDeploymentRoutes(api, deployments_.get());
    kserve::RegisterV2Routes(api.WithErrors(http::PlainErrorFormat::Get()), deployments_.get());
    kserve::RegisterV1Routes(api.WithErrors(http::PlainErrorFormat::Get()), deployments_.get());

    if (config.serving_port >= 0) {
      router_ = std::make_unique<http::Router>(&context.metrics());
      surface::Surface serving(*router_, access, http::PlainErrorFormat::Get());
      kserve::RegisterV2Routes(serving, deployments_.get());
      kserve::RegisterV1Routes(serving, deployments_.get());
      scoring::RegisterScoringRoutes(serving.WithErrors(scoring::ScoringErrorFormat()),
                                     deployments_.get(), config.serving_default_deployment);
      http::ListenerOptions listener;
      listener.name = "serving";
      listener.host = config.host;
      listener.port = static_cast<uint16_t>(config.serving_port);
      listener.router = router_.get();
      listener.errors = &http::PlainErrorFormat::Get();
      listener.authenticator = context.Find<http::Authenticator>();
      // Inference clients (tritonclient, KServe's, curl) are not browsers:
      // the Host check still applies, content types are the protocols' own.
      listener.guard.enabled = !config.disable_security_middleware;
      context.AddListener(listener);
    }
    context.AddStartupFact("deployments", std::to_string(deployments_->List().size()));
    // The registry's lineage shows the deployments serving a version.
    if (auto* lineage = context.Find<lineage::LineageService>()) {
      AddServingLineage(lineage, [deployments = deployments_.get()] {
        std::vector<ServedVersion> served;
        for (const auto& d : deployments->List()) {
          for (const serving::Variant& v : d->variants) {
            if (!v.ready() || v.source.registered_model.empty()) continue;
            served.push_back({d->spec.name, v.spec.name, v.spec.model_uri, v.spec.shadow,
                              v.spec.weight, v.source.registered_model, v.source.version});
          }
        }
        return served;
      });
    }

    // Follow aliases and stages: re-resolve when this server's registry
    // changed (checked every kRefreshMicros), and every kFullRefreshNanos
    // for changes other replicas made to a shared store.
    refresher_ = env->StartRepeating(kRefreshMicros, [this, registry, env] {
      // Rollouts move on (or roll back) within kJudgeTicks of the evidence.
      if (++ticks_ % kJudgeTicks == 0) deployments_->JudgeRollouts();
      const uint64_t changes = registry->change_count();
      const int64_t now = env->MonotonicNanos();
      if (changes == seen_changes_ && now - last_full_refresh_ < kFullRefreshNanos) return;
      seen_changes_ = changes;
      last_full_refresh_ = now;
      deployments_->Refresh();
    });
    return Status::Ok();
  }

  void Stop() override {
    if (refresher_) refresher_->Cancel();
    refresher_.reset();
  }

 private:
  static constexpr int64_t kRefreshMicros = 10'000;
  static constexpr int64_t kFullRefreshNanos = 5'000'000'000;
  static constexpr uint64_t kJudgeTicks = 10;

  // Declared first: destroyed after the deployments that write to it.
  std::unique_ptr<serving::PayloadLog> payload_log_;
  std::unique_ptr<enrichment::OnlineFeatureSource> feature_source_;
  std::unique_ptr<serving::Deployments> deployments_;
  std::unique_ptr<http::Router> router_;
  std::unique_ptr<Timer> refresher_;
  // Touched only by the refresher's callback (one at a time).
  uint64_t seen_changes_ = 0;
  uint64_t ticks_ = 0;
  int64_t last_full_refresh_ = 0;
};

}  // namespace

std::unique_ptr<Module> NewServingModule() { return std::make_unique<ServingModule>(); }

}  // namespace cairn::server
