#include "server/server_main.h"

#include <malloc.h>

#include <csignal>
#include <filesystem>

#include "api/api_routes.h"
#include "artifacts/local/local_artifact_store.h"
#include "audit/audit_log.h"
#include "auth/auth_service.h"
#include "auth/http_authenticator.h"
#include "core/confined_path.h"
#include "core/env.h"
#include "core/log.h"
#include "feast/feast_routes.h"
#include "features/feature_registry.h"
#include "features/feature_stats.h"
#include "features/offline_push.h"
#include "features/online_serving.h"
#include "governance/promotion_service.h"
#include "http/router.h"
#include "http/server.h"
#include "http/system_routes.h"
#include "lineage/lineage_service.h"
#include "metrics/metrics.h"
#include "mlflow/routes.h"
#include "offline/engine.h"
#include "registry/registry_service.h"
#include "server/admin_common.h"
#include "signing/model_signer.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"
#include "tracking/tracking_service.h"

namespace cairn::server {

namespace {

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// A folder holding the server's own state: the setting that names it, its
// path, and what error answers show instead of the path.
struct OwnFolder {
  std::string setting;
  std::string path;
  std::string shown;
};

// The server's own folders, the most specific first (the policies folder is
// inside the data dir by default, and keeps its own name in answers).
std::vector<OwnFolder> OwnFolders(const ServerConfig& config) {
  std::vector<OwnFolder> own = {{"--policies", config.EffectivePoliciesDir(), "<policies>"},
                                {"--keys", config.EffectiveKeysDir(), "<keys>"}};
  std::string artifacts = config.EffectiveArtifactsUri();
  if (artifacts.starts_with("file://")) {
    own.push_back({"--artifacts", artifacts.substr(7), "<artifacts>"});
  }
  std::string store = config.EffectiveStoreUri();
  if (store.starts_with("sqlite:///")) {
    own.push_back(
        {"--store", std::filesystem::path(store.substr(9)).parent_path().string(), "<store-dir>"});
  }
  own.push_back({"--data-dir", config.data_dir, "<data-dir>"});
  return own;
}

// The training data root, canonical, after checking that no file under it
// is the server's own state (a training set written over metadata.db or a
// policy). "" when not configured.
StatusOr<std::string> TrainingDataRoot(const ServerConfig& config) {
  if (config.training_data_root.empty()) return std::string();
  ASSIGN_OR_RETURN(std::string root,
                   CanonicalRoot(config.training_data_root, "--training-data-root"));
  std::vector<OwnFolder> own = OwnFolders(config);
  // The broadest first: an overlap with the data dir is named as such.
  for (auto it = own.rbegin(); it != own.rend(); ++it) {
    std::error_code ec;
    std::filesystem::path canonical = std::filesystem::weakly_canonical(it->path, ec);
    if (ec) continue;
    if (PathsOverlap(root, canonical.string())) {
      return InvalidArgument("--training-data-root " + config.training_data_root + " overlaps " +
                             it->setting + " " + it->path +
                             ": requests could then read or overwrite the server's own state; "
                             "use a folder of its own for training data");
    }
  }
  return root;
}

}  // namespace

int RunServer(const ServerConfig& config) {
  LogLevel level;
  if (!ParseLogLevel(config.log_level, &level)) {
    LogError("unknown --log-level; use debug, info, warn or error", {{"value", config.log_level}});
    return 2;
  }
  SetLogLevel(level);

  // Large responses (a metric history, a page of runs) need megabytes per
  // request. By default glibc serves each from a fresh mmap whose pages the
  // kernel faults in and zeroes, then unmaps it: a third of a 100k-point
  // history's time. Serving them from the heap and keeping freed memory for
  // reuse removes that; the cost is up to this much memory held per arena.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);

  // Block the signals before any thread starts so only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    LogError("cannot create --data-dir", {{"path", config.data_dir}, {"error", ec.message()}});
    return 1;
  }

  store::MetadataStoreRegistry stores;
  store::RegisterSqliteStore(&stores);
  store::RegisterPostgresStore(&stores);
  auto store = stores.Open(config.EffectiveStoreUri());
  if (!store.ok()) {
    LogError("cannot open the metadata store", {{"error", store.status().message()}});
    return 1;
  }

