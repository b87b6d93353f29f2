// `cairn keys generate|show` and `cairn models sign|verify`: the key that
// signs model versions, and the signatures.
#include "cli/command_group.h"
#include "server/commands.h"

namespace cairn::cli {
namespace {

class SigningCommands : public CommandGroup {
 public:
  void Add(CLI::App& app, server::ServerConfig& config) override {
    using Action = server::SigningCommand::Action;
    keys_ = app.add_subcommand("keys", "The ed25519 key that signs model versions.");
    keys_->require_subcommand(1);
    models_ = app.add_subcommand("models", "Sign and verify registered model versions.");
    models_->require_subcommand(1);
    auto signing_cmd = [&](CLI::App* parent, const char* name, const char* help, Action action) {
      CLI::App* cmd = parent->add_subcommand(name, help);
      AddStoreOptions(cmd, config);
      cmd->add_option("--keys", config.keys_dir, "Key folder (default: --data-dir/keys)")
          ->envname("CAIRN_KEYS");
      cmd->add_option("--artifacts", config.artifacts_uri, "Artifact store URI")
          ->envname("CAIRN_ARTIFACTS");
      cmd->callback([this, action] { command_.action = action; });
      return cmd;
    };
    signing_cmd(keys_, "generate", "Create the key pair.", Action::kGenerate)
        ->add_flag("--force", command_.force, "Replace an existing key");
    signing_cmd(keys_, "show", "Print the public key and its id.", Action::kShow);
    for (Action action : {Action::kSign, Action::kVerify}) {
      bool sign = action == Action::kSign;
      signing_cmd(models_, sign ? "sign" : "verify",
                  sign ? "Sign a version's files (e.g. one registered before the key existed)."
                       : "Check a version's files against its signature; names what changed.",
                  action)
          ->add_option("uri", command_.uri, "models:/<name>/<version> (or @alias, /Stage)")
          ->required();
    }
  }

  std::optional<int> RunIfChosen(const server::ServerConfig& config) override {
    if (!keys_->parsed() && !models_->parsed()) return std::nullopt;
    return server::RunSigningCommand(config, command_);
  }

 private:
  server::SigningCommand command_;
  CLI::App* keys_ = nullptr;
  CLI::App* models_ = nullptr;
};

}  // namespace

std::unique_ptr<CommandGroup> NewSigningCommands() { return std::make_unique<SigningCommands>(); }

}  // namespace cairn::cli
