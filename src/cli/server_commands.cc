// `cairn server` (its flags from the declared settings, config/settings.h)
// and `cairn version`.
#include <cstdlib>
#include <iostream>

#include "cli/command_group.h"
#include "cli/settings_flags.h"
#include "http/system_routes.h"
#include "server/commands.h"

namespace cairn::cli {
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

class ServerCommands : public CommandGroup {
 public:
  ServerCommands(int argc, char** argv) : config_file_(FindConfigFlag(argc, argv)) {}

  void Add(CLI::App& app, server::ServerConfig& config) override {
    server_ = app.add_subcommand("server", "Run the server (MLflow, Feast and Cairn APIs).");
    server_->add_option("--config", config_file_, "YAML file with settings (flags and env win)")
        ->envname("CAIRN_CONFIG");
    // Every other flag from the one list of server settings. The file is
    // read first, so the flags and variables CLI11 applies win over it.
    server::DeclareSettings(&config, &settings_);
    if (!config_file_.empty()) loaded_ = settings_.LoadYaml(config_file_);
    AddSettingFlags(server_, settings_);
    app.add_subcommand("version", "Print the version.")->callback([] {
      std::cout << "cairn 0.1.0 (MLflow API " << http::kMlflowCompatibleVersion << ")\n";
    });
  }

  // A broken config file stops every command (they all read its settings).
  std::optional<int> RunIfChosen(const server::ServerConfig& config) override {
    if (!loaded_.ok()) {
      std::cerr << "cairn: " << loaded_.message() << "\n";
      return 2;
    }
    if (!server_->parsed()) return std::nullopt;
    return server::RunServer(config);
  }

 private:
  std::string config_file_;
  config::Settings settings_;
  Status loaded_;
  CLI::App* server_ = nullptr;
};

}  // namespace

std::unique_ptr<CommandGroup> NewServerCommands(int argc, char** argv) {
  return std::make_unique<ServerCommands>(argc, argv);
}

void AddStoreOptions(CLI::App* command, server::ServerConfig& config) {
  command->add_option("--data-dir", config.data_dir, "Folder for embedded state")
      ->envname("CAIRN_DATA_DIR");
  command->add_option("--store", config.store_uri, "Metadata store URI")->envname("CAIRN_STORE");
}

}  // namespace cairn::cli