  artifacts::ArtifactStoreRegistry artifact_stores;
  artifacts::RegisterLocalArtifactStore(&artifact_stores);
  auto artifact_store = artifact_stores.Open(config.EffectiveArtifactsUri());
  if (!artifact_store.ok()) {
    LogError("cannot open the artifact store", {{"error", artifact_store.status().message()}});
    return 1;
  }

  tracking::TrackingService tracking(store->get(), Env::Default());
  if (Status init = tracking.Init(); !init.ok()) {
    LogError("cannot initialise tracking", {{"error", init.ToString()}});
    return 1;
  }

  registry::RegistryService model_registry(store->get(), Env::Default());
  if (Status init = model_registry.Init(); !init.ok()) {
    LogError("cannot initialise the model registry", {{"error", init.ToString()}});
    return 1;
  }

  // Every change made through a surface is recorded with it (see audit_log.h).
  audit::AuditLog audit_log(store->get(), Env::Default());
  if (Status init = audit_log.Init(); !init.ok()) {
    LogError("cannot initialise the audit log", {{"error", init.ToString()}});
    return 1;
  }
  (*store)->SetWriteObserver(&audit_log);

  // Secure by default: with no user configured there is no authentication,
  // so the server stays on loopback unless told otherwise.
  auth::AuthService auth(store->get(), Env::Default());
  if (Status init = auth.Init(); !init.ok()) {
    LogError("cannot initialise authentication", {{"error", init.ToString()}});
    return 1;
  }
  auto has_users = auth.HasUsers();
  if (!has_users.ok()) {
    LogError("cannot read the users", {{"error", has_users.status().ToString()}});
    return 1;
  }
  if (!*has_users && !IsLoopback(config.host) && !config.insecure) {
    LogError(
        "refusing to serve without authentication on a non-loopback address: create a user "
        "first (cairn users add <name> --role admin) or pass --insecure",
        {{"host", config.host}});
    return 2;
  }
  auth::HttpAuthenticator authenticator(&auth);

  // Promotion policies guard the registry's stages and aliases.
  governance::PromotionService promotions(store->get(), Env::Default(),
                                          config.EffectivePoliciesDir());
  if (Status init = promotions.Init(); !init.ok()) {
    LogError("cannot initialise promotions", {{"error", init.ToString()}});
    return 1;
  }
  model_registry.SetPromotionGate(&promotions);

  signing::ModelSigner signer(store->get(), artifact_store->get(), Env::Default(),
                              config.EffectiveKeysDir(), config.require_signed_models);
  if (Status init = signer.Init(); !init.ok()) {
    LogError("cannot initialise model signing", {{"error", init.ToString()}});
    return 1;
  }
  if (!signer.CanSign()) {
    LogInfo("model versions are registered unsigned: no signing key (cairn keys generate)",
            {{"keys", config.EffectiveKeysDir()}});
  }

  auto training_data_root = TrainingDataRoot(config);
  if (!training_data_root.ok()) {
    LogError("cannot use the training data root",
             {{"error", training_data_root.status().message()}});
    return 2;
  }

  metrics::Registry registry;
  http::Router router(&registry);
  http::RegisterSystemRoutes(router, &registry);
  tracking::LoggedModelService logged_models(store->get(), Env::Default());
  // Always the policy and the authenticator, even with no users yet: they
  // let everyone through until a user exists, and a user added by the CLI
  // to the running server turns authentication on within seconds.
  mlflow::Surface surface{router, &auth};
  mlflow::RegisterTrackingRoutes(surface, tracking);
  mlflow::RegisterLoggedModelRoutes(surface, logged_models);
  mlflow::RegisterRegistryRoutes(surface, model_registry, &signer);
  mlflow::RegisterArtifactRoutes(surface, **artifact_store, tracking, logged_models,
                                 {&audit_log, &model_registry, &signer});
  lineage::LineageService lineage(&model_registry, &tracking, &logged_models);
  api::RegisterApiRoutes(surface, &audit_log, &promotions, &lineage);

