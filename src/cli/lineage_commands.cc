// `cairn lineage <models:/ URI>`: where a model version came from.
#include "cli/command_group.h"
#include "server/commands.h"

namespace cairn::cli {
namespace {

class LineageCommands : public CommandGroup {
 public:
  void Add(CLI::App& app, server::ServerConfig& config) override {
    lineage_ =
        app.add_subcommand("lineage", "Print where a model version came from and what came of it.");
    AddStoreOptions(lineage_, config);
    lineage_
        ->add_option("uri", uri_, "models:/<name>/<version> (or @alias, /Stage, or models:/m-<id>)")
        ->required();
  }

  std::optional<int> RunIfChosen(const server::ServerConfig& config) override {
    if (!lineage_->parsed()) return std::nullopt;
    return server::RunLineageCommand(config, uri_);
  }

 private:
  std::string uri_;
  CLI::App* lineage_ = nullptr;
};

}  // namespace

std::unique_ptr<CommandGroup> NewLineageCommands() { return std::make_unique<LineageCommands>(); }

}  // namespace cairn::cli
