// `cairn`: the one binary. Each group of subcommands lives in a file of its
// own (command_group.h); this file only puts them together.
#include <CLI/CLI.hpp>

#include <memory>
#include <vector>

#include "cli/command_group.h"
#include "server/server_config.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Cairn: experiment tracking, registry, features, pipelines, serving and "
      "monitoring in one binary."};
  app.require_subcommand(1);

  std::vector<std::unique_ptr<cairn::cli::CommandGroup>> groups;
  groups.push_back(cairn::cli::NewServerCommands(argc, argv));
  groups.push_back(cairn::cli::NewUserCommands());
  groups.push_back(cairn::cli::NewAuditCommands());
  groups.push_back(cairn::cli::NewPromotionCommands());
  groups.push_back(cairn::cli::NewSigningCommands());
  groups.push_back(cairn::cli::NewFeatureCommands());
  groups.push_back(cairn::cli::NewLineageCommands());

  cairn::server::ServerConfig config;
  for (auto& group : groups) group->Add(app, config);
  CLI11_PARSE(app, argc, argv);
  for (auto& group : groups) {
    if (std::optional<int> code = group->RunIfChosen(config)) return *code;
  }
  return 0;
}
