#include "server/commands.h"

#include <malloc.h>

#include <algorithm>
#include <csignal>
#include <filesystem>

#include "artifacts/artifact_store.h"
#include "core/env.h"
#include "core/log.h"
#include "http/router.h"
#include "http/server.h"
#include "http/system_routes.h"
#include "metrics/metrics.h"
#include "mlflow/mlflow_json.h"
#include "server/module.h"

namespace cairn::server {

namespace {

// Every spelling of each redacted folder that a message may carry (as
// configured, absolute, and with symlinks resolved), longest first so that a
// folder whose path extends another's is replaced whole.
std::vector<std::pair<std::string, std::string>> RedactionForms(
    const std::vector<std::pair<std::string, std::string>>& folders) {
  std::vector<std::pair<std::string, std::string>> forms;
  for (const auto& [path, shown] : folders) {
    if (path.empty()) continue;
    std::error_code ec;
    std::string spelled = std::filesystem::absolute(path, ec).lexically_normal().string();
    while (spelled.size() > 1 && spelled.back() == '/') spelled.pop_back();
    std::string real = std::filesystem::weakly_canonical(path, ec).string();
    for (const std::string& form : {real, spelled}) {
      if (form.size() > 1) forms.emplace_back(form, shown);
    }
  }
  std::stable_sort(forms.begin(), forms.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  return forms;
}

// The main listener: MLflow's, Feast's and Cairn's APIs on --host/--port.
http::ListenerOptions MainListener(const ServerConfig& config, const ServerContext& context) {
  http::ListenerOptions listener;
  listener.name = "main";
  listener.host = config.host;
  listener.port = config.port;
  listener.router = &context.router();
  // Paths no surface claims (/, /foo) answer as MLflow's server does.
  listener.errors = &mlflow::ErrorFormat::Get();
  listener.authenticator = context.Find<http::Authenticator>();
  listener.guard.enabled = !config.disable_security_middleware;
  listener.guard.allowed_hosts = http::SplitCommaList(config.allowed_hosts);
  listener.guard.cors_allowed_origins = http::SplitCommaList(config.cors_allowed_origins);
  listener.guard.x_frame_options = config.x_frame_options;
  return listener;
}

// Stops the started modules, last first, and destroys them in that order.
void StopModules(std::vector<std::unique_ptr<Module>>& modules, size_t started) {
  while (!modules.empty()) {
    if (modules.size() <= started) modules.back()->Stop();
    modules.pop_back();
  }
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

  // Declared before the modules: collectors and routes they register point
  // into them, and the registry and router must outlive both.
  metrics::Registry registry;
  http::Router router(&registry);
  http::RegisterSystemRoutes(router, &registry);
  ServerContext context(config, Env::Default(), &registry, &router);

  std::vector<std::unique_ptr<Module>> modules = ServerModules();
  size_t started = 0;
  for (; started < modules.size(); ++started) {
    Module& module = *modules[started];
    Status status = module.Start(context);
    if (!status.ok()) {
      LogError("cannot start the server",
               {{"module", std::string(module.name())}, {"error", status.message()}});
      StopModules(modules, started);
      return status.code() == StatusCode::kInvalidArgument ? 2 : 1;
    }
  }

  http::ServerOptions options;
  options.listeners.push_back(MainListener(config, context));
  for (const http::ListenerOptions& listener : context.listeners())
    options.listeners.push_back(listener);
  options.worker_threads = config.workers;
  options.max_body_bytes = config.max_body_bytes;
  if (auto* artifact_store = context.Find<artifacts::ArtifactStore>()) {
    // Uploads are spooled beside the artifacts, so a finished one is renamed into place.
    options.spool_dir = artifact_store->SpoolDir();
  }
  options.max_connections = config.max_connections;
  options.max_connections_per_address = config.max_connections_per_address;
  options.redactions = RedactionForms(context.redactions());
  auto server = std::make_unique<http::HttpServer>(options, &registry);
  if (Status listening = server->Start(); !listening.ok()) {
    LogError("cannot start the HTTP server", {{"error", listening.message()}});
    server.reset();
    StopModules(modules, started);
    return 1;
  }
  std::string url = "http://" + config.host + ":" + std::to_string(server->port());
  std::vector<LogField> fields = {{"url", url}};
  // LogField keys are views: the "<listener>_url" names must outlive the Log call.
  std::vector<std::string> listener_keys;
  listener_keys.reserve(context.listeners().size());
  for (size_t i = 0; i < context.listeners().size(); ++i) {
    listener_keys.push_back(context.listeners()[i].name + "_url");
    fields.emplace_back(listener_keys.back(), "http://" + context.listeners()[i].host + ":" +
                                                  std::to_string(server->port(i + 1)));
  }
  for (const auto& [key, value] : context.startup_facts()) fields.emplace_back(key, value);
  Log(LogLevel::kInfo, "cairn server listening", fields);

  int signal = 0;
  sigwait(&signals, &signal);
  LogInfo("shutting down: draining in-flight requests", {{"signal", signal}});
  server->Shutdown();
  server.reset();
  StopModules(modules, started);
  LogInfo("stopped");
  return 0;
}

}  // namespace cairn::server
