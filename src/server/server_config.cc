#include "server/server_config.h"

#include "server/module.h"

#include <filesystem>

namespace cairn::server {

std::string ServerConfig::EffectiveStoreUri() const {
  std::string uri = store_uri;
  if (uri.empty()) {
    uri =
        "sqlite:///" +
        (std::filesystem::absolute(data_dir) / "metadata.db").lexically_normal().string().substr(1);
  }
  if (durability == "full" || uri.find("durability=") != std::string::npos) return uri;
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + "durability=" + durability;
}

std::string ServerConfig::EffectiveArtifactsUri() const {
  if (!artifacts_uri.empty()) return artifacts_uri;
  return "file://" +
         (std::filesystem::absolute(data_dir) / "artifacts").lexically_normal().string();
}

std::string ServerConfig::EffectiveOnlineStoreUri() const {
  if (!online_store_uri.empty()) return online_store_uri;
  return "lmdb://" + (std::filesystem::absolute(data_dir) / "online").lexically_normal().string();
}

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

void DeclareSettings(ServerConfig* config, config::Settings* settings) {
  // The server's own section: where it listens and how it treats requests.
  config::Settings& s = *settings;
  s.Add("host", &config->host, "Address to bind");
  s.Add("port", &config->port, "Port to listen on");
  s.Add("data_dir", &config->data_dir, "Folder for embedded state");
  s.Add("workers", &config->workers, "Handler threads (0 = automatic)");
  s.Add("log_level", &config->log_level, "debug, info, warn or error",
        {"debug", "info", "warn", "warning", "error"});
  s.Add("max_body_bytes", &config->max_body_bytes,
        "Largest request body read into memory (default 32 MiB; artifact uploads are streamed "
        "to disk and not bounded by it)");
  s.Add("allowed_hosts", &config->allowed_hosts,
        "Host header values the server answers, comma-separated, '*' wildcards (default: "
        "localhost, loopback and private addresses, and --host)");
  s.Add("cors_allowed_origins", &config->cors_allowed_origins,
        "Origins of web applications allowed to change this server, comma-separated, '*' "
        "wildcards (localhost origins always are)");
  s.Add("x_frame_options", &config->x_frame_options,
        "X-Frame-Options sent with every response: SAMEORIGIN (default), DENY or NONE");
  s.Add("disable_security_middleware", &config->disable_security_middleware,
        "Turn off the Host, Origin and content-type checks and X-Frame-Options");
  s.Add("max_connections", &config->max_connections,
        "Open connections at once (default 0: as the descriptor limit allows)");
  s.Add("max_connections_per_address", &config->max_connections_per_address,
        "Open connections from one client address (default 512; 0: no limit)");
  // Then each module's section.
  for (const std::unique_ptr<Module>& module : ServerModules()) {
    module->DeclareSettings(config, settings);
  }
}

}  // namespace cairn::server
