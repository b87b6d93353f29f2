// ServerConfig: everything `cairn server` needs, from (lowest to highest
// precedence) built-in defaults, a YAML file (--config), CAIRN_* environment
// variables, and command-line flags.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/settings.h"
#include "core/status.h"

namespace cairn::server {

struct ServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 5000;
  std::string data_dir = "./cairn-data";
  std::string store_uri;      // Empty: sqlite in data_dir.
  std::string artifacts_uri;  // Empty: file:// in data_dir.
  // "full" (every acknowledged write fsynced) or "process" (survives a crash
  // of Cairn, not of the machine); becomes the store URI's durability.
  std::string durability = "full";
  int workers = 0;  // Handler threads; 0 = automatic.
  std::string log_level = "info";
  uint64_t max_body_bytes = 32ull << 20;
  // Serve on a non-loopback address without any user configured (and so
  // without authentication). Off: such a server refuses to start.
  bool insecure = false;
  // Promotion policies (<name>.yaml, default.yaml); empty: <data_dir>/policies.
  std::string policies_dir;
  // MLflow's deployments server (AI gateway) that gateway-proxy forwards
  // to; empty: none. MLflow's MLFLOW_DEPLOYMENTS_TARGET sets it too.
  std::string deployments_target;

  std::string EffectivePoliciesDir() const {
    return policies_dir.empty() ? data_dir + "/policies" : policies_dir;
  }
  // The model-signing key pair (cairn keys generate); empty: <data_dir>/keys.
  std::string keys_dir;
  std::string EffectiveKeysDir() const { return keys_dir.empty() ? data_dir + "/keys" : keys_dir; }
  // Refuse to hand out model versions that are unsigned or whose files no
  // longer match their signature.
  bool require_signed_models = false;

  // The online store: lmdb:///dir or redis://host:port/db; empty: LMDB in
  // <data_dir>/online.
  std::string online_store_uri;
  // The feature project the Feast endpoints serve; empty: the only one applied.
  std::string feature_project;
  // A training set answered as JSON holds at most this many cells (rows x
  // columns, about 16 bytes each); a bigger one is refused with a pointer
  // to out_path, which writes a file instead of building the answer in memory.
  uint64_t training_set_json_max_cells = 20'000'000;
  // The folder whose files training-set requests may read and write; empty
  // (the default): no server-side files. Must not overlap the data dir.
  std::string training_data_root;

  // Against cross-site use from a browser (http/request_guard.h), with
  // MLflow 3's names and defaults. Comma-separated lists; empty allowed
  // hosts: loopback names, private addresses and the bound --host.
  std::string allowed_hosts;
  std::string cors_allowed_origins;
  std::string x_frame_options = "SAMEORIGIN";
  bool disable_security_middleware = false;
  // Open connections at once (0: by the descriptor limit) and per peer address.
  uint64_t max_connections = 0;
  uint64_t max_connections_per_address = 512;

  // Serving: the inference listener's port (KServe v2 and, next, MLflow's
  // scoring protocol); -1 (the default) serves the v2 routes on the main
  // listener only; 0 picks a free port.
  int serving_port = -1;
  // The deployment MLflow's /invocations answers on the serving port; empty:
  // the only one there is.
  std::string serving_default_deployment;
  // The payload log (deployments choose their share with log_percent): its
  // folder (empty: <data_dir>/payloads), file size and count, and an
  // optional CloudEvents sink (KServe's payload logger format).
  std::string payload_log_dir;
  uint64_t payload_log_file_mb = 64;
  uint64_t payload_log_files = 16;
  std::string payload_log_sink;
  // Python interpreters deployments may run python_function models with
  // (comma-separated; the first is the default); empty: such models are
  // refused. Running them runs the model's own code (pickles) as this
  // server's user, so it is opt-in. And the folders put first on the
  // workers' PYTHONPATH when a deployment names none (':'-separated).
  std::string serving_python;
  std::string serving_python_path;
  // Bytes of loaded models the server keeps (MiB; 0: no budget): past it,
  // the least recently used deployments that are not pinned unload, and
  // load again on their next request.
  uint64_t serving_memory_mb = 0;
  // The gRPC form of the inference protocol (tritonclient.grpc, KServe's
  // gRPC clients): its port; -1 (the default) off; 0 picks a free port.
  int serving_grpc_port = -1;
  // Hosts whose v2 endpoints deployments may front as variants
  // (comma-separated; empty: none). Calling out is opt-in: whoever may
  // deploy could otherwise make the server send requests anywhere it can
  // reach.
  std::string serving_external_hosts;

  // The effective URIs once data_dir defaults are applied.
  std::string EffectiveStoreUri() const;
  std::string EffectiveArtifactsUri() const;
  std::string EffectiveOnlineStoreUri() const;
};

// A folder holding the server's own state: the setting that names it, its
// path, and what error answers show instead of the path.
struct OwnFolder {
  std::string setting;  // "--data-dir"
  std::string path;
  std::string shown;  // "<data-dir>"
};

// The server's own folders, the most specific first (the policies folder is
// inside the data dir by default, and keeps its own name in answers).
std::vector<OwnFolder> OwnFolders(const ServerConfig& config);

// Declares every field of `config` as a setting (name, help, allowed
// values; its current value is the default): the server's own section
// (listening, limits), then each module's (Module::DeclareSettings). The
// one list `cairn server`'s flags, CAIRN_* variables, YAML file and --help
// are made from. `config` must outlive `settings`.
void DeclareSettings(ServerConfig* config, config::Settings* settings);

}  // namespace cairn::server