  // The feature store: definitions from the registry, values from the online
  // store, Feast's HTTP API in front.
  features::FeatureRegistry feature_registry(store->get(), Env::Default());
  if (Status init = feature_registry.Init(); !init.ok()) {
    LogError("cannot initialise the feature registry", {{"error", init.ToString()}});
    return 1;
  }
  auto online_store = OpenOnlineStore(config);
  if (!online_store.ok()) {
    LogError("cannot open the online store", {{"error", online_store.status().message()}});
    return 1;
  }
  (*online_store)->StartWarmUp();
  features::OnlineServing online_serving(&feature_registry, online_store->get(), Env::Default(),
                                         config.feature_project);
  online_serving.StartRefresher();  // requests (on IO threads) never read the registry
  features::FeatureStatsStore feature_stats(store->get());
  if (Status init = feature_stats.Init(); !init.ok()) {
    LogError("cannot initialise feature statistics", {{"error", init.ToString()}});
    return 1;
  }
  // Freshness is read at scrape time: the age of each view's newest value
  // keeps growing between materializations, so a stored number would lie.
  registry.AddCollector([&registry, &feature_stats] {
    auto all = feature_stats.All();
    if (!all.ok()) return;
    int64_t now = Env::Default()->NowMicros();
    for (const features::ViewStats& s : *all) {
      metrics::Labels labels = {{"project", s.project}, {"view", s.view}};
      if (s.newest_event_micros) {
        registry
            .GetGauge("cairn_feature_view_freshness_seconds",
                      "Seconds since the newest event time of the view's last statistics", labels)
            ->Set(static_cast<double>(now - *s.newest_event_micros) / 1e6);
      }
      registry.GetGauge("cairn_feature_view_rows", "Rows in the view's last statistics", labels)
          ->Set(static_cast<double>(s.rows));
      for (const features::FeatureStats& f : s.features) {
        metrics::Labels feature_labels = labels;
        feature_labels.emplace_back("feature", f.name);
        registry
            .GetGauge("cairn_feature_null_ratio",
                      "Share of null values of the feature in the view's last statistics",
                      feature_labels)
            ->Set(f.null_rate);
      }
    }
  });
  feast::RegisterFeastRoutes(surface,
                             {.serving = &online_serving,
                              .registry = &feature_registry,
                              .store = online_store->get(),
                              .open_engine = [] { return offline::Engine::Open(); },
                              .stats = &feature_stats,
                              .env = Env::Default(),
                              .pushed_root = features::PushedRowsRoot(config.data_dir),
                              .training_set_json_max_cells = config.training_set_json_max_cells,
                              .training_data_root = *training_data_root,
                              .audit = &audit_log});

  http::ServerOptions options;
  options.host = config.host;
  options.port = config.port;
  options.worker_threads = config.workers;
  options.max_body_bytes = config.max_body_bytes;
  options.spool_dir = (*artifact_store)->SpoolDir();
  options.authenticator = &authenticator;
  options.guard.enabled = !config.disable_security_middleware;
  options.guard.allowed_hosts = http::SplitCommaList(config.allowed_hosts);
  options.guard.cors_allowed_origins = http::SplitCommaList(config.cors_allowed_origins);
  options.guard.x_frame_options = config.x_frame_options;
  options.max_connections = config.max_connections;
  options.max_connections_per_address = config.max_connections_per_address;
  std::vector<OwnFolder> redacted = OwnFolders(config);
  redacted.insert(redacted.end() - 1,
                  {"--training-data-root", *training_data_root, "<training-data-root>"});
  for (const OwnFolder& folder : redacted) {
    if (folder.path.empty()) continue;
    std::error_code path_ec;
    std::string spelled =
        std::filesystem::absolute(folder.path, path_ec).lexically_normal().string();
    while (spelled.size() > 1 && spelled.back() == '/') spelled.pop_back();
    std::string real = std::filesystem::weakly_canonical(folder.path, path_ec).string();
    for (const std::string& form : {real, spelled}) {
      if (form.size() > 1) options.redactions.emplace_back(form, folder.shown);
    }
  }
  http::HttpServer server(options, &router, &registry);
  if (Status started = server.Start(); !started.ok()) {
    LogError("cannot start the HTTP server", {{"error", started.message()}});
    return 1;
  }
  LogInfo("cairn server listening",
          {{"url", "http://" + config.host + ":" + std::to_string(server.port())},
           {"store", (*store)->DisplayUri()},
           {"artifacts", (*artifact_store)->uri()},
           {"authentication", *has_users ? "required (users configured)"
                                         : "off until a user is added (cairn users add)"},
           {"policies", config.EffectivePoliciesDir()}});

  int signal = 0;
  sigwait(&signals, &signal);
  LogInfo("shutting down: draining in-flight requests", {{"signal", signal}});
  server.Shutdown();
  LogInfo("stopped");
  return 0;
}

}  // namespace cairn::server
