// CommandGroup: one group of `cairn`'s subcommands (server, users and
// tokens, audit, promotions and policies, keys and models, features,
// lineage), one file each. A group adds its subcommands and flags to the
// app; after the parse, the group whose command was chosen runs it. A new
// group is one more file and one line in main.cc.
//
// Thread-safety: main's thread only.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>

#include "server/server_config.h"

namespace cairn::cli {

class CommandGroup {
 public:
  virtual ~CommandGroup() = default;
  // Adds the group's subcommands; their flags write into `config` (the
  // settings every command shares) or the group's own state.
  virtual void Add(CLI::App& app, server::ServerConfig& config) = 0;
  // After a successful parse: the exit code of the group's chosen command,
  // or nullopt when none of its commands was chosen.
  virtual std::optional<int> RunIfChosen(const server::ServerConfig& config) = 0;
};

std::unique_ptr<CommandGroup> NewServerCommands(int argc, char** argv);
std::unique_ptr<CommandGroup> NewUserCommands();
std::unique_ptr<CommandGroup> NewAuditCommands();
std::unique_ptr<CommandGroup> NewPromotionCommands();
std::unique_ptr<CommandGroup> NewSigningCommands();
std::unique_ptr<CommandGroup> NewFeatureCommands();
std::unique_ptr<CommandGroup> NewLineageCommands();

// --data-dir and --store (with their CAIRN_* variables): where an
// administration command finds the metadata store.
void AddStoreOptions(CLI::App* command, server::ServerConfig& config);

}  // namespace cairn::cli
