// SchemeRegistry<T>: picks a backend of interface T by the scheme of a URI
// ("sqlite:///...", "postgresql://...", "file:///..."). Backends register a
// factory per scheme; only main wires them (Envoy's registry, DuckDB's
// RegisterSubSystem).
//
// Thread-safety: Register() during start-up only; Open() is then const.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace cairn {

template <typename T>
class SchemeRegistry {
 public:
  using Factory = std::function<StatusOr<std::unique_ptr<T>>(const std::string& uri)>;

  // `flag` names the setting in errors, e.g. "--store".
  explicit SchemeRegistry(std::string flag) : flag_(std::move(flag)) {}

  void Register(std::string scheme, Factory factory) {
    factories_.emplace_back(std::move(scheme), std::move(factory));
  }

  // Errors: InvalidArgument naming the URI, the unknown scheme and the known
  // ones; otherwise whatever the backend's factory returns.
  StatusOr<std::unique_ptr<T>> Open(const std::string& uri) const {
    size_t colon = uri.find(':');
    std::string scheme = colon == std::string::npos ? "" : uri.substr(0, colon);
    for (const auto& [name, factory] : factories_) {
      if (name == scheme) return factory(uri);
    }
    std::string known;
    for (const auto& entry : factories_) {
      if (!known.empty()) known += ", ";
      known += entry.first + "://";
    }
    return InvalidArgument("Unsupported " + flag_ + " URI '" + uri +
                           "': the scheme must be one of " + known);
  }

 private:
  std::string flag_;
  std::vector<std::pair<std::string, Factory>> factories_;
};

}  // namespace cairn
