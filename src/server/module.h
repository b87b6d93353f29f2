// Module: one component of `cairn server` (the platform's shared stores and
// users, tracking, the registry with governance, the feature store; next
// serving, pipelines, monitoring), in the manner of DuckDB's extensions: the
// server knows none of them by name. It asks each, in order, to start: a
// module opens what it needs, publishes the services later modules use,
// registers its routes, metrics collectors and background work, and adds
// what the start-up log line should say. Stop() undoes the background work,
// in reverse order, after the listeners have drained.
//
// Dependencies: a module may use the services of modules started before it
// (ServerContext::Get) and nothing else of theirs; the order is fixed in
// ServerModules().
//
// Thread-safety: Start and Stop run on the main thread; what a module
// registers runs wherever the registry runs it (handlers on server threads).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <typeindex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/settings.h"
#include "core/env.h"
#include "core/log.h"
#include "core/status.h"
#include "http/router.h"
#include "http/server.h"
#include "metrics/metrics.h"
#include "server/server_config.h"

namespace cairn::server {

// What modules build from and publish to while the server starts.
class ServerContext {
 public:
  ServerContext(const ServerConfig& config, Env* env, metrics::Registry* metrics,
                http::Router* router)
      : config_(config), env_(env), metrics_(metrics), router_(router) {}

  const ServerConfig& config() const { return config_; }
  Env* env() const { return env_; }
  metrics::Registry& metrics() const { return *metrics_; }
  // The routes of the main listener (MLflow, Feast and Cairn's API share it).
  http::Router& router() const { return *router_; }

  // Publishes a service owned by the calling module, for modules started
  // after it. REQUIRES: none of that type yet; it outlives the server.
  template <typename T>
  void Provide(T* service) {
    bool added = services_.emplace(std::type_index(typeid(T)), service).second;
    if (!added) LogError("a service was provided twice", {{"type", typeid(T).name()}});
  }
  // A service an earlier module published, or null.
  template <typename T>
  T* Find() const {
    auto it = services_.find(std::type_index(typeid(T)));
    return it == services_.end() ? nullptr : static_cast<T*>(it->second);
  }
  // Find<T>(), for services the module cannot run without. Errors:
  // FailedPrecondition naming the missing type (a module order mistake).
  template <typename T>
  StatusOr<T*> Get() const {
    T* found = Find<T>();
    if (found == nullptr) {
      return FailedPrecondition(std::string("no module provides ") + typeid(T).name() +
                                "; check the order in ServerModules()");
    }
    return found;
  }

  // Adds a field to the "cairn server listening" log line (the store, the
  // authentication state, ...).
  void AddStartupFact(std::string key, std::string value) {
    facts_.emplace_back(std::move(key), std::move(value));
  }
  const std::vector<std::pair<std::string, std::string>>& startup_facts() const { return facts_; }

  // A listener of the module's own (serving's inference port), started with
  // the main one; its router must outlive the server (modules do).
  void AddListener(http::ListenerOptions listener) { listeners_.push_back(std::move(listener)); }
  const std::vector<http::ListenerOptions>& listeners() const { return listeners_; }

  // Text replaced in every error answer: (absolute path, name to show).
  void AddRedaction(std::string path, std::string shown) {
    redactions_.emplace_back(std::move(path), std::move(shown));
  }
  const std::vector<std::pair<std::string, std::string>>& redactions() const { return redactions_; }

 private:
  const ServerConfig& config_;
  Env* env_;
  metrics::Registry* metrics_;
  http::Router* router_;
  std::unordered_map<std::type_index, void*> services_;
  std::vector<std::pair<std::string, std::string>> facts_;
  std::vector<std::pair<std::string, std::string>> redactions_;
  std::vector<http::ListenerOptions> listeners_;
};

class Module {
 public:
  virtual ~Module() = default;

  // "tracking", "features": in logs and errors.
  virtual std::string_view name() const = 0;

  // Declares the settings this module reads (its config section): each one
  // a field of `config` (config/settings.h). The flags, CAIRN_* variables,
  // YAML keys and --help of `cairn server` are made from these.
  virtual void DeclareSettings(ServerConfig* /*config*/, config::Settings* /*settings*/) {}

  // Opens what the module needs and registers what it adds. Errors:
  // InvalidArgument for a setting to fix (the server exits 2), any other
  // for a store or file that failed (exit 1); the message names the cause.
  virtual Status Start(ServerContext& context) = 0;

  // Stops background work. Called once, after the listeners drained, only
  // when Start succeeded.
  virtual void Stop() {}
};

// Every module of `cairn server`, in start order.
std::vector<std::unique_ptr<Module>> ServerModules();

}  // namespace cairn::server
