#include "server/server_config.h"

#include <yaml-cpp/yaml.h>

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

Status LoadConfigFile(const std::string& path, ServerConfig* config) {
  // yaml-cpp reports errors by exception; they stop here.
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (!root.IsMap()) {
      return InvalidArgument("Config file " + path + ": expected a mapping of settings at the top");
    }
    for (const auto& item : root) {
      std::string key = item.first.as<std::string>();
      const YAML::Node& value = item.second;
      try {
        if (key == "host")
          config->host = value.as<std::string>();
        else if (key == "port")
          config->port = value.as<uint16_t>();
        else if (key == "data_dir")
          config->data_dir = value.as<std::string>();
        else if (key == "store")
          config->store_uri = value.as<std::string>();
        else if (key == "artifacts")
          config->artifacts_uri = value.as<std::string>();
        else if (key == "durability")
          config->durability = value.as<std::string>();
        else if (key == "workers")
          config->workers = value.as<int>();
        else if (key == "log_level")
          config->log_level = value.as<std::string>();
        else if (key == "max_body_bytes")
          config->max_body_bytes = value.as<uint64_t>();
        else if (key == "insecure")
          config->insecure = value.as<bool>();
        else if (key == "policies")
          config->policies_dir = value.as<std::string>();
        else if (key == "keys")
          config->keys_dir = value.as<std::string>();
        else if (key == "require_signed_models")
          config->require_signed_models = value.as<bool>();
        else if (key == "online_store")
          config->online_store_uri = value.as<std::string>();
        else if (key == "feature_project")
          config->feature_project = value.as<std::string>();
        else if (key == "training_set_json_max_cells")
          config->training_set_json_max_cells = value.as<uint64_t>();
        else if (key == "training_data_root")
          config->training_data_root = value.as<std::string>();
        else if (key == "allowed_hosts")
          config->allowed_hosts = value.as<std::string>();
        else if (key == "cors_allowed_origins")
          config->cors_allowed_origins = value.as<std::string>();
        else if (key == "x_frame_options")
          config->x_frame_options = value.as<std::string>();
        else if (key == "disable_security_middleware")
          config->disable_security_middleware = value.as<bool>();
        else if (key == "max_connections")
          config->max_connections = value.as<uint64_t>();
        else if (key == "max_connections_per_address")
          config->max_connections_per_address = value.as<uint64_t>();
        else {
          return InvalidArgument("Config file " + path + " line " +
                                 std::to_string(item.first.Mark().line + 1) + ": unknown key '" +
                                 key +
                                 "' (known: host, port, data_dir, store, artifacts, durability, "
                                 "workers, log_level, max_body_bytes, insecure, policies, keys, "
                                 "require_signed_models, online_store, feature_project, "
                                 "training_set_json_max_cells, training_data_root, "
                                 "allowed_hosts, cors_allowed_origins, x_frame_options, "
                                 "disable_security_middleware, max_connections, "
                                 "max_connections_per_address)");
        }
      } catch (const YAML::Exception&) {
        // Say what the key takes, not only that the value is wrong.
        std::string expected = key == "port"                          ? "a port number, 0 to 65535"
                               : key == "workers"                     ? "a whole number of threads"
                               : key == "max_body_bytes"              ? "a whole number of bytes"
                               : key == "training_set_json_max_cells" ? "a whole number of cells"
                               : key == "max_connections" || key == "max_connections_per_address"
                                   ? "a whole number of connections"
                               : key == "insecure" || key == "require_signed_models" ||
                                       key == "disable_security_middleware"
                                   ? "true or false"
                                   : "a string";
        std::string got = value.IsScalar() ? " '" + value.Scalar() + "'" : " a list or map";
        return InvalidArgument("Config file " + path + " line " +
                               std::to_string(value.Mark().line + 1) + ": bad value for '" + key +
                               "': expected " + expected + ", got" + got);
      }
    }
  } catch (const YAML::BadFile&) {
    return InvalidArgument("Cannot read config file " + path);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("Config file " + path + ": " + e.what());
  }
  return Status::Ok();
}

}  // namespace cairn::server
