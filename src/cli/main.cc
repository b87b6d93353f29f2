// `cairn`: the one binary. Subcommands: server, version.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "http/system_routes.h"
#include "server/server_config.h"
#include "server/server_main.h"

namespace {

// Reads --config before the full parse, so flags and env override the file.
std::string FindConfigFlag(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) return argv[i + 1];
    if (arg.rfind("--config=", 0) == 0) return arg.substr(9);
  }
  const char* env = std::getenv("CAIRN_CONFIG");
  return env != nullptr ? env : "";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Cairn: experiment tracking, registry, features, pipelines, serving and "
      "monitoring in one binary."};
  app.require_subcommand(1);

  cairn::server::ServerConfig config;
  std::string config_file = FindConfigFlag(argc, argv);
  if (!config_file.empty()) {
    cairn::Status loaded = cairn::server::LoadConfigFile(config_file, &config);
    if (!loaded.ok()) {
      std::cerr << "cairn: " << loaded.message() << "\n";
      return 2;
    }
  }

  CLI::App* server = app.add_subcommand("server", "Run the tracking server (MLflow REST API).");
  server->add_option("--config", config_file, "YAML file with settings (flags and env win)")
      ->envname("CAIRN_CONFIG");
  server->add_option("--host", config.host, "Address to bind")->envname("CAIRN_HOST");
  server->add_option("--port", config.port, "Port to listen on")->envname("CAIRN_PORT");
  server->add_option("--data-dir", config.data_dir, "Folder for embedded state")
      ->envname("CAIRN_DATA_DIR");
  server
      ->add_option("--store", config.store_uri,
                   "Metadata store URI: sqlite:///path.db or postgresql://user@host/db "
                   "(default: sqlite in --data-dir)")
      ->envname("CAIRN_STORE");
  server
      ->add_option("--artifacts", config.artifacts_uri,
                   "Artifact store URI: file:///dir (default: --data-dir/artifacts)")
      ->envname("CAIRN_ARTIFACTS");
  server
      ->add_option("--durability", config.durability,
                   "full: every acknowledged write is fsynced (default); process: it survives "
                   "a crash of Cairn but not of the machine, for lower latency")
      ->check(CLI::IsMember({"full", "process"}))
      ->envname("CAIRN_DURABILITY");
  server->add_option("--workers", config.workers, "Handler threads (0 = automatic)")
      ->envname("CAIRN_WORKERS");
  server->add_option("--log-level", config.log_level, "debug, info, warn or error")
      ->envname("CAIRN_LOG_LEVEL");

  app.add_subcommand("version", "Print the version.")->callback([] {
    std::cout << "cairn 0.1.0 (MLflow API " << cairn::http::kMlflowCompatibleVersion << ")\n";
  });

  CLI11_PARSE(app, argc, argv);
  if (server->parsed()) return cairn::server::RunServer(config);
  return 0;
}
